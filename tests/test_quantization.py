"""Chapter 62: weight quantization (apps.quantization) and generation timing (apps.speed)."""

from __future__ import annotations

import pytest
import torch

from course_utils.apps import quantization as qz
from course_utils.apps import speed
from course_utils.text.transformer import GPTConfig, TinyGPT


@pytest.fixture(scope="module")
def tiny() -> TinyGPT:
    torch.manual_seed(0)
    return TinyGPT(
        GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=8, dropout=0.0)
    ).eval()


def test_int8_round_trip_of_a_known_matrix():
    w = torch.tensor([[1.27, -0.635, 0.0, 0.01], [0.5, 0.25, -0.5, 0.125]])
    qt = qz.quantize(w, bits=8, scheme="per-channel")
    assert qt.codes.dtype == torch.int8
    # row 0: s = 1.27 / 127 = 0.01 -> codes 127, -64 (round half to even of -63.5), 0, 1
    assert qt.codes[0].tolist() == [127, -64, 0, 1]
    assert qt.codes[1].tolist() == [127, 64, -127, 32]
    assert torch.allclose(qt.scales[:, 0], torch.tensor([0.01, 0.5 / 127]))
    assert torch.allclose(qt.dequantize(), w, atol=0.005 + 1e-7)


@pytest.mark.parametrize("bits", [2, 3, 4, 6, 8])
@pytest.mark.parametrize("scheme", qz.SCHEMES)
def test_error_is_at_most_half_a_step_and_codes_in_range(bits, scheme):
    torch.manual_seed(bits)
    w = torch.randn(24, 40) * torch.rand(24, 1) * 3
    qt = qz.quantize(w, bits, scheme)
    q_max = 2 ** (bits - 1) - 1
    assert int(qt.codes.abs().max()) == q_max  # the largest weight maps to the end code
    assert qt.scales.shape == ((24, 1) if scheme == "per-channel" else (1, 1))
    error = (qt.dequantize() - w).abs()
    assert (error <= qt.scales / 2 + 1e-6).all()


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_per_channel_error_never_exceeds_per_tensor(bits):
    torch.manual_seed(1)
    w = torch.randn(32, 64)
    w[3] *= 20  # one row of large weights inflates the shared scale
    err = {s: (qz.quantize(w, bits, s).dequantize() - w).abs() for s in qz.SCHEMES}
    # row by row, a scale no larger than the tensor's gives an error bound no larger
    assert err["per-channel"].amax(1).le(err["per-tensor"].amax(1).max() + 1e-6).all()
    assert err["per-channel"].pow(2).mean() < err["per-tensor"].pow(2).mean()


def test_zero_rows_survive_and_more_bits_mean_less_error():
    w = torch.randn(6, 10)
    w[2] = 0
    errors = [float((qz.quantize(w, b).dequantize() - w).pow(2).mean()) for b in range(2, 9)]
    assert all(a > b for a, b in zip(errors, errors[1:]))
    assert torch.equal(qz.quantize(w, 4).dequantize()[2], torch.zeros(10))


def test_memory_formula():
    assert qz.quantized_bytes((512, 128), 4, "per-channel") == 512 * 128 // 2 + 4 * 512
    assert qz.quantized_bytes((512, 128), 4, "per-tensor") == 512 * 128 // 2 + 4
    assert qz.quantized_bytes((3, 3), 3, "per-tensor") == 4 + 4  # ceil(27 / 8) = 4
    qt = qz.quantize(torch.randn(7, 5), 6, "per-channel")
    assert qt.nbytes == qz.quantized_bytes((7, 5), 6) == 27 + 28


