"""Chapter 52's bias kit: WEAT, random-list baselines, projection debiasing, planted skew and
counterfactual augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.text.ngram import CharNGramModel
from course_utils.trust import association as asn
from course_utils.trust import skew as sk


def _toy_vectors():
    # two clusters on axis 0 (X with A, Y with B), noise elsewhere
    rng = np.random.default_rng(0)
    words, rows = [], []
    for prefix, sign in (("x", 1), ("y", -1), ("a", 1), ("b", -1)):
        for i in range(6):
            words.append(f"{prefix}{i}")
            rows.append(np.r_[sign * 2.0, rng.normal(size=4)])
    return asn.WordVectors(words, np.array(rows))


def test_weat_finds_a_planted_association_and_not_a_shuffled_one():
    v = _toy_vectors()
    xs, ys = [f"x{i}" for i in range(6)], [f"y{i}" for i in range(6)]
    a_words, b_words = [f"a{i}" for i in range(6)], [f"b{i}" for i in range(6)]
    result = asn.weat(v, xs, ys, a_words, b_words, n_permutations=2000)
    assert result.effect_size > 1.5 and result.p_value < 0.01
    reverse = asn.weat(v, ys, xs, a_words, b_words, n_permutations=2000)
    assert reverse.effect_size == pytest.approx(-result.effect_size)
    assert reverse.p_value > 0.9
    mixed = asn.weat(v, xs[:3] + ys[:3], xs[3:] + ys[3:], a_words, b_words)
    assert abs(mixed.effect_size) < 1.5 and mixed.p_value > 0.01


def test_weat_effect_size_matches_the_formula():
    v = _toy_vectors()
    lists = [[f"{p}{i}" for i in range(6)] for p in "xyab"]
    x, y, a, b = (v[words] for words in lists)
    s = np.concatenate([(m @ a.T).mean(1) - (m @ b.T).mean(1) for m in (x, y)])
    expected = (s[:6].mean() - s[6:].mean()) / s.std(ddof=1)
    assert asn.weat(v, *lists).effect_size == pytest.approx(expected, rel=1e-5)


def test_glove_reproduces_the_published_effects():
    glove = asn.load_glove()
    flowers = asn.weat(glove, *asn.TESTS["flowers vs insects / pleasant vs unpleasant"])
    names = asn.weat(glove, *asn.TESTS["male vs female names / career vs family"])
    assert flowers.effect_size == pytest.approx(1.08, abs=0.02)
    assert names.effect_size == pytest.approx(1.71, abs=0.02)
    null = asn.random_target_effects(glove, asn.CAREER, asn.FAMILY, 8, n_draws=300)
    assert abs(np.mean(null)) < 0.2 and np.quantile(np.abs(null), 0.99) < names.effect_size


def test_neutralise_removes_the_direction_and_keeps_definitional_words():
    glove = asn.load_glove()
    g = asn.bias_direction(glove)
    assert glove[["he"]][0] @ g > glove[["she"]][0] @ g
    debiased = asn.neutralise(glove, g, keep=["he", "she"])
    assert np.abs(debiased[["nurse", "engineer"]] @ g).max() < 1e-5
    np.testing.assert_allclose(debiased[["he"]], glove[["he"]], atol=1e-6)
    assert np.linalg.norm(debiased[["nurse"]], axis=1) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda v: v[["x0", "nowordlikethis"]], "not in the vocabulary: nowordlikethis"),
    (lambda v: v[[]], "empty"),
    (lambda v: v["x0"], "list of words"),
    (lambda v: v[["x0", "x0"]], "repeated"),
    (lambda v: asn.weat(v, ["x0"], ["y0", "y1"], ["a0", "a1"], ["b0", "b1"]), "at least two"),
    (lambda v: asn.neutralise(v, np.ones(3)), "direction"),
    (lambda v: asn.bias_direction(v, [("x0", "y0")]), "two word pairs"),
])
def test_bad_input_gets_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call(_toy_vectors())


def test_skewed_corpus_has_the_planted_shares():
    corpus = sk.make_skewed_corpus(sentences_per_occupation=400, seed=1)
    lines = corpus.text.splitlines()
    for occupation, p in corpus.skew.items():
        said = [ln for ln in lines if ln.startswith(f"the {occupation} said ")]
        share = np.mean([ln.split()[3] == "he" for ln in said])
        assert share == pytest.approx(p, abs=0.05)
    assert not set(corpus.male_names) & set(corpus.female_names)


def test_counterfactual_augmentation_swaps_pronouns_only():
    text = "the nurse said she would read her notes.\nthe nurse is mary.\n"
    out = sk.counterfactual_augment(text)
    assert out.splitlines() == ["the nurse said she would read her notes.", "the nurse is mary.",
                                "the nurse said he would read his notes.", "the nurse is mary."]


def test_a_model_reproduces_and_low_temperature_amplifies_the_skew():
    corpus = sk.make_skewed_corpus(sentences_per_occupation=150)
    model = CharNGramModel(12).fit(corpus.text)
    at_one = sk.pronoun_skew(model, "engineer", 200, temperature=1.0)
    sharp = sk.pronoun_skew(model, "engineer", 200, temperature=0.4)
    assert abs(at_one - 0.9) < 0.08 and sharp > 0.97
    balanced = CharNGramModel(12).fit(sk.counterfactual_augment(corpus.text))
    assert abs(sk.pronoun_skew(balanced, "engineer", 300) - 0.5) < 0.1
    assert sk.name_skew(balanced, "engineer", corpus, 200) > 0.75


@pytest.mark.parametrize("kwargs, message", [
    ({"skew": {}}, "at least one"), ({"skew": {"Nurse": 0.5}}, "lower-case"),
    ({"skew": {"nurse": 1.5}}, "<= 1"), ({"sentences_per_occupation": 0}, ">= 1"),
])
def test_skewed_corpus_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sk.make_skewed_corpus(**kwargs)
