"""Editing digits with a trained diffusion model: inpainting and SDEdit (chapter 23).

Both edits reuse chapter 21's sampler (:func:`course_utils.image.diffusion.ddpm.sample`) and model
(:func:`course_utils.image.diffusion.denoiser.load_digit_diffusion`) without retraining anything:

- **Inpainting** fills the unknown pixels of an image. A *mask* ``m`` (8, 8) says which pixels
  are known (1) and which are to be generated (0). The "replace" method runs the reverse process
  and, after every step, overwrites the known pixels with the real image noised to that step:
  ``x_{t-1} <- m * q_sample(x_0, t-1) + (1 - m) * x_{t-1}``. **RePaint** (Lugmayr et al. 2022,
  "RePaint: Inpainting using Denoising Diffusion Probabilistic Models") adds *resampling*: after
  a step, jump back up to the previous noise level with the forward process,
  ``x_t = sqrt(abar_t / abar_{t-1}) x_{t-1} + sqrt(1 - abar_t / abar_{t-1}) z``, and denoise
  again, ``resample`` times per step, so the generated part has time to agree with the known
  part (:func:`inpaint`).
- **SDEdit** (Meng et al. 2022, "SDEdit: Guided Image Synthesis and Editing with Stochastic
  Differential Equations") turns a rough input into a realistic image: noise it to step
  ``start_t = round(strength * T) - 1`` with the forward process, then run the reverse process
  from there (:func:`sdedit`). Small strength keeps the input, strength 1 ignores it.
- The rough inputs are procedural "sketches" of digits: a few strokes per digit, randomly
  jittered, drawn with thick lines and averaged down to 8x8 (:func:`make_sketches`).

Images are ``(N, 8, 8)`` float32 with ink in ``[0, 1]``, as in :mod:`course_utils.metrics.image_quality`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from course_utils.core.validation import check_float, check_int
from course_utils.image.diffusion.ddpm import (
    EpsFn,
    NoiseSchedule,
    ddpm_step,
    images_to_x,
    q_sample,
    sample,
    sampling_timesteps,
    x_to_images,
)
from course_utils.image.diffusion.denoiser import DigitDiffusion
from course_utils.metrics.image_quality import check_digit_images

if TYPE_CHECKING:
    import pandas as pd

SIZE = 8  # digits are 8x8
MAX_RESAMPLE = 20  # most RePaint resamplings per step (cost grows linearly)

#: The named masks of :func:`make_mask`: each names the region that is *missing*.
MASK_NAMES = ("bottom half", "top half", "right half", "left half", "centre", "random half")


# --- masks ---------------------------------------------------------------------------------

def check_mask(mask: object, name: str = "mask") -> np.ndarray:
    """``mask`` as a float32 ``(8, 8)`` array of 0 (to generate) and 1 (known).

    Raises:
        ValueError: another shape, values other than 0/1, or a mask that leaves nothing to
            generate (all known) or nothing to condition on (all unknown).
    """
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    try:
        m = np.asarray(mask, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric (8, 8) array, got "
                         f"{type(mask).__name__}.") from None
    if m.shape != (SIZE, SIZE):
        raise ValueError(f"{name} must have shape (8, 8) like the digits, got {m.shape}.")
    if not np.isin(m, (0.0, 1.0)).all():
        raise ValueError(f"{name} must hold only 0 (pixel to generate) and 1 (known pixel).")
    if m.all():
        raise ValueError(f"{name} marks every pixel as known: nothing is left to inpaint.")
    if not m.any():
        raise ValueError(f"{name} marks every pixel as unknown: that is plain generation, "
                         "not inpainting (keep at least one known pixel).")
    return m


def make_mask(name: str, seed: int = 0) -> np.ndarray:
    """A named mask (8, 8): 1 = known, 0 = missing; the name says what is missing.

    ``"bottom half"``, ``"top half"``, ``"right half"``, ``"left half"`` (4 rows or columns),
    ``"centre"`` (the central 4x4 square) and ``"random half"`` (32 pixels chosen with
    ``seed``).
    """
    if name not in MASK_NAMES:
        raise ValueError(f"Unknown mask {name!r}: use one of {', '.join(MASK_NAMES)}.")
    check_int("seed", seed, low=0)
    m = np.ones((SIZE, SIZE), dtype=np.float32)
    half = SIZE // 2
    if name == "bottom half":
        m[half:] = 0
    elif name == "top half":
        m[:half] = 0
    elif name == "right half":
        m[:, half:] = 0
    elif name == "left half":
        m[:, :half] = 0
    elif name == "centre":
        m[2:6, 2:6] = 0
    else:
        return random_mask(0.5, seed)
    return m


def random_mask(known_fraction: float, seed: int = 0) -> np.ndarray:
    """A mask (8, 8) with ``round(known_fraction * 64)`` known pixels chosen at random."""
    check_float("known_fraction", known_fraction, low=0, high=1, low_inclusive=False,
                high_inclusive=False)
    check_int("seed", seed, low=0)
    n_known = int(round(known_fraction * SIZE * SIZE))
    if not 0 < n_known < SIZE * SIZE:
        raise ValueError(f"known_fraction {known_fraction:g} leaves {n_known} of 64 pixels "
                         "known: it must keep at least one known and one missing pixel.")
    order = np.random.default_rng(seed).permutation(SIZE * SIZE)
    m = np.zeros(SIZE * SIZE, dtype=np.float32)
    m[order[:n_known]] = 1
    return m.reshape(SIZE, SIZE)


def _masks_for(images: np.ndarray, mask: object) -> np.ndarray:
    """One mask (8, 8) for all images, or one per image (N, 8, 8): returns (N, 8, 8)."""
    m = np.asarray(mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else mask)
    if m.ndim == 3:
        if len(m) != len(images):
            raise ValueError(f"{len(m)} masks for {len(images)} images: give one mask (8, 8) "
                             "or one per image.")
        return np.stack([check_mask(one, f"mask {i}") for i, one in enumerate(m)])
    return np.broadcast_to(check_mask(m), images.shape).copy()


def masked_mse(output: object, target: object, mask: object) -> float:
    """Mean squared error over the *unknown* pixels only (mask 0), in ink units [0, 1].

    ``sum((1 - m) (output - target)^2) / sum(1 - m)``: the known pixels are copied by every
    method, so counting them would only dilute the differences.
    """
    out = check_digit_images(output, "output")
    ref = check_digit_images(target, "target")
    if out.shape != ref.shape:
        raise ValueError(f"output {out.shape} and target {ref.shape} must have the same shape.")
    unknown = 1 - _masks_for(ref, mask)
    return float((unknown * (out - ref) ** 2).sum() / unknown.sum())


def composite(images: object, fill: object, mask: object) -> np.ndarray:
    """Known pixels from ``images``, the rest from ``fill`` (N, 8, 8) or (8, 8):
    ``m * images + (1 - m) * fill``. The baselines of the chapter are composites."""
    x = check_digit_images(images)
    f = np.asarray(fill, dtype=np.float32)
    f = check_digit_images(np.broadcast_to(f, x.shape), "fill")
    m = _masks_for(x, mask)
    return m * x + (1 - m) * f


# --- inpainting ----------------------------------------------------------------------------

def repaint_sample(eps_fn: EpsFn, known: torch.Tensor, known_mask: torch.Tensor,
                   schedule: NoiseSchedule, steps: int | None = None, resample: int = 1,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Inpainting with RePaint's resampling (Lugmayr et al. 2022, Algorithm 1).

    For each visited step ``t`` (next step ``t'``), repeated ``resample`` times:

    1. one reverse step ``x_t -> x_{t'}`` (:func:`course_utils.image.diffusion.ddpm.ddpm_step`);
    2. known pixels replaced by ``q_sample(known, t')``:
       ``x_{t'} <- m * known_{t'} + (1 - m) * x_{t'}``;
    3. unless it is the last repetition: back to step ``t`` with the forward process,
       ``x_t = sqrt(abar_t / abar_{t'}) x_{t'} + sqrt(1 - abar_t / abar_{t'}) z``.

    With ``resample=1`` this is exactly :func:`course_utils.image.diffusion.ddpm.sample` with
    ``known``/``known_mask`` (the "replace" method; same random draws, same result).

    Args:
        eps_fn: the noise predictor.
        known: (B, 1, 8, 8) clean images in the model's scale [-1, 1].
        known_mask: (B, 1, 8, 8) or broadcastable; 1 = known, 0 = to generate.
        schedule: the model's noise schedule.
        steps: reverse steps visited (default T).
        resample: ``U``, denoising passes per step (1 = no resampling).
        generator: random generator.

    Returns:
        The inpainted images (B, 1, 8, 8) in [-1, 1].
    """
    check_int("resample", resample, low=1, high=MAX_RESAMPLE)
    shape = tuple(known.shape)
    if resample == 1:
        return sample(eps_fn, shape, schedule, steps=steps, generator=generator, known=known,
                      known_mask=known_mask)
    mask = torch.broadcast_to(torch.as_tensor(known_mask, dtype=known.dtype), shape)
    timesteps = sampling_timesteps(schedule, steps)
    x = torch.randn(shape, generator=generator)
    with torch.inference_mode():
        for i, t in enumerate(timesteps):
            prev_t = timesteps[i + 1] if i + 1 < len(timesteps) else -1
            t_vec = torch.full((shape[0],), t, dtype=torch.long)
            for u in range(resample):
                step = ddpm_step(x, t, eps_fn(x, t_vec), schedule, prev_t=prev_t,
                                 generator=generator)                                  # 1.
                target = known if prev_t < 0 else q_sample(known, prev_t, schedule,
                                                            generator=generator)
                x_prev = mask * target + (1 - mask) * step.x_prev                       # 2.
                if u == resample - 1 or prev_t < 0:
                    break
                ratio = schedule.alpha_bar(t) / schedule.alpha_bar(prev_t)  # abar_t / abar_t'
                z = torch.randn(shape, generator=generator)
                x = ratio.sqrt() * x_prev + (1 - ratio).sqrt() * z                      # 3.
            x = x_prev
    return x


