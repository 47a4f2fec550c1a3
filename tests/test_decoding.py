"""Unit tests for course_utils.text.decoding: a fake model with a fixed logits table, golden values,
bad inputs, the tiny GPT's key/value cache, and short real runs of both models."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils.text import decoding as S
from course_utils.text.transformer import CharTokenizer, GPTConfig, TinyGPT

# A bigram "language model" over 5 characters: the next-token probabilities depend only on the
# last character. From "s", greedy takes "a" (0.5) and then faces a flat row (0.25 at best),
# while "b" (0.4) is followed by "x" with 0.9: "bx" (0.36) beats every "a?" (0.125).
ALPHABET = "sabx."
TABLE = {
    "s": [0.0, 0.5, 0.4, 0.1, 0.0],
    "a": [0.0, 0.25, 0.25, 0.25, 0.25],
    "b": [0.0, 0.02, 0.02, 0.9, 0.06],
    "x": [0.05, 0.15, 0.1, 0.1, 0.6],
    ".": [0.9, 0.025, 0.025, 0.025, 0.025],
}


class FakeModel(S.LanguageModel):
    """Logits = log of the fixed table row of the last character (0 -> a tiny probability)."""

    unit = "characters"

    def __init__(self, stop: str = "", max_context: int = 64, batched: bool = False) -> None:
        self.name, self.vocab_size, self.max_context = "fake model", len(ALPHABET), max_context
        self.stop_ids = frozenset(ALPHABET.index(c) for c in stop)
        self.batched = batched
        self.calls = 0

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - set(ALPHABET))
        if unknown:
            raise ValueError(f"The model has never seen these characters: {unknown}.")
        return [ALPHABET.index(c) for c in text]

    def decode(self, ids) -> str:
        return "".join(ALPHABET[i] for i in ids if i not in self.stop_ids)

    def next_token_logits(self, ids) -> np.ndarray:
        self.calls += 1
        return np.log(np.maximum(TABLE[ALPHABET[ids[-1]]], 1e-6))


def row(char: str) -> np.ndarray:
    return np.log(np.maximum(TABLE[char], 1e-6))


@pytest.fixture(scope="module")
def tiny_gpt() -> S.TinyGPTModel:
    """An untrained TinyGPT with a short window (fast, deterministic weights)."""
    torch.manual_seed(0)
    tokenizer = CharTokenizer("abcdefgh ")
    model = TinyGPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=2,
                              n_head=2, n_embd=16)).eval()
    return S.TinyGPTModel(model, tokenizer)


# -- logits processing: golden values ----------------------------------------------------------

def test_temperature_is_a_power_of_the_probabilities():
    z = np.log([0.5, 0.25, 0.25])
    np.testing.assert_allclose(S.softmax(S.apply_temperature(z, 0.5)), [2 / 3, 1 / 6, 1 / 6])
    np.testing.assert_allclose(S.softmax(S.apply_temperature(z, 1.0)), [0.5, 0.25, 0.25])
    flat = S.softmax(S.apply_temperature(z, 100.0))
    assert np.ptp(flat) < 1e-2  # high temperature -> nearly uniform


@pytest.mark.parametrize("k, kept", [(1, [3]), (2, [1, 3]), (3, [1, 2, 3]), (5, [0, 1, 2, 3, 4]),
                                     (9, [0, 1, 2, 3, 4])])
def test_top_k_keeps_exactly_k(k, kept):
    z = np.array([1.0, 3.0, 2.0, 3.5, 0.0])
    out = S.top_k_filter(z, k)
    assert sorted(np.flatnonzero(np.isfinite(out))) == kept
    np.testing.assert_array_equal(out[kept], z[kept])


def test_top_k_breaks_ties_by_lower_id():
    out = S.top_k_filter(np.array([2.0, 2.0, 2.0, 1.0]), 2)
    assert list(np.isfinite(out)) == [True, True, False, False]


@pytest.mark.parametrize("p, n_kept", [(1e-9, 1), (0.49, 1), (0.5, 1), (0.51, 2), (0.8, 2),
                                       (0.81, 3), (0.95, 3), (0.951, 4), (1.0, 4)])
def test_top_p_keeps_the_minimal_nucleus(p, n_kept):
    probs = np.array([0.15, 0.5, 0.05, 0.3])  # sorted: 0.5, 0.3, 0.15, 0.05
    out = S.top_p_filter(np.log(probs), p)
    kept = np.flatnonzero(np.isfinite(out))
    assert len(kept) == n_kept
    assert set(kept) == set(np.argsort(-probs)[:n_kept])  # the most likely ones
    renormalised = S.softmax(out)[kept]
    np.testing.assert_allclose(renormalised, probs[kept] / probs[kept].sum())


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits():
    z = np.array([2.0, -1.0, 0.5, 3.0])
    out = S.apply_repetition_penalty(z, [0, 1, 1], 2.0)
    np.testing.assert_allclose(out, [1.0, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(S.apply_repetition_penalty(z, [0, 1], 1.0), z)
    np.testing.assert_allclose(S.apply_repetition_penalty(z, [], 2.0), z)
    np.testing.assert_allclose(z, [2.0, -1.0, 0.5, 3.0])  # input untouched


def test_softmax_and_log_softmax_agree_and_handle_minus_infinity():
    z = np.array([1.0, -np.inf, 0.0, 2.0])
    p = S.softmax(z)
    assert p.sum() == pytest.approx(1.0) and p[1] == 0.0
    np.testing.assert_allclose(np.exp(S.log_softmax(z)), p)


def test_draw_follows_the_probabilities_and_never_draws_zero_probability():
    rng = np.random.default_rng(0)
    probs = np.array([0.2, 0.0, 0.5, 0.3])
    counts = np.bincount([S.draw(probs, rng) for _ in range(20_000)], minlength=4)
    assert counts[1] == 0
    np.testing.assert_allclose(counts / counts.sum(), probs, atol=0.015)


# -- strategies --------------------------------------------------------------------------------

def test_greedy_follows_the_argmax_path():
    model = FakeModel()
    result = S.generate(model, "s", strategy="greedy", max_new_tokens=6)
    ids, expected = [ALPHABET.index("s")], []
    for _ in range(6):
        logits = row(ALPHABET[ids[-1]])
        ids.append(int(np.argmax(logits)))
        expected.append(float(S.log_softmax(logits)[ids[-1]]))
    assert result.token_ids == ids[1:]
    assert result.text == "aa" + "aaaa"  # ties in the flat row after "a" go to the lower id
    np.testing.assert_allclose(result.logprobs, expected)
    assert result.mean_logprob == pytest.approx(np.mean(expected))


def test_beam_search_with_one_beam_equals_greedy():
    model = FakeModel(stop=".")
    for prompt in ("s", "b", "x"):
        greedy = S.generate(model, prompt, strategy="greedy", max_new_tokens=8)
        beam = S.generate(model, prompt, strategy="beam", num_beams=1, max_new_tokens=8)
        assert beam.token_ids == greedy.token_ids
        np.testing.assert_allclose(beam.logprobs, greedy.logprobs)


def test_beam_search_finds_a_more_likely_sequence_than_greedy():
    model = FakeModel()
    greedy = S.generate(model, "s", strategy="greedy", max_new_tokens=2)
    beam = S.generate(model, "s", strategy="beam", num_beams=2, max_new_tokens=2)
    assert greedy.text == "aa" and beam.text == "bx"
    assert math.exp(sum(greedy.logprobs)) == pytest.approx(0.5 * 0.25, rel=1e-4)
    assert math.exp(sum(beam.logprobs)) == pytest.approx(0.4 * 0.9, rel=1e-4)
    assert beam.score == pytest.approx(math.log(0.36) / 2, rel=1e-4)  # length-normalised


def test_beam_search_stops_at_a_stop_token_and_length_normalises():
    model = FakeModel(stop=".")
    result = S.generate(model, "s", strategy="beam", num_beams=3, max_new_tokens=10)
    assert result.stopped and result.token_ids[-1] == ALPHABET.index(".")
    assert result.text == "bx"  # s -> b x . : 0.4 * 0.9 * 0.6, stop token not in the text
    assert result.score == pytest.approx(math.log(0.4 * 0.9 * 0.6) / 3, rel=1e-4)
    # alpha = 0 compares raw sums: the shortest hypothesis wins against longer ones
    raw = S.generate(model, "s", strategy="beam", num_beams=3, max_new_tokens=10,
                     length_penalty=0.0)
    assert raw.score == pytest.approx(sum(raw.logprobs))


def test_sampling_stops_on_stop_token():
    result = S.generate(FakeModel(stop="."), "x", strategy="greedy", max_new_tokens=10)
    assert result.token_ids == [ALPHABET.index(".")] and result.text == "" and result.stopped


def test_top_k_one_and_tiny_temperature_sample_the_greedy_path():
    model = FakeModel()
    greedy = S.generate(model, "sb", strategy="greedy", max_new_tokens=4)  # no ties on the way
    for settings in ({"top_k": 1}, {"temperature": 1e-3}, {"top_p": 1e-6}):
        sample = S.generate(model, "sb", strategy="sample", max_new_tokens=4, seed=3, **settings)
        assert sample.token_ids == greedy.token_ids, settings


def test_seeds_reproduce_and_differ():
    model = FakeModel()
    a = S.generate(model, "a", max_new_tokens=40, seed=7)
    b = S.generate(model, "a", max_new_tokens=40, seed=7)
    c = S.generate(model, "a", max_new_tokens=40, seed=8)
    assert a.text == b.text and a.logprobs == b.logprobs
    assert a.text != c.text


@pytest.mark.parametrize("strategy", ["sample", "greedy", "beam"])
def test_generate_many_matches_generate_with_consecutive_seeds(strategy):
    model = FakeModel(stop=".", batched=True)
    prompts = ["s", "a", "b", "x", "sab"]
    settings = {"strategy": strategy, "max_new_tokens": 15, "temperature": 1.3, "top_p": 0.9,
                "num_beams": 3}
    many = S.generate_many(model, prompts, seed=5, **settings)
    for i, prompt in enumerate(prompts):
        one = S.generate(model, prompt, seed=5 + i, **settings)
        assert many[i].token_ids == one.token_ids and many[i].score == one.score


def test_logprobs_are_under_the_unmodified_model():
    model = FakeModel()
    result = S.generate(model, "s", max_new_tokens=10, temperature=0.5, top_k=2, seed=1,
                        repetition_penalty=1.5)
    context = [0]
    for token, lp in zip(result.token_ids, result.logprobs):
        assert lp == pytest.approx(S.log_softmax(row(ALPHABET[context[-1]]))[token])
        context.append(token)
    teacher = S.token_logprobs(model, "s", result.text)
    np.testing.assert_allclose(teacher, result.logprobs)
    assert S.mean_log_likelihood(model, "s", result.text) == pytest.approx(result.mean_logprob)


def test_streaming_callback_sees_the_growing_text():
    seen = []
    result = S.generate(FakeModel(), "s", strategy="greedy", max_new_tokens=4,
                        on_token=seen.append)
    assert seen == ["a", "aa", "aaa", "aaaa"] and seen[-1] == result.text
    beam_seen = []
    S.generate(FakeModel(), "s", strategy="beam", num_beams=2, max_new_tokens=3,
               on_token=beam_seen.append)
    assert len(beam_seen) == 3 and beam_seen[0] in ("a", "b")


# -- metrics ------------------------------------------------------------------------------------

@pytest.mark.parametrize("texts, n, unit, expected", [
    ("the cat the cat", 1, "word", 2 / 4),
    ("the cat the cat", 2, "word", 2 / 3),
    ("the cat sat", 2, "word", 1.0),
    ("abab", 2, "char", 2 / 3),
    ("aaaa", 1, "char", 1 / 4),
    (["a b", "a b"], 2, "word", 1 / 2),
    (["a b", "c d"], 2, "word", 1.0),  # n-grams do not cross from one text to the next
    (["ab", "a"], 2, "char", 1.0),
])
def test_distinct_n_golden_values(texts, n, unit, expected):
    assert S.distinct_n(texts, n, unit) == pytest.approx(expected)


def test_distinct_n_rejects_bad_input():
    with pytest.raises(ValueError, match="No word 3-grams"):
        S.distinct_n("two words", 3)
    with pytest.raises(ValueError, match="unit must be"):
        S.distinct_n("some text", 2, unit="token")
    with pytest.raises(ValueError, match="n must be"):
        S.distinct_n("some text", 0)


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("settings, message", [
    ({"temperature": 0}, "greedy decoding"),
    ({"temperature": -1.0}, "temperature must be > 0"),
    ({"temperature": float("nan")}, "finite"),
    ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
    ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
    ({"top_k": 0}, "top_k must be an integer >= 1"),
    ({"top_k": 2.5}, "top_k must be an integer >= 1"),
    ({"num_beams": 0}, "num_beams must be >= 1"),
    ({"max_new_tokens": 0}, "max_new_tokens must be >= 1"),
    ({"max_new_tokens": 10**6}, "max_new_tokens must be <= 2000"),
    ({"repetition_penalty": 0.5}, "repetition_penalty must be >= 1"),
    ({"strategy": "nucleus"}, "strategy must be one of"),
    ({"length_penalty": -1}, "length_penalty must be >= 0"),
    ({"temprature": 0.5}, r"Unknown setting\(s\) \['temprature'\]"),
])
def test_bad_settings_raise_helpful_errors(settings, message):
    with pytest.raises(ValueError, match=message):
        S.generate(FakeModel(), "s", **settings)


def test_bad_prompts_raise_helpful_errors(tiny_gpt):
    with pytest.raises(ValueError, match="prompt is empty"):
        S.generate(FakeModel(), "")
    with pytest.raises(ValueError, match="prompt must be text"):
        S.generate(FakeModel(), None)
    with pytest.raises(ValueError, match="never seen these characters: 'é'"):
        S.generate(tiny_gpt, "abc é")
    with pytest.raises(ValueError, match=r"reads at most 16: it would silently ignore the "
                                         r"first 4\. Shorten the prompt"):
        S.generate(tiny_gpt, "abcdefgh" * 2 + "abcd")
    with pytest.raises(ValueError, match="seed must be"):
        S.generate(FakeModel(), "s", seed=-1)
    with pytest.raises(ValueError, match="non-empty list"):
        S.generate_many(FakeModel(), [])
    window = FakeModel()
    window.max_total = 10
    with pytest.raises(ValueError, match="exceeds fake model's window of 10"):
        S.generate(window, "sab", max_new_tokens=8)


def test_bad_filter_arguments():
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        S.top_k_filter(np.zeros(3), 0)
    with pytest.raises(ValueError, match="top_p must be > 0"):
        S.top_p_filter(np.zeros(3), 0.0)
    with pytest.raises(ValueError, match="greedy"):
        S.apply_temperature(np.zeros(3), 0.0)


# -- the tiny GPT adapter: the key/value cache gives the model's own logits ----------------------

def test_tiny_gpt_cache_matches_the_full_forward_pass(tiny_gpt):
    model = tiny_gpt.model
    seqs = [tiny_gpt.encode("abc"), tiny_gpt.encode("hgf")]
    rng = np.random.default_rng(0)
    for step in range(22):  # beyond block_size = 16: the window slides
        out = tiny_gpt.next_token_logits_batch(seqs)
        for seq, logits in zip(seqs, out):
            np.testing.assert_allclose(logits, model.next_token_logits(seq).numpy(), atol=1e-5)
        if step == 5:  # reorder like beam search: both rows continue the first sequence
            seqs = [seqs[0], list(seqs[0])]
        seqs = [s + [int(rng.integers(tiny_gpt.vocab_size))] for s in seqs]


def test_tiny_gpt_cache_notices_changed_weights():
    torch.manual_seed(1)
    tokenizer = CharTokenizer("abc")
    model = TinyGPT(GPTConfig(vocab_size=3, block_size=8, n_layer=1, n_head=1, n_embd=8)).eval()
    lm = S.TinyGPTModel(model, tokenizer)
    lm.next_token_logits([0, 1])
    with torch.no_grad():
        model.head.weight.mul_(2.0)  # an in-place update, like an optimiser step
    np.testing.assert_allclose(lm.next_token_logits([0, 1, 2]),
                               model.next_token_logits([0, 1, 2]).numpy(), atol=1e-5)


def test_tiny_gpt_beam_and_batch_use_the_cache(tiny_gpt):
    greedy = S.generate(tiny_gpt, "abc", strategy="greedy", max_new_tokens=10)
    beam = S.generate(tiny_gpt, "abc", strategy="beam", num_beams=1, max_new_tokens=10)
    assert beam.token_ids == greedy.token_ids
    wide = S.generate(tiny_gpt, "abc", strategy="beam", num_beams=4, max_new_tokens=10)
    assert sum(wide.logprobs) >= sum(greedy.logprobs) - 1e-9
    prompts = ["abc", "hgf", "ddd"]  # equal lengths: one cached batch per step for all beams
    for strategy in ("beam", "sample"):
        many = S.generate_many(tiny_gpt, prompts, strategy=strategy, num_beams=3,
                               max_new_tokens=8, seed=2)
        for i, prompt in enumerate(prompts):
            one = S.generate(tiny_gpt, prompt, strategy=strategy, num_beams=3, max_new_tokens=8,
                             seed=2 + i)
            assert many[i].token_ids == one.token_ids
            np.testing.assert_allclose(many[i].logprobs, one.logprobs, atol=1e-5)


# -- real models (short runs) -------------------------------------------------------------------

def test_real_tiny_gpt_checkpoint_generates():
    from course_utils.text.gpt_training import load_pretrained_tiny_gpt

    try:
        model, tokenizer, _ = load_pretrained_tiny_gpt()
    except FileNotFoundError:
        pytest.skip("the committed tiny-GPT checkpoint is not there yet (chapter 05)")
    lm = S.TinyGPTModel(model, tokenizer)
    prompt = "The default value of "
    greedy = S.generate(lm, prompt, strategy="greedy", max_new_tokens=40)
    hot = S.generate_many(lm, [prompt] * 4, max_new_tokens=40, temperature=1.5, seed=0)
    assert len(greedy.text) == 40 and set(greedy.text) <= set(tokenizer.alphabet)
    assert greedy.mean_logprob > np.mean([g.mean_logprob for g in hot])
    assert S.mean_log_likelihood(lm, prompt, greedy.text) == pytest.approx(greedy.mean_logprob,
                                                                           abs=1e-4)


def test_real_smollm2_generates_with_the_same_api():
    pytest.importorskip("llama_cpp")
    from course_utils.llm.engine import LlamaLogits, load_llama

    lm = S.SmolLM2Model(LlamaLogits(load_llama(n_threads=1)))
    assert lm.encode("<|im_start|>user")[:1] == [1]  # chat markers are special tokens
    chat = S.generate(lm, lm.chat_prompt("What is 2 + 2?"), strategy="greedy",
                      max_new_tokens=12)
    assert "4" in chat.text and chat.stopped  # ends its turn with <|im_end|>, not in the text
    assert "<|im_end|>" not in chat.text and all(lp <= 0 for lp in chat.logprobs)
    greedy = S.generate(lm, "The capital of France is", strategy="greedy", max_new_tokens=3)
    assert "Paris" in greedy.text
    sample = S.generate(lm, "Once upon a time", max_new_tokens=6, temperature=0.8, seed=0)
    again = S.generate(lm, "Once upon a time", max_new_tokens=6, temperature=0.8, seed=0)
    assert sample.token_ids == again.token_ids and len(sample.token_ids) <= 6
    with pytest.raises(ValueError, match="window"):
        S.generate(lm, "hello " * 60, max_new_tokens=2000, strategy="greedy")


@pytest.mark.parametrize("bad, message", [
    (np.array([]), "at least one entry"), (np.zeros((2, 0)), "at least one entry"),
    (3.0, "at least one entry"), ([float("nan"), 1.0], "NaN"), ("abc", "must be numbers"),
    (None, "must be numbers")])
def test_softmax_rejects_bad_logits_clearly(bad, message):
    with pytest.raises(ValueError, match=message):
        S.softmax(bad)
    with pytest.raises(ValueError, match=message):
        S.log_softmax(bad)


def test_the_smollm2_chat_prompt_is_the_course_template():
    from course_utils.llm.smollm2 import chat_prompt

    assert S.SmolLM2Model.chat_prompt("Hi") == chat_prompt("Hi")
    with pytest.raises(ValueError):
        S.SmolLM2Model.chat_prompt(None)
