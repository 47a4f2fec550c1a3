"""Pretend generators whose faults are known: controlled degradations of real digits (chapter 51).

A metric is only trustworthy if it moves when the samples get worse in a way it is meant to
see, and stays put otherwise. These functions make sample sets whose fault is known exactly,
from real 8x8 digits:

- :func:`add_noise` - fidelity lost a little everywhere: ``x' = clip(x + sigma * e)``,
  ``e ~ N(0, I)``;
- :func:`blur` - fine detail lost: a Gaussian filter of width ``sigma`` pixels;
- :func:`keep_classes` - *mode dropping*: only the first ``k`` of the ten digit classes
  (drawn with replacement from fresh images of those classes);
- :func:`copies` - *memorisation*: training images returned unchanged (``distinct`` of them);
- :func:`pixel_gaussian` - one Gaussian over the 64 pixels fitted to the training images, the
  baseline that matches the data's first two moments and nothing else.

:func:`memorisation_split` sets the stage: the training split of
:func:`~course_utils.metrics.image_quality.digit_splits` is cut into the images a pretend
generator "trained on" and *fresh* real images it never saw. Fresh images are the gold
standard: a perfect generator is indistinguishable from them, and the spread of a metric over
several fresh draws is its noise floor. The reference set of every metric is the test split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from course_utils.core.validation import check_float, check_int
from course_utils.metrics.image_quality import check_digit_images, digit_splits

N_FRESH = 360  # fresh real images per split: the size of the test split, the reference


@dataclass(frozen=True)
class MemorisationSplit:
    """The digits' training split cut in two (stratified by class)."""

    training_images: np.ndarray  # (1077, 8, 8): what a pretend generator trained on
    training_labels: np.ndarray  # (1077,)
    fresh_images: np.ndarray     # (360, 8, 8): real digits it never saw
    fresh_labels: np.ndarray     # (360,)
    seed: int


@lru_cache(maxsize=8)
def memorisation_split(seed: int = 0) -> MemorisationSplit:
    """A class-stratified cut of the 1,437 training digits into 1,077 "training" and 360
    fresh images; a different ``seed`` gives another cut (the seed-to-seed noise)."""
    from sklearn.model_selection import train_test_split

    seed = check_int("seed", seed, low=0)
    splits = digit_splits()
    train, fresh = train_test_split(np.arange(len(splits.train_labels)), test_size=N_FRESH,
                                    stratify=splits.train_labels, random_state=seed)
    return MemorisationSplit(splits.train_images[train], splits.train_labels[train],
                             splits.train_images[fresh], splits.train_labels[fresh], seed)


def add_noise(images: object, sigma: float, seed: int = 0) -> np.ndarray:
    """``clip(x + sigma * e, 0, 1)`` with ``e ~ N(0, I)``; images ``(N, 8, 8)`` -> same."""
    x = check_digit_images(images)
    sigma = check_float("sigma", sigma, low=0, high=2)
    noise = np.random.default_rng(seed).normal(0.0, sigma, x.shape)
    return np.clip(x + noise, 0, 1).astype(np.float32)


def blur(images: object, sigma: float) -> np.ndarray:
    """Each image filtered by a Gaussian of standard deviation ``sigma`` pixels (0 = none)."""
    from scipy.ndimage import gaussian_filter

    x = check_digit_images(images)
    sigma = check_float("sigma", sigma, low=0, high=4)
    if sigma == 0:
        return x.copy()
    return np.stack([gaussian_filter(im, sigma, mode="constant") for im in x])


def keep_classes(images: object, labels: object, k: int, n: int, seed: int = 0) -> np.ndarray:
    """``n`` images drawn (with replacement) from classes ``0 .. k-1`` only: ``10 - k`` modes
    dropped, each kept image still perfectly real."""
    x = check_digit_images(images)
    y = np.asarray(labels)
    if y.shape != (len(x),):
        raise ValueError(f"labels must have shape ({len(x)},), got {y.shape}.")
    k = check_int("k (classes kept)", k, low=1, high=10)
    n = check_int("n", n, low=1, high=100_000)
    pool = np.flatnonzero(y < k)
    if len(pool) == 0:
        raise ValueError(f"no image has a label below {k}.")
    return x[np.random.default_rng(seed).choice(pool, n)]


