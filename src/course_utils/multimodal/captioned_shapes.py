"""Captioned shapes: a procedural image-caption data set for chapter 40.

Every image is drawn in NumPy from four attributes, and its caption names them::

    "a small red circle at the top left"

- colour: red, green, blue, yellow;
- shape: circle, square, triangle;
- size: small, large;
- position: top left, top right, bottom left, bottom right.

That is ``4 * 3 * 2 * 4 = 96`` captions (:data:`SCENES`, in a fixed order: a caption's
*id* is its index). Each rendering jitters the centre (+-2 px), the radius and the colour
and adds faint background noise, so no two images of one caption are equal.

**Held-out combinations.** Three colour-shape pairs (:data:`HELD_OUT_PAIRS`: red triangle,
green circle, blue square) never appear in training, at any size or position: 24 of the 96
captions are *unseen*. Every colour and every shape is still seen, with other partners, so
a model that has learned the attributes separately can compose them.

**Two-object scenes** (:func:`render_pairs`) put one object in the left half and one in
the right: "a red circle left of a blue square". Its *relation swap* "a blue square left of
a red circle" uses the same words in another order and describes a different image; its
*binding swap* "a blue circle left of a red square" exchanges the colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_utils.core.validation import check_int

COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.90, 0.15, 0.12),
    "green": (0.15, 0.72, 0.20),
    "blue": (0.18, 0.32, 0.95),
    "yellow": (0.95, 0.85, 0.12),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
SIZES: tuple[str, ...] = ("small", "large")
POSITIONS: tuple[str, ...] = ("top left", "top right", "bottom left", "bottom right")
HELD_OUT_PAIRS: tuple[tuple[str, str], ...] = (
    ("red", "triangle"), ("green", "circle"), ("blue", "square"))
IMAGE_SIZE = 32            # pixels per side
RADIUS = {"small": (3.5, 4.5), "large": (6.5, 7.5)}  # radius range in pixels
BACKGROUND = 0.12          # grey level of the background
MAX_IMAGES = 100_000       # largest batch one call renders


@dataclass(frozen=True)
class Scene:
    """One object's four attributes; ``caption`` is its text."""

    colour: str
    shape: str
    size: str
    position: str

    @property
    def caption(self) -> str:
        return f"a {self.size} {self.colour} {self.shape} at the {self.position}"

    @property
    def seen(self) -> bool:
        """False for the held-out colour-shape pairs."""
        return (self.colour, self.shape) not in HELD_OUT_PAIRS


SCENES: tuple[Scene, ...] = tuple(
    Scene(c, s, z, p) for c in COLOURS for s in SHAPES for z in SIZES for p in POSITIONS)
CAPTIONS: tuple[str, ...] = tuple(scene.caption for scene in SCENES)
SEEN_IDS: np.ndarray = np.array([i for i, s in enumerate(SCENES) if s.seen])
UNSEEN_IDS: np.ndarray = np.array([i for i, s in enumerate(SCENES) if not s.seen])


@dataclass(frozen=True)
class Pair:
    """Two objects side by side: ``(colour, shape)`` on the left and on the right."""

    left: tuple[str, str]
    right: tuple[str, str]

    @property
    def caption(self) -> str:
        (c1, s1), (c2, s2) = self.left, self.right
        return f"a {c1} {s1} left of a {c2} {s2}"

    def relation_swap(self) -> "Pair":
        """The objects exchanged: same words, other order, another image."""
        return Pair(self.right, self.left)

    def binding_swap(self) -> "Pair":
        """The colours exchanged between the two shapes."""
        (c1, s1), (c2, s2) = self.left, self.right
        return Pair((c2, s1), (c1, s2))


PAIRS: tuple[Pair, ...] = tuple(
    Pair((c1, s1), (c2, s2)) for c1 in COLOURS for s1 in SHAPES
    for c2 in COLOURS for s2 in SHAPES if c1 != c2 and s1 != s2)


def caption_ids(captions) -> np.ndarray:
    """The ids (indices into :data:`CAPTIONS`) of single-object captions.

    Raises:
        ValueError: for a caption that is not one of the 96.
    """
    index = {c: i for i, c in enumerate(CAPTIONS)}
    unknown = [c for c in captions if c not in index]
    if unknown:
        raise ValueError(f"not a captioned-shapes caption: {unknown[0]!r}; captions look "
                         f"like {CAPTIONS[0]!r}.")
    return np.array([index[c] for c in captions], dtype=np.int64)


def _check_ids(ids, n_choices: int, name: str) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.ndim != 1 or len(arr) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D list of ids, got shape {arr.shape}.")
    if len(arr) > MAX_IMAGES:
        raise ValueError(f"at most {MAX_IMAGES} images per call, got {len(arr)}.")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {arr.dtype}.")
    if arr.min() < 0 or arr.max() >= n_choices:
        raise ValueError(f"{name} must be in [0, {n_choices - 1}], got values from "
                         f"{arr.min()} to {arr.max()}.")
    return arr.astype(np.int64)


