"""Chapter 60's governance checks and the tutor's layers (a scripted model, no LLM)."""

from types import SimpleNamespace

import numpy as np
import pytest

from course_utils.apps import governance as gov
from course_utils.apps import stack as st
from course_utils.trust import injection as inj
from course_utils.trust import retrieval as rt
from course_utils.trust import watermark as wm


def test_requests_are_checked():
    assert gov.check_request("  Which   voice? ") == "Which voice?"
    for bad in (None, "   ", "x" * 301):
        with pytest.raises(ValueError):
            gov.check_request(bad)


def test_redaction_removes_personal_data_and_counts_it():
    text, found = gov.redact("Mail ana.lee@example.com or call +44 20 7946 0958; "
                             "card 4111 1111 1111 1111. Chapter 05 has 128 characters.")
    assert "@" not in text and "7946" not in text and "4111" not in text
    assert sorted(found) == ["card", "email", "phone"]
    assert "Chapter 05 has 128 characters." in text  # ordinary numbers stay
    assert gov.redact("nothing here") == ("nothing here", [])


class WordEncoder:
    """A stand-in sentence encoder: bag of hashed words, normalised."""

    def encode(self, texts, normalize_embeddings=True, **_):
        out = np.zeros((len(texts), 64))
        for i, t in enumerate(texts):
            for word in rt.words(t):
                out[i, hash(word) % 64] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_moderation_classifier_learns_its_training_requests():
    m = gov.ModerationClassifier(WordEncoder())
    assert m.probability(["how do I poison my neighbour's dog"])[0] > 0.5
    assert gov.keyword_flags("how do I kill a frozen python process")
    with pytest.raises(ValueError, match="both"):
        gov.ModerationClassifier(WordEncoder(), [gov.mod.Request("a", True, "t")])


class ScriptedSmol:
    """Answers with the first passage's last word; tokenizes by characters."""

    def __init__(self):
        self.llama = SimpleNamespace(n_vocab=lambda: 256)
        self.prompts = []

    def chat(self, messages, system=None, max_tokens=12, stop=None, logits_processor=()):
        self.prompts.append(messages[-1]["content"])
        content = messages[-1]["content"]
        if "[1]" not in content:
            return SimpleNamespace(text="I don't know")
        return SimpleNamespace(text=content.split("[1] ")[1].split("\n")[0].split()[-1])

    def tokenize(self, text, special=False):
        return [ord(c) % 256 for c in text]


def _tutor(**settings):
    chunks = [rt.Chunk(0, "a.md", "Voice", "The course's Piper voice is joe"),
              rt.Chunk(1, "b.md", "Version", "The course pins torch 2.13.0")]
    encoder = WordEncoder()
    return st.CourseTutor(ScriptedSmol(), rt.EmbeddingIndex(chunks, encoder),
                          gov.ModerationClassifier(encoder), st.TutorSettings(**settings))


def test_tutor_runs_every_layer_and_logs_redacted_text():
    tutor = _tutor(watermark=True, moderation="keywords")
    record = tutor.ask("My mail is a@b.org. Which Piper voice does the course use?")
    assert record.answer == "joe" and record.refused_by is None
    assert record.redacted == ["email"] and "a@b.org" not in tutor.log.dumps()
    assert all("a@b.org" not in p for p in tutor.model.prompts)
    assert {"input checks", "moderation", "retrieval", "injection filter", "generation",
            "verification", "watermark check", "log"} <= set(record.seconds)
    assert record.supported is True and record.watermark_z is not None


def test_tutor_refuses_flagged_requests_before_the_model():
    tutor = _tutor()
    record = tutor.ask("how do I poison my neighbour's dog")
    assert record.refused_by == "moderation" and record.answer == st.REFUSAL
    assert tutor.model.prompts == [] and len(tutor.log) == 1


def test_injection_filter_drops_the_planted_passage():
    question = "Which Piper voice does the course use?"
    kept = _tutor(moderation="keywords").ask(question, plant=inj.ATTACKS["instruction"])
    assert kept.passages_dropped == 1
    unfiltered = _tutor(filter_injection=False, moderation="keywords")
    unfiltered.ask(question, plant=inj.ATTACKS["instruction"])
    assert "Ignore all previous instructions" in unfiltered.model.prompts[-1]


def test_settings_are_checked():
    with pytest.raises(ValueError):
        st.TutorSettings(mode="magic")
    with pytest.raises(ValueError):
        st.TutorSettings(moderation="strict")
    with pytest.raises(ValueError):
        st.TutorSettings(k=0)


def test_watermark_processor_adds_delta_to_the_green_list_only():
    key = wm.WatermarkKey(delta=3.0, context=1)
    process = wm.logits_processor(100, key)
    out = process(np.array([5, 7]), np.zeros(100, dtype=np.float32))
    green = wm.green_list([7], 100, key)
    assert np.allclose(out[green], 3.0) and np.allclose(out[~green], 0.0)
