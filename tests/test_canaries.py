"""Chapter 53's canaries: planting, deduplication, exact ranks and the committed models."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils.text.transformer import CharTokenizer, GPTConfig, TinyGPT
from course_utils.trust import canaries as cn

TEXT = "first paragraph\n\nsecond one is here\n\nthird: the end"


def test_make_canaries_are_distinct_with_the_asked_repeats():
    canaries = cn.make_canaries(repeats=(0, 1, 8), per_level=3, digits=4, seed=1)
    assert [c.repeats for c in canaries] == [0] * 3 + [1] * 3 + [8] * 3
    assert len({c.prefix for c in canaries}) == 9
    assert all(len(c.secret) == 4 and c.secret.isdigit() for c in canaries)
    assert canaries[0].text == canaries[0].prefix + canaries[0].secret + "."


def test_insert_then_deduplicate_leaves_one_copy_of_each_planted_canary():
    canaries = cn.make_canaries(repeats=(0, 1, 5), per_level=2)
    planted = cn.insert_canaries(TEXT, canaries, seed=0)
    for c in canaries:
        assert planted.count(c.text) == c.repeats
    for paragraph in TEXT.split("\n\n"):
        assert paragraph in planted
    deduplicated, removed = cn.deduplicate_lines(planted)
    assert removed == 2 * 4
    for c in canaries:
        assert deduplicated.count(c.text) == min(c.repeats, 1)


@pytest.mark.parametrize("call, message", [
    (lambda: cn.make_canaries(repeats=()), "at least one"),
    (lambda: cn.make_canaries(digits=9), "digits"),
    (lambda: cn.insert_canaries("", []), "empty"),
    (lambda: cn.deduplicate_lines("a", min_chars=0), "min_chars"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def _tiny_model(alphabet: str, seed: int = 0) -> tuple[TinyGPT, CharTokenizer]:
    torch.manual_seed(seed)
    tokenizer = CharTokenizer(sorted(set(alphabet)))
    model = TinyGPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=48, n_layer=1,
                              n_head=2, n_embd=32, dropout=0.0))
    return model.eval(), tokenizer


def test_secret_log_probs_match_a_direct_computation():
    model, tokenizer = _tiny_model("the door code of room 123 is 0123456789.")
    prefix = "the door code of room 123 is "
    scores = cn.secret_log_probs(model, tokenizer, prefix, digits=3, batch_size=37)
    assert scores.shape == (1000,)
    for secret in ("000", "407", "999"):
        ids = torch.tensor([tokenizer.encode(prefix + secret)])
        with torch.no_grad():
            log_p = torch.log_softmax(model(ids)[0], -1)  # (T, V)
        start = len(prefix)
        direct = sum(float(log_p[start - 1 + k, ids[0, start + k]]) for k in range(3))
        assert scores[int(secret)] == pytest.approx(direct, abs=1e-4)


def test_a_memorised_canary_is_ranked_first_and_extracted():
    canary = cn.Canary("the door code of room 123 is ", "4071", 50)
    model, tokenizer = _tiny_model(canary.text + " 0123456789\n")
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    ids = torch.tensor([tokenizer.encode(canary.text + "\n")])
    model.train()
    for _ in range(150):
        logits = model(ids[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits[0], ids[0, 1:])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    result = cn.probe_canary(model, tokenizer, canary)
    assert result.rank == 1 and result.extracted
    assert result.exposure == pytest.approx(4 * math.log2(10))
    unseen = cn.probe_canary(model, tokenizer, cn.Canary(canary.prefix, "9999", 0))
    assert unseen.rank > 1 and not unseen.extracted


def test_committed_canary_models_memorise_repeated_secrets_and_dedup_reduces_it():
    from course_utils.trust.canary_training import load_canary_model

    canaries = [c for c in cn.make_canaries() if c.repeats in (0, 16)]
    for dedup, low in ((False, 11.0), (True, 0.0)):
        model, tokenizer, record = load_canary_model(0, dedup=dedup)
        assert record["dedup"] is dedup and record["steps"] == 3000
        exposure = {r: np.mean([cn.probe_canary(model, tokenizer, c).exposure
                                for c in canaries if c.repeats == r]) for r in (0, 16)}
        assert exposure[0] < 4  # chance is about 1.44 bits
        if not dedup:
            assert exposure[16] > low
            repeated = exposure[16]
        else:
            assert exposure[16] < repeated - 3