def test_quantize_model_selects_block_linears_and_counts_memory(tiny):
    layers = qz.selected_linears(tiny)
    assert len(layers) == 8 and "head" not in layers  # 2 blocks x (qkv, proj, up, down)
    assert set(qz.selected_linears(tiny, ["attn"])) == {
        f"blocks.{i}.attn.{n}" for i in range(2) for n in ("qkv", "proj")
    }
    model, mem = qz.quantize_model(tiny, 4, "per-channel")
    n_weights = sum(m.weight.numel() for m in layers.values())
    assert mem.quantized_params == n_weights
    assert mem.quantized_params + mem.float_params == tiny.num_parameters()
    expected = sum(qz.quantized_bytes(tuple(m.weight.shape), 4) for m in layers.values())
    assert mem.quantized_bytes == expected
    assert mem.total_bytes == expected + 4 * mem.float_params
    assert mem.float32_bytes == 4 * tiny.num_parameters()
    # the copy changed, the original did not; embeddings and LayerNorms untouched
    assert not torch.equal(model.blocks[0].mlp.up.weight, tiny.blocks[0].mlp.up.weight)
    assert torch.equal(model.tok_emb.weight, tiny.tok_emb.weight)
    assert model.head.weight is model.tok_emb.weight  # still tied after the copy
    codes = model.blocks[0].mlp.up.weight / qz.quantize(tiny.blocks[0].mlp.up.weight, 4).scales
    assert torch.allclose(codes, codes.round(), atol=1e-4)  # every weight is s * integer
    _, float_mem = qz.quantize_model(tiny, None)
    assert float_mem.compression == 1.0


def test_bad_input_gives_clear_messages(tiny):
    w = torch.randn(4, 4)
    for bits in (1, 9, 16):
        with pytest.raises(ValueError, match="bits must be"):
            qz.quantize(w, bits)
    with pytest.raises(ValueError, match="bits must be an integer"):
        qz.quantize(w, 4.0)
    with pytest.raises(ValueError, match="torch tensor"):
        qz.quantize([[1.0, 2.0]], 4)
    with pytest.raises(ValueError, match="torch tensor"):
        qz.quantize(torch.ones(3, 3, dtype=torch.long), 4)
    with pytest.raises(ValueError, match="2-D"):
        qz.quantize(torch.randn(5), 4)
    with pytest.raises(ValueError, match="NaN"):
        qz.quantize(torch.tensor([[1.0, float("nan")]]), 4)
    with pytest.raises(ValueError, match="scheme"):
        qz.quantize(w, 4, "per-row")
    with pytest.raises(ValueError, match="parts"):
        qz.quantize_model(tiny, 4, parts=("embeddings",))
    with pytest.raises(ValueError, match="blocks"):
        qz.quantize_model(torch.nn.Sequential(torch.nn.Linear(2, 2)), 4)
    with pytest.raises(ValueError, match="empty"):
        qz.llama_bits_per_character(object(), "")


def test_kv_cache_gives_the_same_tokens_as_recomputation(tiny):
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    cached, full = speed.greedy_cached(tiny, ids, 10), speed.greedy_recompute(tiny, ids, 10)
    assert cached.tokens.shape == (2, 10) and cached.logits.shape == (2, 10, 11)
    assert torch.equal(cached.tokens, full.tokens)
    assert torch.allclose(cached.logits, full.logits, atol=1e-5)
    # and the recomputed logits are those of one forward pass on the final sequence
    seq = torch.cat([ids, full.tokens], 1)
    assert torch.allclose(tiny(seq[:, :-1])[:, 2:], full.logits, atol=1e-5)
    with pytest.raises(ValueError, match="n_new"):
        speed.greedy_cached(tiny, ids, 14)  # 3 + 14 > block_size 16
    with pytest.raises(ValueError, match="long tensor"):
        speed.greedy_recompute(tiny, [[1, 2]], 2)


def test_threads_are_restored_and_best_time():
    before = torch.get_num_threads()
    with speed.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        with speed.torch_threads(0):
            pass
    calls = []
    seconds, result = speed.best_time(lambda: calls.append(1) or len(calls), repeats=3)
    assert result == 3 and seconds >= 0


def test_llama_speed_helper_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        speed.llama_tokens_per_second(object(), [], 4)
    with pytest.raises(ValueError, match="budget_s"):
        speed.llama_tokens_per_second(object(), [1], 4, budget_s=0)
