"""Denoising diffusion (DDPM) from scratch: noise schedule, forward noising, reverse sampler.

Chapter 21 teaches this module; chapter 22 adds a text prompt and classifier-free guidance
(:mod:`course_utils.image.diffusion.guidance`); chapter 23 edits images with the same sampler (its ``x_start``
/ ``start_t`` arguments for SDEdit, ``known`` / ``known_mask`` for inpainting). The network,
its training loop and the committed digit model are in :mod:`course_utils.image.diffusion.denoiser`.

The equations are those of Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models"
(numbers below refer to that paper). Time steps are **0-based** as in ``diffusers``: index ``t``
in ``0 .. T-1`` is the paper's step ``t + 1``, and ``alpha_bars[t]`` is the product of
``1 - beta_s`` for ``s <= t``.

- Forward process (eq. 4), in closed form: ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps``,
  ``eps ~ N(0, I)`` (:func:`q_sample`).
- Training (eq. 14, "L_simple"): a network ``eps_theta(x_t, t)`` learns to predict ``eps``;
  the loss is ``|eps - eps_theta(x_t, t)|^2`` at a uniformly random ``t``
  (:func:`course_utils.image.diffusion.denoiser.train_denoiser`).
- Reverse step (eqs. 6, 7, 15): estimate ``x0_hat = (x_t - sqrt(1 - abar_t) eps_theta) /
  sqrt(abar_t)``, then draw ``x_{t-1} ~ N(mu_t, beta_tilde_t I)`` with the Gaussian posterior
  ``q(x_{t-1} | x_t, x_0 = x0_hat)`` (:func:`ddpm_step`); :func:`sample` runs the chain.
- DDIM (Song, Meng & Ermon 2021, eq. 12): the same network, a deterministic jump from ``t`` to
  any earlier step (:func:`ddim_step`, ``sample(..., sampler="ddim")``): good samples with
  10-20 network calls instead of ``T``.

Everything is cross-checked against ``diffusers.DDPMScheduler`` in ``tests/test_diffusion.py``.
Images are ``(N, 8, 8)`` with ink in ``[0, 1]`` outside the model and ``x = 2 * image - 1`` in
``[-1, 1]`` inside it (:func:`images_to_x`, :func:`x_to_images`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from course_utils.core.validation import check_float, check_int

SCHEDULE_KINDS = ("linear", "cosine")
MAX_STEPS = 2000  # longest diffusion chain a schedule may have

#: ``eps_fn(x_t, t) -> eps_hat``: the noise predictor the sampler calls, ``x_t`` (B, ...) and
#: ``t`` (B,) int64 time steps in; a tensor shaped like ``x_t`` out.
EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# --- the noise schedule --------------------------------------------------------------------

@dataclass(frozen=True)
class NoiseSchedule:
    """The variances ``beta_t`` of the forward process and the products derived from them.

    Every tensor is ``(T,)`` float32, indexed by the 0-based time step ``t``.
    """

    betas: torch.Tensor       # beta_t: variance of the noise added at step t
    kind: str = "linear"      # how betas were made ("linear", "cosine" or "custom")

    @property
    def num_steps(self) -> int:
        """T, the length of the chain."""
        return len(self.betas)

    @property
    def alphas(self) -> torch.Tensor:
        """``alpha_t = 1 - beta_t``."""
        return 1.0 - self.betas

    @property
    def alpha_bars(self) -> torch.Tensor:
        """``abar_t = prod_{s <= t} alpha_s``: the share of the signal's variance left at ``t``."""
        return torch.cumprod(self.alphas, dim=0)

    def alpha_bar(self, t: int | torch.Tensor) -> torch.Tensor:
        """``abar_t``, with ``abar_{-1} = 1`` (the clean image) for ``t = -1``."""
        t = torch.as_tensor(t, dtype=torch.long)
        one = torch.ones((), dtype=self.betas.dtype)
        return torch.where(t >= 0, self.alpha_bars[t.clamp(min=0)], one)

    def snr(self) -> torch.Tensor:
        """Signal-to-noise ratio ``abar_t / (1 - abar_t)`` per step (T,)."""
        ab = self.alpha_bars
        return ab / (1 - ab)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "num_steps": self.num_steps,
                "beta_first": float(self.betas[0]), "beta_last": float(self.betas[-1])}