def copies(images: object, n: int, seed: int = 0, distinct: int | None = None) -> np.ndarray:
    """``n`` training images returned unchanged: all different when ``distinct`` is None
    (needs ``n <= len(images)``), else ``distinct`` images repeated ("memorised a few")."""
    x = check_digit_images(images)
    n = check_int("n", n, low=1, high=100_000)
    rng = np.random.default_rng(seed)
    if distinct is None:
        if n > len(x):
            raise ValueError(f"cannot draw {n} distinct copies from {len(x)} images.")
        return x[rng.choice(len(x), n, replace=False)]
    distinct = check_int("distinct", distinct, low=1, high=len(x))
    chosen = rng.choice(len(x), distinct, replace=False)
    return x[chosen[rng.integers(0, distinct, n)]]


def pixel_gaussian(images: object, n: int, seed: int = 0) -> np.ndarray:
    """``n`` draws of ``N(mu, Sigma)`` fitted to the 64 pixels of ``images``, clipped to [0, 1]:
    right mean and covariance, no strokes."""
    x = check_digit_images(images).reshape(-1, 64).astype(np.float64)
    n = check_int("n", n, low=1, high=100_000)
    draws = np.random.default_rng(seed).multivariate_normal(
        x.mean(0), np.cov(x, rowvar=False), n, method="eigh")
    return np.clip(draws, 0, 1).reshape(n, 8, 8).astype(np.float32)


@dataclass(frozen=True)
class Degradation:
    """One kind of fault with a strength knob (0 = the fresh real images themselves)."""

    name: str
    knob: str          # what the strength means
    strengths: tuple   # the values chapter 51 measures, weakest first
    limit: float       # the largest strength that makes sense
    make: Callable[[MemorisationSplit, float, int], np.ndarray]  # (split, strength, seed)


def _noise(split: MemorisationSplit, s: float, seed: int) -> np.ndarray:
    return add_noise(split.fresh_images, s, seed)


def _blur(split: MemorisationSplit, s: float, seed: int) -> np.ndarray:
    return blur(split.fresh_images, s)


def _drop(split: MemorisationSplit, s: float, seed: int) -> np.ndarray:
    if s != int(s):
        raise ValueError(f"mode dropping drops whole classes: give 1-9, got {s:g}.")
    # fresh images, not training ones: the fault is missing classes, not copying
    return keep_classes(split.fresh_images, split.fresh_labels, 10 - int(s), N_FRESH, seed)


def _memorise(split: MemorisationSplit, s: float, seed: int) -> np.ndarray:
    # strength = share of the samples that are copies; the rest are fresh real images
    n_copies = int(round(float(s) * N_FRESH))
    rng = np.random.default_rng(seed)
    fresh = split.fresh_images[rng.choice(N_FRESH, N_FRESH - n_copies, replace=False)]
    return np.concatenate([copies(split.training_images, n_copies, seed + 1)
                           if n_copies else fresh[:0], fresh])


DEGRADATIONS: dict[str, Degradation] = {
    d.name: d for d in (
        Degradation("pixel noise", "noise standard deviation sigma", (0.05, 0.1, 0.2), 1.0,
                    _noise),
        Degradation("blur", "blur width sigma (pixels)", (0.5, 0.75, 1.0), 3.0, _blur),
        Degradation("mode dropping", "classes dropped (of 10)", (2, 5, 8), 9, _drop),
        Degradation("memorisation", "share of samples copied from training", (0.5, 1.0),
                    1.0, _memorise),
    )
}


def degraded(name: str, strength: float, seed: int = 0) -> np.ndarray:
    """``N_FRESH`` images with the fault ``name`` at ``strength`` (see :data:`DEGRADATIONS`),
    built on :func:`memorisation_split` ``(seed)``; strength 0 returns the fresh images."""
    if name not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {name!r}; choose one of {sorted(DEGRADATIONS)}.")
    split = memorisation_split(seed)
    strength = check_float(f"strength of {name} ({DEGRADATIONS[name].knob})", strength,
                           low=0, high=DEGRADATIONS[name].limit)
    if strength == 0:
        return split.fresh_images.copy()
    return DEGRADATIONS[name].make(split, strength, seed)
