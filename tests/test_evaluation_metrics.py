"""Chapter 51's evaluation kit: controlled degradations, copy detection, the scorecards,
reference metrics, sentence rewrites and Bradley-Terry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils.metrics import degradations as dg
from course_utils.metrics import memorisation as mem
from course_utils.metrics import preference as pf
from course_utils.metrics import rewrites as rw
from course_utils.metrics import scorecard as sc
from course_utils.metrics import text_overlap as to

# --- memorisation -------------------------------------------------------------------------

def test_nearest_distances_match_brute_force():
    rng = np.random.default_rng(0)
    samples, training = rng.normal(size=(700, 5)), rng.normal(size=(40, 5))
    brute = np.linalg.norm(samples[:, None] - training[None], axis=-1).min(1)
    np.testing.assert_allclose(mem.nearest_distances(samples, training), brute, atol=1e-9)
    assert mem.nearest_distances(training[:3], training).max() < 1e-6  # exact copies


def test_copy_threshold_and_rate_separate_copies_from_fresh_digits():
    split = dg.memorisation_split(0)
    tau = mem.copy_threshold(split.fresh_images, split.training_images)
    assert 0 < tau < 1
    assert mem.copy_rate(split.training_images[:50], split.training_images, tau) == 1.0
    assert mem.copy_rate(split.fresh_images, split.training_images, tau) == 0.0


@pytest.mark.parametrize("bad, message", [
    (np.zeros((0, 3)), "non-empty"), (np.full((2, 3), np.nan), "NaN"), ("abc", "numeric"),
])
def test_memorisation_rejects_bad_arrays(bad, message):
    with pytest.raises(ValueError, match=message):
        mem.nearest_distances(bad, np.zeros((2, 3)))


def test_memorisation_rejects_mismatched_sizes_and_thresholds():
    with pytest.raises(ValueError, match="values each"):
        mem.nearest_distances(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="threshold"):
        mem.copy_rate(np.zeros((2, 3)), np.zeros((2, 3)), -1)


# --- degradations -------------------------------------------------------------------------

def test_memorisation_split_is_disjoint_stratified_and_seeded():
    a, b = dg.memorisation_split(0), dg.memorisation_split(1)
    assert a.training_images.shape == (1077, 8, 8) and a.fresh_images.shape == (360, 8, 8)
    assert np.bincount(a.fresh_labels).min() >= 35
    d = mem.nearest_distances(a.fresh_images, a.training_images)
    assert (d > 0).mean() > 0.99  # fresh images are not in the training part
    assert not np.array_equal(a.fresh_images, b.fresh_images)


def test_each_degradation_does_what_it_says():
    split = dg.memorisation_split(0)
    x = split.fresh_images
    noisy = dg.add_noise(x, 0.2, seed=0)
    assert noisy.shape == x.shape and 0 <= noisy.min() and noisy.max() <= 1
    assert 0.1 < np.abs(noisy - x).mean() < 0.2
    blurred = dg.blur(x, 1.0)
    assert np.abs(np.diff(blurred, axis=2)).mean() < np.abs(np.diff(x, axis=2)).mean()
    np.testing.assert_array_equal(dg.blur(x, 0), x)
    kept = dg.degraded("mode dropping", 8, seed=0)
    assert len(kept) == dg.N_FRESH
    assert mem.nearest_distances(kept, x[split.fresh_labels < 2]).max() < 1e-6
    copied = dg.degraded("memorisation", 1.0)
    assert mem.nearest_distances(copied, split.training_images).max() < 1e-6
    half = dg.degraded("memorisation", 0.5)
    assert (mem.nearest_distances(half, split.training_images) < 1e-6).mean() == 0.5
    few = dg.copies(split.training_images, 100, distinct=20)
    assert len(np.unique(few.reshape(100, -1), axis=0)) <= 20
    gauss = dg.pixel_gaussian(split.training_images, 2000, seed=0)
    # clipping to [0, 1] shifts the mean a little; the covariance is what it copies
    assert np.abs(gauss.mean(0) - split.training_images.mean(0)).max() < 0.08
    np.testing.assert_array_equal(dg.degraded("blur", 0), x)


@pytest.mark.parametrize("name, strength, message", [
    ("pixel noise", 5.0, "<= 1"), ("mode dropping", 10, "<= 9"),
    ("mode dropping", 2.5, "whole classes"), ("memorisation", 1.5, "<= 1"),
    ("unknown", 1, "unknown degradation"), ("blur", -1, ">= 0"),
])
def test_degraded_rejects_bad_settings(name, strength, message):
    with pytest.raises(ValueError, match=message):
        dg.degraded(name, strength)


def test_copies_rejects_impossible_requests():
    x = dg.memorisation_split(0).fresh_images
    with pytest.raises(ValueError, match="distinct copies"):
        dg.copies(x, 1000)
    with pytest.raises(ValueError, match="labels"):
        dg.keep_classes(x, np.zeros(3), 2, 10)


# --- scorecards ---------------------------------------------------------------------------

def test_image_scorecard_sees_copies_and_noise():
    split = dg.memorisation_split(0)
    tau = mem.copy_threshold(split.fresh_images, split.training_images)
    fresh = sc.image_scorecard(split.fresh_images, split.training_images, tau)
    noisy = sc.image_scorecard(dg.add_noise(split.fresh_images, 0.2), split.training_images,
                               tau)
    copied = sc.image_scorecard(split.training_images[:360], split.training_images, tau)
    assert set(fresh) == {m.name for m in sc.IMAGE_METRICS}
    assert noisy["FD"] > 5 * fresh["FD"] and noisy["precision"] < fresh["precision"] - 0.3
    assert copied["copy rate"] == 1.0 and fresh["copy rate"] == 0.0
    assert abs(copied["precision"] - fresh["precision"]) < 0.05


def test_text_scorecard_and_continuation_bits():
    from course_utils.data.sources import load_text_splits
    from course_utils.text.gpt_training import load_pretrained_tiny_gpt
    from course_utils.text.ngram import CharNGramModel

    text = load_text_splits()
    gpt, tokenizer, _ = load_pretrained_tiny_gpt()
    ngram = CharNGramModel(3).fit(text.train[:20_000])
    prompt, real = text.test[:40], text.test[40:200]
    looped = (real[:20] * 8)[:160]
    card = sc.text_scorecard([real, looped], [prompt, prompt], gpt, tokenizer, ngram,
                             text.train)
    assert set(card) == {m.name for m in sc.TEXT_METRICS}
    assert sc.text_scorecard([looped], [prompt], gpt, tokenizer, ngram, text.train)[
        "distinct-2"] < sc.text_scorecard([real], [prompt], gpt, tokenizer, ngram,
                                          text.train)["distinct-2"]
    bits = sc.continuation_bits(gpt, tokenizer, prompt, real)
    assert 0.5 < bits < 4
    with pytest.raises(ValueError, match="one prompt per text"):
        sc.text_scorecard([real], [], gpt, tokenizer, ngram, text.train)
    with pytest.raises(ValueError, match="empty"):
        sc.continuation_bits(gpt, tokenizer, prompt, "")


@pytest.mark.parametrize("change, noise, better, expected", [
    (5.0, 1.0, "lower", "worse"), (-5.0, 1.0, "lower", "better"),
    (0.5, 1.0, "higher", "same"), (-0.2, 0.1, "higher", "worse"), (0.0, 0.0, "lower", "same"),
])
def test_direction(change, noise, better, expected):
    assert sc.direction(change, noise, better) == expected


def test_direction_rejects_bad_input():
    with pytest.raises(ValueError, match="better"):
        sc.direction(1, 1, "up")
    with pytest.raises(ValueError, match="finite"):
        sc.direction(float("nan"), 1, "lower")


# --- reference metrics and rewrites -------------------------------------------------------

def test_sentence_bleu_matches_the_formula():
    # p1 = 5/6, p2 = 3/5, p3 = 1/4, p4 = 0/3 -> smoothed (method 1) to 0.1/3; no brevity
    # penalty (same length)
    got = to.sentence_bleu(["the cat sat on the mat"], ["the cat is on the mat"])[0]
    expected = math.exp(np.mean(np.log([5 / 6, 3 / 5, 1 / 4, 0.1 / 3])))
    assert got == pytest.approx(expected, rel=1e-9)
    # a shorter candidate pays exp(1 - r / c)
    short = to.sentence_bleu(["the cat"], ["the cat is on the mat"], max_n=1)[0]
    assert short == pytest.approx(math.exp(1 - 6 / 2), rel=1e-9)


def test_reference_scores_are_perfect_for_identical_text():
    scores = to.reference_scores(["a cat sat on the mat."], ["a cat sat on the mat."])
    assert set(scores) == {"BLEU", "ROUGE-1", "ROUGE-L", "chrF"}
    for values in scores.values():
        assert values.shape == (1,) and values[0] == pytest.approx(1.0)
    # BLEU compares lower-cased words without punctuation
    assert to.sentence_bleu(["A cat sat on the MAT!"], ["a cat sat on the mat"])[0] == 1.0


@pytest.mark.parametrize("candidates, references, message", [
    ([], [], "at least one pair"), (["a"], ["a", "b"], "one reference per candidate"),
    (["..."], ["a b"], "no words"), ([""], ["a"], "empty"), ([3], ["a"], "text"),
])
def test_reference_scores_reject_bad_input(candidates, references, message):
    with pytest.raises(ValueError, match=message):
        to.reference_scores(candidates, references)


def test_rewrites_change_what_they_claim():
    refs = rw.make_references(40, seed=3)
    assert len({r.text() for r in refs}) == 40
    original = rw.rewrite(refs, "identical")
    for kind in rw.REWRITES:
        assert len(rw.rewrite(refs, kind)) == 40
    for a, b in zip(original, rw.rewrite(refs, "roles swapped")):
        assert a != b and sorted(a.split()) == sorted(b.split())
    for a, b in zip(original, rw.rewrite(refs, "words shuffled")):
        assert sorted(a.rstrip(".").split()) == sorted(b.rstrip(".").split())
    for a, b in zip(original, rw.rewrite(refs, "negation (never)")):
        assert b.split() == [w for w in a.split()[:3]] + ["never"] + a.split()[3:]
    slot_words = {w for table in (rw.PEOPLE, rw.ADJECTIVES, rw.VERBS) for w, _ in table}
    for a, b in zip(original, rw.rewrite(refs, "paraphrase (synonyms)")):
        assert not (set(a.split()) & set(b.split()) & slot_words)
    assert rw.REWRITES["paraphrase (synonyms)"] and not rw.REWRITES["negation (never)"]


def test_rewrite_rejects_bad_input():
    refs = rw.make_references(2)
    with pytest.raises(ValueError, match="unknown rewrite"):
        rw.rewrite(refs, "sarcasm")
    with pytest.raises(ValueError, match="at least two"):
        rw.rewrite(refs[:1], "unrelated sentence")
    with pytest.raises(ValueError, match="n"):
        rw.make_references(0)


# --- Bradley-Terry ------------------------------------------------------------------------

def test_bradley_terry_matches_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    wins = np.array([[0, 7, 9], [3, 0, 6], [1, 4, 0]], dtype=float)
    beta = pf.bradley_terry(wins, prior=0.0)
    X, y = [], []
    for i in range(3):
        for j in range(3):
            for _ in range(int(wins[i, j])):
                row = np.zeros(3)
                row[i], row[j] = 1, -1
                X += [row, -row]
                y += [1, 0]
    coef = LogisticRegression(fit_intercept=False, C=1e9, tol=1e-12, max_iter=10_000).fit(
        np.array(X), y).coef_[0]
    # both sides of each vote enter once each: halve the logistic coefficients' scale
    np.testing.assert_allclose(beta, coef - coef.mean(), atol=1e-4)
    assert beta.mean() == pytest.approx(0, abs=1e-12)


def test_simulated_fair_judge_is_recovered_and_length_bias_misleads():
    quality, lengths = (0.0, 0.5, 1.0), (1.0, 3.0, 1.0)
    fair = pf.SimulatedJudge(quality, lengths)
    biased = pf.SimulatedJudge(quality, lengths, length_bias=0.5)
    assert fair.p_first_wins(2, 0) == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert pf.spearman(pf.bradley_terry(pf.simulate_votes(fair, 3000, seed=0)), quality) == 1
    assert np.argmax(pf.bradley_terry(pf.simulate_votes(biased, 3000, seed=0))) == 1
    probs = pf.win_probability(np.array([0.0, 1.0]))
    assert probs[1, 0] == pytest.approx(1 / (1 + math.exp(-1))) and probs[0, 0] == 0.5


@pytest.mark.parametrize("wins, message", [
    (np.zeros((1, 1)), "K >= 2"), (np.array([[1, 0], [0, 0]]), "diagonal"),
    (np.array([[0, -1], [0, 0]]), ">= 0"), (np.zeros((2, 3)), "square"),
])
def test_bradley_terry_rejects_bad_win_matrices(wins, message):
    with pytest.raises(ValueError, match=message):
        pf.bradley_terry(wins)


def test_bradley_terry_without_prior_needs_wins_and_judge_checks_input():
    with pytest.raises(ValueError, match="prior > 0"):
        pf.bradley_terry(np.array([[0, 0], [3, 0]]), prior=0)
    with pytest.raises(ValueError, match="at least two"):
        pf.SimulatedJudge((1.0,), (1.0,))
    with pytest.raises(ValueError, match="finite"):
        pf.SimulatedJudge((1.0, float("nan")), (1.0, 1.0))
