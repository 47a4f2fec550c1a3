"""Chapter 10: look inside a foundation model, score it on held-out text, and chat with it.

Inspection (no model run needed):

- :func:`parameters_by_component` - parameter counts per part of a transformer (token and
  position embeddings, attention, MLP, norms, output head), read from tensor names, so the
  same table works for the tiny GPT of chapter 05, SmolLM2 in ``transformers`` and the GGUF file.
- :func:`describe_llama` / :func:`describe_tiny_gpt` - the architecture side by side.
- :func:`gguf_storage` - how the GGUF file stores each part (4-bit, 8-bit, float32) and what
  that costs in bytes.

Scoring: :func:`held_out_passages` cuts evenly spaced passages from a held-out text, so that
every model is scored on exactly the same characters (bits per character, chapter 10).

Chatting: :class:`Conversation` keeps a chat history, checks each message and drops the oldest
turns when the prompt would no longer fit the context window; :class:`ChatWidget` is a streaming
chat panel on top of it, built on :class:`course_utils.viz.widgets.SafePanel`.

Speed: :func:`measure_fast_path`, :func:`measure_inspection_path` and
:func:`first_load_seconds` time the two ways of running SmolLM2 (:mod:`course_utils.llm.smollm2`), and
:func:`performance_table` checks them against the course's targets.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from course_utils.core.validation import check_float, check_int, check_text

# --- what is inside ------------------------------------------------------------------------

#: Parts of a transformer, in the order tables show them, with the tensor-name pattern of each.
#: The patterns cover three naming schemes: the tiny GPT (``blocks.0.attn.qkv.weight``),
#: ``transformers`` Llama (``model.layers.0.self_attn.q_proj.weight``) and GGUF
#: (``blk.0.attn_q.weight``). Norms come first: ``attn_norm`` and ``post_attention_layernorm``
#: are norms, not attention.
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("norms", r"norm|(^|\.)ln(\d+|_f)\."),
    ("token embedding", r"embed_tokens|tok_emb|token_embd"),
    ("position embedding", r"pos_emb|position_embd|wpe"),
    ("MLP", r"mlp|ffn"),
    ("attention", r"attn"),
    ("output head", r"lm_head|(^|\.)head\.|^output\."),
)


def component_of(name: str) -> str:
    """The part of the model a tensor belongs to (see :data:`COMPONENTS`).

    Raises:
        ValueError: for a name that matches no pattern.
    """
    for component, pattern in COMPONENTS:
        if re.search(pattern, name):
            return component
    raise ValueError(f"Cannot tell which part of the model the tensor {name!r} belongs to; "
                     f"known parts: {[c for c, _ in COMPONENTS]}.")


def _sizes(model_or_sizes: Any) -> dict[str, int]:
    """``name -> number of elements`` from a torch module or a mapping of sizes / shapes."""
    if hasattr(model_or_sizes, "named_parameters"):
        # named_parameters() lists a tied weight once (under its first name: the embedding)
        return {name: p.numel() for name, p in model_or_sizes.named_parameters()}
    if not isinstance(model_or_sizes, Mapping) or not model_or_sizes:
        raise ValueError("Give a torch module or a non-empty mapping name -> size or shape.")
    sizes = {}
    for name, size in model_or_sizes.items():
        if isinstance(size, Sequence):
            count = 1
            for dim in size:
                count *= check_int(f"a dimension of {name}", dim, low=0)
            size = count
        sizes[str(name)] = check_int(f"size of {name}", size, low=0)
    return sizes


def parameters_by_component(model_or_sizes: Any) -> pd.DataFrame:
    """Parameter count and share of each part of a transformer.

    Args:
        model_or_sizes: a torch module (its ``named_parameters``; a tied output head counts
            once, under the token embedding) or a mapping ``tensor name -> size or shape``.

    Returns:
        A DataFrame indexed by component (every part of :data:`COMPONENTS`, in order, zeros
        included) with columns ``parameters`` (int) and ``share`` (fraction of the total).
    """
    counts = dict.fromkeys((c for c, _ in COMPONENTS), 0)
    for name, size in _sizes(model_or_sizes).items():
        counts[component_of(name)] += size
    total = sum(counts.values())
    if total == 0:
        raise ValueError("The model has no parameters.")
    table = pd.DataFrame({"parameters": pd.Series(counts, dtype="int64")})
    table["share"] = table["parameters"] / total
    table.index.name = "component"
    return table


def kv_cache_values_per_token(layers: int, kv_heads: int, head_dim: int) -> int:
    """Numbers the KV cache stores per token of context: a key and a value vector of
    ``head_dim`` for every key/value head of every layer, ``2 * layers * kv_heads * head_dim``."""
    for name, value in (("layers", layers), ("kv_heads", kv_heads), ("head_dim", head_dim)):
        check_int(name, value, low=1)
    return 2 * layers * kv_heads * head_dim


def describe_llama(config: Any) -> dict[str, Any]:
    """Architecture facts of a ``transformers`` ``LlamaConfig`` (e.g. SmolLM2's), as a dict
    with the same keys as :func:`describe_tiny_gpt`."""
    heads, kv_heads = int(config.num_attention_heads), int(config.num_key_value_heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    return {
        "layers (blocks)": int(config.num_hidden_layers),
        "width d_model": int(config.hidden_size),
        "attention heads": heads,
        "key/value heads": kv_heads,
        "head size": head_dim,
        "MLP hidden size": int(config.intermediate_size),
        "MLP": f"SwiGLU ({config.hidden_act} gate)",
        "normalisation": "RMSNorm",
        "position information": "rotary (RoPE), no parameters",
        "vocabulary": int(config.vocab_size),
        "unit of text": "subword token (byte-level BPE)",
        "context window (trained)": int(config.max_position_embeddings),
        "output head tied to embedding": bool(getattr(config, "tie_word_embeddings", False)),
        "KV cache values per token": kv_cache_values_per_token(
            int(config.num_hidden_layers), kv_heads, head_dim),
    }


def describe_tiny_gpt(config: Any) -> dict[str, Any]:
    """Architecture facts of chapter 05's :class:`~course_utils.text.transformer.GPTConfig`."""
    heads = int(config.n_head)
    return {
        "layers (blocks)": int(config.n_layer),
        "width d_model": int(config.n_embd),
        "attention heads": heads,
        "key/value heads": heads,
        "head size": int(config.n_embd) // heads,
        "MLP hidden size": 4 * int(config.n_embd),
        "MLP": "GELU",
        "normalisation": "LayerNorm",
        "position information": "learned position embedding",
        "vocabulary": int(config.vocab_size),
        "unit of text": "character",
        "context window (trained)": int(config.block_size),
        "output head tied to embedding": True,
        "KV cache values per token": kv_cache_values_per_token(
            int(config.n_layer), heads, int(config.n_embd) // heads),
    }


def gguf_storage(path: str | Path | None = None) -> pd.DataFrame:
    """How a GGUF file stores each part of the model.

    Args:
        path: the GGUF file (default: SmolLM2's, :func:`course_utils.llm.engine.gguf_path`).

    Returns:
        One row per (component, storage type) with ``tensors``, ``parameters``, ``bytes``,
        ``bits per weight`` (8 * bytes / parameters: 4-bit blocks also store a scale and a
        minimum per 32 weights, so Q4_1 costs 5 bits) and ``float32 bytes`` (4 per weight).
    """
    from gguf import GGUFReader

    from course_utils.llm.engine import gguf_path

    path = Path(path) if path is not None else gguf_path()
    if not path.is_file():
        raise ValueError(f"No GGUF file at {path}.")
    rows = [{"component": component_of(t.name), "type": t.tensor_type.name,
             "parameters": int(t.n_elements), "bytes": int(t.n_bytes)}
            for t in GGUFReader(str(path)).tensors]
    table = (pd.DataFrame(rows).assign(tensors=1)
             .groupby(["component", "type"], sort=False)[["tensors", "parameters", "bytes"]]
             .sum())
    table["bits per weight"] = 8 * table["bytes"] / table["parameters"]
    table["float32 bytes"] = 4 * table["parameters"]
    return table


# --- held-out text ---------------------------------------------------------------------------

def held_out_passages(text: str, n: int = 6, length: int = 1500) -> list[str]:
    """``n`` passages of about ``length`` characters, evenly spaced through ``text``.

    Each passage starts at the beginning of a line and ends at the end of a word (at most
    ``length`` characters), so two models can be scored on exactly the same characters and a
    slice of a long text still covers its whole range of topics.

    Raises:
        ValueError: bad sizes, or ``n * length`` longer than the text.
    """
    check_text("text", text)
    check_int("n", n, low=1)
    check_int("length", length, low=50)
    if n * length > len(text):
        raise ValueError(f"{n} passages of {length} characters need {n * length} characters; "
                         f"the text has {len(text)}.")
    passages = []
    step = (len(text) - length) / max(n - 1, 1)  # >= length: passages never overlap
    slack = min(length // 4, int(step) - length) if n > 1 else length // 4
    for i in range(n):
        start = int(i * step)
        if start > 0 and text[start - 1] != "\n" and slack > 0:  # a line start, if one is near
            newline = text.find("\n", start, start + slack)
            start = newline + 1 if newline >= 0 else start
        chunk = text[start:start + length]
        if start + length < len(text) and not text[start + length].isspace():
            cut = max(chunk.rfind(" "), chunk.rfind("\n"))
            chunk = chunk[:cut] if cut > length // 2 else chunk
        passages.append(chunk)
    return passages


# --- a conversation --------------------------------------------------------------------------

class Conversation:
    """A chat history with SmolLM2 (or any model with the same interface).

    Each :meth:`send` builds the whole ChatML prompt again (system prompt, earlier turns, the
    new message; :func:`course_utils.llm.smollm2.chat_prompt`), so the model "remembers" only what is
    in that prompt. When the prompt and the answer would not fit the context window, the
    oldest exchanges are left out of the prompt (they stay in :attr:`history`).

    Args:
        model: needs ``complete(prompt, **settings) -> Completion``, ``count_tokens(text)`` and
            ``n_ctx`` (a :class:`course_utils.llm.smollm2.SmolLM2`).
        system: system prompt; ``None`` for SmolLM2's default
            (:data:`course_utils.llm.smollm2.DEFAULT_SYSTEM`), ``""`` (or blank) for none.
        max_message_chars: longest message accepted.
    """

    def __init__(self, model: Any, system: str | None = None,
                 max_message_chars: int = 2000) -> None:
        from course_utils.llm import smollm2

        missing = [a for a in ("complete", "count_tokens", "n_ctx") if not hasattr(model, a)]
        if missing:
            raise ValueError(f"model lacks {missing}: give a course_utils.llm.smollm2.SmolLM2.")
        self.model = model
        self.system = smollm2.DEFAULT_SYSTEM if system is None else system
        self.max_message_chars = check_int("max_message_chars", max_message_chars, low=1)
        self.history: list[dict[str, str]] = []  # user / assistant turns, oldest first
        self.left_out = 0  # exchanges not in the last prompt (context window full)
        self.last_prompt = ""

    @property
    def system(self) -> str | None:
        return self._system

    @system.setter
    def system(self, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise ValueError(f"system must be text or None, got {type(value).__name__}.")
        self._system = value if value and value.strip() else None

    def check_message(self, message: object) -> str:
        """The message, stripped; ``ValueError`` when empty or too long."""
        if not isinstance(message, str) or not message.strip():
            raise ValueError("The message is empty: type something to send.")
        message = message.strip()
        if len(message) > self.max_message_chars:
            raise ValueError(f"The message is too long: {len(message)} characters, the limit is "
                             f"{self.max_message_chars}. Shorten it.")
        return message

    def prompt_for(self, message: str, max_tokens: int) -> tuple[str, int]:
        """The prompt for ``message`` and how many old exchanges were left out to fit
        ``prompt tokens + max_tokens <= n_ctx``."""
        from course_utils.llm import smollm2

        message = self.check_message(message)
        check_int("max_tokens", max_tokens, low=1)
        pairs = len(self.history) // 2
        for left_out in range(pairs + 1):
            turns = self.history[2 * left_out:] + [{"role": "user", "content": message}]
            prompt = smollm2.chat_prompt(turns, system=self.system)
            if self.model.count_tokens(prompt) + max_tokens <= self.model.n_ctx:
                return prompt, left_out
        raise ValueError(f"The message with the system prompt takes "
                         f"{self.model.count_tokens(prompt)} tokens; with {max_tokens} tokens "
                         f"for the answer that is more than the context window of "
                         f"{self.model.n_ctx} tokens. Shorten the message or lower max tokens.")

    def send(self, message: str, *, max_tokens: int = 128, temperature: float = 0.0,
             seed: int | None = None, on_token: Callable[[str], None] | None = None,
             **settings: Any):
        """Send a user message; returns the model's :class:`~course_utils.llm.smollm2.Completion`.

        Args:
            message: the user's text.
            max_tokens, temperature, settings: passed to ``model.complete``.
            seed: sampling seed; ``None`` uses the turn number, so a conversation replays
                identically.
            on_token: called with each new piece of the answer (streaming).

        Raises:
            ValueError: empty or too-long message, bad settings, or no room in the window.
                The history is unchanged when anything fails.
        """
        message = self.check_message(message)
        check_float("temperature", temperature, low=0)
        prompt, left_out = self.prompt_for(message, max_tokens)
        seed = len(self.history) // 2 if seed is None else seed
        completion = self.model.complete(prompt, max_tokens=max_tokens, temperature=temperature,
                                         seed=seed, on_token=on_token, **settings)
        self.history += [{"role": "user", "content": message},
                         {"role": "assistant", "content": completion.text.strip()}]
        self.left_out, self.last_prompt = left_out, prompt
        return completion

    def reset(self) -> None:
        """Forget every turn (the system prompt stays)."""
        self.history, self.left_out, self.last_prompt = [], 0, ""

    def to_html(self, pending_user: str | None = None, pending: str | None = None) -> str:
        """The conversation as chat bubbles; ``pending_user`` / ``pending``: a turn still being
        answered (the answer so far)."""
        bubbles = []
        if self.system:
            bubbles.append(f"<div style='color:#666;font-size:90%'><i>system:</i> "
                           f"{html.escape(self.system)}</div>")
        if self.left_out:
            bubbles.append(f"<div style='color:#b06000;font-size:90%'>({self.left_out} earliest "
                           "exchange(s) no longer fit the context window and were left out of "
                           "the prompt)</div>")
        turns = list(self.history)
        if pending_user is not None:
            turns += [{"role": "user", "content": pending_user},
                      {"role": "assistant", "content": (pending or "") + "\u258c"}]
        for turn in turns:
            user = turn["role"] == "user"
            style = ("margin:4px 0 4px 15%;background:#e3eefa" if user
                     else "margin:4px 15% 4px 0;background:#f1f1f1")
            who = "you" if user else "SmolLM2"
            bubbles.append(f"<div style='{style};padding:6px 9px;border-radius:8px;"
                           f"white-space:pre-wrap'><b>{who}:</b> "
                           f"{html.escape(turn['content'])}</div>")
        if not turns:
            bubbles.append("<div style='color:#666'>(no messages yet)</div>")
        return ("<div style='max-width:720px;font-family:sans-serif;font-size:13px'>"
                + "".join(bubbles) + "</div>")


#: Decoding settings for the chat demos a learner meets first: sampling with a fixed seed per
#: turn and a mild repetition penalty. Greedy decoding of a 135M model can fall into a loop on
#: one llama.cpp build and not on another; these settings keep the answers varied on any build.
DEMO_SETTINGS = {"temperature": 0.7, "repeat_penalty": 1.15}


class ChatWidget:
    """A streaming chat panel: message box, Send, Reset, system prompt, temperature, max tokens.

    The answer streams into the transcript token by token (``on_token``). Bad input (an empty
    or too long message, a prompt that no longer fits) shows a message in the status line and
    the panel keeps working. ``panel`` is a :class:`course_utils.viz.widgets.SafePanel`; display the
    widget itself (``display(chat)`` or as a cell's last value).

    Args:
        model: a :class:`course_utils.llm.smollm2.SmolLM2`.
        system: the initial system prompt (``None``: SmolLM2's default).
        temperature: initial temperature (0 = greedy; above 0 each turn samples with the turn
            number as seed).
        repeat_penalty: initial penalty on tokens already in the context (1 = off; about 1.1
            keeps a small model out of repetition loops whatever the build's floating point).
        max_tokens: initial answer length limit.
        max_message_chars: longest message accepted.
    """

    def __init__(self, model: Any, system: str | None = None, temperature: float = 0.0,
                 max_tokens: int = 128, max_message_chars: int = 1000,
                 repeat_penalty: float = 1.0) -> None:
        import ipywidgets

        from course_utils.viz.widgets import SafePanel, float_slider, int_slider, text_box

        self.conversation = Conversation(model, system, max_message_chars)
        self.transcript = ipywidgets.HTML(self.conversation.to_html())
        message = ipywidgets.Textarea(value="", placeholder="Type a message, then press Send",
                                      description="message", rows=2,
                                      style={"description_width": "initial"},
                                      layout=ipywidgets.Layout(width="600px"))
        controls = {
            "message": message,
            "system": text_box("system prompt", self.conversation.system or "", max_length=2000),
            "temperature": float_slider("temperature (0 = greedy)", temperature, 0.0, 1.5,
                                        step=0.05),
            "repeat_penalty": float_slider("repetition penalty (1 = off)", repeat_penalty,
                                           1.0, 2.0, step=0.05),
            "max_tokens": int_slider("max tokens", max_tokens, 16, 512, step=16),
        }
        self.panel = SafePanel(controls, render=self._send, title="Chat with SmolLM2",
                               button="Send", render_now=False)
        self.reset_button = ipywidgets.Button(description="Reset")
        self.reset_button.on_click(lambda _: self.reset())
        children = list(self.panel.widget.children)  # [title, *controls, Send, status, output]
        send_at = children.index(self.panel.button)
        buttons = ipywidgets.HBox([self.panel.button, self.reset_button])
        self.panel.widget.children = ([children[0], self.transcript] + children[1:send_at]
                                      + [buttons] + children[send_at + 1:])
        self.widget = self.panel.widget
        self.last: Any = None  # the last Completion

    def _send(self, message: str, system: str, temperature: float, repeat_penalty: float,
              max_tokens: int):
        from IPython.display import HTML

        self.conversation.system = system
        text = self.conversation.check_message(message)
        pieces: list[str] = []

        def stream(piece: str) -> None:
            pieces.append(piece)
            self.transcript.value = self.conversation.to_html(text, "".join(pieces))

        try:
            self.last = self.conversation.send(text, max_tokens=max_tokens,
                                               temperature=temperature,
                                               repeat_penalty=repeat_penalty, on_token=stream)
        finally:
            self.transcript.value = self.conversation.to_html()
        self.panel.controls["message"].value = ""
        c = self.last
        ended = "ended its turn" if c.finish_reason == "stop" else "cut at max tokens"
        return HTML(f"<p style='color:#555'>{c.completion_tokens} tokens in {c.seconds:.1f} s "
                    f"({c.tokens_per_second:.0f} tokens/s), {ended}; the prompt had "
                    f"{c.prompt_tokens} of {self.conversation.model.n_ctx} tokens.</p>")

    def say(self, message: str) -> bool:
        """Type ``message`` and press Send (for scripted demos and tests); ``True`` on success."""
        self.panel.controls["message"].value = message
        return self.panel.update()

    def reset(self) -> None:
        """Forget the conversation and clear the panel."""
        self.conversation.reset()
        self.transcript.value = self.conversation.to_html()
        self.panel.status.value = ""
        self.panel.last_error = None
        self.panel.output.clear_output()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


# --- speed -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpeedTargets:
    """What "usable interactively" means for the course, on a 2-core CPU."""

    ready_s: float = 2.0          # model ready this many seconds after a first use ever
    tokens_per_s: float = 60.0    # generation speed of a chat answer


BENCHMARK_PROMPT = "Write a short story about a robot who learns to paint."


def measure_fast_path(n_threads: int, max_tokens: int = 64,
                      prompt: str = BENCHMARK_PROMPT) -> dict[str, Any]:
    """Load SmolLM2 on llama.cpp afresh and time it: ready time and greedy tokens/s.

    The engine caches of :mod:`course_utils.llm.smollm2` are cleared first, so this is a real load
    (the GGUF file is used as it is: the first load ever costs the same). One short warm-up
    answer precedes the timed one.
    """
    from course_utils.llm import engine, smollm2

    check_int("n_threads", n_threads, low=1, high=64)
    smollm2.load_smollm2.cache_clear()
    engine.load_llama.cache_clear()
    start = time.perf_counter()
    model = smollm2.load_smollm2(n_threads=n_threads)
    ready = time.perf_counter() - start
    model.chat("Hi", max_tokens=8)  # warm-up
    result = model.chat(prompt, max_tokens=max_tokens)
    return {"path": f"llama.cpp, 4-bit (Q4_1), {n_threads} thread(s)", "threads": n_threads,
            "first load ever (s)": ready, "cached load (s)": ready,
            "tokens/s": result.tokens_per_second, "tokens": result.completion_tokens}


def measure_inspection_path(n_threads: int | None = None, max_tokens: int = 32,
                            prompt: str = BENCHMARK_PROMPT,
                            first_load_s: float | None = None) -> dict[str, Any]:
    """Time the transformers path: a cached load (:func:`course_utils.llm.smollm2.load_hf_model`) and
    greedy tokens/s with ``model.generate``, after a 2-token warm-up.

    Args:
        n_threads: torch threads for the measurement (restored afterwards); ``None``: as set.
        max_tokens: length of the timed answer.
        prompt: the user message.
        first_load_s: the first-load-ever time, from :func:`first_load_seconds`, for the row.
    """
    import torch

    from course_utils.llm import smollm2

    check_int("max_tokens", max_tokens, low=1, high=512)
    before = torch.get_num_threads()
    threads = before if n_threads is None else check_int("n_threads", n_threads, low=1, high=64)
    torch.set_num_threads(threads)
    try:
        start = time.perf_counter()
        model, tokenizer = smollm2.load_hf_model()
        ready = time.perf_counter() - start
        smollm2.hf_generate(model, tokenizer, smollm2.chat_prompt("Hi"), max_new_tokens=2)  # warm-up
        result = smollm2.hf_generate(model, tokenizer, smollm2.chat_prompt(prompt),
                                 max_new_tokens=max_tokens)
    finally:
        torch.set_num_threads(before)
    return {"path": f"transformers, float32, {threads} thread(s)", "threads": threads,
            "first load ever (s)": first_load_s, "cached load (s)": ready,
            "tokens/s": result.tokens_per_second, "tokens": result.completion_tokens}


def first_load_seconds() -> float:
    """Seconds the inspection path needs the very first time: the GGUF is dequantized by
    ``transformers`` and cached as safetensors. Measured in a fresh temporary cache folder
    (``COURSE_CACHE_DIR``), which is removed afterwards; the real cache is left alone."""
    from course_utils.llm import smollm2

    old = os.environ.get("COURSE_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="course-first-load-") as folder:
        os.environ["COURSE_CACHE_DIR"] = folder
        smollm2.load_hf_tokenizer.cache_clear()
        try:
            start = time.perf_counter()
            smollm2.load_hf_model()
            return time.perf_counter() - start
        finally:
            if old is None:
                os.environ.pop("COURSE_CACHE_DIR", None)
            else:
                os.environ["COURSE_CACHE_DIR"] = old
            smollm2.load_hf_tokenizer.cache_clear()


def performance_table(rows: Sequence[Mapping[str, Any]],
                      targets: SpeedTargets = SpeedTargets()) -> pd.DataFrame:
    """The measurements as a table, with whether each path meets ``targets``
    (ready: the cached load, i.e. after the first use; speed: tokens/s)."""
    if not rows:
        raise ValueError("No measurements to tabulate.")
    table = pd.DataFrame(list(rows)).set_index("path")
    for column in ("cached load (s)", "tokens/s"):
        if column not in table:
            raise ValueError(f"Each row needs {column!r}.")
    table[f"ready <= {targets.ready_s:g} s"] = table["cached load (s)"] <= targets.ready_s
    table[f">= {targets.tokens_per_s:g} tokens/s"] = table["tokens/s"] >= targets.tokens_per_s
    return table
