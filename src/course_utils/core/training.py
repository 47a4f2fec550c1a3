"""The course's one training loop, its learning-rate schedule and weight averaging.

Most models in the course train the same way: at each step set the learning rate, compute a
loss on a fresh random batch, take one optimiser step, optionally clip the gradient and keep an
exponential moving average (EMA) of the weights, stop early at a time budget, and record the
loss. :func:`run_steps` is that loop; a model supplies only ``loss_at(step)`` (draw the batch,
return the scalar loss). The denoisers of chapters 21-24 and the shape judge use it; the tiny
GPT (chapter 05) uses :func:`warmup_cosine` inside its own loop, which also scores validation
text as it goes.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from course_utils.core.progress import progress


def warmup_cosine(step: int, steps: int, peak: float, warmup_steps: int = 0,
                  floor_fraction: float = 0.05) -> float:
    """Learning rate at ``step`` (0-based): linear warm-up to ``peak``, then cosine decay.

    ``lr = peak (step + 1) / W`` for ``step < W``, then
    ``lr = peak (f + (1 - f) (1 + cos(pi d)) / 2)`` with ``d = (step - W) / (steps - W)``
    (capped at 1) and ``f = floor_fraction``: the rate ends at ``f * peak``.
    """
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    done = (step - warmup_steps) / max(1, steps - warmup_steps)
    return peak * (floor_fraction
                   + (1 - floor_fraction) * 0.5 * (1 + math.cos(math.pi * min(1.0, done))))


class WeightAverage:
    """Exponential moving average of a model's weights, ``w_ema <- d w_ema + (1 - d) w``.

    The decay warms up as ``d = min(decay, (1 + step) / (10 + step))``, so early averages are
    not dominated by the random initial weights. ``average`` is a frozen copy of the model.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"decay must be in (0, 1), got {decay!r}.")
        self.decay = decay
        self.average = copy.deepcopy(model).requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        for p_avg, p in zip(self.average.parameters(), model.parameters()):
            p_avg.lerp_(p, 1 - decay)


@dataclass
class LossHistory:
    """Loss per step and the training time of one run."""

    loss: list[float] = field(default_factory=list)  # one value per optimiser step
    seconds: float = 0.0      # wall-clock training time
    cpu_seconds: float = 0.0  # CPU time of this process (= wall time on an idle machine)

    def smoothed(self, window: int = 50) -> np.ndarray:
        """Running mean of the loss (for plots)."""
        x = np.asarray(self.loss)
        if len(x) < window:
            return x
        return np.convolve(x, np.ones(window) / window, mode="valid")


def run_steps(model: torch.nn.Module, loss_at: Callable[[int], torch.Tensor],
              optimiser: torch.optim.Optimizer, steps: int,
              learning_rate: Callable[[int], float], *, ema_decay: float = 0.0,
              grad_clip: float | None = None, max_seconds: float | None = None,
              show_progress: bool = True, label: str = "training"
              ) -> tuple[torch.nn.Module, LossHistory]:
    """Train ``model`` in place for ``steps`` optimiser steps.

    Each step: set every group's learning rate to ``learning_rate(step)``, ``loss =
    loss_at(step)`` (a scalar tensor on a fresh batch), back-propagate, clip the global
    gradient norm to ``grad_clip`` (if given), step, update the weight average (if
    ``ema_decay > 0``). Stops early once ``max_seconds`` of wall time have passed.

    Returns:
        ``(model to sample or evaluate with, history)``: the weight average when
        ``ema_decay > 0``, otherwise ``model``; in eval mode.
    """
    ema = WeightAverage(model, ema_decay) if ema_decay > 0 else None
    history = LossHistory()
    iterator = progress(range(steps), label, unit="step") if show_progress else range(steps)
    model.train()
    start, cpu_start = time.perf_counter(), time.process_time()
    for step in iterator:
        rate = learning_rate(step)
        for group in optimiser.param_groups:
            group["lr"] = rate
        loss = loss_at(step)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimiser.step()
        if ema is not None:
            ema.update(model, step)
        history.loss.append(loss.item())
        if max_seconds is not None and time.perf_counter() - start >= max_seconds:
            break
    history.seconds = time.perf_counter() - start
    history.cpu_seconds = time.process_time() - cpu_start
    model.eval()
    return (ema.average.eval() if ema is not None else model), history
