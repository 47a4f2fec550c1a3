"""Attention maps, logit lens, attributions and the deletion test (chapter 63).

Most tests use a tiny randomly initialised Llama (2 layers, width 32, vocabulary 100) so they
run in seconds; one checks the real SmolLM2 on a fact it knows.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from course_utils.apps import attribution as at
from course_utils.apps import explain as ex

IDS = [5, 17, 42, 8, 99, 3, 61]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=100, hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=64, tie_word_embeddings=True)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # larger weights than the default init, so tokens matter
        for p in model.parameters():
            if p.ndim == 2:
                p.normal_(0, 0.3)
    return model


class StubTokenizer:
    """Splits on spaces; one id per word."""

    def __call__(self, text, add_special_tokens=False):
        class Out:
            input_ids = [len(w) % 100 for w in text.split()]
        return Out()


def own_logprobs(model, ids):
    with torch.no_grad():
        return torch.log_softmax(model(torch.tensor([ids])).logits[0, -1], -1)


# --- inputs --------------------------------------------------------------------------------------

def test_encode_rejects_empty_blank_and_long_prompts():
    tok = StubTokenizer()
    assert ex.encode(tok, "a bb ccc") == [1, 2, 3]
    for bad in ("", "   "):
        with pytest.raises(ValueError, match="prompt"):
            ex.encode(tok, bad)
    with pytest.raises(ValueError, match="at most 5"):
        ex.encode(tok, "a " * 6, max_tokens=5)


def test_ids_are_checked(tiny):
    with pytest.raises(ValueError, match="no tokens"):
        ex.logit_lens(tiny, [])
    with pytest.raises(ValueError, match="vocabulary"):
        ex.attention_maps(tiny, [1, 100])
    with pytest.raises(ValueError, match="1-D"):
        ex.check_ids(torch.zeros(2, 3, dtype=torch.long))


def test_unknown_method_and_too_large_k_are_clear_errors(tiny):
    with pytest.raises(ValueError, match="choose one of gradient x input"):
        at.attribute(tiny, IDS, "saliency")
    with pytest.raises(ValueError, match="choose one of recency"):
        at.baseline_order("shortest", ["a", "b"])
    with pytest.raises(ValueError, match="at most 6"):
        at.deletion_test(tiny, IDS, {"r": list(range(7))}, ks=[7])
    with pytest.raises(ValueError, match="fewer than"):
        at.deletion_test(tiny, IDS, {"r": [0, 1]}, ks=[3])
    with pytest.raises(ValueError, match="at least two tokens"):
        at.occlusion(tiny, [4])


# --- batching ------------------------------------------------------------------------------------

def test_right_padded_batch_matches_one_prompt_at_a_time(tiny):
    prompts = [IDS, IDS[:3], IDS[2:6], [7]]
    batched = ex.next_token_logprobs(tiny, prompts)
    for row, ids in zip(batched, prompts):
        torch.testing.assert_close(row, own_logprobs(tiny, ids), atol=1e-5, rtol=1e-5)


# --- attention -----------------------------------------------------------------------------------

def test_attention_maps_are_causal_distributions(tiny):
    maps = ex.attention_maps(tiny, IDS)
    assert maps.shape == (2, 4, 7, 7)
    np.testing.assert_allclose(maps.sum(-1), 1, atol=1e-5)
    assert np.abs(np.triu(maps, k=1)).max() == 0
    assert tiny.config._attn_implementation != "eager"  # restored afterwards


def test_sink_and_previous_token_measures_on_constructed_maps():
    T = 5
    sink = np.zeros((1, 1, T, T))
    sink[..., 0] = 1
    prev = np.zeros((1, 1, T, T))
    prev[0, 0, 0, 0] = 1
    prev[0, 0, np.arange(1, T), np.arange(T - 1)] = 1
    assert ex.sink_share(sink)[0, 0] == 1 and ex.previous_token_score(sink)[0, 0] == 0.25
    assert ex.previous_token_score(prev)[0, 0] == 1
    uniform = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]
    assert ex.sink_share(uniform[None, None])[0, 0] == pytest.approx(ex.uniform_sink_share(T))
    with pytest.raises(ValueError, match="shape"):
        ex.sink_share(np.zeros((3, 3)))


# --- logit lens ----------------------------------------------------------------------------------

def test_logit_lens_last_layer_is_the_models_own_prediction(tiny):
    lens = ex.logit_lens(tiny, IDS)
    own = own_logprobs(tiny, IDS).numpy()
    assert lens.logprobs.shape == (3, 100)
    np.testing.assert_allclose(lens.logprobs[-1], own, atol=1e-5)
    assert lens.target == own.argmax() and lens.ranks[-1] == 0
    assert lens.first_top1_layer is not None and 0 <= lens.first_top1_layer <= 2
    # an earlier layer is not the final one (the test would pass vacuously otherwise)
    assert not np.allclose(lens.logprobs[1], own, atol=1e-3)
    other = int(np.argsort(own)[0])  # the least likely token
    worst = ex.logit_lens(tiny, IDS, target=other)
    assert worst.ranks[-1] == 99 and worst.first_top1_layer is None


# --- attributions --------------------------------------------------------------------------------

def test_gradient_x_input_shape_and_first_order_completeness(tiny):
    target = int(own_logprobs(tiny, IDS).argmax())
    scores = at.gradient_x_input(tiny, IDS, target)
    assert scores.shape == (7,) and np.isfinite(scores).all()
    # sum_i grad_i . e_i is the derivative of f(alpha * e) at alpha = 1
    embeds = tiny.model.embed_tokens(torch.tensor([IDS])).detach()

    def f(alpha):
        with torch.no_grad():
            h = tiny.model(inputs_embeds=alpha * embeds).last_hidden_state[0, -1]
            return float(torch.log_softmax(tiny.lm_head(h), -1)[target])

    eps = 1e-3
    derivative = (f(1 + eps) - f(1 - eps)) / (2 * eps)
    assert scores.sum() == pytest.approx(derivative, rel=1e-2, abs=1e-3)
    assert all(p.grad is None for p in tiny.parameters())


def test_occlusion_equals_deleting_each_token(tiny):
    target = 11
    scores = at.occlusion(tiny, IDS, target)
    base = own_logprobs(tiny, IDS)[target]
    for i in (0, 3, 6):
        without = IDS[:i] + IDS[i + 1:]
        assert scores[i] == pytest.approx(float(base - own_logprobs(tiny, without)[target]),
                                          abs=1e-4)


def test_occlusion_of_a_token_the_model_cannot_see_is_zero():
    torch.manual_seed(1)
    config = LlamaConfig(vocab_size=100, hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=64)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        # token 42 looks exactly like the replacement token 0: replacing it changes nothing
        model.model.embed_tokens.weight[42] = model.model.embed_tokens.weight[0]
    scores = at.occlusion(model, IDS, target=11, replace_with=0)
    assert abs(scores[IDS.index(42)]) < 1e-6
    assert np.abs(np.delete(scores, IDS.index(42))).max() > 1e-4


def test_attention_attribution_is_a_distribution(tiny):
    scores = at.attribute(tiny, IDS, "attention")
    assert scores.shape == (7,) and scores.sum() == pytest.approx(1, abs=1e-5)


# --- deletion test -------------------------------------------------------------------------------

def test_deleting_nothing_changes_nothing_and_orders_are_followed(tiny):
    tokens = ["a", "bbbb", "cc", "d", "eeeee", "f", "gg"]
    orders = {"recency": at.baseline_order("recency", tokens),
              "longest": at.baseline_order("longest", tokens),
              "random": at.baseline_order("random", tokens, seed=3)}
    assert list(orders["recency"][:2]) == [6, 5] and list(orders["longest"][:2]) == [4, 1]
    assert sorted(orders["random"]) == list(range(7))
    result = at.deletion_test(tiny, IDS, orders, ks=[0, 1, 2], target=11)
    base = float(own_logprobs(tiny, IDS)[11])
    assert result.base_logp == pytest.approx(base, abs=1e-5)
    for name in orders:
        assert result.drop(name)[0] == pytest.approx(0, abs=1e-6)
    expected = float(own_logprobs(tiny, IDS[:5])[11])  # recency, k = 2
    assert result.logp["recency"][2] == pytest.approx(expected, abs=1e-5)
    occl = at.occlusion(tiny, IDS, 11)
    best = at.order_by_score(occl)
    top1 = at.deletion_test(tiny, IDS, {"occlusion": best}, ks=[1], target=11)
    assert top1.drop("occlusion")[0] == pytest.approx(occl.max(), abs=1e-4)


def test_attribution_html_escapes_and_colours():
    page = at.attribution_html(["<b>", " x"], np.array([1.0, -0.5]))
    assert "&lt;b&gt;" in page and "rgba(0,150,60,0.45)" in page and "rgba(200,30,30,0.23)" in page
    with pytest.raises(ValueError, match="2 tokens but 1"):
        at.attribution_html(["a", "b"], np.array([1.0]))


# --- the real model (about 5 s) ------------------------------------------------------------------

def test_smollm2_knows_paris_only_at_its_last_layers():
    from course_utils.llm.smollm2 import load_hf_model

    start = time.perf_counter()
    model, tok = load_hf_model()
    ids = ex.encode(tok, "The capital of France is")
    paris = tok(" Paris", add_special_tokens=False).input_ids[0]
    lens = ex.logit_lens(model, ids)
    assert lens.target == paris and lens.ranks[-1] == 0
    assert lens.ranks[len(lens.ranks) // 2] > 10  # not readable halfway up
    occl = at.occlusion(model, ids, paris)
    assert occl[3] > 2  # deleting " France" costs Paris a lot of log-probability
    assert time.perf_counter() - start < 30


def test_batched_helpers_match_one_prompt_at_a_time(tiny):
    prompts = [IDS, IDS[:4], IDS[1:6]]
    targets = [11, 3, 50]
    for one, ids in zip(ex.attention_maps_many(tiny, prompts), prompts):
        np.testing.assert_allclose(one, ex.attention_maps(tiny, ids), atol=1e-5)
    for lens, ids, t in zip(ex.logit_lens_many(tiny, prompts, targets), prompts, targets):
        np.testing.assert_allclose(lens.logprobs, ex.logit_lens(tiny, ids, t).logprobs,
                                   atol=1e-5)
    many = at.gradient_x_input_many(tiny, prompts, targets)
    for scores, ids, t in zip(many, prompts, targets):
        np.testing.assert_allclose(scores, at.gradient_x_input(tiny, ids, t), atol=1e-5)
    with pytest.raises(ValueError, match="one target per prompt"):
        at.gradient_x_input_many(tiny, prompts, [1])


def test_batched_occlusion_and_deletion_match_single_calls(tiny):
    prompts, targets = [IDS, IDS[:4]], [11, 3]
    for scores, ids, t in zip(at.occlusion_many(tiny, prompts, targets), prompts, targets):
        np.testing.assert_allclose(scores, at.occlusion(tiny, ids, t), atol=1e-5)
    orders = [{"recency": at.baseline_order("recency", ["x"] * len(p))} for p in prompts]
    many = at.deletion_test_many(tiny, prompts, orders, [0, 2], targets)
    for result, ids, order, t in zip(many, prompts, orders, targets):
        one = at.deletion_test(tiny, ids, order, [0, 2], t)
        np.testing.assert_allclose(result.logp["recency"], one.logp["recency"], atol=1e-5)
