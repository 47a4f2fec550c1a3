"""Compute, energy and emissions of training and running models, counted and measured
(chapter 55).

**FLOPs of a transformer.** A multiply-add is 2 floating-point operations, so a matrix
product ``(T, a) @ (a, b)`` costs ``2 T a b``. Per token, the forward pass of the chapter-05
GPT (``L`` layers, width ``d``, context ``T``, vocabulary ``V``) costs

    F = L (2*3d^2  [q, k, v]  +  2Td + 2Td  [scores, weighted sum]  +  2d^2  [output]
           + 2*2*4d^2  [MLP up and down])  +  2dV  [head]
      = L (24 d^2 + 4 T d) + 2 d V

and the backward pass about twice that, so training costs ``3F`` per token. The popular
shortcut (Kaplan et al. 2020) is ``6 N`` per token for ``N`` parameters: it ignores the
attention's ``T``-dependent terms and counts embedding parameters that do no multiplications.
:func:`measured_step_flops` checks both with PyTorch's own operator counter.

**Energy and CO2** are estimates from measured time and *stated* assumptions - average power
of the machine and carbon intensity of the grid - given as ranges, because neither is
measured here: ``energy = seconds * watts``, ``CO2 = energy * grams_per_kWh``.

**Scaling.** :func:`fit_power_law` fits ``loss = a * N^(-alpha)`` by least squares in log-log
space (Kaplan et al. 2020), to predict a larger model's loss before training it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from course_utils.core.validation import check_float, check_int


def forward_flops_per_token(n_layer: int, d: int, context: int, vocab: int) -> dict[str, float]:
    """The terms of ``F`` in the module docstring, per token, and their sum ``"total"``."""
    n_layer = check_int("n_layer", n_layer, low=1)
    d, context, vocab = (check_int(n, v, low=1) for n, v in
                         (("d", d), ("context", context), ("vocab", vocab)))
    terms = {"q, k, v projections": n_layer * 6 * d * d,
             "attention scores and sums": n_layer * 4 * context * d,
             "attention output": n_layer * 2 * d * d,
             "MLP": n_layer * 16 * d * d,
             "output head": 2 * d * vocab}
    terms["total"] = sum(terms.values())
    return {k: float(v) for k, v in terms.items()}


def gpt_forward_flops(config) -> dict[str, float]:
    """:func:`forward_flops_per_token` for a :class:`~course_utils.text.transformer.GPTConfig`
    (context = its ``block_size``)."""
    return forward_flops_per_token(config.n_layer, config.n_embd, config.block_size,
                                   config.vocab_size)


def measured_step_flops(model, batch: int, context: int | None = None) -> dict[str, float]:
    """FLOPs of one training step (forward + backward of the mean cross-entropy) on random
    ids, counted by ``torch.utils.flop_counter.FlopCounterMode`` (matrix products and
    attention kernels). Returns ``{"forward", "backward", "total"}`` for the whole batch."""
    import torch
    from torch.nn import functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    batch = check_int("batch", batch, low=1, high=4096)
    T = model.config.block_size if context is None else check_int(
        "context", context, low=1, high=model.config.block_size)
    ids = torch.randint(0, model.config.vocab_size, (batch, T + 1))
    was_training = model.training
    model.train()
    # the "math" attention kernel is made of matrix products the counter sees; the fused
    # CPU kernels do the same arithmetic but are not registered with it in every version
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as forward:
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as backward:
        loss.backward()
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    f, b = float(forward.get_total_flops()), float(backward.get_total_flops())
    return {"forward": f, "backward": b, "total": f + b}


@dataclass(frozen=True)
class PowerLaw:
    """``loss = a * N ** (-alpha)``."""

    a: float
    alpha: float

    def __call__(self, n: float | np.ndarray) -> np.ndarray:
        return self.a * np.asarray(n, dtype=float) ** (-self.alpha)


def fit_power_law(sizes: Sequence[float], losses: Sequence[float]) -> PowerLaw:
    """Least-squares fit of ``log loss = log a - alpha log N`` (at least two sizes)."""
    n, loss = np.asarray(sizes, dtype=float), np.asarray(losses, dtype=float)
    if n.shape != loss.shape or n.ndim != 1 or len(n) < 2:
        raise ValueError("give at least two (size, loss) pairs of the same length.")
    if (n <= 0).any() or (loss <= 0).any() or not np.isfinite(n * loss).all():
        raise ValueError("sizes and losses must be positive and finite.")
    slope, intercept = np.polyfit(np.log(n), np.log(loss), 1)
    return PowerLaw(float(np.exp(intercept)), float(-slope))


@dataclass(frozen=True)
class Footprint:
    """Energy and emissions of a run, as ranges from the stated assumptions."""

    seconds: float
    kwh: tuple[float, float]          # (low, high)
    grams_co2: tuple[float, float]    # (low, high)


def footprint(seconds: float, watts: tuple[float, float] = (10.0, 40.0),
              grams_per_kwh: tuple[float, float] = (50.0, 700.0)) -> Footprint:
    """Energy and CO2 of ``seconds`` of compute at an average power in ``watts`` (low, high)
    on a grid emitting ``grams_per_kwh`` (low, high) - the ranges are the uncertainty."""
    seconds = check_float("seconds", seconds, low=0)
    for name, pair in (("watts", watts), ("grams_per_kwh", grams_per_kwh)):
        if len(pair) != 2 or not 0 <= check_float(name, pair[0], low=0) <= check_float(
                name, pair[1], low=0):
            raise ValueError(f"{name} must be a (low, high) pair with 0 <= low <= high.")
    kwh = (seconds * watts[0] / 3.6e6, seconds * watts[1] / 3.6e6)
    return Footprint(seconds, kwh, (kwh[0] * grams_per_kwh[0], kwh[1] * grams_per_kwh[1]))


@dataclass(frozen=True)
class TrainingCost:
    """What training a model of ``params`` parameters on ``tokens`` tokens takes."""

    flops: float
    seconds: float
    kwh: float
    kg_co2: float


def training_cost(params: float, tokens: float, flops_per_second: float,
                  utilisation: float = 0.4, watts: float = 700.0,
                  grams_per_kwh: float = 400.0, devices: int = 1) -> TrainingCost:
    """The calculator of chapter 55: ``FLOPs = 6 N D``; time = FLOPs / (devices * peak *
    utilisation); energy = time * devices * watts; CO2 = energy * grams_per_kwh.

    Args:
        params: N, parameters (> 0, at most 1e15).
        tokens: D, training tokens (> 0, at most 1e16).
        flops_per_second: peak throughput of one device (e.g. 1e15 for a modern GPU in
            16-bit arithmetic, about 1e11 for two CPU cores).
        utilisation: share of the peak reached in practice, in (0, 1].
        watts: average power of one device with its share of the machine.
        grams_per_kwh: carbon intensity of the electricity.
        devices: how many run in parallel.
    """
    params = check_float("parameters", params, low=0, high=1e15, low_inclusive=False)
    tokens = check_float("tokens", tokens, low=0, high=1e16, low_inclusive=False)
    peak = check_float("FLOP/s per device", flops_per_second, low=0, high=1e18,
                       low_inclusive=False)
    utilisation = check_float("utilisation", utilisation, low=0, high=1, low_inclusive=False)
    watts = check_float("watts", watts, low=0, high=1e5)
    grams_per_kwh = check_float("grams per kWh", grams_per_kwh, low=0, high=2000)
    devices = check_int("devices", devices, low=1, high=10_000_000)
    flops = 6 * params * tokens
    seconds = flops / (devices * peak * utilisation)
    kwh = seconds * devices * watts / 3.6e6
    return TrainingCost(flops, seconds, kwh, kwh * grams_per_kwh / 1000)
