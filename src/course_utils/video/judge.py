"""A judge for clips: which shape, which colour, which motion - and does the object persist?

The judge is a deterministic analyser, not a trained network, so that its verdicts can be
checked by hand and cannot share a learned model's blind spots:

1. **Find the object in each frame** by template matching. The frame's intensity
   ``I = max over channels`` (H, W) is compared with every shape drawn at every size in
   :data:`JUDGE_SIZES` (:func:`course_utils.video.clips.shape_mask`) at every position where
   it fits; the residual ``r = |I - T_p|^2 = |I|^2 - 2 <I, T_p> + |T|^2`` is computed for all
   positions at once with a 2-D convolution (``<I, T_p>`` is a correlation). The best
   (shape, size, position) wins; the object is **present** when ``r <= PRESENT_RATIO * |T|^2``
   (a clean shape explains the frame up to 30% of the shape's own energy: stray ink, a
   blurred or doubled object, a missing one, all raise ``r``).
2. **Colour**: the brightest channel of the mean RGB under the matched template.
3. **Per clip**: shape, colour and size are the most common over the frames. The object
   **persists** when it is present in every frame with that same shape, colour and size.
4. **Motion**: the centres ``p_k`` of the matched templates, minus their mean, are compared
   with each motion's ideal path (:func:`course_utils.video.clips.motion_offsets`, also minus
   its mean) and with standing still; the nearest wins if its RMS distance
   ``sqrt(mean_k |p_k - m_k|^2)`` is at most :data:`MAX_PATH_ERROR` pixels. Otherwise, or if
   an object is present in fewer than half of the frames, the motion is ``"erratic"``.
   (Motion is read from the best match in every frame, clean or not: persistence is
   scored separately.)

On real clips the matched template is the drawn one (residual 0), so the judge is exact; the
chapter measures how it degrades with noise, blur and shuffled frames before trusting it
on generated clips. :func:`clip_scores` turns a reading into per-clip scores (prompt
following and temporal consistency) and :func:`score_table` into a summary row; :func:`persistence_failures` says why clips
break persistence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from course_utils.core.validation import check_float
from course_utils.video import clips as C

JUDGE_SIZES = tuple(range(3, 10))      # template sizes tried (the data uses 5-7)
PRESENT_RATIO = 0.3                   # residual / template energy at most this: an object
MAX_PATH_ERROR = 1.0                  # RMS pixels from the nearest ideal path for a motion
#: What the judge can say about motion: the five motions, standing still, or neither.
MOTION_READINGS = (*C.MOTIONS, "still", "erratic")
STILL = len(C.MOTIONS)
ERRATIC = STILL + 1


@dataclass
class ClipReading:
    """The judge's reading of N clips of F frames (arrays indexed ``[clip]`` or
    ``[clip, frame]``)."""

    colour: np.ndarray         # (N,) most common colour index over the frames
    shape: np.ndarray          # (N,) most common shape index
    size: np.ndarray           # (N,) most common size in pixels
    motion: np.ndarray         # (N,) index into MOTION_READINGS
    path_error: np.ndarray     # (N,) RMS pixels from the nearest ideal path (inf: no object)
    persistent: np.ndarray     # (N,) bool: present in every frame with one shape/colour/size
    present: np.ndarray        # (N, F) bool: an object was found in the frame
    frame_colour: np.ndarray   # (N, F) colour index per frame
    frame_shape: np.ndarray    # (N, F) shape index per frame
    frame_size: np.ndarray     # (N, F) size per frame
    centre: np.ndarray         # (N, F, 2) (x, y) centre of the matched template, pixels
    residual: np.ndarray       # (N, F) r / |T|^2 of the best match

    def names(self) -> list[str]:
        """Each clip as the judge reads it, e.g. ``"red circle left"``."""
        return [f"{C.COLOURS[c]} {C.SHAPES[s]} {MOTION_READINGS[m]}"
                for c, s, m in zip(self.colour, self.shape, self.motion)]


@dataclass(frozen=True)
class _Templates:
    sizes: tuple[int, ...]
    kernels: dict[int, torch.Tensor]     # size -> (3 shapes, 1, s, s)
    energy: dict[int, torch.Tensor]      # size -> (3,) |T|^2


def _templates() -> _Templates:
    kernels, energy = {}, {}
    for s in JUDGE_SIZES:
        k = torch.from_numpy(np.stack([C.shape_mask(shape, s) for shape in
                                       range(len(C.SHAPES))]))[:, None]   # (3, 1, s, s)
        kernels[s] = k
        energy[s] = k.square().sum(dim=(1, 2, 3))                         # (3,)
    return _Templates(JUDGE_SIZES, kernels, energy)


_TEMPLATES = _templates()


def _mode(values: np.ndarray) -> np.ndarray:
    """Most common value per row of a non-negative int array (N, F) -> (N,) (ties: smallest)."""
    top = int(values.max()) + 1 if values.size else 1
    counts = np.stack([(values == v).sum(axis=1) for v in range(top)], axis=1)
    return counts.argmax(axis=1)


def _ideal_paths(frames: int) -> np.ndarray:
    """Ideal centre paths minus their mean, (6, F, 2): the five motions and standing still."""
    paths = [C.motion_offsets(m, frames).astype(float) for m in range(len(C.MOTIONS))]
    paths.append(np.zeros((frames, 2)))
    stacked = np.stack(paths)
    return stacked - stacked.mean(axis=1, keepdims=True)


def read_clips(clips: object) -> ClipReading:
    """Read shape, colour, size, position and motion from clips (N, F, 3, H, W) in [0, 1]
    (values are clipped to [0, 1] first). See the module docstring for the method."""
    x = torch.from_numpy(np.clip(C.check_clips(clips), 0, 1))
    n, frames = x.shape[:2]
    if frames < 2:
        raise ValueError("read_clips needs clips of at least 2 frames to read a motion.")
    flat = x.reshape(n * frames, 3, C.SIZE, C.SIZE)                 # (N F, 3, H, W)
    intensity = flat.amax(dim=1, keepdim=True)                       # (N F, 1, H, W)
    energy = intensity.square().sum(dim=(1, 2, 3))                   # (N F,) |I|^2
    best_ratio = torch.full((n * frames,), torch.inf)
    best_shape = torch.zeros(n * frames, dtype=torch.long)
    best_size = torch.zeros(n * frames, dtype=torch.long)
    best_x = torch.zeros(n * frames, dtype=torch.long)
    best_y = torch.zeros(n * frames, dtype=torch.long)
    for s in _TEMPLATES.sizes:
        kernels = _TEMPLATES.kernels[s]                               # (3, 1, s, s)
        corr = F.conv2d(intensity, kernels)                           # (N F, 3, H-s+1, W-s+1)
        t_energy = _TEMPLATES.energy[s][None, :, None, None]          # (1, 3, 1, 1)
        residual = energy[:, None, None, None] - 2 * corr + t_energy  # |I - T_p|^2
        value, index = (residual / t_energy).flatten(1).min(dim=1)    # over shapes, positions
        better = value < best_ratio
        width = C.SIZE - s + 1
        shape_idx, pos = index // (width * width), index % (width * width)
        best_ratio = torch.where(better, value, best_ratio)
        best_shape = torch.where(better, shape_idx, best_shape)
        best_size = torch.where(better, torch.full_like(index, s), best_size)
        best_y = torch.where(better, pos // width, best_y)
        best_x = torch.where(better, pos % width, best_x)
    # colour: mean RGB under the matched template, frames grouped by (size, shape)
    rgb = np.zeros((n * frames, 3), dtype=np.float32)
    flat_np = flat.numpy()
    sizes_np, shapes_np = best_size.numpy(), best_shape.numpy()
    ys, xs = best_y.numpy(), best_x.numpy()
    for s in np.unique(sizes_np):
        for shape in np.unique(shapes_np[sizes_np == s]):
            idx = np.flatnonzero((sizes_np == s) & (shapes_np == shape))
            mask = C.shape_mask(int(shape), int(s))                    # (s, s)
            rows = ys[idx, None, None] + np.arange(s)[None, :, None]   # (G, s, 1)
            cols = xs[idx, None, None] + np.arange(s)[None, None, :]   # (G, 1, s)
            patch = flat_np[idx[:, None, None], :, rows, cols]         # (G, s, s, 3)
            rgb[idx] = (patch * mask[..., None]).sum(axis=(1, 2)) / mask.sum()
    shape_of = lambda t: t.reshape(n, frames).numpy()  # noqa: E731 - (N F,) -> (N, F)
    ratio_nf = shape_of(best_ratio)
    present = ratio_nf <= PRESENT_RATIO
    frame_colour = rgb.argmax(axis=1).reshape(n, frames)
    frame_shape = shape_of(best_shape)
    frame_size = shape_of(best_size)
    centre = np.stack([shape_of(best_x).astype(float), shape_of(best_y).astype(float)], -1)
    centre += frame_size[..., None] / 2                               # (N, F, 2)
    colour, shape, size = _mode(frame_colour), _mode(frame_shape), _mode(frame_size)
    persistent = (present.all(axis=1) & (frame_colour == colour[:, None]).all(axis=1)
                  & (frame_shape == shape[:, None]).all(axis=1)
                  & (frame_size == size[:, None]).all(axis=1))
    path = centre - centre.mean(axis=1, keepdims=True)                # (N, F, 2)
    ideal = _ideal_paths(frames)                                      # (6, F, 2)
    distance = np.sqrt(((path[:, None] - ideal[None]) ** 2).sum(-1).mean(-1))  # (N, 6)
    motion = distance.argmin(axis=1)
    path_error = distance.min(axis=1)
    seen = present.mean(axis=1) >= 0.5             # an object in at least half the frames
    motion = np.where(seen & (path_error <= MAX_PATH_ERROR), motion, ERRATIC)
    path_error = np.where(seen, path_error, np.inf)
    return ClipReading(colour=colour, shape=shape, size=size, motion=motion,
                       path_error=path_error, persistent=persistent, present=present,
                       frame_colour=frame_colour, frame_shape=frame_shape,
                       frame_size=frame_size, centre=centre, residual=ratio_nf)


def frame_change(clips: object) -> np.ndarray:
    """Mean absolute change between consecutive frames, per clip (N,):
    ``mean_{k, c, h, w} |x_{k+1} - x_k|`` on values in [0, 1]."""
    x = C.check_clips(clips)
    if x.shape[1] < 2:
        raise ValueError("frame_change needs clips of at least 2 frames.")
    return np.abs(np.diff(x, axis=1)).mean(axis=(1, 2, 3, 4))


def clip_scores(clips: object, labels: object,
                reading: ClipReading | None = None) -> dict[str, np.ndarray]:
    """Per-clip scores against the asked labels (N,) (all arrays (N,)).

    - ``colour``, ``shape``, ``motion``: the judge reads the asked attribute (0/1);
    - ``prompt``: all three at once;
    - ``persistent``: the object is present in every frame, with one shape, colour and size;
    - ``path error``: RMS pixels from the nearest ideal path (capped at 8, also when there
      is no object to follow, so that means stay finite);
    - ``shape error``: mean over the frames of ``r / |T|^2``, how far each frame is from a
      clean shape (0 for a real clip);
    - ``frame change``: :func:`frame_change`.
    """
    x = C.check_clips(clips)
    colour, shape, motion = C.label_parts(labels)
    if len(colour) != len(x):
        raise ValueError(f"need one label per clip: {len(x)} clips, {len(colour)} labels.")
    r = reading if reading is not None else read_clips(x)
    ok = {"colour": r.colour == colour, "shape": r.shape == shape, "motion": r.motion == motion}
    return {**{k: v.astype(float) for k, v in ok.items()},
            "prompt": (ok["colour"] & ok["shape"] & ok["motion"]).astype(float),
            "persistent": r.persistent.astype(float),
            "path error": np.minimum(r.path_error, 8.0),
            "shape error": r.residual.mean(axis=1),
            "frame change": frame_change(x)}


def score_table(scores: dict[str, np.ndarray]) -> dict[str, float]:
    """Means of :func:`clip_scores` (one row of a comparison table)."""
    if not scores:
        raise ValueError("score_table needs the scores of clip_scores.")
    return {k: float(np.mean(v)) for k, v in scores.items()}


def persistence_failures(reading: ClipReading) -> dict[str, float]:
    """Why clips fail persistence: the share of all N clips with each kind of break.

    - ``not persistent``: 1 - mean of ``reading.persistent``;
    - ``a frame without an object``: some frame has no clean shape (``present`` false);
    - ``colour changes``, ``shape changes``: some frame's colour / shape differs from the
      clip's most common one;
    - ``size changes``: some frame's size differs from the most common size;
    - ``size changes by 1 pixel only``: sizes differ, but every frame is within one pixel
      of the most common size (a wobble, not a different object).

    A clip can break in several ways at once, so the shares need not add up.
    """
    if not isinstance(reading, ClipReading):
        raise ValueError("persistence_failures needs a ClipReading from read_clips.")
    size_gap = np.abs(reading.frame_size - reading.size[:, None])         # (N, F)
    size_changes = (size_gap > 0).any(axis=1)
    return {
        "not persistent": float(1 - reading.persistent.mean()),
        "a frame without an object": float((~reading.present.all(axis=1)).mean()),
        "colour changes": float(
            (reading.frame_colour != reading.colour[:, None]).any(axis=1).mean()),
        "shape changes": float(
            (reading.frame_shape != reading.shape[:, None]).any(axis=1).mean()),
        "size changes": float(size_changes.mean()),
        "size changes by 1 pixel only": float(
            (size_changes & (size_gap <= 1).all(axis=1)).mean()),
    }


def perturb(clips: object, kind: str, amount: float = 0.1, seed: int = 0) -> np.ndarray:
    """Damaged copies of real clips, to test the judge (N, F, 3, H, W) in [0, 1].

    Args:
        kind: ``"noise"`` (Gaussian noise of standard deviation ``amount``, clipped),
            ``"blur"`` (each frame mixed with its 4 neighbours: ``(1 - amount) x + amount *
            mean of the 4-neighbourhood``), ``"dim"`` (multiplied by ``1 - amount``),
            ``"shuffle"`` (frames in a random order per clip), ``"freeze"`` (every frame a
            copy of frame 0).
        amount: strength, in [0, 1] (ignored by shuffle and freeze).
        seed: random seed.
    """
    x = C.check_clips(clips).copy()
    amount = check_float("amount", amount, low=0.0, high=1.0)
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return np.clip(x + amount * rng.standard_normal(x.shape).astype(np.float32), 0, 1)
    if kind == "blur":
        padded = np.pad(x, [(0, 0)] * 3 + [(1, 1), (1, 1)])
        neighbours = (padded[..., :-2, 1:-1] + padded[..., 2:, 1:-1] + padded[..., 1:-1, :-2]
                      + padded[..., 1:-1, 2:]) / 4
        return (1 - amount) * x + amount * neighbours
    if kind == "dim":
        return x * (1 - amount)
    if kind == "shuffle":
        return np.stack([clip[rng.permutation(len(clip))] for clip in x])
    if kind == "freeze":
        return np.repeat(x[:, :1], x.shape[1], axis=1)
    raise ValueError(f"Unknown perturbation {kind!r}: use noise, blur, dim, shuffle or freeze.")