def inpaint(digits: DigitDiffusion, images: object, mask: object, *, steps: int = 50,
            resample: int = 1, seed: int = 0, eps_fn: EpsFn | None = None) -> np.ndarray:
    """Fill the unknown pixels of ``images`` with the diffusion model.

    Args:
        digits: the model (:func:`course_utils.image.diffusion.denoiser.load_digit_diffusion`).
        images: (N, 8, 8) in [0, 1]; only their known pixels are used.
        mask: (8, 8) for all images or (N, 8, 8), 1 = known (:func:`check_mask`).
        steps: reverse steps (1..T).
        resample: RePaint passes per step (1 = the plain "replace" method).
        seed: seed of the sampler's noise.
        eps_fn: noise predictor (default: the unconditional model; pass e.g.
            ``digits.eps_fn(labels)`` to also say which digit it is).

    Returns:
        (N, 8, 8) in [0, 1]; known pixels equal the input's.
    """
    x = check_digit_images(images)
    m = _masks_for(x, mask)
    check_int("steps", steps, low=1, high=digits.schedule.num_steps)
    check_int("resample", resample, low=1, high=MAX_RESAMPLE)
    check_int("seed", seed, low=0)
    generator = torch.Generator().manual_seed(seed)
    out = repaint_sample(eps_fn or digits.eps_fn(), images_to_x(x),
                         torch.from_numpy(m)[:, None], digits.schedule, steps=steps,
                         resample=resample, generator=generator)
    return m * x + (1 - m) * x_to_images(out)  # known pixels exactly as given


