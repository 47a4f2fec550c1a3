"""Chapter 64: the co-writing record and preference-based refinement (no LLM needed)."""

import numpy as np
import pytest

from course_utils.apps import cowriting as cw
from course_utils.apps import refinement as rf


def _session():
    sentences = iter(["Second sentence.", "Third one here.", "A fourth."])
    return cw.CoWritingSession(lambda draft: next(sentences))


def test_session_keeps_the_record_and_measures_authorship():
    s = _session()
    s.write("First.")
    s.suggest()
    s.accept()
    s.suggest()
    s.edit("Third one, edited.")
    s.suggest()
    s.reject()
    assert s.draft == "First. Second sentence. Third one, edited."
    shares = s.authorship()
    assert shares["person"] == pytest.approx(6 / 40)
    assert shares["model"] == pytest.approx(16 / 40)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert s.suggestion_outcomes() == {"accept": 1, "edit": 1, "reject": 1, "suggested": 3}
    edit = next(e for e in s.events if e.action == "edit")
    assert 0 < edit.similarity < 1 and edit.suggestion == "Third one here."


def test_steps_out_of_order_fail_clearly_and_change_nothing():
    s = _session()
    with pytest.raises(ValueError, match="first sentence yourself"):
        s.suggest()
    s.write("Start.")
    with pytest.raises(ValueError, match="suggestion first"):
        s.accept()
    s.suggest()
    with pytest.raises(ValueError):
        s.edit("   ")
    assert s.pending == "Second sentence." and s.draft == "Start."
    with pytest.raises(ValueError):
        s.write(None)
    assert cw.CoWritingSession(lambda d: "x").authorship()["person"] == 0.0


def test_reader_scores_its_stated_taste():
    product = ("kettle", "quiet", "fast")
    short = rf.SimulatedReader("A", target_words=6, exclamation=-1.0)
    long = rf.SimulatedReader("B", target_words=20, exclamation=1.0)
    plain = "A quiet, fast kettle for your kitchen."
    loud = ("Meet the quiet kettle that boils water fast, so your morning tea is ready "
            "before you have even found your favourite mug!")
    assert short.p_prefers(plain, loud, product) > 0.5 > long.p_prefers(plain, loud, product)
    assert short.score("quiet quiet quiet quiet quiet quiet", product) < short.score(
        "a quiet and fast kettle", product)
    assert rf.distinct_2("a b a b a b") < 1 == rf.distinct_2("one two three")
    with pytest.raises(ValueError):
        rf.SimulatedReader("C", tau=0)


class LengthEncoder:
    """Stand-in sentence encoder: two numbers per text, normalised."""

    def encode(self, texts, normalize_embeddings=True):
        v = np.array([[len(t.split()), 1.0] for t in texts])
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_preference_model_learns_a_readers_direction_from_votes():
    products = [("mug", "ceramic", "handmade"), ("lamp", "dimmable", "USB")] * 10
    drafts = [[" ".join(["word"] * n) + f" {p[1]}" for n in (3, 8, 15, 30)] for p in products]
    likes_long = rf.SimulatedReader("B", target_words=30, exclamation=0.0, tau=0.2)
    votes = likes_long.votes(drafts, products, seed=0)
    assert len(votes) == len(products) * 6
    pm = rf.PreferenceModel(LengthEncoder()).fit(drafts, products, votes)
    pick = rf.best_of_n(drafts[0], lambda t: pm.scores(t, products[0]))
    assert pick == 3  # the longest draft
    wins = rf.win_rate([d[pick] for d in drafts], [d[0] for d in drafts], products, likes_long)
    assert wins.mean() > 0.9
    with pytest.raises(ValueError, match="Fit"):
        rf.PreferenceModel(LengthEncoder()).scores(["x"], products[0])
    with pytest.raises(ValueError):
        rf.best_of_n([], lambda t: np.array([]))


def test_win_rate_is_a_half_for_the_same_draft_and_checks_lengths():
    reader = rf.SimulatedReader("A")
    product = ("tent", "light", "two-person")
    assert rf.win_rate(["x"], ["x"], [product], reader)[0] == 0.5
    with pytest.raises(ValueError):
        rf.win_rate(["x"], [], [product], reader)
    train, held = rf.split_products(12)
    assert len(train) == 12 and not set(train) & set(held)