def _draw(colour: np.ndarray, shape: np.ndarray, radius: np.ndarray, cx: np.ndarray,
          cy: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Paint K objects per image: attribute arrays of shape (N, K) -> (N, 3, size, size).

    ``colour`` holds RGB rows (N, K, 3); ``shape`` indexes :data:`SHAPES`. A pixel at
    ``(x, y)`` (its centre, y pointing down) belongs to an object of radius ``r`` centred at
    ``(cx, cy)`` when, with ``dx = x - cx``, ``dy = y - cy``: circle ``dx^2 + dy^2 <= r^2``;
    square ``max(|dx|, |dy|) <= 0.85 r``; triangle (apex up) ``|dy| <= r`` and
    ``|dx| <= (dy + r) / 2``. Later objects paint over earlier ones.
    """
    n, k = shape.shape
    grid = np.arange(size, dtype=np.float32) + 0.5
    images = BACKGROUND + rng.normal(0, 0.03, size=(n, 3, size, size)).astype(np.float32)
    for j in range(k):
        dx = grid[None, None, :] - cx[:, j, None, None]  # (N, 1, size)
        dy = grid[None, :, None] - cy[:, j, None, None]  # (N, size, 1)
        r = radius[:, j, None, None]
        circle = dx ** 2 + dy ** 2 <= r ** 2
        square = np.maximum(np.abs(dx), np.abs(dy)) <= 0.85 * r
        triangle = (np.abs(dy) <= r) & (np.abs(dx) <= (dy + r) / 2)
        kind = shape[:, j, None, None]
        mask = np.where(kind == 0, circle, np.where(kind == 1, square, triangle))
        images = np.where(mask[:, None], colour[:, j, :, None, None], images)
    return np.clip(images, 0.0, 1.0).astype(np.float32)


def _colour_rows(names, rng: np.random.Generator) -> np.ndarray:
    base = np.array([COLOURS[c] for c in names], dtype=np.float32)
    return np.clip(base + rng.uniform(-0.08, 0.08, size=base.shape), 0, 1)


def render(ids, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Render one image per caption id.

    Args:
        ids: ``(N,)`` integers in ``[0, 96)``, indices into :data:`SCENES`.
        seed: seed (or generator) of the jitter and noise.

    Returns:
        ``(N, 3, 32, 32)`` float32 images in [0, 1] (channels first, as torch wants them;
        ``images.transpose(0, 2, 3, 1)`` for display).

    Raises:
        ValueError: for ids that are empty, not integers or out of range.
    """
    ids = _check_ids(ids, len(SCENES), "ids")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    scenes = [SCENES[i] for i in ids]
    n, size = len(ids), IMAGE_SIZE
    low = np.array([RADIUS[s.size][0] for s in scenes])
    high = np.array([RADIUS[s.size][1] for s in scenes])
    radius = rng.uniform(low, high)[:, None]
    right = np.array([s.position.endswith("right") for s in scenes])
    bottom = np.array([s.position.startswith("bottom") for s in scenes])
    cx = np.where(right, 23.0, 9.0) + rng.uniform(-2, 2, n)
    cy = np.where(bottom, 23.0, 9.0) + rng.uniform(-2, 2, n)
    shape = np.array([SHAPES.index(s.shape) for s in scenes])[:, None]
    colour = _colour_rows([s.colour for s in scenes], rng)[:, None]
    return _draw(colour, shape, radius, cx[:, None], cy[:, None], rng, size)


def render_pairs(pair_ids, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Render two-object scenes, one image per index into :data:`PAIRS`.

    Both objects have radius 5-6 px; the left one is centred at x = 8, the right one at
    x = 24 (each +-1.5 px), both near mid-height.

    Args:
        pair_ids: ``(N,)`` integers in ``[0, len(PAIRS))``.
        seed: seed (or generator) of the jitter and noise.

    Returns:
        ``(N, 3, 32, 32)`` float32 images in [0, 1].
    """
    ids = _check_ids(pair_ids, len(PAIRS), "pair_ids")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    pairs = [PAIRS[i] for i in ids]
    n = len(ids)
    colour = np.stack([_colour_rows([p.left[0] for p in pairs], rng),
                       _colour_rows([p.right[0] for p in pairs], rng)], axis=1)
    shape = np.array([[SHAPES.index(p.left[1]), SHAPES.index(p.right[1])] for p in pairs])
    radius = rng.uniform(5.0, 6.0, size=(n, 2))
    cx = np.array([8.0, 24.0]) + rng.uniform(-1.5, 1.5, size=(n, 2))
    cy = 16.0 + rng.uniform(-3, 3, size=(n, 2))
    return _draw(colour, shape, radius, cx, cy, rng, IMAGE_SIZE)


def random_ids(n: int, seed: int | np.random.Generator = 0,
               among: np.ndarray | None = None) -> np.ndarray:
    """``n`` caption ids drawn uniformly (with replacement) from ``among`` (default: all 96).

    This, followed by :func:`render`, is the chapter's trivial "generator": it draws
    attributes at random and ignores any prompt.
    """
    n = check_int("n", n, 1, MAX_IMAGES)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    pool = np.arange(len(SCENES)) if among is None else _check_ids(among, len(SCENES), "among")
    return rng.choice(pool, size=n)


def attributes_matched(a, b) -> np.ndarray:
    """How many of the four attributes two caption ids share: ``(N,)`` integers in 0..4."""
    a = _check_ids(np.atleast_1d(a), len(SCENES), "a")
    b = _check_ids(np.atleast_1d(b), len(SCENES), "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {len(a)} and {len(b)}.")
    fields = ("colour", "shape", "size", "position")
    return np.array([sum(getattr(SCENES[i], f) == getattr(SCENES[j], f) for f in fields)
                     for i, j in zip(a, b)])


def for_display(images: np.ndarray) -> np.ndarray:
    """``(N, 3, H, W)`` -> ``(N, H, W, 3)`` for ``imshow`` and ``plotting.image_grid``."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (N, 3, H, W), got {images.shape}.")
    return images.transpose(0, 2, 3, 1)