def inpainting_report(images: object, labels: Sequence[int], mask: object,
                      outputs: dict[str, np.ndarray]) -> "pd.DataFrame":
    """Masked-region error and judged accuracy of several inpainting results.

    Args:
        images: the true images (N, 8, 8).
        labels: their digits (N,).
        mask: the mask used, (8, 8) or (N, 8, 8).
        outputs: method name -> completed images (N, 8, 8).

    Returns:
        A pandas DataFrame indexed by method: ``masked MSE`` (lower is better) and
        ``judge accuracy`` (share read as the original digit) and ``digit rate``.
    """
    import pandas as pd

    from course_utils.metrics.image_quality import judge_digits

    if not outputs:
        raise ValueError("inpainting_report needs at least one result.")
    rows = {}
    for name, out in outputs.items():
        report = judge_digits(out, labels)
        rows[name] = {"masked MSE": masked_mse(out, images, mask),
                      "judge accuracy": report.accuracy, "digit rate": report.digit_rate}
    return pd.DataFrame(rows).T


# --- SDEdit --------------------------------------------------------------------------------

def strength_to_start_t(strength: float, num_steps: int) -> int:
    """SDEdit's strength in ``(0, 1]`` -> the step to noise to, ``round(strength * T) - 1``
    (at least 0): strength 1 starts from (almost) pure noise at ``T - 1``."""
    s = check_float("strength", strength, low=0, high=1, low_inclusive=False)
    return max(0, int(round(s * num_steps)) - 1)


