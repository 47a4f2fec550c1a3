"""The procedural clips of chapter 32: one coloured shape moving on a black background.

A clip is ``FRAMES = 8`` RGB frames of ``SIZE x SIZE = 16 x 16`` pixels, stored as a float32
array ``(N, F, C, H, W) = (N, 8, 3, 16, 16)`` with values in ``[0, 1]``. Each clip shows one
shape (:data:`SHAPES`) of one colour (:data:`COLOURS`) and one size (:data:`SHAPE_SIZES`
pixels across) that moves one pixel per frame in one of the :data:`MOTIONS`; "bouncing" falls
for four frames and rises for four. The object never leaves the frame, and its start position
is drawn uniformly among the positions that keep it inside.

The 3 x 3 x 5 = 45 combinations are the labels of the conditional models::

    label = (colour * len(SHAPES) + shape) * len(MOTIONS) + motion        (0 .. 44)

:data:`CLIP_PROMPTS` reads a prompt such as "a red circle moving left" into that label: it is
three of the course's prompt encoders (:class:`course_utils.image.prompts.LabelPromptEncoder`),
one per attribute, each treating the other attributes' words as filler, so that every prompt
must name exactly one colour, one shape and one motion.

Shapes are drawn with 4 x 4 supersampling (anti-aliased edges), once per shape and size, and
pasted at integer positions: the same shape and size always has the same pixels, which is what
lets the judge (:mod:`course_utils.video.judge`) read real clips exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import torch

from course_utils.core.validation import check_int, check_text
from course_utils.image.prompts import LabelPromptEncoder

FRAMES = 8                 # F: frames per clip
SIZE = 16                  # H = W: pixels per side of a frame
COLOURS = ("red", "green", "blue")
SHAPES = ("circle", "square", "triangle")
MOTIONS = ("left", "right", "up", "down", "bouncing")
SHAPE_SIZES = (5, 6, 7)    # pixels across the shape's bounding box
SUPERSAMPLE = 4            # sub-pixels per pixel side when drawing a shape
NUM_LABELS = len(COLOURS) * len(SHAPES) * len(MOTIONS)  # 45
MAX_CLIPS = 100_000        # most clips one call may render
#: RGB of each colour (pure primaries: the judge reads the brightest channel).
RGB = np.eye(3, dtype=np.float32)


# --- labels and prompts --------------------------------------------------------------------

def label_of(colour: int | str, shape: int | str, motion: int | str) -> int:
    """The label ``(colour * 3 + shape) * 5 + motion`` of a combination (names or indices)."""
    c = _index("colour", colour, COLOURS)
    s = _index("shape", shape, SHAPES)
    m = _index("motion", motion, MOTIONS)
    return (c * len(SHAPES) + s) * len(MOTIONS) + m


def attributes(label: int) -> tuple[int, int, int]:
    """``(colour, shape, motion)`` indices of a label 0..44 (inverse of :func:`label_of`)."""
    label = check_int("label", label, low=0, high=NUM_LABELS - 1)
    rest, motion = divmod(label, len(MOTIONS))
    colour, shape = divmod(rest, len(SHAPES))
    return colour, shape, motion


def label_parts(labels: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised :func:`attributes`: labels (N,) -> colour, shape and motion indices (N,)."""
    y = check_labels(labels)
    return y // (len(SHAPES) * len(MOTIONS)), (y // len(MOTIONS)) % len(SHAPES), \
        y % len(MOTIONS)


def prompt_of(label: int) -> str:
    """The canonical prompt of a label, e.g. 0 -> ``"a red circle moving left"``."""
    colour, shape, motion = attributes(label)
    verb = "bouncing" if MOTIONS[motion] == "bouncing" else f"moving {MOTIONS[motion]}"
    return f"a {COLOURS[colour]} {SHAPES[shape]} {verb}"


def short_name(label: int, sep: str = " ") -> str:
    """A short caption of a label, e.g. 0 -> ``"red circle left"`` (``sep`` between the
    shape and the motion: ``"<br>"`` for two-line Plotly captions)."""
    colour, shape, motion = attributes(label)
    return f"{COLOURS[colour]} {SHAPES[shape]}{sep}{MOTIONS[motion]}"


def _index(what: str, value: int | str, names: Sequence[str]) -> int:
    if isinstance(value, str):
        if value.lower() not in names:
            raise ValueError(f"Unknown {what} {value!r}: use one of {', '.join(names)}.")
        return names.index(value.lower())
    return check_int(what, value, low=0, high=len(names) - 1)


