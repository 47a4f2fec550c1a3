"""Sample-quality metrics shared by every generative chapter.

Two questions about generated samples ``fake`` and held-out real data ``real`` (both
``(N, D)`` arrays of points or feature vectors):

- Do simple statistics match? :func:`moment_gaps` compares means and covariances.
- Can *any* classifier tell them apart? :func:`classifier_two_sample_auc` trains one to
  separate real from fake and reports its ROC AUC on points it did not train on: 0.5 means
  indistinguishable, 1.0 means every sample gives itself away (Lopez-Paz and Oquab, 2017).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

from course_utils.core.validation import check_float, check_points


@dataclass(frozen=True)
class MomentGaps:
    """Relative differences of the first two moments."""

    mean_gap: float  # ||mu_fake - mu_real|| / sqrt(trace(Sigma_real))
    cov_gap: float  # ||Sigma_fake - Sigma_real||_F / ||Sigma_real||_F


def moment_gaps(real: np.ndarray, fake: np.ndarray) -> MomentGaps:
    """Compare means and covariances of two samples of shape ``(N, D)`` and ``(M, D)``.

    The mean difference is measured in units of the real data's overall spread, the
    covariance difference relative to the real covariance, so 0.05 means "5 % off".
    """
    real, fake = check_points("real", real, 2), check_points("fake", fake, 2)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake have different dimensions: {real.shape[1]} vs "
                         f"{fake.shape[1]}.")
    cov_r = np.atleast_2d(np.cov(real, rowvar=False))
    cov_f = np.atleast_2d(np.cov(fake, rowvar=False))
    spread = float(np.sqrt(np.trace(cov_r))) or 1.0
    mean_gap = float(np.linalg.norm(fake.mean(0) - real.mean(0))) / spread
    cov_gap = float(np.linalg.norm(cov_f - cov_r) / (np.linalg.norm(cov_r) or 1.0))
    return MomentGaps(mean_gap=mean_gap, cov_gap=cov_gap)


def classifier_two_sample_auc(real: np.ndarray, fake: np.ndarray, seed: int = 0,
                              test_fraction: float = 0.5) -> float:
    """ROC AUC of a random forest trained to tell ``real`` from ``fake`` points.

    Both sets are cut to the same size, shuffled together, and split: the forest trains on
    ``1 - test_fraction`` of the pairs and is scored on the rest.

    Args:
        real: real points ``(N, D)``; fake: generated points ``(M, D)``; at least 20 each.
        seed: random seed (split and forest).
        test_fraction: share of points held out for scoring, in ``(0, 1)``.

    Returns:
        AUC in ``[0, 1]``; about 0.5 when the samples are indistinguishable.
    """
    real, fake = check_points("real", real, 20), check_points("fake", fake, 20)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake have different dimensions: {real.shape[1]} vs "
                         f"{fake.shape[1]}.")
    check_float("test_fraction", test_fraction, low=0, high=1, low_inclusive=False,
                high_inclusive=False)
    rng = np.random.default_rng(seed)
    n = min(len(real), len(fake))
    x = np.vstack([real[rng.permutation(len(real))[:n]], fake[rng.permutation(len(fake))[:n]]])
    y = np.r_[np.zeros(n), np.ones(n)]
    order = rng.permutation(2 * n)
    x, y = x[order], y[order]
    n_test = max(2, int(round(test_fraction * 2 * n)))
    forest = RandomForestClassifier(n_estimators=200, min_samples_leaf=5, random_state=seed,
                                    n_jobs=1).fit(x[n_test:], y[n_test:])
    if len(np.unique(y[:n_test])) < 2:
        raise ValueError("The held-out part has only one class; use more points.")
    return float(roc_auc_score(y[:n_test], forest.predict_proba(x[:n_test])[:, 1]))
