"""Per-position scores and calibration of the tiny GPT (text.scoring)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils.text import gpt_training, scoring
from course_utils.text.transformer import CharTokenizer, GPTConfig, TinyGPT

TEXT = "the cat sat on the mat. " * 12


@pytest.fixture(scope="module")
def tiny():
    tokenizer = CharTokenizer(sorted(set(TEXT)))
    torch.manual_seed(0)
    model = TinyGPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1,
                              n_head=2, n_embd=16, dropout=0.0))
    return model, tokenizer


def test_every_position_after_the_first_is_scored_once(tiny):
    model, tokenizer = tiny
    logits, targets = scoring.position_logits(model, tokenizer, TEXT)
    assert logits.shape == (len(TEXT) - 1, tokenizer.vocab_size)
    assert targets.tolist() == tokenizer.encode(TEXT)[1:]
    # the first window's rows are exactly a plain forward pass over it
    with torch.no_grad():
        first = model(torch.tensor([tokenizer.encode(TEXT[:16])]))[0]
    assert torch.allclose(logits[:16], first, atol=1e-5)


def test_mean_bits_is_bits_per_char(tiny):
    model, tokenizer = tiny
    scores = scoring.position_bits(*scoring.position_logits(model, tokenizer, TEXT))
    assert scores.bits.shape == scores.entropy.shape == (len(TEXT) - 1,)
    assert scores.mean_bits == pytest.approx(
        gpt_training.bits_per_char(model, tokenizer, TEXT), rel=1e-6)
    assert (scores.entropy <= math.log2(tokenizer.vocab_size) + 1e-5).all()


def test_temperature_fit_finds_the_minimum_of_an_overconfident_model():
    # logits that are right 60 % of the time but state 99 % confidence
    rng = np.random.default_rng(0)
    targets = torch.tensor(rng.integers(0, 5, 4000))
    guess = torch.where(torch.tensor(rng.random(4000) < 0.6), targets,
                        torch.tensor(rng.integers(0, 5, 4000)))
    logits = torch.nn.functional.one_hot(guess, 5).float() * 8.0
    t = scoring.fit_temperature(logits, targets, high=10.0)
    assert t > 2
    best = scoring.position_bits(logits, targets, t).mean_bits
    for other in (t * 0.8, t * 1.25, 1.0):
        assert scoring.position_bits(logits, targets, other).mean_bits > best
    before = scoring.reliability(logits, targets)
    after = scoring.reliability(logits, targets, t)
    assert before["ece"] > 0.2 and after["ece"] < before["ece"] / 2
    assert before["count"].sum() == 4000


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "1", True, None])
def test_bad_temperatures_are_rejected(bad):
    logits, targets = torch.zeros(3, 4), torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="temperature"):
        scoring.position_bits(logits, targets, bad)


def test_bad_arguments_are_rejected(tiny):
    model, tokenizer = tiny
    logits, targets = torch.zeros(3, 4), torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="two characters"):
        scoring.position_logits(model, tokenizer, "t")
    with pytest.raises(ValueError, match="low < high"):
        scoring.fit_temperature(logits, targets, low=2.0, high=1.0)
    for bins in (1, 1000, 2.5):
        with pytest.raises(ValueError, match="bins"):
            scoring.reliability(logits, targets, bins=bins)