def check_labels(labels: object) -> np.ndarray:
    """Labels as a (N,) int64 array, each in 0..44 (clear message otherwise)."""
    y = np.asarray(labels.numpy() if isinstance(labels, torch.Tensor) else labels)
    if y.ndim != 1 or len(y) == 0 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be a non-empty 1-D array of integers, got shape "
                         f"{y.shape} and type {y.dtype}.")
    if y.min() < 0 or y.max() >= NUM_LABELS:
        raise ValueError(f"labels must lie in 0..{NUM_LABELS - 1}, got {y.min()}..{y.max()}.")
    return y.astype(np.int64)


#: Words a clip prompt may hold besides its colour, shape and motion.
PROMPT_FILLER = ("a", "an", "the", "one", "is", "moving", "moves", "move", "going", "goes",
                 "sliding", "slides", "travelling", "traveling", "drifting", "to", "towards",
                 "toward", "the", "of", "that", "clip", "video", "animation", "shape",
                 "object", "show", "me", "make", "generate", "please", "and", "while")
#: Other words for a shape or a motion, as ``(word, index)`` pairs.
SHAPE_ALIASES = (("ball", 0), ("disc", 0), ("dot", 0), ("box", 1), ("block", 1))
MOTION_ALIASES = (("leftwards", 0), ("leftward", 0), ("rightwards", 1), ("rightward", 1),
                  ("upwards", 2), ("upward", 2), ("rising", 2), ("downwards", 3),
                  ("downward", 3), ("falling", 3), ("bounce", 4), ("bounces", 4),
                  ("bouncy", 4))
MAX_PROMPT_CHARS = 100


@dataclass(frozen=True)
class ClipPromptEncoder:
    """Prompt -> clip label: one :class:`LabelPromptEncoder` per attribute.

    Each part encoder knows its own attribute's names and aliases and treats the other
    attributes' words (and :data:`PROMPT_FILLER`) as filler, so "a red circle moving left"
    reads as colour 0 to the colour encoder, shape 0 to the shape encoder and motion 0 to the
    motion encoder. A prompt must name exactly one of each; unknown words are reported once,
    with every word the encoder knows.
    """

    colour: LabelPromptEncoder
    shape: LabelPromptEncoder
    motion: LabelPromptEncoder

    @property
    def parts(self) -> tuple[LabelPromptEncoder, LabelPromptEncoder, LabelPromptEncoder]:
        return self.colour, self.shape, self.motion

    @property
    def vocabulary(self) -> list[str]:
        """Every word the encoder knows."""
        return list(dict.fromkeys(w for part in self.parts for w in part.vocabulary))

    def encode(self, prompt: str) -> int:
        """The label 0..44 that the prompt asks for.

        Raises:
            ValueError: not text, empty, too long, unreadable characters, unknown words (the
                message lists the known ones), or not exactly one colour, shape and motion.
        """
        words = self.colour.words(prompt)  # the shared checks: text, length, characters
        known = set(self.vocabulary)
        unknown = list(dict.fromkeys(w for w in words if w not in known))
        if unknown:
            listing = "; ".join(
                f"{part.thing}s {', '.join(part.names)}"
                + (f" (also {', '.join(w for w, _ in part.aliases)})" if part.aliases else "")
                for part in self.parts)
            raise ValueError(f"Unknown word{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(repr(w) for w in unknown)}. This model knows the "
                             f"{listing}; e.g. 'a red circle moving left' or 'a blue square "
                             f"bouncing'.")
        return label_of(*(part.encode(prompt) for part in self.parts))

    def encode_many(self, prompts: Sequence[str]) -> torch.Tensor:
        """Labels (N,) int64 for a list of prompts."""
        if isinstance(prompts, str) or len(prompts) == 0:
            raise ValueError("encode_many needs a non-empty list of prompts.")
        return torch.tensor([self.encode(p) for p in prompts], dtype=torch.long)


def _part(names: Sequence[str], aliases: tuple, thing: str) -> LabelPromptEncoder:
    others = [w for group in (COLOURS, SHAPES, MOTIONS) if group is not names for w in group]
    other_aliases = [w for group in (SHAPE_ALIASES, MOTION_ALIASES) if group is not aliases
                     for w, _ in group]
    filler = tuple(dict.fromkeys([*PROMPT_FILLER, *others, *other_aliases]))
    return LabelPromptEncoder(names=tuple(names), filler_words=filler, aliases=aliases,
                              thing=thing, max_chars=MAX_PROMPT_CHARS,
                              example="'a red circle moving left'")


