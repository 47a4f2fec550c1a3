"""Pairwise preference: a judge picks the better of two outputs, Bradley-Terry ranks the systems.

Human evaluation of generative models (and leaderboards such as Chatbot Arena) mostly asks
"which of these two is better?". The Bradley-Terry model (1952) turns such votes into one
strength ``beta_i`` per system:

    P(i beats j) = sigma(beta_i - beta_j) = 1 / (1 + exp(-(beta_i - beta_j)))

:func:`bradley_terry` fits it by maximum likelihood with Hunter's (2004) minorise-maximise
update ``p_i <- W_i / sum_j n_ij / (p_i + p_j)`` on ``p = exp(beta)``, with a half win and a
half loss against every other system as a weak prior (so a system that never wins still gets
a finite strength).

:class:`SimulatedJudge` is *simulated, not human*: it knows each system's true quality and
votes with logistic noise, optionally swayed by the answers' length (a bias measured in real
LLM judges and crowd raters) and by which answer it saw first. Because the truth is known,
chapter 51 can measure how many votes a ranking needs and what a biased judge does to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_utils.core.validation import check_float, check_int


def _check_wins(wins: object) -> np.ndarray:
    w = np.asarray(wins, dtype=float)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or len(w) < 2:
        raise ValueError(f"wins must be a square (K, K) matrix with K >= 2, got shape {w.shape}.")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("wins must hold finite counts >= 0.")
    if np.diag(w).any():
        raise ValueError("a system cannot play itself: the diagonal of wins must be 0.")
    return w


def bradley_terry(wins: object, prior: float = 0.5, max_iter: int = 10_000,
                  tol: float = 1e-10) -> np.ndarray:
    """Bradley-Terry strengths from a win matrix.

    Args:
        wins: ``(K, K)``, ``wins[i, j]`` = number of times system ``i`` beat ``j``.
        prior: pseudo-wins added to every off-diagonal pair (0 = plain maximum likelihood,
            which diverges for a system that never loses or never wins).
        max_iter, tol: stop when no log-strength moves by more than ``tol``.

    Returns:
        ``(K,)`` strengths ``beta`` (natural-log odds scale), mean 0.
    """
    w = _check_wins(wins)
    prior = check_float("prior", prior, low=0)
    max_iter = check_int("max_iter", max_iter, low=1)
    w = w + prior * (1 - np.eye(len(w)))
    games = w + w.T                      # n_ij, symmetric
    won = w.sum(axis=1)                  # W_i
    if (won == 0).any():
        raise ValueError("a system with no wins has strength -inf: use prior > 0.")
    p = np.ones(len(w))
    for _ in range(max_iter):
        new = won / (games / (p[:, None] + p[None, :])).sum(axis=1)
        new /= np.exp(np.log(new).mean())  # fix the scale: geometric mean 1
        done = np.abs(np.log(new) - np.log(p)).max() < tol
        p = new
        if done:
            break
    return np.log(p)


def win_probability(beta: np.ndarray) -> np.ndarray:
    """``(K, K)`` matrix of ``sigma(beta_i - beta_j)``."""
    b = np.asarray(beta, dtype=float)
    return 1 / (1 + np.exp(-(b[:, None] - b[None, :])))


@dataclass(frozen=True)
class SimulatedJudge:
    """A stated-as-simulated rater: ``P(first wins) = sigma(q_a - q_b + length_bias * (l_a - l_b)
    + position_bias)``.

    ``quality`` is each system's true quality (log-odds scale), ``lengths`` the typical length
    of its answers in hundreds of words; an unbiased judge has both biases 0.
    """

    quality: tuple[float, ...]
    lengths: tuple[float, ...]
    length_bias: float = 0.0    # log-odds per hundred words of extra length
    position_bias: float = 0.0  # log-odds bonus for the answer shown first

    def __post_init__(self) -> None:
        if len(self.quality) < 2 or len(self.lengths) != len(self.quality):
            raise ValueError("give a quality and a length for each of at least two systems.")
        for name, values in (("quality", self.quality), ("lengths", self.lengths)):
            if not np.isfinite(np.asarray(values, dtype=float)).all():
                raise ValueError(f"{name} must be finite numbers.")
        check_float("length_bias", self.length_bias)
        check_float("position_bias", self.position_bias)

    def p_first_wins(self, a: int, b: int) -> float:
        """Probability that system ``a``, shown first, is preferred to ``b``."""
        logit = (self.quality[a] - self.quality[b] + self.position_bias
                 + self.length_bias * (self.lengths[a] - self.lengths[b]))
        return float(1 / (1 + np.exp(-logit)))


def simulate_votes(judge: SimulatedJudge, n_votes: int, seed: int = 0) -> np.ndarray:
    """``n_votes`` comparisons of uniformly random pairs in random order; returns the
    ``(K, K)`` win matrix (``wins[i, j]`` = times ``i`` beat ``j``)."""
    n_votes = check_int("n_votes", n_votes, low=1, high=10_000_000)
    rng = np.random.default_rng(seed)
    k = len(judge.quality)
    wins = np.zeros((k, k))
    for _ in range(n_votes):
        a, b = rng.choice(k, 2, replace=False)  # a is shown first
        winner, loser = (a, b) if rng.random() < judge.p_first_wins(a, b) else (b, a)
        wins[winner, loser] += 1
    return wins


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two score vectors (``scipy.stats.spearmanr``)."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError("give two score vectors of the same length >= 2.")
    return float(spearmanr(a, b).statistic)
