"""Uncertainty of a mean difference between two models scored on the same text or items.

A model comparison on one held-out set is one draw: the interval says how far the difference
would move on another set of the same kind. Characters of running text are not independent
(a hard passage is hard for both models), so :func:`block_bootstrap` resamples contiguous
blocks rather than single positions (Kuensch 1989): with ``d_t = a_t - b_t`` per position,

    mean*  =  mean of d over ``ceil(N / block)`` blocks drawn with replacement,

repeated ``n_boot`` times; the interval is the ``(1 - level) / 2`` and ``(1 + level) / 2``
quantiles of ``mean*``. With ``block=1`` it is the ordinary paired bootstrap over items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_utils.core.validation import check_int


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap interval (``low <= estimate <= high`` usually)."""

    estimate: float
    low: float
    high: float
    level: float

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of 0."""
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return (f"{self.estimate:+.3f} [{self.low:+.3f}, {self.high:+.3f}] "
                f"({self.level:.0%} interval)")


def block_bootstrap(a: np.ndarray, b: np.ndarray | None = None, block: int = 1000,
                    n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> Interval:
    """Bootstrap interval of ``mean(a - b)`` (or of ``mean(a)`` when ``b`` is None).

    Args:
        a, b: per-position (or per-item) scores of shape ``(N,)``, paired: ``a[t]`` and
            ``b[t]`` score the same position.
        block: length of the contiguous blocks resampled (1 = independent items).
        n_boot: number of bootstrap means.
        level: coverage of the interval, in (0, 1).
        seed: seed of the resampling.

    Raises:
        ValueError: shapes differ, fewer than two positions, non-finite scores, ``block`` not
            in ``1..N``, or ``level`` outside (0, 1).
    """
    a = np.asarray(a, dtype=float)
    if a.ndim != 1 or (b is not None and np.shape(b) != a.shape):
        raise ValueError(f"a and b must be 1-D arrays of the same length, got shapes "
                         f"{a.shape} and {np.shape(b)}")
    d = a if b is None else a - np.asarray(b, dtype=float)
    n = len(d)
    if n < 2:
        raise ValueError("Need at least two paired scores to bootstrap.")
    if not np.isfinite(d).all():
        raise ValueError("Scores must be finite (no NaN or infinity).")
    block = check_int("block", block, 1, n)
    n_boot = check_int("n_boot", n_boot, 10, 1_000_000)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    rng = np.random.default_rng(seed)
    n_blocks = -(-n // block)
    # sums of every block of `block` positions starting at 0..n-block, via a cumulative sum
    csum = np.concatenate([[0.0], np.cumsum(d)])
    block_sums = csum[block:] - csum[:-block]  # (n - block + 1,)
    starts = rng.integers(0, len(block_sums), size=(n_boot, n_blocks))
    means = block_sums[starts].sum(axis=1) / (n_blocks * block)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(d.mean()), float(low), float(high), level)


def seed_spread(values) -> tuple[float, float]:
    """Mean and sample standard deviation of one score measured over several seeds."""
    v = np.asarray(list(values), dtype=float)
    if v.ndim != 1 or len(v) < 2:
        raise ValueError("Need the score of at least two seeds.")
    return float(v.mean()), float(v.std(ddof=1))
