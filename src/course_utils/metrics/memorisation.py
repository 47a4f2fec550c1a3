"""Is a sample a copy of a training example? Nearest-neighbour distances (chapter 51).

A generator that returns its training images unchanged scores like real data on every
distribution metric (Fréchet distance, precision, recall): the copies *are* real data. Only a
comparison with the training set itself shows it. For each sample ``x`` the distance to its
nearest training example is

    d(x) = min_i || x - t_i ||_2          (pixels, or any feature vectors)

and a sample counts as a copy when ``d(x) < tau``. The threshold is calibrated on real data the
generator never saw: ``tau = factor * quantile_q { d(f) : f fresh }``, so a fresh real image is
almost never called a copy (``q = 0.01``, ``factor = 0.5`` by default).
"""

from __future__ import annotations

import numpy as np

from course_utils.core.validation import check_float

_CHUNK = 512  # samples per block of the (chunk, M) distance matrix: bounded memory


def _as_rows(name: str, x: object) -> np.ndarray:
    """``x`` as a finite float64 ``(N, D)`` array; images ``(N, H, W)`` are flattened."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array, got {type(x).__name__}.") from None
    if a.ndim >= 3:
        a = a.reshape(len(a), -1)
    if a.ndim != 2 or len(a) == 0:
        raise ValueError(f"{name} must be a non-empty (N, D) array or (N, H, W) images, got "
                         f"shape {a.shape}.")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return a


def nearest_distances(samples: object, training: object) -> np.ndarray:
    """Distance from each sample to its nearest training example.

    Args:
        samples: ``(N, D)`` vectors or ``(N, H, W)`` images.
        training: ``(M, D)`` or ``(M, H, W)``, the same size per item as ``samples``.

    Returns:
        ``(N,)`` Euclidean distances ``min_i |x - t_i|``; 0 for an exact copy.
    """
    x, t = _as_rows("samples", samples), _as_rows("training", training)
    if x.shape[1] != t.shape[1]:
        raise ValueError(f"samples have {x.shape[1]} values each, training {t.shape[1]}.")
    t_sq = (t ** 2).sum(1)  # (M,)
    out = np.empty(len(x))
    for start in range(0, len(x), _CHUNK):
        block = x[start:start + _CHUNK]  # (c, D)
        # |x - t|^2 = |x|^2 - 2 x.t + |t|^2, (c, M); clipped at 0 against rounding
        sq = (block ** 2).sum(1)[:, None] - 2 * block @ t.T + t_sq[None, :]
        out[start:start + _CHUNK] = np.sqrt(np.clip(sq.min(1), 0, None))
    return out


def copy_threshold(fresh: object, training: object, quantile: float = 0.01,
                   factor: float = 0.5) -> float:
    """``tau = factor * quantile(nearest_distances(fresh, training), quantile)``.

    ``fresh`` must be real data the generator did not train on: the threshold then sits below
    almost every distance a genuinely new sample has.
    """
    quantile = check_float("quantile", quantile, low=0, high=1)
    factor = check_float("factor", factor, low=0, low_inclusive=False)
    return float(factor * np.quantile(nearest_distances(fresh, training), quantile))


def copy_rate(samples: object, training: object, threshold: float) -> float:
    """Share of ``samples`` closer than ``threshold`` to some training example (0 .. 1)."""
    threshold = check_float("threshold", threshold, low=0)
    return float((nearest_distances(samples, training) < threshold).mean())
