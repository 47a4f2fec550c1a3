"""Reference-based text metrics in one call: BLEU, ROUGE, chrF and embedding cosine (chapter 51).

Each scores a candidate against a reference written by a person:

- **BLEU** (Papineni et al. 2002), per sentence: the geometric mean of clipped word n-gram
  precisions ``p_1 .. p_4`` times a brevity penalty,
  ``BLEU = min(1, exp(1 - r / c)) * exp(mean_n log p_n)`` (``c``, ``r`` = candidate and
  reference lengths). NLTK's implementation, with its smoothing "method 1" (a tiny count for
  an n-gram order with no match) so that one sentence can score above 0.
- **ROUGE-1 / ROUGE-L** F1 (Lin 2004): shared words, and the longest common subsequence
  (:func:`course_utils.llm.writing.rouge`, chapter 12).
- **chrF** (Popović 2015): the character n-gram F-score (:func:`course_utils.llm.writing.chrf`,
  chapter 12), rescaled here to 0-1.
- **cosine (MiniLM)**: the cosine of the two sentences' all-MiniLM-L6-v2 embeddings, a
  learned similarity in the spirit of BERTScore.

All four count surface overlap or a learned similarity; none checks that the meaning is the
same, which is what chapter 51 measures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from course_utils.core.validation import check_text

_WORD = re.compile(r"[a-z0-9']+")
REFERENCE_METRICS = ("BLEU", "ROUGE-1", "ROUGE-L", "chrF", "cosine (MiniLM)")


def words(text: str) -> list[str]:
    """Lower-cased words (letters, digits, apostrophes); punctuation dropped."""
    return _WORD.findall(check_text("text", text).lower())


def _pairs(candidates: Sequence[str], references: Sequence[str]) -> tuple[list[str], list[str]]:
    candidates, references = list(candidates), list(references)
    if not candidates or len(candidates) != len(references):
        raise ValueError(f"give one reference per candidate (got {len(candidates)} and "
                         f"{len(references)}), at least one pair.")
    for name, items in (("candidate", candidates), ("reference", references)):
        for i, text in enumerate(items):
            if not words(check_text(f"{name} {i}", text)):
                raise ValueError(f"{name} {i} has no words to compare: {text!r}.")
    return candidates, references


def sentence_bleu(candidates: Sequence[str], references: Sequence[str],
                  max_n: int = 4) -> np.ndarray:
    """BLEU-``max_n`` of each candidate against its one reference, ``(N,)`` in ``[0, 1]``."""
    from nltk.translate.bleu_score import SmoothingFunction
    from nltk.translate.bleu_score import sentence_bleu as nltk_bleu

    candidates, references = _pairs(candidates, references)
    if max_n not in (1, 2, 3, 4):
        raise ValueError(f"max_n must be 1-4, got {max_n!r}.")
    weights = (1.0 / max_n,) * max_n
    smooth = SmoothingFunction().method1
    return np.array([nltk_bleu([words(r)], words(c), weights=weights, smoothing_function=smooth)
                     for c, r in zip(candidates, references)])


def reference_scores(candidates: Sequence[str], references: Sequence[str],
                     embedder=None) -> dict[str, np.ndarray]:
    """Every metric of :data:`REFERENCE_METRICS`, one score per pair.

    Args:
        candidates: (N,) texts to score; references: (N,) the texts they should match.
        embedder: a ``SentenceTransformer`` (e.g. :func:`course_utils.llm.minilm.load_minilm`);
            without it the cosine column is left out.

    Returns:
        ``{metric: (N,) array in [0, 1]}`` (cosine can be slightly negative).

    Raises:
        ValueError: different lengths, no pairs, or a text without any word.
    """
    from course_utils.llm.writing import chrf, rouge

    candidates, references = _pairs(candidates, references)
    overlap = rouge(candidates, references, types=("rouge1", "rougeL"))
    scores = {"BLEU": sentence_bleu(candidates, references),
              "ROUGE-1": overlap["rouge1"], "ROUGE-L": overlap["rougeL"],
              "chrF": np.array([chrf(c, r) / 100 for c, r in zip(candidates, references)])}
    if embedder is not None:
        a = embedder.encode(candidates, normalize_embeddings=True)  # (N, 384) unit vectors
        b = embedder.encode(references, normalize_embeddings=True)
        scores["cosine (MiniLM)"] = np.sum(a * b, axis=1).astype(float)
    return scores
