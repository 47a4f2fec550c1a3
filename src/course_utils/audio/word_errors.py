"""Word error rate, and the text normalisation that decides what counts as an error (chapter 30).

WER = (S + D + I) / N: the fewest word substitutions S, deletions D and insertions I that turn
the reference (N words) into the hypothesis, divided by N (Levenshtein alignment over words,
computed by ``jiwer``). It can exceed 1 when the hypothesis adds many words.

Before counting, both texts are normalised the same way, because "Dr. Lee paid $5" and
"doctor lee paid five dollars" are the same words spoken: lower case, numbers and symbols
spelt out, common abbreviations expanded, punctuation dropped. Without this step, a
recogniser that writes digits is charged for formatting, not for hearing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import jiwer
import numpy as np

from course_utils.core.validation import check_float, check_int, check_text
from course_utils.metrics.bootstrap import Interval

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINAL_ENDINGS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                    "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
#: Abbreviations expanded before counting (lower case, without the full stop).
ABBREVIATIONS = {"dr": "doctor", "mr": "mister", "mrs": "missus", "ms": "miss", "st": "saint",
                 "prof": "professor", "jr": "junior", "sr": "senior", "vs": "versus",
                 "etc": "et cetera", "ok": "okay"}
_SYMBOLS = {"%": " percent ", "&": " and ", "+": " plus ", "=": " equals ", "@": " at "}


def number_to_words(number: int) -> str:
    """English words for 0 <= number < 10^12, e.g. 1984 -> "one thousand nine hundred eighty four".

    Years are read as plain numbers here; ``normalize_text`` reads 1100-2099 as years.
    """
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValueError(f"number must be an integer, got {number!r}.")
    if not 0 <= number < 10**12:
        raise ValueError(f"number must be in [0, 10^12), got {number}.")
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    for size, word in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"),
                       (100, "hundred")):
        if number >= size:
            high, rest = divmod(number, size)
            return f"{number_to_words(high)} {word}" + (f" {number_to_words(rest)}"
                                                        if rest else "")
    raise AssertionError("unreachable")


def _year_words(year: int) -> str:
    """1984 -> "nineteen eighty four", 2005 -> "two thousand five", 1900 -> "nineteen hundred"."""
    high, low = divmod(year, 100)
    if 2000 <= year < 2010:
        return number_to_words(year)
    if low == 0:
        return f"{number_to_words(high)} hundred"
    return f"{number_to_words(high)} " + (f"oh {_ONES[low]}" if low < 10
                                          else number_to_words(low))


def _ordinal(words: str) -> str:
    """"twenty one" -> "twenty first", "four" -> "fourth", "twenty" -> "twentieth"."""
    *head, last = words.split()
    if last in _ORDINAL_ENDINGS:
        last = _ORDINAL_ENDINGS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join([*head, last])


def _spell_numbers(text: str) -> str:
    """Replace money, times, ordinals, years and plain numbers by words."""
    text = re.sub(r"\$(\d+)(?:\.(\d\d))?",
                  lambda m: f"{m.group(1)} dollars" + (f" {m.group(2)} cents"
                                                       if m.group(2) else ""), text)
    text = re.sub(r"\b(\d{1,2}):(\d\d)\b",
                  lambda m: f"{number_to_words(int(m.group(1)))} " + (
                      "o'clock" if m.group(2) == "00" else
                      (f"oh {_ONES[int(m.group(2))]}" if int(m.group(2)) < 10
                       else number_to_words(int(m.group(2))))), text)
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b",
                  lambda m: _ordinal(number_to_words(int(m.group(1)))), text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 12,000 -> 12000
    text = re.sub(r"\b(\d+)\.(\d+)\b",
                  lambda m: f"{number_to_words(int(m.group(1)))} point "
                            + " ".join(_ONES[int(d)] for d in m.group(2)), text)
    text = re.sub(r"\b(1[1-9]\d\d|20\d\d)\b", lambda m: _year_words(int(m.group(1))), text)
    return re.sub(r"\d+", lambda m: f" {number_to_words(int(m.group(0)[:12]))} ", text)


def normalize_text(text: str) -> str:
    """The form both reference and hypothesis take before words are compared.

    Lower case; ``$``/``%``/``&`` and numbers (money, clock times, ordinals, years,
    decimals) spelt out; abbreviations in :data:`ABBREVIATIONS` expanded; hyphens become
    spaces; other punctuation, and apostrophes' possessive ``'s``, kept as the word form
    ("it's" stays one word); runs of spaces collapsed.

    Example: ``"Dr. Chen paid $5 at 8:30."`` -> ``"doctor chen paid five dollars at eight
    thirty"``.
    """
    text = check_text("text", text, allow_empty=True).lower()
    text = text.replace("’", "'").replace("‘", "'")
    text = _spell_numbers(text)
    for symbol, word in _SYMBOLS.items():
        text = text.replace(symbol, word)
    text = re.sub(r"[-–—/]", " ", text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    words = [ABBREVIATIONS.get(w.strip("'"), w.strip("'")) for w in text.split()]
    return " ".join(w for w in words if w)


@dataclass(frozen=True)
class WordErrors:
    """Word-level edit counts between references and hypotheses.

    Attributes:
        substitutions, deletions, insertions, hits: summed over all pairs.
        reference_words: N, the number of reference words.
    """

    substitutions: int
    deletions: int
    insertions: int
    hits: int
    reference_words: int

    @property
    def wer(self) -> float:
        """(S + D + I) / N."""
        return (self.substitutions + self.deletions + self.insertions) / self.reference_words


def word_errors(references: Sequence[str], hypotheses: Sequence[str],
                normalize: bool = True) -> WordErrors:
    """Count word errors of each hypothesis against its reference (corpus-level WER).

    Args:
        references: what was said, one text per utterance.
        hypotheses: what was recognised, the same number of texts.
        normalize: apply :func:`normalize_text` to both first (default); False compares the
            raw words split on spaces, with capitals and punctuation attached.

    Returns:
        :class:`WordErrors` summed over the pairs.
    """
    if isinstance(references, str) or isinstance(hypotheses, str):
        raise ValueError("pass lists of texts (one per utterance), not a single string; "
                         "wrap one text as [text].")
    references, hypotheses = list(references), list(hypotheses)
    if not references:
        raise ValueError("references is empty: give at least one utterance.")
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses: "
                         "give one hypothesis per reference.")
    for i, (ref, hyp) in enumerate(zip(references, hypotheses)):
        check_text(f"references[{i}]", ref)
        check_text(f"hypotheses[{i}]", hyp, allow_empty=True)
    prepare = normalize_text if normalize else (lambda t: " ".join(t.split()))
    refs = [prepare(r) for r in references]
    hyps = [prepare(h) for h in hypotheses]
    empty = [i for i, r in enumerate(refs) if not r]
    if empty:
        raise ValueError(f"reference {empty[0]} has no words after normalisation: "
                         f"{references[empty[0]]!r}.")
    # jiwer refuses empty hypotheses; an empty one is all deletions
    counts = [0, 0, 0, 0]
    for ref, hyp in zip(refs, hyps):
        if not hyp:
            counts[1] += len(ref.split())
            continue
        out = jiwer.process_words(ref, hyp)
        for k, value in enumerate((out.substitutions, out.deletions, out.insertions, out.hits)):
            counts[k] += value
    return WordErrors(*counts, reference_words=sum(len(r.split()) for r in refs))


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str],
                    normalize: bool = True) -> float:
    """Corpus WER, (S + D + I) / N over all pairs; see :func:`word_errors`."""
    return word_errors(references, hypotheses, normalize).wer


def sentence_error_rates(references: Sequence[str], hypotheses: Sequence[str],
                         normalize: bool = True) -> list[float]:
    """WER of each pair on its own (for bootstrap intervals over sentences)."""
    if isinstance(references, str) or isinstance(hypotheses, str):
        raise ValueError("pass lists of texts (one per utterance), not a single string.")
    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses.")
    return [word_errors([r], [h], normalize).wer for r, h in zip(references, hypotheses)]


def _error_and_word_counts(references: Sequence[str], hypotheses: Sequence[str]
                           ) -> np.ndarray:
    """(n, 2) array: errors S + D + I and reference words N of each pair (normalised)."""
    rows = []
    for ref, hyp in zip(references, hypotheses):
        counts = word_errors([ref], [hyp])
        rows.append((counts.substitutions + counts.deletions + counts.insertions,
                     counts.reference_words))
    return np.array(rows, dtype=np.float64)


def wer_interval(references: Sequence[str], hypotheses: Sequence[str],
                 hypotheses_b: Sequence[str] | None = None, n_boot: int = 2000,
                 level: float = 0.95, seed: int = 0) -> Interval:
    """Bootstrap interval over sentences of the corpus WER (or of a paired difference).

    Sentences are resampled with replacement; each resample's WER is sum(errors) /
    sum(words), so long sentences weigh more, as in the corpus WER itself. With
    ``hypotheses_b`` the interval is of WER(hypotheses) - WER(hypotheses_b) on the same
    resampled sentences (a paired comparison of two systems).

    Args:
        references: what was said, one text per sentence (at least two).
        hypotheses: what system A's round trip heard.
        hypotheses_b: optionally, what system B's round trip heard on the same sentences.
        n_boot: number of resamples.
        level: coverage of the interval, in (0, 1).
        seed: seed of the resampling.

    Returns:
        :class:`~course_utils.metrics.bootstrap.Interval` (estimate on all sentences).
    """
    references, hypotheses = list(references), list(hypotheses)
    if len(references) < 2:
        raise ValueError("need at least two sentences for a bootstrap interval.")
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses.")
    n_boot = check_int("n_boot", n_boot, 10, 1_000_000)
    level = check_float("level", level, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    a = _error_and_word_counts(references, hypotheses)
    b = None
    if hypotheses_b is not None:
        hypotheses_b = list(hypotheses_b)
        if len(hypotheses_b) != len(references):
            raise ValueError(f"{len(references)} references but {len(hypotheses_b)} "
                             "hypotheses_b.")
        b = _error_and_word_counts(references, hypotheses_b)
    picks = np.random.default_rng(seed).integers(0, len(references),
                                                 (n_boot, len(references)))
    words = a[picks, 1].sum(axis=1)
    values = a[picks, 0].sum(axis=1) / words
    estimate = a[:, 0].sum() / a[:, 1].sum()
    if b is not None:
        values = values - b[picks, 0].sum(axis=1) / words
        estimate -= b[:, 0].sum() / b[:, 1].sum()
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(estimate), float(low), float(high), level)
