"""Weight quantization from scratch: round-to-nearest integers with a scale (chapter 62).

A float weight matrix ``W`` of shape ``(out, in)`` is stored as ``b``-bit signed integers
``q`` and one float scale per group of weights. Symmetric round-to-nearest (RTN)::

    Q = 2^(b-1) - 1                       (largest code: 127 for 8 bits, 7 for 4, 1 for 2)
    s = max |w| / Q                        (over the group that shares the scale)
    q = clamp(round(w / s), -Q, Q)         (integers in -Q..Q)
    w_hat = s q                            (what the model computes with)

so every element is off by at most ``s / 2``. The group is the whole tensor
(``"per-tensor"``: one scale) or one output row (``"per-channel"``: one scale per output
feature, shape ``(out, 1)``). One large weight in a tensor inflates ``s`` for every weight
that shares it; per-channel scales confine that damage to one row.

Memory of a quantized tensor: ``b * numel / 8`` bytes of codes plus ``4 * n_scales`` bytes of
float32 scales (:func:`quantized_bytes`).

- :func:`quantize` / :class:`QuantizedTensor` - one tensor;
- :func:`quantize_model` - a copy of the tiny GPT with its block Linear weights replaced by
  ``w_hat`` (simulated, "fake" quantization: the arithmetic stays float32, so this measures
  quality and storage, not speed), with a :class:`ModelMemory` account;
- :func:`llama_bits_per_character` - the same bits-per-character score as
  :func:`course_utils.llm.smollm2.bits_per_character`, from llama.cpp's logits.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn

from course_utils.core.validation import check_int, check_text

SCHEMES = ("per-channel", "per-tensor")
MIN_BITS, MAX_BITS = 2, 8
SCALE_BYTES = 4  # scales are kept in float32
#: Which Linear layers of a tiny GPT block each part name selects (``blocks.i.<name>``).
PARTS = {"attn": ("attn.qkv", "attn.proj"), "mlp": ("mlp.up", "mlp.down")}


def _check_bits(bits: object) -> int:
    return check_int("bits", bits, low=MIN_BITS, high=MAX_BITS)


def _check_scheme(scheme: object) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}.")
    return str(scheme)


def _check_weight(weight: object) -> torch.Tensor:
    if not isinstance(weight, torch.Tensor) or not weight.is_floating_point():
        raise ValueError(
            "weight must be a floating-point torch tensor of shape (out, in), got "
            f"{type(weight).__name__}."
        )
    if weight.ndim != 2 or weight.numel() == 0:
        raise ValueError(
            f"weight must be a non-empty 2-D tensor (out, in), got shape {tuple(weight.shape)}."
        )
    if not torch.isfinite(weight).all():
        raise ValueError("weight contains NaN or infinity; quantize finite weights only.")
    return weight


def max_code(bits: int) -> int:
    """``Q = 2^(b-1) - 1``, the largest integer a symmetric ``b``-bit code uses."""
    return 2 ** (_check_bits(bits) - 1) - 1


@dataclass(frozen=True)
class QuantizedTensor:
    """Integer codes and their scales.

    Attributes:
        codes: int8 tensor ``(out, in)`` with values in ``-Q..Q``.
        scales: float32 ``(out, 1)`` (per-channel) or ``(1, 1)`` (per-tensor).
        bits: ``b``, the bits each code is stored in.
        scheme: ``"per-channel"`` or ``"per-tensor"``.
    """

    codes: torch.Tensor
    scales: torch.Tensor
    bits: int
    scheme: str

    def dequantize(self) -> torch.Tensor:
        """``w_hat = s q``, float32 ``(out, in)``."""
        return self.codes.float() * self.scales

    @property
    def nbytes(self) -> int:
        """Storage: ``ceil(b * numel / 8)`` bytes of codes + 4 bytes per scale."""
        return quantized_bytes(tuple(self.codes.shape), self.bits, self.scheme)


def quantize(weight: torch.Tensor, bits: int, scheme: str = "per-channel") -> QuantizedTensor:
    """Symmetric round-to-nearest quantization of ``weight`` ``(out, in)`` to ``bits`` bits.

    ``s = max|w| / (2^(b-1) - 1)`` over the whole tensor or each row,
    ``q = clamp(round(w / s), -(2^(b-1) - 1), 2^(b-1) - 1)``.

    Raises:
        ValueError: ``weight`` not a finite 2-D float tensor, ``bits`` outside 2..8, or an
            unknown ``scheme``.
    """
    weight = _check_weight(weight).detach().float()
    q_max = max_code(bits)
    scheme = _check_scheme(scheme)
    if scheme == "per-channel":
        peak = weight.abs().amax(dim=1, keepdim=True)  # (out, 1)
    else:
        peak = weight.abs().max().reshape(1, 1)  # (1, 1)
    # an all-zero row would give s = 0: any positive scale reproduces it exactly
    scales = torch.where(peak > 0, peak / q_max, torch.ones_like(peak))
    codes = torch.clamp(torch.round(weight / scales), -q_max, q_max).to(torch.int8)
    return QuantizedTensor(codes, scales, int(bits), scheme)


def quantized_bytes(shape: Sequence[int], bits: int, scheme: str = "per-channel") -> int:
    """Bytes to store a ``shape = (out, in)`` tensor at ``bits`` bits with float32 scales.

    ``ceil(b * out * in / 8) + 4 * n_scales`` with ``n_scales = out`` (per-channel) or 1.
    """
    if len(shape) != 2:
        raise ValueError(f"shape must be (out, in), got {tuple(shape)}.")
    out, inp = (check_int("shape", int(n), low=1) for n in shape)
    bits, scheme = _check_bits(bits), _check_scheme(scheme)
    n_scales = out if scheme == "per-channel" else 1
    return math.ceil(bits * out * inp / 8) + SCALE_BYTES * n_scales


@dataclass(frozen=True)
class ModelMemory:
    """Weight memory of a model whose selected Linear weights are quantized.

    ``quantized_params`` weights cost ``quantized_bytes`` (codes + scales); every other
    parameter (embeddings, LayerNorms, biases) stays float32 at 4 bytes each.
    """

    quantized_params: int
    float_params: int
    quantized_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.quantized_bytes + 4 * self.float_params

    @property
    def float32_bytes(self) -> int:
        """The same model with every parameter in float32."""
        return 4 * (self.quantized_params + self.float_params)

    @property
    def compression(self) -> float:
        return self.float32_bytes / self.total_bytes


def selected_linears(
    model: nn.Module, parts: Sequence[str] = ("attn", "mlp")
) -> dict[str, nn.Linear]:
    """The Linear layers of a tiny GPT's blocks named by ``parts`` (keys of :data:`PARTS`).

    The output head is not selected: its weight *is* the token embedding (tied), which stays
    float32 along with the position embedding and the LayerNorms.
    """
    if isinstance(parts, str) or not parts or any(p not in PARTS for p in parts):
        raise ValueError(f"parts must be a non-empty list drawn from {list(PARTS)}, got {parts!r}.")
    suffixes = tuple(s for p in parts for s in PARTS[p])
    found = {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, nn.Linear) and name.startswith("blocks.") and name.endswith(suffixes)
    }
    if not found:
        raise ValueError(
            "model has no blocks.*.attn / blocks.*.mlp Linear layers: pass a "
            "tiny GPT (course_utils.text.transformer.TinyGPT)."
        )
    return found


def quantize_model(
    model: nn.Module,
    bits: int | None,
    scheme: str = "per-channel",
    parts: Sequence[str] = ("attn", "mlp"),
) -> tuple[nn.Module, ModelMemory]:
    """A copy of ``model`` with the selected Linear weights replaced by ``w_hat``.

    Args:
        model: a tiny GPT (left unchanged).
        bits: 2..8, or ``None`` for the float32 original (memory account only).
        scheme: ``"per-channel"`` or ``"per-tensor"``.
        parts: ``"attn"`` (qkv, proj), ``"mlp"`` (up, down) or both, in every block.

    Returns:
        ``(quantized copy in eval mode, its ModelMemory)``.
    """
    if bits is not None:
        _check_bits(bits)
    scheme = _check_scheme(scheme)
    clone = copy.deepcopy(model).eval()
    layers = selected_linears(clone, parts)
    n_quantized, n_bytes = 0, 0
    with torch.no_grad():
        for layer in layers.values():
            n_quantized += layer.weight.numel()
            if bits is None:
                n_bytes += 4 * layer.weight.numel()
                continue
            quantized = quantize(layer.weight, bits, scheme)
            layer.weight.copy_(quantized.dequantize())
            n_bytes += quantized.nbytes
    n_total = sum(p.numel() for p in clone.parameters())  # the tied head counted once
    return clone, ModelMemory(n_quantized, n_total - n_quantized, n_bytes)


def llama_bits_per_character(llama, text: str) -> float:
    """Bits per character of ``text`` under a llama.cpp engine (e.g. ``smol.llama``).

    The same quantity as :func:`course_utils.llm.smollm2.bits_per_character` for one window:
    ``(-sum_{t>=1} log2 p(x_t | x_<t) + log2 V) / len(text)``, the first token charged at a
    uniform ``log2 V`` bits. Tokens are fed one at a time through
    :class:`course_utils.llm.engine.LlamaLogits`, which reuses llama.cpp's KV cache.

    Raises:
        ValueError: empty text, fewer than two tokens, or more tokens than the context holds.
    """
    import numpy as np

    from course_utils.llm.engine import LlamaLogits
    from course_utils.text.decoding import log_softmax

    text = check_text("text", text)
    scorer = LlamaLogits(llama)
    ids = scorer.tokenize(text)
    if len(ids) < 2:
        raise ValueError("The text needs at least two tokens to be scored.")
    if len(ids) >= scorer.n_ctx:
        raise ValueError(
            f"The text has {len(ids)} tokens; the engine holds {scorer.n_ctx - 1}. "
            "Score a shorter passage."
        )
    nats = 0.0
    for t in range(1, len(ids)):
        nats -= float(log_softmax(scorer.next_token_logits(ids[:t]))[ids[t]])
    return (nats / math.log(2) + float(np.log2(scorer.vocab_size))) / len(text)
