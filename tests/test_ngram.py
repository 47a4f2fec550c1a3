"""Unit tests for course_utils.text.ngram on tiny texts with fixed seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils.text import ngram
from course_utils.text.ngram import CharNGramModel, MarkovChain

TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 3


@pytest.fixture(scope="module")
def models() -> dict[int, CharNGramModel]:
    return ngram.fit_orders(TEXT, range(1, 7))


# -- probabilities ------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("context", ["", "t", "the ", "gggg", "a.\n", ".\n\n", "dog sat on the "])
def test_distribution_sums_to_one_for_seen_and_unseen_contexts(models, n, context):
    model = models[n]
    p = model.next_char_distribution(context)
    assert p.shape == (model.vocab_size,)
    assert np.all(p > 0)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("smoothing", ["kneser-ney", "add-alpha"])
def test_prob_matches_distribution_and_bits_per_char(smoothing):
    model = CharNGramModel(3, smoothing=smoothing, alpha=0.5).fit(TEXT)
    p = model.next_char_distribution("the")
    for i, ch in enumerate(model.alphabet):
        assert model.prob(ch, "the") == pytest.approx(p[i], rel=1e-12)
    text = "the dog met a cat."
    expected = -np.mean([model.log_prob(ch, text[max(0, i - 2):i]) for i, ch in enumerate(text)])
    assert model.bits_per_char(text) == pytest.approx(expected, rel=1e-12)


def test_unseen_context_backs_off_to_the_shorter_context(models):
    model = models[3]
    # "gg" and "tg" never occur: both predictions fall back to the level-2 prediction after "g"
    np.testing.assert_allclose(model.next_char_distribution("gg"),
                               model.next_char_distribution("tg"), rtol=1e-12)
    # "og" was seen (in "dog"): its own counts change the prediction
    assert not np.allclose(model.next_char_distribution("og"),
                           model.next_char_distribution("gg"))
    assert model.unseen_context_rate("a gg") == pytest.approx(1 / 2)  # "a " seen, "gg" unseen


def test_bigram_on_alternating_text_predicts_b_after_a():
    model = CharNGramModel(2).fit("abababab")
    assert model.prob("b", "a") > 0.9
    assert model.prob("a", "b") > 0.85  # "ba" seen 3 times, "ab" 4 times
    assert model.prob("a", "a") < 0.1


def test_bits_per_char_of_training_text_falls_with_n(models):
    bpc = [models[n].bits_per_char(TEXT) for n in range(1, 7)]
    assert all(later < earlier for earlier, later in zip(bpc, bpc[1:])), bpc
    assert bpc[0] > 3.0 and bpc[-1] < 1.0


def test_kneser_ney_beats_add_alpha_on_held_out_text():
    held_out = "the dog sat on the cat. a mat met a log.\n"
    kn = CharNGramModel(5).fit(TEXT).bits_per_char(held_out)
    add = CharNGramModel(5, smoothing="add-alpha", alpha=0.01).fit(TEXT).bits_per_char(held_out)
    assert kn < add


def test_estimated_discounts_are_in_range():
    d1, d2, d3 = ngram.estimate_discounts([1] * 50 + [2] * 20 + [3] * 10 + [4] * 6 + [9] * 3)
    assert 0 < d1 < 1 and 0 < d2 < 2 and 0 < d3 < 3
    assert ngram.estimate_discounts([5, 6]) == (0.75, 0.75, 0.75)  # too few counts: fallback


def test_evaluate_orders_table(models):
    table = ngram.evaluate_orders(TEXT, "the cat met the dog.", orders=[1, 2, 3], models=models)
    assert list(table.index) == [1, 2, 3]
    assert set(table.columns) >= {"val_bpc", "val_perplexity", "contexts", "unseen_context"}
    assert table.loc[3, "val_bpc"] < table.loc[1, "val_bpc"]
    assert table.loc[2, "val_perplexity"] == pytest.approx(2 ** table.loc[2, "val_bpc"])
    with pytest.raises(ValueError, match="not fitted on this training text"):
        ngram.evaluate_orders(TEXT + "x", "the cat", orders=[2], models=models)
    with pytest.raises(ValueError, match="models has no order 9"):
        ngram.evaluate_orders(TEXT, "the cat", orders=[9], models=models)


# -- sampling ---------------------------------------------------------------------------------

def test_sampling_is_reproducible_and_uses_the_alphabet(models):
    model = models[4]
    a = model.sample(80, prompt="the ", temperature=0.8, seed=3)
    b = model.sample(80, prompt="the ", temperature=0.8, seed=3)
    c = model.sample(80, prompt="the ", temperature=0.8, seed=4)
    assert a == b and a != c
    assert len(a) == 80 and set(a) <= set(model.alphabet)
    assert len(model.sample(5, prompt="")) == 5  # an empty prompt is allowed


def test_low_temperature_follows_the_most_likely_path():
    model = CharNGramModel(2).fit("abababab")
    assert model.sample(10, prompt="a", temperature=0.05, seed=0) == "bababababa"


def test_high_order_sample_copies_more_than_low_order(models):
    low = ngram.copy_rate(models[1].sample(300, seed=0), TEXT, k=8)
    high = ngram.copy_rate(models[6].sample(300, seed=0), TEXT, k=8)
    assert high > low + 0.3


# -- copying ------------------------------------------------------------------------------------

def test_copy_rate_and_longest_copy():
    train = "hello world, hello there"
    assert ngram.copy_rate("hello world", train, k=5) == 1.0
    assert ngram.copy_rate("qqqqqqq", train, k=3) == 0.0
    assert ngram.copy_rate("hello qqqqq", train, k=5) == pytest.approx(2 / 7)
    np.testing.assert_array_equal(ngram.copied_windows("abcX", "abcd", k=2), [True, True, False])
    assert ngram.longest_copy("xx world, hexx", train) == " world, he"
    assert ngram.longest_copy("qqq", train) == ""


# -- bad inputs -------------------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors(models):
    model = models[3]
    with pytest.raises(ValueError, match="n must be <= 12, got 13"):
        CharNGramModel(13)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        CharNGramModel(0)
    with pytest.raises(ValueError, match="smoothing must be one of"):
        CharNGramModel(3, smoothing="laplace")
    with pytest.raises(ValueError, match="not fitted yet"):
        CharNGramModel(3).bits_per_char("abc")
    with pytest.raises(ValueError, match="text is too short: 3 characters, need at least 6"):
        CharNGramModel(5).fit("abc")
    with pytest.raises(ValueError, match=r"prompt contains characters the model has never "
                                         r"seen: 'Q', 'é'"):
        model.sample(10, prompt="Qéa")
    with pytest.raises(ValueError, match="text contains characters the model has never seen: 'Z'"):
        model.bits_per_char("the Zoo")
    with pytest.raises(ValueError, match="temperature must be > 0, got 0"):
        model.sample(10, temperature=0)
    with pytest.raises(ValueError, match="length must be <= 20000"):
        model.sample(20_001)
    with pytest.raises(ValueError, match="length must be >= 1"):
        model.sample(0)
    with pytest.raises(ValueError, match="char must be a single character"):
        model.prob("ab", "the")
    with pytest.raises(ValueError, match="k must be >= 1"):
        ngram.copy_rate("abc", "abc", k=0)
    with pytest.raises(ValueError, match="generated is too short"):
        ngram.copy_rate("abc", "abcdef", k=5)
    with pytest.raises(ValueError, match="orders is empty"):
        ngram.fit_orders(TEXT, [])


# -- Markov chain -------------------------------------------------------------------------------

def test_two_state_chain_stationary_distribution():
    # P(a->b) = 0.3, P(b->a) = 0.1: pi = (0.1, 0.3) / 0.4 = (0.25, 0.75)
    chain = MarkovChain([[0.7, 0.3], [0.1, 0.9]], states=["a", "b"])
    np.testing.assert_allclose(chain.stationary_distribution(), [0.25, 0.75], atol=1e-9)
    path = chain.sample_path(20_000, start="a", seed=0)
    assert path[0] == "a" and len(path) == 20_000
    assert path.count("b") / len(path) == pytest.approx(0.75, abs=0.03)
    assert chain.sample_path(50, seed=1) == chain.sample_path(50, seed=1)


def test_periodic_chain_still_has_its_stationary_distribution():
    # period 2 (state 0 <-> {1, 2}): plain power iteration from uniform would oscillate
    chain = MarkovChain([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(chain.stationary_distribution(), [0.5, 0.25, 0.25], atol=1e-9)
    assert MarkovChain([[0.0, 1.0], [1.0, 0.0]]).sample_path(4, start=0) == ["0", "1", "0", "1"]


def test_distribution_after_converges():
    chain = MarkovChain([[0.7, 0.3], [0.1, 0.9]])
    dist = chain.distribution_after(200, initial=[1.0, 0.0])
    assert dist.shape == (201, 2)
    np.testing.assert_allclose(dist.sum(axis=1), 1.0)
    np.testing.assert_allclose(dist[-1], [0.25, 0.75], atol=1e-9)


@pytest.mark.parametrize("matrix, message", [
    ([[0.5, 0.6], [0.5, 0.5]], "row 0 sums to 1.1"),
    ([[1.2, -0.2], [0.5, 0.5]], "non-negative"),
    ([[1.0, 0.0]], "square"),
    ([[math.nan, 1.0], [0.5, 0.5]], "finite"),
])
def test_markov_chain_rejects_bad_matrices(matrix, message):
    with pytest.raises(ValueError, match=message):
        MarkovChain(matrix)


def test_markov_chain_rejects_bad_states_and_lengths():
    chain = MarkovChain([[0.5, 0.5], [0.5, 0.5]], states=["x", "y"])
    with pytest.raises(ValueError, match="unknown state 'z'"):
        chain.sample_path(5, start="z")
    with pytest.raises(ValueError, match="length must be >= 1"):
        chain.sample_path(0)
    with pytest.raises(ValueError, match="states must be 2 distinct names"):
        MarkovChain([[0.5, 0.5], [0.5, 0.5]], states=["x", "x"])


def test_extra_alphabet_characters_get_a_small_probability():
    model = CharNGramModel(3).fit("abababab", alphabet="xyz")
    assert model.alphabet == ("a", "b", "x", "y", "z")
    assert 0 < model.prob("z", "ab") < 0.05
    assert model.next_char_distribution("ab").sum() == pytest.approx(1.0)
    assert math.isfinite(model.bits_per_char("abzx"))
    assert CharNGramModel(3).fit("abababab").alphabet == ("a", "b")  # no stale cache


def test_models_on_the_same_text_share_count_tables():
    b = CharNGramModel(5, smoothing="add-alpha").fit(TEXT)
    a = CharNGramModel(3).fit(TEXT)  # needs fewer orders than b's tables hold
    c = CharNGramModel(2).fit(TEXT, alphabet="Z")  # another alphabet: its own tables
    assert a._tables is b._tables
    assert c._tables is not a._tables and "Z" in c.alphabet and "Z" not in a.alphabet


# --- pieces counted apart, per-position scores, table size --------------------------------------

def test_a_separator_keeps_pieces_apart_and_is_not_a_character():
    model = ngram.CharNGramModel(2, smoothing="add-alpha", alpha=1.0).fit(
        "ab\nab\nab", separator="\n")
    assert "\n" not in model.alphabet and model.alphabet == ("a", "b")
    # "b" is never followed by anything inside a piece: its context was never counted
    assert model.prob("a", "b") == pytest.approx(0.5)
    assert model.prob("b", "a") == pytest.approx((3 + 1) / (3 + 2))
    assert model.num_counts == 2 + 1  # unigrams a, b and the bigram ab
    with pytest.raises(ValueError, match="one character"):
        ngram.CharNGramModel(2).fit("ab\nab", separator="\n\n")


def test_position_bits_average_to_bits_per_char():
    text = "abracadabra " * 20
    model = ngram.CharNGramModel(3).fit(text)
    bits = model.position_bits(text[:50])
    assert bits.shape == (50,) and (bits > 0).all()
    assert bits.mean() == pytest.approx(model.bits_per_char(text[:50]))
