"""Tiny GPT: shapes, causality, attention weights, tokenizer errors, training and checkpoints."""

import math

import pytest
import torch
import torch.nn.functional as F

from course_utils.text.gpt_training import (
    TrainConfig,
    bits_per_char,
    load_checkpoint,
    load_pretrained_tiny_gpt,
    pretrained_checkpoint_path,
    random_windows,
    save_checkpoint,
    train_gpt,
)
from course_utils.text.transformer import CausalSelfAttention, CharTokenizer, GPTConfig, TinyGPT

TEXT = "the cat sat on the mat. the dog sat on the log. " * 40


def tiny(vocab_size: int = 20, **overrides) -> TinyGPT:
    torch.manual_seed(0)
    config = dict(vocab_size=vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=16,
                  dropout=0.0)
    config.update(overrides)
    return TinyGPT(GPTConfig(**config))


def test_forward_shapes_and_attention_maps():
    model = tiny()
    ids = torch.randint(0, 20, (3, 10))
    logits, maps = model(ids, return_attention=True)
    assert logits.shape == (3, 10, 20)
    assert len(maps) == 2 and maps[0].shape == (3, 2, 10, 10)
    rows = maps[1].sum(-1)
    assert torch.allclose(rows, torch.ones_like(rows), atol=1e-5)  # softmax rows sum to 1
    upper = torch.triu(torch.ones(10, 10, dtype=torch.bool), diagonal=1)
    assert maps[0][..., upper].abs().max() == 0  # nothing attends to the future


def test_fused_attention_matches_explicit_equation():
    model = tiny()
    ids = torch.randint(0, 20, (2, 12))
    assert torch.allclose(model(ids), model(ids, return_attention=True)[0], atol=1e-5)


def test_attention_layer_implements_the_equation():
    torch.manual_seed(1)
    config = GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=4, dropout=0.0)
    layer = CausalSelfAttention(config).eval()
    x = torch.randn(1, 6, 4)
    q, k, v = layer.qkv(x).split(4, dim=2)
    scores = q @ k.transpose(1, 2) / math.sqrt(4)
    scores = scores.masked_fill(torch.triu(torch.ones(6, 6, dtype=torch.bool), 1), -math.inf)
    expected = layer.proj(F.softmax(scores, dim=-1) @ v)
    out, weights = layer(x, return_attention=True)
    assert torch.allclose(out, expected, atol=1e-6)
    assert torch.allclose(weights[0, 0], F.softmax(scores, dim=-1)[0], atol=1e-6)


def test_model_is_causal():
    model = tiny().eval()
    a = torch.randint(0, 20, (1, 12))
    b = a.clone()
    b[0, 8:] = (b[0, 8:] + 1) % 20  # change only the future
    assert torch.allclose(model(a)[0, :8], model(b)[0, :8], atol=1e-6)
    assert not torch.allclose(model(a)[0, 8:], model(b)[0, 8:])


def test_weight_tying_and_parameter_count():
    model = tiny()
    assert model.head.weight is model.tok_emb.weight
    C, V, T, L = 16, 20, 16, 2
    per_block = 2 * 2 * C + (3 * C * C + 3 * C) + (C * C + C) + (4 * C * C + 4 * C) + (4 * C * C + C)
    assert model.num_parameters() == V * C + T * C + L * per_block + 2 * C


@pytest.mark.parametrize("bad", [dict(n_embd=10, n_head=3), dict(vocab_size=0),
                                 dict(dropout=1.0), dict(n_layer=True)])
def test_bad_config_is_rejected(bad):
    config = dict(vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=4)
    config.update(bad)
    with pytest.raises(ValueError):
        GPTConfig(**config)


def test_bad_ids_are_rejected_with_clear_messages():
    model = tiny()
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 20\)"):
        model(torch.full((1, 3), 20))
    with pytest.raises(ValueError, match="shape"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="empty"):
        model.next_token_logits([])


def test_next_token_logits_uses_the_last_block():
    model = tiny().eval()
    ids = list(range(20)) * 2  # 40 ids, longer than block_size=16
    expected = model(torch.tensor([ids[-16:]]))[0, -1]
    assert torch.allclose(model.next_token_logits(ids), expected)


def test_char_tokenizer_round_trip_and_errors():
    tok = CharTokenizer(sorted(set(TEXT)))
    assert tok.decode(tok.encode("the mat")) == "the mat"
    with pytest.raises(ValueError, match="never seen.*'Z'"):
        tok.encode("Zebra")
    with pytest.raises(ValueError, match="outside"):
        tok.decode([tok.vocab_size])
    with pytest.raises(ValueError):
        CharTokenizer("aa")


def test_random_windows_are_shifted_by_one():
    data = torch.arange(100)
    x, y = random_windows(data, 10, 4, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 10)
    assert torch.equal(y, x + 1)
    with pytest.raises(ValueError, match="needs more"):
        random_windows(torch.arange(5), 10, 4, torch.Generator())


