"""Density models for chapter 01: Gaussian mixtures as a first generative model.

A Gaussian mixture models the data distribution as

    p(x) = sum_k pi_k N(x; mu_k, Sigma_k),      sum_k pi_k = 1,

fitted by expectation-maximisation (scikit-learn's ``GaussianMixture``). It *scores* points
(log-likelihood) and *generates* them (pick a component k ~ pi, then x ~ N(mu_k, Sigma_k)).
A mixture per class gives p(x | y), and Bayes' rule turns it into a classifier:

    p(y | x) = p(x | y) p(y) / sum_y' p(x | y') p(y').
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.mixture import GaussianMixture

from course_utils.core.validation import check_int, check_points


def fit_mixture(x: np.ndarray, n_components: int, seed: int = 0,
                covariance_type: str = "full") -> GaussianMixture:
    """Fit a Gaussian mixture with ``n_components`` components to ``x`` of shape ``(N, D)``.

    Args:
        x: training points, ``(N, D)`` with ``N >= n_components``.
        n_components: number of Gaussians ``K``.
        seed: random seed for the initialisation.
        covariance_type: ``"full"``, ``"diag"``, ``"tied"`` or ``"spherical"``.

    Returns:
        The fitted ``GaussianMixture`` (best of 2 initialisations).
    """
    check_int("n_components", n_components, low=1, high=1000)
    x = check_points("x", x, min_rows=n_components)
    if covariance_type not in ("full", "diag", "tied", "spherical"):
        raise ValueError(f"Unknown covariance_type {covariance_type!r}.")
    return GaussianMixture(n_components, covariance_type=covariance_type, n_init=2,
                           random_state=seed).fit(x)


def mean_log_likelihood(model: GaussianMixture, x: np.ndarray) -> float:
    """Average log-density ``(1/N) sum_i log p(x_i)`` in nats per point (higher is better)."""
    x = check_points("x", x)
    if x.shape[1] != model.means_.shape[1]:
        raise ValueError(f"x has {x.shape[1]} columns but the model was fitted on "
                         f"{model.means_.shape[1]}.")
    return float(model.score(x))


@dataclass(frozen=True)
class ComponentSearch:
    """Held-out log-likelihood for each number of components tried."""

    candidates: tuple[int, ...]
    train_ll: tuple[float, ...]  # nats per point on the training data
    val_ll: tuple[float, ...]  # nats per point on held-out data

    @property
    def best(self) -> int:
        """The smallest K within 0.005 nats of the best held-out score (simplest good model)."""
        top = max(self.val_ll)
        return next(k for k, v in zip(self.candidates, self.val_ll) if v >= top - 0.005)


def choose_components(x_train: np.ndarray, x_val: np.ndarray, candidates: Sequence[int],
                      seed: int = 0) -> ComponentSearch:
    """Fit one mixture per candidate ``K`` and score each on held-out data.

    Returns:
        A :class:`ComponentSearch`; ``.best`` is the chosen ``K``.
    """
    if not candidates:
        raise ValueError("choose_components needs at least one candidate K.")
    train, val = [], []
    for k in candidates:
        model = fit_mixture(x_train, k, seed=seed)
        train.append(mean_log_likelihood(model, x_train))
        val.append(mean_log_likelihood(model, x_val))
    return ComponentSearch(tuple(candidates), tuple(train), tuple(val))


def sample_mixture(model: GaussianMixture, n: int, seed: int = 0) -> np.ndarray:
    """Draw ``n`` new points ``(n, D)`` from a fitted mixture, in random order.

    (scikit-learn returns samples grouped by component; shuffling avoids surprises.)
    """
    check_int("n", n, low=1, high=10_000_000)
    seeded = copy.copy(model)  # sample() reads random_state; leave the caller's model alone
    seeded.random_state = seed
    points, _ = seeded.sample(n)
    return np.random.default_rng(seed).permutation(points)


class ClassConditionalMixture:
    """One Gaussian mixture per class: ``p(x | y)``, plus class priors ``p(y)``.

    It is a *generative classifier*: it predicts with Bayes' rule and can also generate
    points of a chosen class.
    """

    def __init__(self, n_components: int = 6, seed: int = 0) -> None:
        self.n_components = check_int("n_components", n_components, low=1, high=1000)
        self.seed = seed
        self.models: dict[int, GaussianMixture] = {}
        self.log_prior: dict[int, float] = {}

    def fit(self, x: np.ndarray, y: np.ndarray) -> ClassConditionalMixture:
        """Fit on points ``x`` ``(N, D)`` with integer labels ``y`` ``(N,)``."""
        x = check_points("x", x)
        y = np.asarray(y)
        if y.shape != (len(x),):
            raise ValueError(f"y must have shape ({len(x)},), got {y.shape}.")
        self.models, self.log_prior = {}, {}  # refitting starts from scratch
        for label in np.unique(y):
            members = x[y == label]
            self.models[int(label)] = fit_mixture(members, min(self.n_components, len(members)),
                                                  seed=self.seed)
            self.log_prior[int(label)] = float(np.log(len(members) / len(x)))
        return self

    @property
    def classes(self) -> list[int]:
        return sorted(self.models)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """``p(y | x)`` for each class, shape ``(N, C)``, by Bayes' rule (in log space)."""
        if not self.models:
            raise ValueError("Fit the model before predicting.")
        x = check_points("x", x)
        joint = np.stack([self.models[c].score_samples(x) + self.log_prior[c]
                          for c in self.classes], axis=1)  # (N, C): log p(x, y)
        joint -= joint.max(axis=1, keepdims=True)
        probs = np.exp(joint)
        return probs / probs.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Most probable class per point, shape ``(N,)``."""
        return np.asarray(self.classes)[self.predict_proba(x).argmax(axis=1)]

    def sample(self, n: int, label: int, seed: int = 0) -> np.ndarray:
        """``n`` new points ``(n, D)`` of class ``label``."""
        if label not in self.models:
            raise ValueError(f"Unknown class {label!r}; classes are {self.classes}.")
        return sample_mixture(self.models[label], n, seed=seed)