def sdedit(digits: DigitDiffusion, images: object, strength: float, *, steps: int = 50,
           seed: int = 0, eps_fn: EpsFn | None = None) -> np.ndarray:
    """SDEdit: noise ``images`` to ``start_t`` and run the reverse process from there.

    ``x_start = q_sample(x_0, start_t)`` (eq. 4 of DDPM) with ``start_t`` from
    :func:`strength_to_start_t`; then :func:`course_utils.image.diffusion.ddpm.sample` with
    ``x_start``/``start_t``, visiting ``start_t`` and then the sampler's steps below it (about
    ``strength * steps`` network calls).

    Args:
        digits: the model.
        images: rough inputs (N, 8, 8) in [0, 1].
        strength: in ``(0, 1]``; how much of the chain to rerun.
        steps: reverse steps of the full chain (1..T).
        seed: seed of the forward noise and of the sampler.
        eps_fn: noise predictor (default unconditional; ``digits.eps_fn(labels)`` or
            :func:`course_utils.image.diffusion.guidance.guided_eps` to also steer towards a digit).

    Returns:
        Edited images (N, 8, 8) in [0, 1].
    """
    x0 = images_to_x(images)
    T = digits.schedule.num_steps
    start_t = strength_to_start_t(strength, T)
    check_int("steps", steps, low=1, high=T)
    check_int("seed", seed, low=0)
    generator = torch.Generator().manual_seed(seed)
    x_start = q_sample(x0, start_t, digits.schedule, generator=generator)
    out = sample(eps_fn or digits.eps_fn(), tuple(x0.shape), digits.schedule, steps=steps,
                 generator=generator, x_start=x_start, start_t=start_t)
    return x_to_images(out)


def sdedit_sweep(digits: DigitDiffusion, images: object, labels: Sequence[int],
                 strengths: Sequence[float], steps: int = 50, seed: int = 0,
                 eps_fn: EpsFn | None = None) -> tuple["pd.DataFrame", dict[float, np.ndarray]]:
    """SDEdit the same inputs at several strengths and score realism and faithfulness.

    Scores per strength: ``start_t``; ``digit rate`` and ``judge accuracy`` (read as the
    intended ``labels``) from the digit judge; ``FD to real`` (Fréchet distance to the real
    test digits, :func:`course_utils.metrics.image_quality.digit_fd`); ``distance to input`` (root mean
    squared pixel difference to the input, the faithfulness side: 0 = unchanged).

    Returns:
        ``(table, outputs)``: a DataFrame indexed by strength, and the edited images per
        strength.
    """
    import pandas as pd

    from course_utils.metrics.image_quality import digit_fd, judge_digits

    x = check_digit_images(images)
    if len(strengths) == 0:
        raise ValueError("sdedit_sweep needs at least one strength.")
    rows, outputs = [], {}
    for s in strengths:
        out = sdedit(digits, x, s, steps=steps, seed=seed, eps_fn=eps_fn)
        report = judge_digits(out, labels)
        rows.append({"strength": float(s),
                     "start_t": strength_to_start_t(s, digits.schedule.num_steps),
                     "digit rate": report.digit_rate, "judge accuracy": report.accuracy,
                     "FD to real": digit_fd(out),
                     "distance to input": float(np.sqrt(((out - x) ** 2).mean()))})
        outputs[float(s)] = out
    return pd.DataFrame(rows).set_index("strength"), outputs


# --- procedural sketches -------------------------------------------------------------------

#: Strokes of each digit as polylines in the unit square (x to the right, y down).
#: Circles are written as ``("circle", cx, cy, rx, ry)``.
STROKES: dict[int, list] = {
    0: [("circle", 0.5, 0.5, 0.27, 0.4)],
    1: [[(0.35, 0.28), (0.56, 0.1), (0.52, 0.9)]],
    2: [[(0.25, 0.3), (0.38, 0.12), (0.62, 0.1), (0.75, 0.28), (0.65, 0.5), (0.25, 0.88),
         (0.8, 0.88)]],
    3: [[(0.25, 0.12), (0.7, 0.12), (0.74, 0.3), (0.45, 0.48), (0.75, 0.66), (0.68, 0.88),
         (0.25, 0.88)]],
    4: [[(0.62, 0.9), (0.62, 0.1), (0.2, 0.62), (0.82, 0.62)]],
    5: [[(0.75, 0.1), (0.3, 0.1), (0.28, 0.45), (0.65, 0.45), (0.76, 0.68), (0.6, 0.9),
         (0.25, 0.86)]],
    6: [[(0.7, 0.1), (0.4, 0.3), (0.28, 0.65), (0.4, 0.9), (0.65, 0.88), (0.72, 0.66),
         (0.55, 0.5), (0.3, 0.6)]],
    7: [[(0.2, 0.12), (0.8, 0.12), (0.45, 0.9)]],
    8: [("circle", 0.5, 0.29, 0.19, 0.18), ("circle", 0.5, 0.7, 0.23, 0.2)],
    9: [("circle", 0.5, 0.32, 0.21, 0.2), [(0.71, 0.32), (0.62, 0.9)]],
}
_FINE = 32  # sketches are drawn at 32x32 and averaged down to 8x8