def make_schedule(num_steps: int = 200, kind: str = "linear", beta_start: float | None = None,
                  beta_end: float | None = None) -> NoiseSchedule:
    """Build a noise schedule.

    - ``"linear"`` (Ho et al.): ``beta_t`` evenly spaced from ``beta_start`` to ``beta_end``.
      The defaults are the paper's ``1e-4 .. 0.02`` for ``T = 1000``, scaled by ``1000 / T`` so
      that any ``T`` destroys the signal about as completely (``abar_{T-1} ~ 4e-5``).
    - ``"cosine"`` (Nichol & Dhariwal 2021): ``abar(s) = cos^2((s + 0.008) / 1.008 * pi / 2)``
      with ``beta_t = min(1 - abar((t+1)/T) / abar(t/T), 0.999)`` (diffusers'
      ``"squaredcos_cap_v2"``).

    Args:
        num_steps: T, between 2 and 2000.
        kind: ``"linear"`` or ``"cosine"``.
        beta_start, beta_end: linear schedule only (defaults above).

    Returns:
        A :class:`NoiseSchedule`.
    """
    check_int("num_steps", num_steps, low=2, high=MAX_STEPS)
    if kind not in SCHEDULE_KINDS:
        raise ValueError(f"Unknown schedule {kind!r}: use one of {', '.join(SCHEDULE_KINDS)}.")
    if kind == "cosine":
        if beta_start is not None or beta_end is not None:
            raise ValueError("beta_start / beta_end apply to the linear schedule only.")

        def abar(s: float) -> float:
            return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

        betas = [min(1 - abar((i + 1) / num_steps) / abar(i / num_steps), 0.999)
                 for i in range(num_steps)]
        return NoiseSchedule(torch.tensor(betas, dtype=torch.float32), "cosine")
    scale = 1000 / num_steps
    start = 1e-4 * scale if beta_start is None else beta_start
    end = min(0.02 * scale, 0.999) if beta_end is None else beta_end
    check_float("beta_start", start, low=0, high=1, low_inclusive=False, high_inclusive=False)
    check_float("beta_end", end, low=start, high=1, high_inclusive=False)
    return NoiseSchedule(torch.linspace(start, end, num_steps, dtype=torch.float32), "linear")


