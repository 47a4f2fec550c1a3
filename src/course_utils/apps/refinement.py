"""Preference-based refinement and personalisation: learn what a person prefers from pairwise
votes, then use it to choose among a model's drafts (chapter 64).

The pieces:

- :data:`PRODUCTS` - the writing task: one sentence for a shop about a product with two
  features; split into training and held-out products.
- :class:`SimulatedReader` - **a simulated person**, not a real one: a scoring rule with a
  stated taste (length, features named, exclamation marks, repetition) whose pairwise votes
  follow the Bradley-Terry model ``P(a preferred to b) = sigmoid((s(a) - s(b)) / tau)``.
  Two readers with different tastes stand in for two users.
- :class:`PreferenceModel` - a reward model learned from votes only: a linear score on
  features of the text, ``r(x) = w . phi(x)``, fitted by logistic regression on
  ``phi(a) - phi(b)`` (the Bradley-Terry likelihood). ``phi`` is the MiniLM sentence vector
  of the draft, its cosine similarity to the product's description and three generic text
  statistics (length, an exclamation mark, repeated word pairs). The model is not told
  which way, or how much, any of them counts: that is what the votes teach it.
- :func:`best_of_n` and :func:`win_rate` - refinement by reranking ``n`` drafts, and its
  measurement: the expected share of pairwise votes the chosen draft wins against the first
  draft (what the writer would have got without refinement), under a reader.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from course_utils.core.validation import check_float, check_int, check_text

#: (product, feature, feature) - the features are what a good description should name
PRODUCTS = (
    ("water bottle", "steel", "cold"), ("desk lamp", "dimmable", "USB"),
    ("backpack", "waterproof", "laptop"), ("kettle", "quiet", "fast"),
    ("notebook", "recycled", "dotted"), ("umbrella", "compact", "windproof"),
    ("headphones", "wireless", "battery"), ("running shoes", "light", "grip"),
    ("coffee mug", "ceramic", "handmade"), ("bicycle bell", "loud", "brass"),
    ("garden hose", "flexible", "tangle"), ("phone case", "slim", "shockproof"),
    ("wool scarf", "soft", "warm"), ("cutting board", "bamboo", "large"),
    ("alarm clock", "silent", "glow"), ("tent", "two-person", "light"),
    ("chef's knife", "sharp", "balanced"), ("yoga mat", "thick", "non-slip"),
    ("travel pillow", "memory foam", "washable"), ("tea pot", "glass", "strainer"),
    ("hand cream", "unscented", "rich"), ("puzzle", "1000-piece", "colourful"),
    ("rain jacket", "breathable", "hood"), ("lunch box", "leak-proof", "compartments"),
)
MAX_DRAFT_CHARS = 600


def split_products(n_train: int = 12) -> tuple[list[tuple], list[tuple]]:
    """The first ``n_train`` products for collecting votes, the rest held out."""
    n_train = check_int("n_train", n_train, low=1, high=len(PRODUCTS) - 1)
    return list(PRODUCTS[:n_train]), list(PRODUCTS[n_train:])


def request(product: tuple) -> str:
    """The writing request for one product."""
    name, a, b = product
    return f"Write one sentence for an online shop about a {name} that is {a} and {b}."


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9'-]+", text.lower())


def distinct_2(text: str) -> float:
    """Share of distinct word pairs (1 = no repeated pair; 1.0 for fewer than 3 words)."""
    w = _words(text)
    pairs = list(zip(w, w[1:]))
    return len(set(pairs)) / len(pairs) if len(pairs) > 1 else 1.0


@dataclass(frozen=True)
class SimulatedReader:
    """A stated taste, scored by a rule (a stand-in for a person's judgement):

    ``s(x) = features named - |words - target_words| / 10 + exclamation * has_!
    - 3 (1 - distinct_2) - 0.5 [first person]``
    """

    name: str
    target_words: int = 18
    exclamation: float = -1.0   # >0: likes "!", <0: dislikes it
    tau: float = 0.5            # vote noise: larger = closer to a coin flip

    def __post_init__(self) -> None:
        check_int("target_words", self.target_words, low=1, high=200)
        check_float("exclamation", self.exclamation, low=-10, high=10)
        check_float("tau", self.tau, low=0, high=10, low_inclusive=False)

    def score(self, text: str, product: tuple) -> float:
        text = check_text("text", text, allow_empty=True, max_length=MAX_DRAFT_CHARS * 4)
        words = _words(text)
        lowered = text.lower()
        named = sum(f.lower().split()[0] in lowered for f in product[1:])
        first_person = bool(re.search(r"\b(i|we|my|our)\b", lowered))
        return (named - abs(len(words) - self.target_words) / 10
                + self.exclamation * ("!" in text) - 3 * (1 - distinct_2(text))
                - 0.5 * first_person)

    def p_prefers(self, a: str, b: str, product: tuple) -> float:
        """``P(a preferred to b)`` under the Bradley-Terry vote model."""
        d = (self.score(a, product) - self.score(b, product)) / self.tau
        return float(1 / (1 + np.exp(-d)))

    def votes(self, drafts: Sequence[Sequence[str]], products: Sequence[tuple],
              seed: int = 0) -> list[tuple[int, int, int]]:
        """One sampled vote per pair of drafts of each product: ``(product index, winner,
        loser)`` with draft indices within the product."""
        rng = np.random.default_rng(seed)
        out = []
        for p, (texts, product) in enumerate(zip(drafts, products)):
            for i, j in itertools.combinations(range(len(texts)), 2):
                i_wins = rng.random() < self.p_prefers(texts[i], texts[j], product)
                out.append((p, i, j) if i_wins else (p, j, i))
        return out


def product_text(product: tuple) -> str:
    name, a, b = product
    return f"a {name} that is {a} and {b}"


class PreferenceModel:
    """A reward model fitted to pairwise votes (Bradley-Terry logistic regression).

    Args:
        encoder: the MiniLM sentence encoder.
        l2: inverse regularisation strength of the logistic regression (its ``C``).
    """

    def __init__(self, encoder, l2: float = 1.0) -> None:
        self.encoder = encoder
        self.l2 = check_float("l2", l2, low=0, low_inclusive=False)
        self.w: np.ndarray | None = None

    def features(self, texts: Sequence[str], product: tuple) -> np.ndarray:
        """``phi``: (N, 388) - MiniLM vector of each draft (384), its cosine to the product,
        words / 30, has "!", 1 - distinct-2."""
        vectors = self.encoder.encode(list(texts) + [product_text(product)],
                                      normalize_embeddings=True)
        drafts, target = vectors[:-1], vectors[-1]
        stats = np.array([[len(_words(t)) / 30, "!" in t, 1 - distinct_2(t)] for t in texts],
                         dtype=float).reshape(len(texts), 3)
        return np.hstack([drafts, (drafts @ target)[:, None], stats])

    def fit(self, drafts: Sequence[Sequence[str]], products: Sequence[tuple],
            votes: Sequence[tuple[int, int, int]]) -> PreferenceModel:
        """Fit ``w`` so that ``sigmoid(w . (phi(winner) - phi(loser)))`` is large."""
        from sklearn.linear_model import LogisticRegression

        if len(votes) < 2:
            raise ValueError("Need at least two votes to learn a preference.")
        phi = [self.features(texts, product) for texts, product in zip(drafts, products)]
        diffs = np.array([phi[p][i] - phi[p][j] for p, i, j in votes])
        # both orientations, so the classes are balanced and no intercept is needed
        x = np.vstack([diffs, -diffs])
        y = np.r_[np.ones(len(diffs)), np.zeros(len(diffs))]
        model = LogisticRegression(C=self.l2, fit_intercept=False, max_iter=5000).fit(x, y)
        self.w = model.coef_[0]
        return self

    def scores(self, texts: Sequence[str], product: tuple) -> np.ndarray:
        """``r(x)`` for each draft, shape (N,)."""
        if self.w is None:
            raise ValueError("Fit the preference model on votes first (.fit).")
        return self.features(texts, product) @ self.w


def best_of_n(texts: Sequence[str], score: Callable[[Sequence[str]], np.ndarray]) -> int:
    """Index of the highest-scoring draft (the first on ties)."""
    if not texts:
        raise ValueError("best_of_n needs at least one draft.")
    values = np.asarray(score(texts), dtype=float)
    if values.shape != (len(texts),):
        raise ValueError(f"score must return one number per draft, got shape {values.shape}.")
    return int(np.argmax(values))


def win_rate(chosen: Sequence[str], original: Sequence[str], products: Sequence[tuple],
             reader: SimulatedReader) -> np.ndarray:
    """Per product: ``P(chosen preferred to original)`` under ``reader`` (0.5 when they are
    the same draft). Shape (N,); its mean is the expected win rate."""
    if not len(chosen) == len(original) == len(products):
        raise ValueError("chosen, original and products must have the same length.")
    return np.array([0.5 if c == o else reader.p_prefers(c, o, p)
                     for c, o, p in zip(chosen, original, products)])
