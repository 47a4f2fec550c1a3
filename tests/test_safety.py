"""Chapter 54: the green-list watermark, the injection filter and the moderation data."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.text.decoding import LanguageModel, generate
from course_utils.trust import injection as inj
from course_utils.trust import moderation as mod
from course_utils.trust import watermark as wm
from course_utils.trust.retrieval import Chunk, Hit


class UniformModel(LanguageModel):
    """Every next token equally likely: the watermark's bias is all that steers it."""

    name, vocab_size, max_context, unit = "uniform", 30, 1000, "characters"
    alphabet = "abcdefghijklmnopqrstuvwxyz .,!"

    def encode(self, text):
        return [self.alphabet.index(c) for c in text]

    def decode(self, ids):
        return "".join(self.alphabet[i] for i in ids)

    def next_token_logits(self, ids):
        return np.zeros(self.vocab_size)


def test_green_list_is_keyed_and_has_the_green_share():
    key = wm.WatermarkKey(gamma=0.5, context=2)
    a = wm.green_list((3, 4), 30, key)
    assert a.sum() == 15
    np.testing.assert_array_equal(a, wm.green_list((3, 4), 30, key))
    assert not np.array_equal(a, wm.green_list((4, 3), 30, key))
    other = wm.WatermarkKey(secret=1, gamma=0.5, context=2)
    assert not np.array_equal(a, wm.green_list((3, 4), 30, other))


def test_watermarked_text_is_detected_and_plain_text_is_not():
    key = wm.WatermarkKey(delta=4.0, context=1)
    base = UniformModel()
    marked = generate(wm.WatermarkedModel(base, key), "hello", max_new_tokens=300,
                      temperature=1.0, seed=0)
    plain = generate(base, "hello", max_new_tokens=300, temperature=1.0, seed=0)
    z_marked = wm.detect(marked.token_ids, base.vocab_size, key)
    z_plain = wm.detect(plain.token_ids, base.vocab_size, key)
    assert z_marked.flagged() and z_marked.green / z_marked.scored > 0.8
    assert abs(z_plain.z) < 3
    assert wm.detect(marked.token_ids, base.vocab_size, wm.WatermarkKey(secret=7)).z < 4


def test_z_score_formula_and_unique_counting():
    key = wm.WatermarkKey(gamma=0.5, context=1)
    ids = [1, 2, 1, 2, 1, 2, 1, 2]
    counted = wm.detect(ids, 30, key, unique=False)
    once = wm.detect(ids, 30, key, unique=True)
    assert counted.scored == 7 and once.scored == 2
    expected = (counted.green - 0.5 * 7) / np.sqrt(7 * 0.25)
    assert counted.z == pytest.approx(expected)


@pytest.mark.parametrize("call, message", [
    (lambda: wm.detect([1], 30), "at least two"),
    (lambda: wm.detect([1, 40], 30), "0..29"),
    (lambda: wm.WatermarkKey(gamma=1.0), "gamma"),
    (lambda: wm.WatermarkKey(context=0), "context"),
    (lambda: wm.substitute("abc", 1.5, "xy"), "fraction"),
    (lambda: wm.detect([1, 2, 3], 30).flagged(-1), "z threshold"),
    (lambda: wm.detect([1, 2, 3], 30).flagged(float("nan")), "z threshold"),
])
def test_watermark_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_substitute_edits_the_asked_share():
    edited = wm.substitute("a" * 100, 0.3, "b", seed=0)
    assert edited.count("b") == 30


def _hit(text: str) -> Hit:
    return Hit(Chunk(0, "page.md", "heading", text), 0.5)


def test_injection_filter_catches_instructions_but_not_facts():
    assert inj.looks_like_injection(inj.ATTACKS["instruction"])
    assert not inj.looks_like_injection(inj.ATTACKS["stated as a fact"])
    assert not inj.looks_like_injection("Chapter 30 uses the Piper voice joe.")
    hits = inj.inject([_hit("one"), _hit("two")], inj.ATTACKS["instruction"])
    assert hits[-1].chunk.page == "attacker.md" and len(hits) == 3
    kept, dropped = inj.filter_passages(hits)
    assert dropped == 1 and [h.chunk.text for h in kept] == ["one", "two"]
    assert inj.inject([_hit("one")], "x", position=0)[0].chunk.text == "x"
    assert inj.attack_succeeded("It is Pineapple.") and not inj.attack_succeeded("MIT")
    with pytest.raises(ValueError, match="position"):
        inj.inject([_hit("one")], "x", position=5)


def test_the_filter_flags_no_course_page_but_a_citation_of_an_attack_paper():
    from course_utils.trust.retrieval import chunk_pages, course_pages

    chunks = chunk_pages(course_pages(), max_chars=300)
    flagged = [c for c in chunks if inj.looks_like_injection(c.text)]
    # the references cite "Ignore previous prompt" (Perez and Ribeiro 2022): a false
    # positive chapter 54 reports; every other page must pass the filter
    assert all(c.page == "references.md" and "Ignore previous prompt" in c.text
               for c in flagged)


def test_moderation_requests_split_by_topic_and_blocklist_catches_verbs():
    requests = mod.make_requests()
    assert len(requests) == 120 and sum(r.harmful for r in requests) == 60
    train, test = mod.split_by_topic(requests, seed=3)
    assert not {r.topic for r in train} & {r.topic for r in test}
    assert {r.harmful for r in test} == {True, False}
    assert all(mod.keyword_flag(r.text) for r in requests)
    assert not mod.keyword_flag("how do I bake bread")
    assert not mod.keyword_flag("skills for a killer app")  # whole words only