def _per_sample(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``values[t]`` shaped ``(B, 1, ..., 1)`` to broadcast against ``like`` (B, ...)."""
    return values[t].to(like.dtype).view(-1, *([1] * (like.ndim - 1)))


def _check_t(t: int | torch.Tensor, schedule: NoiseSchedule, batch: int) -> torch.Tensor:
    """Time steps as a (B,) int64 tensor, each in ``0 .. T-1``."""
    t = torch.as_tensor(t, dtype=torch.long)
    if t.ndim == 0:
        t = t.expand(batch)
    if t.shape != (batch,):
        raise ValueError(f"t must be one step or one per sample ({batch}), got shape "
                         f"{tuple(t.shape)}.")
    if len(t) and (t.min() < 0 or t.max() >= schedule.num_steps):
        raise ValueError(f"time steps must lie in 0..{schedule.num_steps - 1} (T = "
                         f"{schedule.num_steps}), got {int(t.min())}..{int(t.max())}.")
    return t


# --- forward process -----------------------------------------------------------------------

def q_sample(x0: torch.Tensor, t: int | torch.Tensor, schedule: NoiseSchedule,
             noise: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Noise clean data to step ``t`` in one jump (eq. 4):
    ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps``.

    Args:
        x0: clean data (B, ...), e.g. (B, 1, 8, 8) images in [-1, 1] or (B, 2) points.
        t: one time step for all, or (B,) steps, each in ``0 .. T-1``.
        schedule: the noise schedule.
        noise: ``eps`` (same shape as ``x0``); drawn from N(0, I) when ``None``.
        generator: random generator for ``eps``.

    Returns:
        ``x_t`` (B, ...).
    """
    t = _check_t(t, schedule, len(x0))
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
    elif noise.shape != x0.shape:
        raise ValueError(f"noise must have the shape of x0 {tuple(x0.shape)}, got "
                         f"{tuple(noise.shape)}.")
    ab = _per_sample(schedule.alpha_bars, t, x0)          # (B, 1, ...)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


# --- reverse process -----------------------------------------------------------------------

def predict_x0(x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor,
               schedule: NoiseSchedule) -> torch.Tensor:
    """Invert eq. 4 with the predicted noise (eq. 15):
    ``x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)``. Shapes (B, ...), t (B,)."""
    ab = _per_sample(schedule.alpha_bars, t, x_t)
    return (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()


def posterior_mean_variance(x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor,
                            prev_t: torch.Tensor, schedule: NoiseSchedule
                            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of ``q(x_prev | x_t, x_0)`` (eqs. 6-7), for any earlier step ``prev_t``.

    With ``abar = abar_t``, ``abar' = abar_prev`` (1 when ``prev_t = -1``) and the step's own
    ``beta = 1 - abar / abar'`` (the paper's ``beta_t`` when ``prev_t = t - 1``)::

        mu      = sqrt(abar') beta / (1 - abar) * x_0
                  + sqrt(1 - beta) (1 - abar') / (1 - abar) * x_t
        sigma^2 = beta_tilde = (1 - abar') / (1 - abar) * beta

    Args:
        x0, x_t: (B, ...).
        t, prev_t: (B,) int64 with ``-1 <= prev_t < t``.

    Returns:
        ``(mu, variance)``: mean (B, ...) and variance (B, 1, ..., 1).
    """
    ab = _per_sample(schedule.alpha_bars, t, x_t)
    ab_prev = schedule.alpha_bar(prev_t).to(x_t.dtype).view_as(ab)
    beta = 1 - ab / ab_prev                     # variance of the (possibly strided) step
    coef_x0 = ab_prev.sqrt() * beta / (1 - ab)
    coef_xt = (1 - beta).sqrt() * (1 - ab_prev) / (1 - ab)
    variance = (1 - ab_prev) / (1 - ab) * beta
    return coef_x0 * x0 + coef_xt * x_t, variance


def _check_step(x_t: torch.Tensor, t: int, eps: torch.Tensor, schedule: NoiseSchedule,
                prev_t: int | None) -> int:
    """The step to move to (default ``t - 1``), after checking ``-1 <= prev_t < t < T`` and
    that ``eps`` has the shape of ``x_t``."""
    prev_t = t - 1 if prev_t is None else prev_t
    if not -1 <= prev_t < t < schedule.num_steps:
        raise ValueError(f"need -1 <= prev_t < t < T = {schedule.num_steps}, got t={t}, "
                         f"prev_t={prev_t}.")
    if eps.shape != x_t.shape:
        raise ValueError(f"eps must have the shape of x_t {tuple(x_t.shape)}, got "
                         f"{tuple(eps.shape)}.")
    return prev_t


@dataclass
class StepResult:
    """One reverse step ``x_t -> x_prev``; tensors are (B, ...) unless noted."""

    t: int                  # the time step the network saw
    prev_t: int             # the step reached (-1: the clean sample)
    x_prev: torch.Tensor    # the new sample x_prev
    x0_hat: torch.Tensor    # the network's current estimate of the clean sample (eq. 15)
    mean: torch.Tensor      # posterior mean mu (eq. 7)
    variance: torch.Tensor  # posterior variance beta_tilde, (B, 1, ..., 1)


def ddpm_step(x_t: torch.Tensor, t: int, eps: torch.Tensor, schedule: NoiseSchedule,
              prev_t: int | None = None, noise: torch.Tensor | None = None,
              generator: torch.Generator | None = None, clip: float | None = 1.0) -> StepResult:
    """One reverse step of DDPM (Algorithm 2 of Ho et al., written with eqs. 7 and 15).

    1. ``x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)``, clipped to ``[-clip, clip]``
       (data lives in ``[-1, 1]``; ``clip=None`` for unbounded data such as 2-D points).
    2. ``mu, beta_tilde`` of ``q(x_prev | x_t, x0_hat)`` (:func:`posterior_mean_variance`).
    3. ``x_prev = mu + sqrt(beta_tilde) z`` with ``z ~ N(0, I)``, and no noise at the last step.

    This is ``diffusers.DDPMScheduler.step`` with ``variance_type="fixed_small"``; a test checks
    that both give the same numbers.

    Args:
        x_t: current sample (B, ...).
        t: its time step.
        eps: the predicted noise ``eps_theta(x_t, t)`` (B, ...).
        schedule: the noise schedule.
        prev_t: step to move to (default ``t - 1``; larger jumps when sampling with fewer steps).
        noise: ``z`` (B, ...), drawn when ``None``.
        generator: random generator for ``z``.
        clip: bound for ``x0_hat``, or ``None``.

    Returns:
        A :class:`StepResult`.
    """
    prev_t = _check_step(x_t, t, eps, schedule, prev_t)
    batch = len(x_t)
    t_vec = torch.full((batch,), t, dtype=torch.long)
    prev_vec = torch.full((batch,), prev_t, dtype=torch.long)
    x0_hat = predict_x0(x_t, t_vec, eps, schedule)                      # 1.
    if clip is not None:
        x0_hat = x0_hat.clamp(-clip, clip)
    mean, variance = posterior_mean_variance(x0_hat, x_t, t_vec, prev_vec, schedule)  # 2.
    if prev_t < 0:
        x_prev = mean                                                    # 3. last step
    else:
        if noise is None:
            noise = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype)
        x_prev = mean + variance.sqrt() * noise                         # 3.
    return StepResult(t, prev_t, x_prev, x0_hat, mean, variance)


def ddim_step(x_t: torch.Tensor, t: int, eps: torch.Tensor, schedule: NoiseSchedule,
              prev_t: int | None = None, eta: float = 0.0, noise: torch.Tensor | None = None,
              generator: torch.Generator | None = None, clip: float | None = 1.0) -> StepResult:
    """One reverse step of DDIM (Song, Meng & Ermon 2021, eq. 12), same network, same ``eps``.

    DDIM keeps the marginals ``q(x_t | x_0)`` of eq. 4 but not the Markov chain, so it may jump
    from ``t`` to any earlier ``prev_t`` and choose how much fresh noise to add::

        x0_hat  = (x_t - sqrt(1 - abar) eps) / sqrt(abar)                (clipped, as in DDPM)
        sigma   = eta * sqrt((1 - abar') / (1 - abar)) * sqrt(1 - abar / abar')
        x_prev  = sqrt(abar') x0_hat + sqrt(1 - abar' - sigma^2) eps + sigma z

    ``eta = 0`` is deterministic (the same noise always gives the same image); ``eta = 1``
    adds the DDPM posterior's noise. This is ``diffusers.DDIMScheduler.step`` (with
    ``set_alpha_to_one=True``); a test checks both give the same numbers.

    Args:
        x_t, t, eps, schedule, prev_t, noise, generator, clip: as in :func:`ddpm_step`.
        eta: share of the DDPM noise, in ``[0, 1]``.

    Returns:
        A :class:`StepResult` (``mean`` is the step without noise, ``variance`` is sigma^2).
    """
    prev_t = _check_step(x_t, t, eps, schedule, prev_t)
    eta = check_float("eta", eta, low=0.0, high=1.0)
    batch = len(x_t)
    t_vec = torch.full((batch,), t, dtype=torch.long)
    x0_hat = predict_x0(x_t, t_vec, eps, schedule)
    if clip is not None:
        x0_hat = x0_hat.clamp(-clip, clip)
    ab = _per_sample(schedule.alpha_bars, t_vec, x_t)
    ab_prev = schedule.alpha_bar(torch.full((batch,), prev_t)).to(x_t.dtype).view_as(ab)
    variance = eta ** 2 * (1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)  # sigma^2
    mean = ab_prev.sqrt() * x0_hat + (1 - ab_prev - variance).clamp(min=0).sqrt() * eps
    x_prev = mean
    if eta > 0 and prev_t >= 0:
        if noise is None:
            noise = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype)
        x_prev = mean + variance.sqrt() * noise
    return StepResult(t, prev_t, x_prev, x0_hat, mean, variance)


SAMPLERS = ("ddpm", "ddim")


def sampling_timesteps(schedule: NoiseSchedule, steps: int | None = None) -> list[int]:
    """The time steps a sampler visits, largest first.

    All ``T`` steps by default; with ``steps < T``, every ``T // steps``-th step starting at 0
    (diffusers' ``"leading"`` spacing: ``[0, k, 2k, ...]`` reversed).
    """
    T = schedule.num_steps
    steps = T if steps is None else check_int("steps", steps, low=1, high=T)
    ratio = T // steps
    return [i * ratio for i in range(steps)][::-1]


def sample(eps_fn: EpsFn, shape: Sequence[int], schedule: NoiseSchedule, *,
           steps: int | None = None, generator: torch.Generator | None = None,
           x_start: torch.Tensor | None = None, start_t: int | None = None,
           known: torch.Tensor | None = None, known_mask: torch.Tensor | None = None,
           callback: Callable[[StepResult], None] | None = None,
           clip: float | None = 1.0, sampler: str = "ddpm", eta: float = 0.0) -> torch.Tensor:
    """Run the reverse process from pure noise (or from ``x_start``) to a clean sample.

    Args:
        eps_fn: the noise predictor ``(x_t (B, ...), t (B,)) -> eps_hat (B, ...)``.
        shape: ``(B, ...)`` of the samples, e.g. ``(16, 1, 8, 8)``.
        schedule: the noise schedule the predictor was trained with.
        steps: number of reverse steps (default ``T``; fewer skips steps, see
            :func:`sampling_timesteps`).
        generator: random generator (initial noise and every step's noise), for reproducibility.
        x_start, start_t: start from ``x_start`` at step ``start_t`` instead of noise at
            ``T - 1`` (SDEdit: ``x_start = q_sample(image, start_t)``): the chain runs
            ``start_t`` first, then the visited steps below it.
        known, known_mask: inpainting. ``known`` (B, ...) clean values in the model's scale
            (images: :func:`images_to_x`) and ``known_mask`` (same shape, or broadcastable,
            e.g. (1, 1, 8, 8)) equal to 1 where a value is known, 0 where it is to be
            generated. After every step the known values are put back, noised to the new
            step with :func:`q_sample`, so the network fills in only the unknown ones.
        callback: called with the :class:`StepResult` of every step (e.g. to record frames).
        clip: bound for ``x0_hat`` (``None`` for unbounded data).
        sampler: ``"ddpm"`` (:func:`ddpm_step`, the default) or ``"ddim"`` (:func:`ddim_step`,
            which stays good with far fewer ``steps``).
        eta: DDIM's noise share in ``[0, 1]`` (ignored by DDPM).

    Returns:
        The samples ``x_{-1}`` (B, ...) - in the data's scale ([-1, 1] for images).
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}.")
    step_fn = ddpm_step if sampler == "ddpm" else functools.partial(ddim_step, eta=eta)
    shape = tuple(shape)
    if not shape or any(not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"shape must be positive integers (B, ...), got {shape}.")
    timesteps = sampling_timesteps(schedule, steps)
    if x_start is not None or start_t is not None:
        if x_start is None or start_t is None:
            raise ValueError("give both x_start and start_t (or neither).")
        check_int("start_t", start_t, low=0, high=schedule.num_steps - 1)
        if tuple(x_start.shape) != shape:
            raise ValueError(f"x_start must have shape {shape}, got {tuple(x_start.shape)}.")
        timesteps = [start_t] + [t for t in timesteps if t < start_t]
        x = x_start.clone()
    else:
        x = torch.randn(shape, generator=generator)
    if (known is None) != (known_mask is None):
        raise ValueError("inpainting needs both known and known_mask.")
    if known is not None:
        if tuple(known.shape) != shape:
            raise ValueError(f"known must have shape {shape}, got {tuple(known.shape)}.")
        mask = torch.as_tensor(known_mask, dtype=x.dtype)
        try:
            known_mask = torch.broadcast_to(mask, shape)
        except RuntimeError:
            raise ValueError(f"known_mask of shape {tuple(mask.shape)} does not fit samples "
                             f"of shape {shape}.") from None
        if ((known_mask < 0) | (known_mask > 1)).any():
            raise ValueError("known_mask must hold values in [0, 1] (1 = known).")
    with torch.inference_mode():
        for i, t in enumerate(timesteps):
            prev_t = timesteps[i + 1] if i + 1 < len(timesteps) else -1
            eps = eps_fn(x, torch.full((shape[0],), t, dtype=torch.long))
            result = step_fn(x, t, eps, schedule, prev_t=prev_t, generator=generator, clip=clip)
            if known is not None:
                target = known if prev_t < 0 else q_sample(known, prev_t, schedule,
                                                            generator=generator)
                result.x_prev = known_mask * target + (1 - known_mask) * result.x_prev
            x = result.x_prev
            if callback is not None:
                callback(result)
    return x


@dataclass
class Trajectory:
    """Snapshots of a reverse process: ``x[k]`` and ``x0_hat[k]`` after reaching ``steps[k]``."""

    steps: list[int]                  # the step reached (T = the starting noise, -1 = the end)
    x: list[torch.Tensor]             # the sample at that step (B, ...)
    x0_hat: list[torch.Tensor]        # the network's guess of the clean sample (B, ...)


def sample_trajectory(eps_fn: EpsFn, shape: Sequence[int], schedule: NoiseSchedule,
                      keep: Sequence[int], **sample_kwargs) -> Trajectory:
    """:func:`sample`, keeping snapshots whenever the chain reaches a step in ``keep``.

    The starting noise is kept as step ``T`` (with ``x0_hat`` = the noise itself) and the final
    sample as step ``-1``. Extra keyword arguments go to :func:`sample`.
    """
    wanted = set(int(k) for k in keep)
    generator = sample_kwargs.pop("generator", None) or torch.Generator().manual_seed(0)
    state = generator.get_state()
    first = torch.randn(tuple(shape), generator=generator)  # the noise sample() will draw
    generator.set_state(state)
    trajectory = Trajectory([schedule.num_steps], [first], [first])

    def record(step: StepResult) -> None:
        if step.prev_t in wanted or step.prev_t == -1:
            trajectory.steps.append(step.prev_t)
            trajectory.x.append(step.x_prev.clone())
            trajectory.x0_hat.append(step.x0_hat.clone())

    sample(eps_fn, shape, schedule, generator=generator, callback=record, **sample_kwargs)
    return trajectory


# --- images --------------------------------------------------------------------------------

def images_to_x(images: object) -> torch.Tensor:
    """Digit images (N, 8, 8), ink in [0, 1] -> model scale ``x = 2 image - 1``, (N, 1, 8, 8)."""
    from course_utils.metrics.image_quality import check_digit_images

    return torch.from_numpy(check_digit_images(images))[:, None] * 2 - 1


def x_to_images(x: torch.Tensor) -> np.ndarray:
    """Model scale (N, 1, 8, 8) -> images (N, 8, 8) float32 in [0, 1] (clipped)."""
    return ((x.detach().float()[:, 0] + 1) / 2).clamp(0, 1).numpy()
