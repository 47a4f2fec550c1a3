"""Word error rate and the normalisation behind it."""

from __future__ import annotations

import pytest

from course_utils.audio import word_errors as we


@pytest.mark.parametrize("number, words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (40, "forty"), (64, "sixty four"),
    (100, "one hundred"), (314, "three hundred fourteen"),
    (12000, "twelve thousand"), (1_000_001, "one million one"),
])
def test_number_to_words(number, words):
    assert we.number_to_words(number) == words


@pytest.mark.parametrize("text, normal", [
    ("Dr. Chen paid $12.50 at 8:30.",
     "doctor chen paid twelve dollars fifty cents at eight thirty"),
    ("It's 40% off, 3rd time!", "it's forty percent off third time"),
    ("In 1987 and 2005", "in nineteen eighty seven and two thousand five"),
    ("the 21st floor", "the twenty first floor"),
    ("2.5 cups", "two point five cups"),
    ("7:05 or 7:00", "seven oh five or seven o'clock"),
    ("12,000 people", "twelve thousand people"),
    ("well-known   words", "well known words"),
])
def test_normalize_text(text, normal):
    assert we.normalize_text(text) == normal


def test_wer_counts_substitutions_deletions_insertions():
    errors = we.word_errors(["the cat sat on the mat"], ["the cat sat on a red mat"])
    assert (errors.substitutions, errors.deletions, errors.insertions) == (1, 0, 1)
    assert errors.wer == pytest.approx(2 / 6)
    assert we.word_error_rate(["a b c"], [""]) == 1.0  # nothing heard: all deleted
    assert we.word_error_rate(["a b"], ["a b c d e"]) == pytest.approx(1.5)  # can exceed 1


def test_normalisation_removes_formatting_errors_only():
    refs, hyps = ["Doctor Lee is 37."], ["Dr. Lee is thirty-seven"]
    assert we.word_error_rate(refs, hyps) == 0.0
    assert we.word_error_rate(refs, hyps, normalize=False) == 0.5  # Dr./37. differ


def test_corpus_wer_weights_sentences_by_length():
    refs = ["a b c d e f g h i j", "x"]
    hyps = ["a b c d e f g h i j", "y"]
    assert we.word_error_rate(refs, hyps) == pytest.approx(1 / 11)
    assert we.sentence_error_rates(refs, hyps) == [0.0, 1.0]


def test_wer_interval_brackets_the_estimate_and_pairs_systems():
    refs = [f"{name} and more words here" for name in "abcdefghijklmnopqrst"]
    good = list(refs)
    bad = [r.replace("more", "less") for r in refs]
    interval = we.wer_interval(refs, bad, seed=1)
    assert interval.low <= interval.estimate <= interval.high
    assert interval.estimate == pytest.approx(0.2)
    paired = we.wer_interval(refs, bad, good)
    assert paired.low == pytest.approx(0.2) and paired.high == pytest.approx(0.2)


@pytest.mark.parametrize("call, message", [
    (lambda: we.word_errors([], []), "empty"),
    (lambda: we.word_errors(["a"], ["a", "b"]), "one hypothesis per reference"),
    (lambda: we.word_errors("a b", "a b"), "lists of texts"),
    (lambda: we.word_errors([""], ["a"]), "empty"),
    (lambda: we.word_errors(["!!!"], ["a"]), "no words after normalisation"),
    (lambda: we.word_errors([None], ["a"]), "must be text"),
    (lambda: we.number_to_words(-1), "number must be in"),
    (lambda: we.number_to_words(2.5), "integer"),
    (lambda: we.wer_interval(["a"], ["a"]), "at least two"),
    (lambda: we.wer_interval(["a", "b"], ["a", "b"], level=1.5), "level"),
    (lambda: we.sentence_error_rates(["a"], []), "hypotheses"),
])
def test_bad_input_is_refused_clearly(call, message):
    with pytest.raises(ValueError, match=message):
        call()
