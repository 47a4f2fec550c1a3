"""Per-position scores of a character model on held-out text, and its calibration.

Chapter 05 compares the tiny GPT with an n-gram model on the same characters, and asks how
sure the comparison is (a paired bootstrap needs one score per position, not one average);
chapter 06 asks whether the model's probabilities are *calibrated*. Everything here starts
from the model's logits at every scored position:

- :func:`position_logits` - logits ``(N - 1, V)`` and targets ``(N - 1,)`` for every character
  after the first, with the same overlapping windows as
  :func:`course_utils.text.gpt_training.bits_per_char` (each position sees at least half a
  window of context);
- :func:`position_bits` - ``-log2 softmax(logits / T)[target]`` per position, and the model's
  own entropy ``H_t = -sum_v p_v log2 p_v`` at the same positions;
- :func:`fit_temperature` - the ``T`` that minimises mean bits on a text (golden-section
  search; ``T > 1`` means the model was over-confident);
- :func:`reliability` - accuracy of the most likely character against the model's confidence
  in it, in bins (a calibrated model lies on the diagonal).

A calibrated model's mean entropy equals its mean loss on fresh text: ``E[H_t] = E[bits_t]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from course_utils.text.transformer import CharTokenizer, TinyGPT

LN2 = math.log(2.0)


@torch.no_grad()
def position_logits(model: TinyGPT, tokenizer: CharTokenizer, text: str,
                    batch_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets at every position ``t = 1 .. N-1`` of ``text``.

    Returns:
        ``(logits, targets)`` of shapes ``(N - 1, V)`` and ``(N - 1,)``; row ``t - 1`` predicts
        character ``t`` from (at least ``block_size / 2``, at most ``block_size``) characters
        before it.

    Raises:
        ValueError: fewer than two characters, or characters outside the tokenizer's alphabet.
    """
    data = torch.tensor(tokenizer.encode(text), dtype=torch.long)  # (N,)
    n, block = len(data), model.config.block_size
    if n < 2:
        raise ValueError("Need at least two characters of text to score.")
    length = min(block, n - 1)
    stride = max(1, block // 2)
    starts = list(range(0, n - length, stride))
    if starts[-1] + length < n - 1:
        starts.append(n - 1 - length)  # a last window that ends exactly at the text's end
    was_training = model.training
    model.eval()
    rows, next_target = [], 1  # next_target: first position not yet scored
    for i in range(0, len(starts), batch_size):
        chunk = starts[i:i + batch_size]
        logits = model(torch.stack([data[s:s + length] for s in chunk]))  # (b, L, V)
        for row, s in enumerate(chunk):
            skip = max(next_target, s + 1) - (s + 1)  # targets an earlier window scored
            rows.append(logits[row, skip:])
            next_target = s + 1 + length
    model.train(was_training)
    return torch.cat(rows), data[1:]


@dataclass(frozen=True)
class PositionScores:
    """Per-position loss and entropy in bits, shape ``(N - 1,)`` each."""

    bits: np.ndarray
    entropy: np.ndarray

    @property
    def mean_bits(self) -> float:
        return float(self.bits.mean())

    @property
    def mean_entropy(self) -> float:
        return float(self.entropy.mean())


def _check_temperature(temperature: float) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (
            math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    return float(temperature)


def position_bits(logits: torch.Tensor, targets: torch.Tensor,
                  temperature: float = 1.0) -> PositionScores:
    """Loss ``-log2 p_T(target)`` and entropy of ``p_T = softmax(logits / T)`` per position.

    Args:
        logits: ``(N, V)``; targets: ``(N,)`` ids in ``0 .. V-1``.
    """
    temperature = _check_temperature(temperature)
    log_p = F.log_softmax(logits.float() / temperature, dim=-1)  # (N, V) nats
    bits = -log_p.gather(1, targets[:, None])[:, 0] / LN2
    entropy = -(log_p.exp() * log_p).sum(dim=-1) / LN2
    return PositionScores(bits.numpy(), entropy.numpy())


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, low: float = 0.5,
                    high: float = 3.0, tol: float = 1e-3) -> float:
    """The temperature in ``[low, high]`` with the lowest mean bits (golden-section search).

    Mean cross-entropy is convex in ``1 / T`` for fixed logits, so the search finds its
    minimum. Fit it on validation text, then judge it on test text.
    """
    low, high = _check_temperature(low), _check_temperature(high)
    if not low < high:
        raise ValueError(f"need low < high, got {low} and {high}")

    def loss(t: float) -> float:
        return position_bits(logits, targets, t).mean_bits

    ratio = (math.sqrt(5) - 1) / 2
    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = loss(c), loss(d)
    while b - a > tol:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = loss(d)
    return (a + b) / 2


def reliability(logits: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0,
                bins: int = 10) -> dict[str, np.ndarray | float]:
    """Confidence vs accuracy of the top-1 prediction, in ``bins`` equal-width bins.

    Returns a dict with ``confidence`` (mean top-1 probability per bin), ``accuracy`` (how often
    the top-1 character was right), ``count`` (positions per bin; empty bins dropped) and
    ``ece``, the expected calibration error ``sum_b (n_b / N) |accuracy_b - confidence_b|``.
    """
    temperature = _check_temperature(temperature)
    if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= 100:
        raise ValueError(f"bins must be an integer in 2..100, got {bins!r}")
    probs = F.softmax(logits.float() / temperature, dim=-1)
    top_p, top_id = probs.max(dim=-1)
    correct = (top_id == targets).numpy().astype(float)
    conf = top_p.numpy()
    index = np.minimum((conf * bins).astype(int), bins - 1)
    count = np.bincount(index, minlength=bins)
    keep = count > 0
    mean_conf = np.bincount(index, conf, bins)[keep] / count[keep]
    accuracy = np.bincount(index, correct, bins)[keep] / count[keep]
    ece = float(np.sum(count[keep] / len(conf) * np.abs(accuracy - mean_conf)))
    return {"confidence": mean_conf, "accuracy": accuracy, "count": count[keep], "ece": ece}

