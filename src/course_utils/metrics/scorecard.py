"""Every metric of the course on one sample set, side by side (chapter 51).

:func:`image_scorecard` scores a set of 8x8 digits with the image metrics of chapters 07 and
20-24, plus a copy detector; :func:`text_scorecard` scores continuations with the text metrics
of chapters 03-06. :data:`IMAGE_METRICS` and :data:`TEXT_METRICS` say which way is better for
each, so a table can be read (and checked) without remembering the conventions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from course_utils.metrics import image_quality as iq
from course_utils.metrics.memorisation import nearest_distances


@dataclass(frozen=True)
class Metric:
    """What a metric measures and which way is better."""

    name: str
    better: str     # "lower" or "higher"
    measures: str   # one line for the table's legend


IMAGE_METRICS: tuple[Metric, ...] = (
    Metric("FD", "lower", "Fréchet distance to the test digits in the judge's features"),
    Metric("precision", "higher", "share of samples on the real manifold (fidelity)"),
    Metric("recall", "higher", "share of real test digits on the samples' manifold (coverage)"),
    Metric("judge digit rate", "higher", "share the digit judge calls a digit"),
    Metric("judge confidence", "higher", "mean top probability of the judge over 0-9"),
    Metric("classes", "higher", "digit classes with at least 2% of the samples"),
    Metric("copy rate", "lower", "share of samples within tau of a training image (pixels)"),
)

TEXT_METRICS: tuple[Metric, ...] = (
    Metric("bits/char (GPT)", "lower", "tiny GPT's loss on the text: how expected it is"),
    Metric("bits/char (5-gram)", "lower", "a Kneser-Ney 5-gram's loss on the text"),
    Metric("distinct-2", "higher", "unique word pairs / all word pairs (diversity)"),
    Metric("copy rate", "lower", "share of 12-character windows found in the training text"),
)


def image_scorecard(images: object, training: object, threshold: float,
                    reference_features: np.ndarray | None = None) -> dict[str, float]:
    """All of :data:`IMAGE_METRICS` for one set of generated digits.

    Args:
        images: ``(N, 8, 8)`` samples in ``[0, 1]``.
        training: ``(M, 8, 8)`` images the generator trained on (for the copy rate).
        threshold: copy distance ``tau`` in pixels (see
            :func:`~course_utils.metrics.memorisation.copy_threshold`).
        reference_features: judge features of the reference set; the test digits by default
            (pass them when scoring many sets, to compute them once).
    """
    x = iq.check_digit_images(images)
    if reference_features is None:
        reference_features = iq.digit_features(iq.digit_splits().test_images)
    features = iq.digit_features(x)
    pr = iq.precision_recall(reference_features, features)
    judged = iq.judge_digits(x)
    return {"FD": iq.frechet_distance(features, reference_features),
            "precision": pr.precision, "recall": pr.recall,
            "judge digit rate": judged.digit_rate, "judge confidence": judged.mean_confidence,
            "classes": float(judged.classes_covered),
            "copy rate": float((nearest_distances(x, training) < threshold).mean())}


def continuation_bits(model, tokenizer, prompt: str, continuation: str) -> float:
    """Mean ``-log2 p(c_t | prompt, c_<t)`` of the tiny GPT over the characters of
    ``continuation`` only (the prompt is context, not scored)."""
    from course_utils.text.scoring import position_bits, position_logits

    if not continuation:
        raise ValueError("continuation is empty: nothing to score.")
    logits, targets = position_logits(model, tokenizer, prompt + continuation)
    bits = position_bits(logits, targets).bits  # (len(prompt + continuation) - 1,)
    return float(bits[-len(continuation):].mean())


def text_scorecard(texts: Sequence[str], prompts: Sequence[str], gpt, tokenizer, ngram_model,
                   train_text: str) -> dict[str, float]:
    """All of :data:`TEXT_METRICS` for continuations ``texts`` of ``prompts``.

    Args:
        texts: (N,) continuations; prompts: (N,) the text each one continues.
        gpt, tokenizer: the chapter-05 tiny GPT and its character tokenizer (scorer).
        ngram_model: a fitted :class:`~course_utils.text.ngram.CharNGramModel` (second scorer).
        train_text: the generator's training text (for the copy rate).
    """
    from course_utils.text.decoding import distinct_n
    from course_utils.text.ngram import copy_rate

    texts, prompts = list(texts), list(prompts)
    if not texts or len(texts) != len(prompts):
        raise ValueError(f"give one prompt per text (got {len(texts)} texts, {len(prompts)} "
                         "prompts), at least one.")
    return {
        "bits/char (GPT)": float(np.mean([continuation_bits(gpt, tokenizer, p, t)
                                          for p, t in zip(prompts, texts)])),
        "bits/char (5-gram)": float(np.mean([ngram_model.bits_per_char(t) for t in texts])),
        "distinct-2": distinct_n(texts, 2),
        "copy rate": float(np.mean([copy_rate(t, train_text, 12) for t in texts])),
    }


def direction(change: float, noise: float, better: str) -> str:
    """``"worse"``, ``"better"`` or ``"same"``: a change beyond ``noise`` in a metric where
    ``better`` is ``"lower"`` or ``"higher"``."""
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', got {better!r}.")
    if not np.isfinite(change) or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"change and noise must be finite, noise >= 0 (got {change}, {noise}).")
    if abs(change) <= noise:
        return "same"
    return "better" if (change < 0) == (better == "lower") else "worse"
