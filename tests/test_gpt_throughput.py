"""Tests for course_utils.text.gpt_throughput: the reference model really has the tiny GPT's
shape, and the timing loop trains."""

import pytest
import torch

from course_utils.text import gpt_throughput as GT
from course_utils.text.transformer import GPTConfig, TinyGPT

pytest.importorskip("transformers")


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_reference_gpt2_has_the_same_shape_and_parameter_count(attention):
    config = GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=32)
    ours, theirs = TinyGPT(config), GT.reference_gpt2(config, attention)
    assert sum(p.numel() for p in ours.parameters()) == sum(
        p.numel() for p in theirs.parameters())
    logits = GT._logits_fn(theirs)(torch.zeros(3, 16, dtype=torch.long))
    assert logits.shape == (3, 16, 11)


def test_time_training_reports_a_rate_and_changes_the_weights():
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    model = TinyGPT(config)
    before = [p.detach().clone() for p in model.parameters()]
    ids = torch.randint(0, 5, (500,))
    rate = GT.time_training(model, ids, block_size=8, batch_size=4, steps=2)
    assert rate > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