#: The clip prompt encoder ("a red circle moving left" -> label 0).
CLIP_PROMPTS = ClipPromptEncoder(colour=_part(COLOURS, (), "colour"),
                                 shape=_part(SHAPES, SHAPE_ALIASES, "shape"),
                                 motion=_part(MOTIONS, MOTION_ALIASES, "motion"))


def label_from_prompt(prompt: str) -> int:
    """``CLIP_PROMPTS.encode(prompt)``: the label a prompt names (see :class:`ClipPromptEncoder`)."""
    return CLIP_PROMPTS.encode(check_text("prompt", prompt, max_length=MAX_PROMPT_CHARS))


# --- drawing -------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def shape_mask(shape: int, size: int) -> np.ndarray:
    """Coverage of each pixel by the shape, (size, size) float32 in [0, 1].

    Drawn on a ``SUPERSAMPLE`` times finer grid and averaged over each pixel's sub-pixels:
    a disc of diameter ``size``, a full square, or an upright isosceles triangle with its
    base (``size`` wide) at the bottom and its apex at the top centre.
    """
    check_int("shape", shape, low=0, high=len(SHAPES) - 1)
    check_int("size", size, low=2, high=SIZE)
    fine = size * SUPERSAMPLE
    c = (np.arange(fine) + 0.5) / SUPERSAMPLE                # sub-pixel centres, in pixels
    yy, xx = np.meshgrid(c, c, indexing="ij")
    half = size / 2
    if SHAPES[shape] == "circle":
        inside = (xx - half) ** 2 + (yy - half) ** 2 <= half ** 2
    elif SHAPES[shape] == "square":
        inside = np.ones_like(xx, dtype=bool)
    else:
        inside = np.abs(xx - half) <= yy / 2                 # width grows from 0 at the top
    mask = inside.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).mean(axis=(1, 3))
    mask.setflags(write=False)
    return mask.astype(np.float32)