def _stroke_points(stroke, n: int = 64) -> np.ndarray:
    """Points (n, 2) along one stroke (polyline or ellipse) in the unit square."""
    if isinstance(stroke, tuple) and stroke[0] == "circle":
        _, cx, cy, rx, ry = stroke
        a = np.linspace(0, 2 * np.pi, n)
        return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)
    p = np.asarray(stroke, dtype=float)                          # (K, 2) corners
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    s = np.concatenate([[0], np.cumsum(seg)])                    # arc length at each corner
    u = np.linspace(0, s[-1], n)
    return np.stack([np.interp(u, s, p[:, 0]), np.interp(u, s, p[:, 1])], axis=1)


def draw_strokes(strokes: list, width: float = 0.07, rng: np.random.Generator | None = None,
                 jitter: float = 0.0) -> np.ndarray:
    """Rasterise strokes into an (8, 8) image in [0, 1] (max ink 1).

    Each stroke is sampled densely; a fine 32x32 pixel is inked when it lies within ``width``
    (unit-square units) of a stroke point, and 4x4 blocks are averaged to one 8x8 pixel. With
    ``rng``, the strokes are jittered first: a random rotation (+-12 degrees), scale
    (0.85-1.1), shift (+-``jitter``) and per-corner wobble.
    """
    points = [_stroke_points(s) for s in strokes]
    if rng is not None:
        angle = np.deg2rad(rng.uniform(-12, 12))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        scale = rng.uniform(0.85, 1.1, size=2)
        shift = rng.uniform(-jitter, jitter, size=2)
        points = [((p - 0.5) * scale) @ rot.T + 0.5 + shift
                  + rng.normal(0, jitter / 3, size=(1, 2)) for p in points]
    pts = np.concatenate(points)                                               # (P, 2)
    grid = (np.arange(_FINE) + 0.5) / _FINE
    gx, gy = np.meshgrid(grid, grid)                                           # (32, 32)
    d = np.sqrt((gx[..., None] - pts[:, 0]) ** 2 + (gy[..., None] - pts[:, 1]) ** 2)  # (32,32,P)
    fine = (d.min(axis=-1) <= width).astype(np.float32)
    k = _FINE // SIZE
    coarse = fine.reshape(SIZE, k, SIZE, k).mean(axis=(1, 3))                 # (8, 8)
    return coarse / max(coarse.max(), 1e-6)


def make_sketches(n: int, seed: int = 0, labels: Sequence[int] | None = None,
                  width: float = 0.07, jitter: float = 0.06) -> tuple[np.ndarray, np.ndarray]:
    """``n`` crude stroke drawings of digits, the rough inputs of SDEdit.

    Args:
        n: number of sketches (1-10,000).
        seed: seed of the jitter.
        labels: the digit of each sketch (default ``0, 1, ..., 9, 0, 1, ...``).
        width: stroke half-width in unit-square units (0.02-0.2).
        jitter: shift and wobble of the strokes (0-0.2).

    Returns:
        ``(images (n, 8, 8) float32 in [0, 1], labels (n,) int64)``.
    """
    check_int("n", n, low=1, high=10_000)
    check_int("seed", seed, low=0)
    check_float("width", width, low=0.02, high=0.2)
    check_float("jitter", jitter, low=0, high=0.2)
    y = np.arange(n) % 10 if labels is None else np.asarray(labels)
    if y.shape != (n,) or not np.isin(y, np.arange(10)).all():
        raise ValueError(f"labels must be {n} digits 0-9.")
    rng = np.random.default_rng(seed)
    images = np.stack([draw_strokes(STROKES[int(d)], width, rng, jitter) for d in y])
    return images.astype(np.float32), y.astype(np.int64)
