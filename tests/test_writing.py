"""Unit tests for course_utils.llm.writing: templates, word counts, length reports, sentence
baselines, ROUGE, chrF (hand-computed values), the course's data sets, the model wrappers with a
fake model, and one short real run of SmolLM2."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils.llm import writing as W
from course_utils.llm.smollm2 import Completion

# --- templates ----------------------------------------------------------------------------------

NOTE = W.PromptTemplate("note", "Thank {name} for {gift}. Mention {gift} twice.",
                        {"name": "Ana", "gift": "the book"})


def test_template_fields_in_order_of_first_appearance():
    assert NOTE.fields == ("name", "gift")
    assert W.TEMPLATES["business email"].fields == ("recipient", "subject", "points", "sender")
    assert W.TEMPLATES["product description"].fields == ("product", "audience", "features")


def test_fill_from_dict_keywords_or_both_and_strips():
    expected = "Thank Sam for the flowers. Mention the flowers twice."
    assert NOTE.fill({"name": "Sam", "gift": "the flowers"}) == expected
    assert NOTE.fill(name=" Sam ", gift="the flowers\n") == expected
    assert NOTE.fill({"name": "Sam"}, gift="the flowers") == expected


def test_every_course_template_fills_with_its_examples():
    for template in W.TEMPLATES.values():
        text = template.fill(template.examples)
        assert "{" not in text and all(v in text for v in template.examples.values())


@pytest.mark.parametrize("values, message", [
    ({"name": "Sam"}, r"missing field\(s\) \['gift'\] \(e\.g\. gift='the book'\)"),
    ({"name": "Sam", "gift": "   "}, r"field 'gift' is empty"),
    ({"name": "Sam", "gift": "x", "colour": "red"}, r"no field\(s\) \['colour'\]"),
    ({"name": "Sam", "gift": 3}, r"field 'gift' must be text"),
    ({"name": "Sam", "gift": "x" * 401}, r"too long: 401 characters"),
])
def test_fill_rejects_bad_values_clearly(values, message):
    with pytest.raises(ValueError, match=message):
        NOTE.fill(values)


@pytest.mark.parametrize("instruction, examples, message", [
    ("No placeholders here.", {}, "has no {field} placeholders"),
    ("Hello {name}.", {"who": "x"}, r"examples must give exactly the fields \['name'\]"),
    ("Price {price:.2f}", {"price": "1"}, "plain names"),
    ("Item {0}", {"0": "x"}, "plain names"),
    ("Unclosed {name", {"name": "x"}, "bad braces"),
])
def test_bad_templates_are_rejected(instruction, examples, message):
    with pytest.raises(ValueError, match=message):
        W.PromptTemplate("bad", instruction, examples)


def test_literal_braces_and_descriptions():
    t = W.PromptTemplate("json", "Answer {{as JSON}} about {topic}.", {"topic": "cats"},
                         {"topic": "the subject"})
    assert t.fill(topic="dogs") == "Answer {as JSON} about dogs."
    with pytest.raises(ValueError, match="descriptions for unknown fields"):
        W.PromptTemplate("x", "{a}", {"a": "1"}, {"b": "?"})


def test_writing_request_adds_tone_and_length():
    plain = W.writing_request(NOTE, {"name": "Sam", "gift": "tea"})
    assert plain == "Thank Sam for tea. Mention tea twice."
    full = W.writing_request(NOTE, {"name": "Sam", "gift": "tea"}, tone="formal", words=50)
    assert full == plain + " The tone should be formal. Use about 50 words."
    with pytest.raises(ValueError, match="tone must be one of"):
        W.writing_request(NOTE, {"name": "Sam", "gift": "tea"}, tone="angry")
    with pytest.raises(ValueError, match="words must be >= 5"):
        W.writing_request(NOTE, {"name": "Sam", "gift": "tea"}, words=2)
    with pytest.raises(ValueError, match="must be a PromptTemplate"):
        W.writing_request("Thank {name}", {"name": "Sam"})
    with pytest.raises(ValueError, match="missing field"):
        W.writing_request(NOTE, {"name": "Sam"}, tone="formal")


def test_length_briefs_fill():
    assert len(W.LENGTH_BRIEFS) == 4 and list(W.LENGTH_TARGETS) == sorted(W.LENGTH_TARGETS)
    for name, values in W.LENGTH_BRIEFS:
        assert W.writing_request(W.TEMPLATES[name], values, words=30).endswith("about 30 words.")


# --- length control -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, n", [
    ("", 0), ("one", 1), ("Hello,  world!\n\nBye.", 3), ("- item one\n- item two", 4),
    ("A 24-hour, don't-stop bottle", 4), ("Prix : 12 € — café", 3), ("** -- 🙂", 0),
])
def test_count_words(text, n):
    assert W.count_words(text) == n


def test_count_words_rejects_non_text():
    with pytest.raises(ValueError, match="must be a string"):
        W.count_words(None)


def test_length_report_golden_values():
    perfect = W.length_report([10, 20, 40], [10, 20, 40])
    assert perfect.pearson == pytest.approx(1) and perfect.spearman == pytest.approx(1)
    assert perfect.slope == pytest.approx(1) and perfect.mean_abs_error == 0
    assert perfect.median_ratio == 1 and perfect.within_25pct == 1
    flat = W.length_report([10, 20, 40, 80], [30, 30, 30, 30])
    assert flat.slope == pytest.approx(0, abs=1e-12) and math.isnan(flat.spearman)
    assert flat.mean_abs_error == pytest.approx((20 + 10 + 10 + 50) / 4)
    assert flat.within_25pct == 0.25  # only |30 - 40| = 10 <= 0.25 * 40
    half = W.length_report([10, 20, 40], [5, 40, 40])  # ratios 0.5, 2, 1 -> slope via logs
    assert half.median_ratio == 1 and half.n == 3
    assert half.slope == pytest.approx(np.polyfit(np.log([10, 20, 40]), np.log([5, 40, 40]),
                                                  1)[0])
    ties = W.length_report([1, 2, 3, 4], [1, 1, 2, 2])  # ranks 1.5, 1.5, 3.5, 3.5
    assert ties.spearman == pytest.approx(np.corrcoef([1, 2, 3, 4], [1.5, 1.5, 3.5, 3.5])[0, 1])


def test_length_report_zero_words_counts_as_one_in_the_slope():
    report = W.length_report([10, 100, 1000], [0, 1, 1])
    assert report.slope == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("asked, produced, message", [
    ([10, 20], [10, 20], "at least 3"), ([10, 20, 30], [1, 2], "same length"),
    ([0, 20, 30], [1, 2, 3], "> 0"), ([10, 20, 30], [1, -2, 3], ">= 0"),
    ([10, 10, 10], [1, 2, 3], "two different lengths"),
    ([10, 20, float("nan")], [1, 2, 3], "finite"),
])
def test_length_report_rejects_bad_input(asked, produced, message):
    with pytest.raises(ValueError, match=message):
        W.length_report(asked, produced)


# --- summarisation ------------------------------------------------------------------------------

def test_split_sentences():
    text = "First one. Second one! Third: yes? 4 is a number. \"Quoted.\" Then more."
    assert W.split_sentences(text) == ["First one.", "Second one!", "Third: yes?",
                                       "4 is a number.", "\"Quoted.\"", "Then more."]
    assert W.split_sentences("no end") == ["no end"]
    assert W.split_sentences("Version 3.11 is here. Yes.") == ["Version 3.11 is here.", "Yes."]
    with pytest.raises(ValueError, match="empty"):
        W.split_sentences("   ")


def test_lead_and_random_baselines():
    text = "A one. B two. C three. D four."
    assert W.lead_k(text, 1) == "A one." and W.lead_k(text, 2) == "A one. B two."
    assert W.lead_k(text, 9) == text
    drawn = W.random_k(text, 2, seed=3)
    assert drawn == W.random_k(text, 2, seed=3)  # reproducible
    picked = W.split_sentences(drawn)
    assert len(picked) == 2 and picked == sorted(picked)  # in text order
    assert {W.random_k(text, 1, seed=s) for s in range(40)} == set(W.split_sentences(text))
    assert W.random_k(text, 10, seed=0) == text
    with pytest.raises(ValueError, match="k must be >= 1"):
        W.lead_k(text, 0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        W.random_k(text, 1, seed=-1)


def test_rouge_hand_computed_values():
    scores = W.rouge(["the cat sat", "The cats sat on mats."],
                     ["the cat ran", "the cat sat on the mat"])
    # pair 0: unigrams share {the, cat}: P = R = 2/3; bigrams share {the cat}: P = R = 1/2;
    # longest common subsequence "the cat": 2 words.
    assert scores["rouge1"][0] == pytest.approx(2 / 3)
    assert scores["rouge2"][0] == pytest.approx(1 / 2)
    assert scores["rougeL"][0] == pytest.approx(2 / 3)
    # pair 1 with stemming: prediction [the cat sat on mat] vs reference [the cat sat on the mat]
    # -> 5 shared unigrams: P = 5/5, R = 5/6, F1 = 10/11; bigrams: 3 shared ("on mat" is not
    # in the reference) of 4 and of 5: P = 3/4, R = 3/5, F1 = 2/3.
    assert scores["rouge1"][1] == pytest.approx(10 / 11)
    assert scores["rouge2"][1] == pytest.approx(2 / 3)
    assert W.rouge(["identical text here"], ["identical text here"])["rougeL"][0] == 1.0
    assert W.rouge([""], ["a reference"])["rouge1"][0] == 0.0


@pytest.mark.parametrize("predictions, references, types, message", [
    (["a"], ["a", "b"], W.ROUGE_TYPES, "same positive number"),
    ([], [], W.ROUGE_TYPES, "same positive number"),
    (["a"], [" "], W.ROUGE_TYPES, "reference 0 is empty"),
    ([None], ["a"], W.ROUGE_TYPES, "must be strings"),
    (["a"], ["a"], ["rouge9"], "types must be among"),
])
def test_rouge_rejects_bad_input(predictions, references, types, message):
    with pytest.raises(ValueError, match=message):
        W.rouge(predictions, references, types)


def test_copied_fraction():
    source = "The cat sat on the mat."
    assert W.copied_fraction("the cat sat", source) == 1.0
    assert W.copied_fraction("the dog sat on the mat", source) == pytest.approx(3 / 5)
    assert W.copied_fraction("dog", source, n=1) == 0.0
    with pytest.raises(ValueError, match="fewer than n=2 words"):
        W.copied_fraction("cat", source)


def test_passages_are_well_formed():
    assert len(W.PASSAGES) == 10 and len({p.title for p in W.PASSAGES}) == 10
    for p in W.PASSAGES:
        assert 5 <= len(W.split_sentences(p.text)) <= 7, p.title
        assert len(W.split_sentences(p.summary)) == 1, p.title
        assert W.count_words(p.summary) <= 32 < W.count_words(p.text)
        assert W.copied_fraction(p.summary, p.text) < 0.7, p.title  # written, not cut out
        assert not set("$\\`*_[]") & set(p.text + p.summary), p.title  # plain prose


# --- chrF ---------------------------------------------------------------------------------------

def test_char_ngrams_drop_whitespace():
    assert W.char_ngrams("a b a", 1) == {"a": 2, "b": 1}
    assert W.char_ngrams("ab c", 2) == {"ab": 1, "bc": 1}
    assert W.char_ngrams("ab", 3) == {}


def test_chrf_hand_computed_values():
    # "abc" vs "abd", N = 2, beta = 1: unigrams 2 of 3 match on both sides, bigrams 1 of 2;
    # chrP = chrR = (2/3 + 1/2) / 2 = 7/12, so chrF1 = 7/12.
    assert W.chrf("abc", "abd", max_n=2, beta=1) == pytest.approx(100 * 7 / 12)
    # "ab" vs "abc", N = 2, beta = 2: P = (2/2 + 1/1)/2 = 1, R = (2/3 + 1/2)/2 = 7/12,
    # F2 = 5 * 1 * 7/12 / (4 * 1 + 7/12) = 35/55.
    assert W.chrf("ab", "abc", max_n=2, beta=2) == pytest.approx(100 * 35 / 55)
    # clipping: "aaa" vs "a", N = 1: 1 match; P = 1/3, R = 1; F1 = 2 * (1/3) / (4/3) = 1/2
    assert W.chrf("aaa", "a", max_n=1, beta=1) == pytest.approx(50)
    # orders longer than both texts are skipped: "ab" vs "ab" at N = 6 is perfect
    assert W.chrf("ab", "ab") == pytest.approx(100)
    # orders the hypothesis lacks but the reference has count as P = R = 0:
    # "a" vs "ab", N = 2, beta = 1: n=1 P = 1, R = 1/2; n=2 P = 0, R = 0 -> P = 1/2, R = 1/4
    assert W.chrf("a", "ab", max_n=2, beta=1) == pytest.approx(100 * 2 * 0.5 * 0.25 / 0.75)


def test_chrf_properties():
    ref = "Le chat dort sur la chaise."
    assert W.chrf(ref, ref) == pytest.approx(100)
    assert W.chrf("Le chat  dort sur la\nchaise.", ref) == pytest.approx(100)  # spaces ignored
    assert W.chrf("", ref) == 0.0 and W.chrf("xyz", ref) == 0.0
    close, far = W.chrf("Le chat dort sur une chaise.", ref), W.chrf("The cat sleeps.", ref)
    assert 60 < close < 100 and far < 20
    assert W.chrf("Le chat", ref) < W.chrf("Le chat", ref, beta=0.5)  # short: precise, low recall


def test_corpus_chrf_pools_counts():
    hyps, refs = ["abc", "xy"], ["abd", "xy"]
    stats = W._chrf_statistics("abc", "abd", 2) + W._chrf_statistics("xy", "xy", 2)
    # pooled: unigrams 2+2 of 3+2, bigrams 1+1 of 2+1 -> P = R = (4/5 + 2/3) / 2
    assert stats.tolist() == [[5, 5, 4], [3, 3, 2]]
    assert W.corpus_chrf(hyps, refs, max_n=2, beta=1) == pytest.approx(100 * (4 / 5 + 2 / 3) / 2)
    assert W.corpus_chrf(["same"], ["same"]) == pytest.approx(100)


@pytest.mark.parametrize("call, message", [
    (lambda: W.chrf("a", ""), "reference is empty"),
    (lambda: W.chrf(None, "a"), "hypothesis must be a string"),
    (lambda: W.chrf("a", "a", max_n=0), "max_n must be >= 1"),
    (lambda: W.chrf("a", "a", beta=0), "beta must be > 0"),
    (lambda: W.corpus_chrf(["a"], []), "same positive number"),
    (lambda: W.corpus_chrf(["a", 1], ["a", "b"]), "hypothesis must be a string"),
    (lambda: W.char_ngrams("abc", 0), "n must be >= 1"),
])
def test_chrf_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_translations_are_well_formed():
    assert len(W.TRANSLATIONS) == 10
    for pair in W.TRANSLATIONS:
        for lang in W.LANGUAGES.values():
            reference, alternative = getattr(pair, lang), getattr(pair, f"{lang}_alt")
            assert reference and alternative and reference != alternative, pair.english
            assert W.chrf(alternative, reference) > 10, pair.english  # same meaning, overlaps


# --- model wrappers (a fake model, then the real one briefly) -------------------------------------

class FakeChat:
    """Records each call and answers with a fixed text."""

    def __init__(self, answer: str) -> None:
        self.answer, self.calls = answer, []

    def chat(self, message, **settings):
        self.calls.append((message, settings))
        return Completion(self.answer, 10, 5, 0.1, "stop")


def test_write_uses_a_budget_from_the_length_asked():
    model = FakeChat("  Dear team,\nhello.  ")
    result = W.write(model, "Write hello.", words=50, temperature=0.7, seed=3)
    assert result.text == "Dear team,\nhello." and result.completion_tokens == 5
    message, settings = model.calls[0]
    assert message == "Write hello."
    assert settings["max_tokens"] == W.max_tokens_for(50) == 162
    assert settings["temperature"] == 0.7 and settings["seed"] == 3
    W.write(model, "Write.")
    assert model.calls[1][1]["max_tokens"] == 256
    with pytest.raises(ValueError, match="words must be >= 1"):
        W.max_tokens_for(0)


def test_summarise_and_translate_build_their_requests():
    model = FakeChat(" Le chat dort.\nThis means: the cat sleeps. ")
    assert W.translate(model, "The cat sleeps.", "French").text == "Le chat dort."
    assert model.calls[0][0].startswith("Translate this English sentence into French.")
    assert model.calls[0][0].endswith("\n\nThe cat sleeps.")
    W.summarise(model, "  Some text. More text.  ")
    assert model.calls[1][0] == f"{W.SUMMARY_INSTRUCTION}\n\nSome text. More text."
    with pytest.raises(ValueError, match="language must be one of"):
        W.translation_request("Hi.", "Klingon")
    with pytest.raises(ValueError, match="empty"):
        W.summary_request(" ")


def test_real_model_translates_one_sentence_quickly():
    from course_utils.llm import smollm2

    model = smollm2.load_smollm2(n_ctx=512, n_threads=1)
    result = W.translate(model, "The book is on the table.", "French", max_tokens=16)
    assert 0 < result.completion_tokens <= 16 and "\n" not in result.text
    assert W.chrf(result.text, "Le livre est sur la table.") > 20  # some French came out


def test_length_matched_baselines_have_the_asked_length():
    text = ("Models learn from data. They predict the next word. Sampling turns "
            "predictions into text. Evaluation needs baselines.")
    assert W.lead_words(text, 5) == "Models learn from data. They"
    for seed in range(5):
        picked = W.random_words(text, 7, seed=seed)
        assert len(picked.split()) == 7
        assert W.random_words(text, 7, seed=seed) == picked  # seeded
    assert len({W.random_words(text, 7, seed=s) for s in range(10)}) > 1
    assert W.lead_words(text, 500) == " ".join(text.split())  # shorter text: all of it
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError):
            W.lead_words(text, bad)