@lru_cache(maxsize=None)
def motion_offsets(motion: int, frames: int = FRAMES) -> np.ndarray:
    """Displacement ``(dx, dy)`` of the object in each frame from its start, (F, 2) int.

    left ``(-k, 0)``, right ``(k, 0)``, up ``(0, -k)`` (row 0 is the top), down ``(0, k)``,
    bouncing ``(0, F/2 - |k - F/2|)``: down for half the clip, then back up.
    """
    check_int("motion", motion, low=0, high=len(MOTIONS) - 1)
    check_int("frames", frames, low=2, high=64)
    k = np.arange(frames)
    zero = np.zeros_like(k)
    name = MOTIONS[motion]
    dx, dy = {"left": (-k, zero), "right": (k, zero), "up": (zero, -k), "down": (zero, k),
              "bouncing": (zero, frames // 2 - np.abs(k - frames // 2))}[name]
    out = np.stack([dx, dy], axis=1)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class ClipSpec:
    """Everything that defines one clip (the generator's latent variables)."""

    colour: int   # index into COLOURS
    shape: int    # index into SHAPES
    motion: int   # index into MOTIONS
    size: int     # pixels across (one of SHAPE_SIZES)
    x0: int       # column of the bounding box's left edge in frame 0
    y0: int       # row of the bounding box's top edge in frame 0

    @property
    def label(self) -> int:
        return label_of(self.colour, self.shape, self.motion)


def start_range(motion: int, size: int, frames: int = FRAMES) -> tuple[tuple[int, int],
                                                                        tuple[int, int]]:
    """Allowed ``(x0_min, x0_max), (y0_min, y0_max)`` so that the object stays inside."""
    offsets = motion_offsets(motion, frames)
    low = -offsets.min(axis=0)
    high = SIZE - size - offsets.max(axis=0)
    if (high < low).any():
        raise ValueError(f"a size-{size} shape cannot make this motion over {frames} frames "
                         f"inside {SIZE} x {SIZE} pixels.")
    return (int(low[0]), int(high[0])), (int(low[1]), int(high[1]))


def random_specs(labels: object, seed: int = 0) -> list[ClipSpec]:
    """One random :class:`ClipSpec` per label: size and start position drawn uniformly."""
    y = check_labels(labels)
    check_int("seed", seed, low=0)
    rng = np.random.default_rng(seed)
    specs = []
    for label in y:
        colour, shape, motion = attributes(int(label))
        size = int(SHAPE_SIZES[rng.integers(len(SHAPE_SIZES))])
        (xl, xh), (yl, yh) = start_range(motion, size)
        specs.append(ClipSpec(colour, shape, motion, size, int(rng.integers(xl, xh + 1)),
                              int(rng.integers(yl, yh + 1))))
    return specs


def render(specs: Sequence[ClipSpec], frames: int = FRAMES) -> np.ndarray:
    """Draw clips: (N, F, 3, H, W) float32 in [0, 1], black background.

    Frame ``k`` of a clip has the shape's mask (:func:`shape_mask`) pasted at
    ``(x0 + dx_k, y0 + dy_k)`` (:func:`motion_offsets`) in the colour's channel.
    """
    if len(specs) == 0:
        raise ValueError("render needs at least one ClipSpec.")
    check_int("number of clips", len(specs), high=MAX_CLIPS)
    out = np.zeros((len(specs), frames, 3, SIZE, SIZE), dtype=np.float32)
    for i, spec in enumerate(specs):
        if not isinstance(spec, ClipSpec):
            raise ValueError(f"render needs ClipSpec objects, got {type(spec).__name__}.")
        mask = shape_mask(spec.shape, spec.size)
        s = spec.size
        for k, (dx, dy) in enumerate(motion_offsets(spec.motion, frames)):
            x, y = spec.x0 + dx, spec.y0 + dy
            if not (0 <= x <= SIZE - s and 0 <= y <= SIZE - s):
                raise ValueError(f"{spec} leaves the frame in frame {k}.")
            out[i, k, spec.colour, y:y + s, x:x + s] = mask
    return out


def make_clips(labels: object, seed: int = 0) -> np.ndarray:
    """Random clips of the given labels: ``render(random_specs(labels, seed))``."""
    return render(random_specs(labels, seed))


def make_dataset(per_label: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``per_label`` clips of every one of the 45 labels, in label order.

    Returns:
        ``(clips (45 * per_label, F, 3, H, W) in [0, 1], labels (45 * per_label,) int64)``.
    """
    check_int("per_label", per_label, low=1, high=MAX_CLIPS // NUM_LABELS)
    labels = np.repeat(np.arange(NUM_LABELS), per_label)
    return make_clips(labels, seed), labels


def count_distinct_clips() -> int:
    """How many different clips the generator can draw (all labels, sizes, start positions)."""
    total = 0
    for label in range(NUM_LABELS):
        motion = attributes(label)[2]
        for size in SHAPE_SIZES:
            (xl, xh), (yl, yh) = start_range(motion, size)
            total += (xh - xl + 1) * (yh - yl + 1)
    return total


def check_clips(clips: object, frames: int | None = None) -> np.ndarray:
    """``clips`` as float32 (N, F, 3, SIZE, SIZE) with finite values (clear message otherwise).

    Args:
        clips: array or tensor of clips.
        frames: the number of frames required, or ``None`` for any (>= 1).
    """
    x = clips.detach().cpu().numpy() if isinstance(clips, torch.Tensor) else np.asarray(clips)
    if x.ndim != 5 or x.shape[2:] != (3, SIZE, SIZE) or len(x) == 0 or x.shape[1] < 1:
        raise ValueError(f"clips must be (N, F, 3, {SIZE}, {SIZE}) with N >= 1, got shape "
                         f"{x.shape}.")
    if frames is not None and x.shape[1] != frames:
        raise ValueError(f"clips must have {frames} frames, got {x.shape[1]}.")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise ValueError("clips contain NaN or infinite values.")
    return x


def clips_to_x(clips: object) -> torch.Tensor:
    """Clips in [0, 1] -> the models' scale ``x = 2 clip - 1`` in [-1, 1], (N, F, 3, H, W)."""
    return torch.from_numpy(check_clips(clips).copy()) * 2 - 1


def x_to_clips(x: torch.Tensor) -> np.ndarray:
    """Model scale (N, F, 3, H, W) -> clips float32 in [0, 1] (clipped)."""
    return ((x.detach().float() + 1) / 2).clamp(0, 1).numpy()


def to_rgb_frames(clips: object) -> np.ndarray:
    """(N, F, 3, H, W) -> (N, F, H, W, 3), channels last (for pictures)."""
    return check_clips(clips).transpose(0, 1, 3, 4, 2)