def test_bits_per_char_scores_every_character_once():
    tok = CharTokenizer(sorted(set(TEXT)))
    model = tiny(vocab_size=tok.vocab_size).eval()
    text = TEXT[:100]
    ids = torch.tensor([tok.encode(text)])
    # With a context as long as the text, one window scores everything: compare directly.
    long_model = tiny(vocab_size=tok.vocab_size, block_size=128).eval()
    direct = F.cross_entropy(long_model(ids[:, :-1])[0], ids[0, 1:]).item() / math.log(2)
    assert bits_per_char(long_model, tok, text) == pytest.approx(direct, rel=1e-5)
    # An untrained model is close to uniform: about log2(V) bits.
    assert abs(bits_per_char(model, tok, text) - math.log2(tok.vocab_size)) < 0.3


def test_training_learns_and_checkpoint_round_trips(tmp_path):
    tok = CharTokenizer(sorted(set(TEXT)))
    model = tiny(vocab_size=tok.vocab_size)
    before = bits_per_char(model, tok, TEXT[:300])
    history = train_gpt(model, tok, TEXT, TEXT[:300],
                        TrainConfig(steps=60, batch_size=8, lr=1e-2, warmup_steps=5,
                                    eval_every=30), show_progress=False)
    assert history.val_steps == [30, 60] and len(history.train_loss) == 60
    assert history.val_bits[-1] < before - 1.0  # learned the repeated sentence
    assert history.tokens_seen == 60 * 8 * 16 and history.tokens_per_second > 0
    path = save_checkpoint(tmp_path / "m.safetensors", model, tok, {"note": "test"})
    loaded, loaded_tok, record = load_checkpoint(path)
    assert record == {"note": "test"} and loaded_tok.alphabet == tok.alphabet
    assert loaded.head.weight is loaded.tok_emb.weight
    ids = torch.tensor([tok.encode(TEXT[:16])])
    assert torch.equal(loaded(ids), model(ids))


def test_time_budget_stops_training_early():
    tok = CharTokenizer(sorted(set(TEXT)))
    history = train_gpt(tiny(vocab_size=tok.vocab_size), tok, TEXT, TEXT[:100],
                        TrainConfig(steps=100_000, batch_size=4, max_seconds=0.5,
                                    eval_every=10_000), show_progress=False)
    assert len(history.train_loss) < 100_000 and history.val_steps[-1] == len(history.train_loss)


@pytest.mark.parametrize("bad", [dict(steps=0), dict(lr=0), dict(warmup_steps=10, steps=10),
                                 dict(max_seconds=0)])
def test_bad_train_config_is_rejected(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_learning_rate_schedule():
    config = TrainConfig(steps=1000, lr=1e-3, warmup_steps=100, min_lr_fraction=0.1)
    assert config.learning_rate(0) == pytest.approx(1e-5)
    assert config.learning_rate(99) == pytest.approx(1e-3)
    assert config.learning_rate(550) == pytest.approx(0.55e-3, rel=1e-3)  # half-way: mean
    assert config.learning_rate(999) == pytest.approx(1e-4, rel=1e-2)


def test_loading_a_missing_or_foreign_file_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.safetensors")
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not a tiny-GPT"):
        load_checkpoint(tmp_path / "other.safetensors")


# --- the committed checkpoint -------------------------------------------------------------

@pytest.fixture(scope="module")
def pretrained():
    if not pretrained_checkpoint_path().is_file():
        pytest.fail("The committed checkpoint is missing: train it with the command in "
                    "course_utils.text.gpt_training's docstring.")
    return load_pretrained_tiny_gpt()


def test_committed_checkpoint_beats_the_best_ngram_on_held_out_text(pretrained):
    from course_utils.data import load_text_splits
    from course_utils.text.ngram import CharNGramModel

    model, tok, record = pretrained
    splits = load_text_splits()
    ngram = CharNGramModel(10).fit(splits.train)  # chapter 03's best order on validation
    for name in ("val", "test"):
        text = getattr(splits, name)
        gpt_bits = bits_per_char(model, tok, text)
        assert gpt_bits < ngram.bits_per_char(text), name
        assert gpt_bits == pytest.approx(record[f"{name}_bits_per_char"], abs=2e-3)


def test_committed_checkpoint_records_how_it_was_made(pretrained):
    model, tok, record = pretrained
    assert record["command"].startswith("python -m course_utils.train tiny-gpt")
    assert record["train_seconds"] > 0 and record["tokens_per_second"] > 0
    assert pretrained_checkpoint_path().stat().st_size < 10 * 2**20
    assert model.config.vocab_size == tok.vocab_size


def test_kv_cache_decoding_matches_the_full_forward_pass():
    model = tiny().eval()
    ids = torch.randint(0, 20, (3, 12))
    logits, cache = model.prefill(ids[:, :5])
    assert torch.allclose(logits, model(ids[:, :5])[:, -1], atol=1e-5)
    assert len(cache) == 2 and cache[0][0].shape == (3, 2, 16, 8)
    for t in range(5, 12):  # feed one more token at position t
        logits = model.decode_step(ids[:, t], t, cache)
        assert torch.allclose(logits, model(ids[:, :t + 1])[:, -1], atol=1e-5), t
    with pytest.raises(ValueError, match="outside the cache"):
        model.decode_step(ids[:, 0], 16, cache)
