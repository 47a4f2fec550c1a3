r"""Decoding: turning a language model's next-token distribution into text (chapter 06).

A language model maps a context :math:`x_{<t}` to logits :math:`z \in \mathbb{R}^V`, and
:math:`p(\cdot \mid x_{<t}) = \mathrm{softmax}(z)`. A *decoding strategy* chooses :math:`x_t`,
appends it, and repeats. One sampling step applies, in this order (as Hugging Face does):

1. repetition penalty (CTRL, Keskar et al. 2019), for every token id :math:`i` generated so far:
   :math:`z_i \leftarrow z_i / \theta` if :math:`z_i > 0`, else :math:`z_i \cdot \theta`;
2. temperature: :math:`z \leftarrow z / T` (:math:`T < 1` sharpens, :math:`T > 1` flattens);
3. top-k: keep the :math:`k` largest logits, set the others to :math:`-\infty`;
4. top-p (nucleus, Holtzman et al. 2020): keep the smallest set of most likely tokens whose
   probability sums to at least :math:`p`;
5. draw :math:`x_t \sim \mathrm{softmax}(z)` with a seeded ``numpy.random.Generator``.

**Greedy** takes :math:`x_t = \arg\max_i z_i` (after the penalty): the :math:`T \to 0` limit.
**Beam search** keeps the ``num_beams`` partial continuations with the highest
:math:`\sum_t \log p(x_t \mid x_{<t})` and returns the hypothesis with the best
length-normalised score :math:`\frac{1}{L^\alpha}\sum_{t=1}^{L} \log p(x_t \mid x_{<t})`.

Every :class:`Generation` records :math:`\log p(x_t \mid x_{<t})` of each generated token under
the *unmodified* model (:math:`T = 1`, no truncation, no penalty): the likelihood axis of the
chapter's diversity-likelihood trade-off. :func:`distinct_n` is the diversity axis.

One interface, :class:`LanguageModel`, drives the chapter-05 tiny GPT (:class:`TinyGPTModel`,
with a key/value cache) and SmolLM2 through llama.cpp (:class:`SmolLM2Model`).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from course_utils.core.validation import check_float, check_int, check_text

STRATEGIES = ("greedy", "sample", "beam")
MAX_NEW_TOKENS = 2000  # longest generation one call accepts
MAX_PROMPT_CHARS = 20_000  # longest prompt text accepted (before tokenization)
MAX_BEAMS = 32
_TOP_P_TOLERANCE = 1e-9  # a cumulative sum that misses p by float rounding still counts


class LanguageModel(ABC):
    """What a decoder needs from a model: text <-> ids and next-token logits.

    Attributes:
        name: shown in messages and tables.
        vocab_size: ``V``, the length of every logits vector.
        max_context: most prompt tokens the model reads; longer prompts are rejected.
        max_total: most prompt + generated tokens (``None``: the context window slides).
        stop_ids: ids that end a generation (end-of-text tokens).
        unit: what one token is, for messages ("characters", "tokens").
        batched: ``next_token_logits_batch`` is faster than a loop over sequences.
    """

    name: str = "model"
    vocab_size: int
    max_context: int
    max_total: int | None = None
    stop_ids: frozenset[int] = frozenset()
    unit: str = "tokens"
    batched: bool = False

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Text -> token ids (``ValueError`` for text the model cannot read)."""

    @abstractmethod
    def decode(self, ids: Sequence[int]) -> str:
        """Token ids -> text (stop tokens render as nothing)."""

    @abstractmethod
    def next_token_logits(self, ids: Sequence[int]) -> np.ndarray:
        """Logits ``(V,)`` for the token after ``ids``."""

    def next_token_logits_batch(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        """Logits ``(B, V)`` for the token after each sequence (default: a loop)."""
        return np.stack([self.next_token_logits(ids) for ids in batch])


class TinyGPTModel(LanguageModel):
    """The chapter-05 :class:`~course_utils.text.transformer.TinyGPT` behind :class:`LanguageModel`.

    ``TinyGPT.forward`` recomputes every position of the context for each new character. This
    adapter keeps each layer's keys and values (a *KV cache*, ``TinyGPT.prefill`` and
    ``TinyGPT.decode_step``), so extending the sequences of the previous call by one character
    costs one position, not up to 128. Once a sequence is longer than ``block_size`` the window
    slides, positions shift, and each step runs the full forward pass on the last 128 ids.
    """

    unit = "characters"
    batched = True

    def __init__(self, model, tokenizer, name: str = "tiny GPT") -> None:
        self.model, self.tokenizer, self.name = model, tokenizer, name
        self.vocab_size = tokenizer.vocab_size
        self.max_context = model.config.block_size
        self._keys: dict[tuple[int, ...], int] = {}  # cached sequence -> row of the cache
        self._cache: list[tuple[torch.Tensor, torch.Tensor]] = []  # per layer (B, nh, T, hs)
        self._weights = -1  # version of the weights the cache was computed with

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)  # names any character the model never saw

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(ids)

    def next_token_logits(self, ids: Sequence[int]) -> np.ndarray:
        return self.next_token_logits_batch([ids])[0]

    @torch.no_grad()
    def next_token_logits_batch(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        seqs = [[int(i) for i in ids] for ids in batch]
        if not seqs or any(not s for s in seqs):
            raise ValueError("Give at least one token of context (the prompt is empty).")
        model, T_max, length = self.model, self.model.config.block_size, len(seqs[0])
        was_training = model.training
        if was_training:
            model.eval()
        try:
            if any(len(s) != length for s in seqs) or length > T_max:  # no cache: full passes
                self._keys, self._cache = {}, []
                out = [model(torch.tensor([s[-T_max:]]))[0, -1] for s in seqs]
                return torch.stack(out).numpy().astype(np.float64)
            weights = sum(p._version for p in model.parameters())  # bumped by training steps
            rows = [self._keys.get(tuple(s[:-1])) for s in seqs]
            if length > 1 and None not in rows and weights == self._weights:
                logits = self._step(rows, torch.tensor([s[-1] for s in seqs]), length - 1)
            else:
                logits = self._prefill(torch.tensor(seqs))
            self._keys, self._weights = {tuple(s): r for r, s in enumerate(seqs)}, weights
            return logits.numpy().astype(np.float64)
        finally:
            if was_training:
                model.train()

    def _prefill(self, ids: torch.Tensor) -> torch.Tensor:
        """The prompts (B, T) through the model, keeping its KV cache; logits (B, V)."""
        logits, self._cache = self.model.prefill(ids)
        return logits

    def _step(self, rows: list[int], last: torch.Tensor, t: int) -> torch.Tensor:
        """One new position ``t`` per row of the cache (beam search may reorder or repeat
        rows); logits (B, V)."""
        if rows != list(range(len(self._cache[0][0]))):
            self._cache = [(k[rows], v[rows]) for k, v in self._cache]
        return self.model.decode_step(last, t, self._cache)


class SmolLM2Model(LanguageModel):
    """SmolLM2-135M-Instruct (llama.cpp, :class:`course_utils.llm.engine.LlamaLogits`).

    ``encode`` parses the chat markers (``<|im_start|>``, ``<|im_end|>``) as special tokens, so a
    prompt built by :meth:`chat_prompt` is what the instruct model was trained on; plain text
    works too. Generation stops at ``<|im_end|>`` or ``<|endoftext|>``. The engine's cache is
    one sequence, so sequences are decoded one after another (``batched = False``).
    """

    def __init__(self, llama_logits, name: str = "SmolLM2-135M") -> None:
        self.lm, self.name = llama_logits, name
        self.vocab_size = llama_logits.vocab_size
        self.max_context = self.max_total = llama_logits.n_ctx - 1
        self.stop_ids = frozenset({int(llama_logits.llama.token_eos()), 0})

    def encode(self, text: str) -> list[int]:
        return self.lm.tokenize(text, special=True)

    def decode(self, ids: Sequence[int]) -> str:
        return self.lm.detokenize([i for i in ids if i not in self.stop_ids])

    def next_token_logits(self, ids: Sequence[int]) -> np.ndarray:
        return self.lm.next_token_logits(ids).astype(np.float64)

    @staticmethod
    def chat_prompt(message: str, system: str | None = None) -> str:
        """``message`` as one user turn in the model's chat template, ready for its answer
        (:func:`course_utils.llm.smollm2.chat_prompt`, the course's one ChatML template;
        ``system=None`` uses its default system turn)."""
        from course_utils.llm.smollm2 import DEFAULT_SYSTEM, chat_prompt

        return chat_prompt(message, DEFAULT_SYSTEM if system is None else system)


# --- logits processing ----------------------------------------------------------------------

def _check_logits(logits: object) -> np.ndarray:
    """``logits`` as a float64 array with at least one entry on its last axis, or a clear error."""
    if logits is None or isinstance(logits, (str, bytes)):
        raise ValueError("logits must be numbers (an array of shape (V,) or (B, V)), got "
                         f"{type(logits).__name__}.")
    try:
        z = np.asarray(logits, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("logits must be numbers (an array of shape (V,) or (B, V)), got "
                         f"{type(logits).__name__}.") from None
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"logits must have at least one entry per row, got shape {z.shape}.")
    if np.isnan(z).any():
        raise ValueError("logits contain NaN: check the model's output.")
    return z


def softmax(logits: np.ndarray) -> np.ndarray:
    """``p_i = exp(z_i - max z) / sum_j exp(z_j - max z)``; ``-inf`` logits get probability 0."""
    z = _check_logits(logits)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """``log p_i = z_i - max z - log sum_j exp(z_j - max z)``."""
    z = _check_logits(logits)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _check_temperature(temperature: object) -> float:
    if isinstance(temperature, (int, float)) and not isinstance(temperature, bool) \
            and temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature:g}. Dividing logits by "
                         "T -> 0 puts all probability on the most likely token: that limit is "
                         "greedy decoding, use strategy='greedy' instead.")
    return check_float("temperature", temperature, low=0, low_inclusive=False, high=100)


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """``z / T``: the same as ``p_i^(1/T)`` renormalised."""
    return np.asarray(logits, dtype=np.float64) / _check_temperature(temperature)


def top_k_filter(logits: np.ndarray, k: int) -> np.ndarray:
    """Keep exactly the ``k`` largest logits (ties: lower id first), the rest -> ``-inf``."""
    z = np.asarray(logits, dtype=np.float64)
    k = check_int("top_k", k, low=1)
    keep = np.argsort(-z, kind="stable")[:k]
    out = np.full_like(z, -np.inf)
    out[keep] = z[keep]
    return out


def top_p_filter(logits: np.ndarray, p: float) -> np.ndarray:
    """Nucleus: the smallest set of most likely tokens with total probability ``>= p``."""
    p = check_float("top_p", p, low=0, low_inclusive=False, high=1)
    z = np.asarray(logits, dtype=np.float64)
    order = np.argsort(-z, kind="stable")
    cumulative = np.cumsum(softmax(z)[order])
    n_keep = min(int(np.searchsorted(cumulative, p - _TOP_P_TOLERANCE)) + 1, len(z))
    out = np.full_like(z, -np.inf)
    out[order[:n_keep]] = z[order[:n_keep]]
    return out


def apply_repetition_penalty(logits: np.ndarray, previous: Sequence[int],
                             penalty: float) -> np.ndarray:
    """CTRL: for each id in ``previous``, ``z / theta`` if ``z > 0`` else ``z * theta``."""
    penalty = check_float("repetition_penalty", penalty, low=1, high=10)
    out = np.array(logits, dtype=np.float64)
    if penalty != 1 and len(previous):
        ids = np.unique(np.asarray(previous, dtype=np.int64))
        z = out[ids]
        out[ids] = np.where(z > 0, z / penalty, z * penalty)
    return out


@dataclass(frozen=True)
class DecodingSettings:
    """Every decoding choice, checked once. ``top_k=None`` / ``top_p=None`` switch those off;
    temperature, top-k and top-p apply to ``"sample"`` only; the penalty applies to all."""

    strategy: str = "sample"
    max_new_tokens: int = 100
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float = 1.0
    num_beams: int = 4
    length_penalty: float = 1.0  # alpha in sum(log p) / L^alpha (beam search)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}.")
        check_int("max_new_tokens", self.max_new_tokens, low=1, high=MAX_NEW_TOKENS)
        _check_temperature(self.temperature)
        if self.top_k is not None:
            try:
                check_int("top_k", self.top_k, low=1)
            except ValueError:
                raise ValueError(f"top_k must be an integer >= 1 (the number of most likely "
                                 f"tokens kept), got {self.top_k!r}; top_k=None switches it "
                                 "off.") from None
        if self.top_p is not None:
            value = check_float("top_p", self.top_p)
            if not 0 < value <= 1:
                raise ValueError(f"top_p must be in (0, 1] (the probability mass kept), got "
                                 f"{value:g}; top_p=1 or None switches it off.")
        check_float("repetition_penalty", self.repetition_penalty, low=1, high=10)
        check_int("num_beams", self.num_beams, low=1, high=MAX_BEAMS)
        check_float("length_penalty", self.length_penalty, low=0, high=5)


def process_logits(logits: np.ndarray, generated: Sequence[int],
                   settings: DecodingSettings) -> np.ndarray:
    """Steps 1-4 of the module docstring: penalty, temperature, top-k, top-p."""
    z = apply_repetition_penalty(logits, generated, settings.repetition_penalty)
    z = apply_temperature(z, settings.temperature)
    if settings.top_k is not None:
        z = top_k_filter(z, settings.top_k)
    if settings.top_p is not None:
        z = top_p_filter(z, settings.top_p)
    return z


def draw(probs: np.ndarray, rng: np.random.Generator) -> int:
    """One token from ``probs`` by inversion: the first ``i`` with ``cumsum(p)_i > u``."""
    cumulative = np.cumsum(probs)
    u = rng.random() * cumulative[-1]
    return min(int(np.searchsorted(cumulative, u, side="right")), len(probs) - 1)


# --- generation ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Generation:
    """One decoded continuation. ``logprobs[t] = log p(x_t | x_<t)`` (natural log) under the
    unmodified model; a final stop token is in ``token_ids`` but not in ``text``."""

    prompt: str
    text: str
    token_ids: list[int]
    logprobs: list[float]
    settings: DecodingSettings
    seed: int | None
    stopped: bool = False  # ended on a stop token
    seconds: float = 0.0  # wall time (decoded in a batch: the batch's time / its size)
    score: float | None = None  # beam search: the length-normalised score it was chosen by

    @property
    def mean_logprob(self) -> float:
        """Mean log-likelihood per token at T = 1 (nats); higher = more typical for the model."""
        return float(np.mean(self.logprobs))

    @property
    def tokens_per_second(self) -> float:
        return len(self.token_ids) / self.seconds if self.seconds > 0 else float("inf")


def _settings(settings: dict) -> DecodingSettings:
    unknown = sorted(set(settings) - set(DecodingSettings.__dataclass_fields__))
    if unknown:
        raise ValueError(f"Unknown setting(s) {unknown}; the settings are "
                         f"{sorted(DecodingSettings.__dataclass_fields__)}.")
    return DecodingSettings(**settings)


def _prompt_ids(model: LanguageModel, prompt: object, settings: DecodingSettings) -> list[int]:
    prompt = check_text("prompt", prompt, max_length=MAX_PROMPT_CHARS)
    ids = model.encode(prompt)
    if not ids:
        raise ValueError("The prompt encodes to no tokens: type some text first.")
    if len(ids) > model.max_context:
        raise ValueError(
            f"The prompt is {len(ids)} {model.unit} long but {model.name} reads at most "
            f"{model.max_context}: it would silently ignore the first "
            f"{len(ids) - model.max_context}. Shorten the prompt (e.g. keep its last "
            f"{model.max_context} {model.unit}).")
    if model.max_total is not None and len(ids) + settings.max_new_tokens > model.max_total:
        raise ValueError(f"Prompt ({len(ids)} {model.unit}) + max_new_tokens "
                         f"({settings.max_new_tokens}) exceeds {model.name}'s window of "
                         f"{model.max_total}; shorten one of them.")
    return ids


def generate(model: LanguageModel, prompt: str, *, seed: int | None = 0,
             on_token: Callable[[str], None] | None = None, **settings) -> Generation:
    """Continue ``prompt`` with one decoding strategy.

    Args:
        model: any :class:`LanguageModel`.
        prompt: the text to continue (non-empty, within the model's context).
        seed: seeds ``numpy.random.default_rng`` for sampling (same seed, same text).
        on_token: called with the continuation so far after every step (beam search: the
            current best beam), e.g. to stream into a widget.
        **settings: fields of :class:`DecodingSettings` (strategy, max_new_tokens,
            temperature, top_k, top_p, repetition_penalty, num_beams, length_penalty).

    Raises:
        ValueError: for any bad setting or prompt, with a message saying what to change.
    """
    config = _settings(settings)
    if seed is not None:
        check_int("seed", seed, low=0)
    if config.strategy == "beam":
        return _beam_search(model, [prompt], config, on_token)[0]
    return _sample(model, [prompt], config, [seed], on_token)[0]


def generate_many(model: LanguageModel, prompts: Sequence[str], *, seed: int = 0,
                  **settings) -> list[Generation]:
    """``[generate(model, prompts[i], seed=seed + i, **settings) for i ...]``, decoded in one
    logits batch per step when the model is batched (the tiny GPT)."""
    config = _settings(settings)
    check_int("seed", seed, low=0)
    if isinstance(prompts, str) or not prompts:
        raise ValueError("prompts must be a non-empty list of texts.")
    if not model.batched:
        return [generate(model, p, seed=seed + i, **settings) for i, p in enumerate(prompts)]
    if config.strategy == "beam":
        return _beam_search(model, list(prompts), config, None)
    return _sample(model, list(prompts), config, [seed + i for i in range(len(prompts))], None)


def _sample(model: LanguageModel, prompts: list[str], config: DecodingSettings,
            seeds: list[int | None], on_token: Callable[[str], None] | None) -> list[Generation]:
    """Greedy or sampling for several prompts in lock step (one logits batch per step)."""
    start = time.perf_counter()
    contexts = [_prompt_ids(model, p, config) for p in prompts]
    rngs = [np.random.default_rng(s) for s in seeds]
    new: list[list[int]] = [[] for _ in prompts]
    logprobs: list[list[float]] = [[] for _ in prompts]
    stopped = [False] * len(prompts)
    for _ in range(config.max_new_tokens):
        active = [i for i in range(len(prompts)) if not stopped[i]]
        if not active:
            break
        batch = model.next_token_logits_batch([contexts[i] + new[i] for i in active])
        for i, logits in zip(active, batch):
            if config.strategy == "greedy":
                z = apply_repetition_penalty(logits, new[i], config.repetition_penalty)
                token = int(np.argmax(z))
            else:
                token = draw(softmax(process_logits(logits, new[i], config)), rngs[i])
            new[i].append(token)
            logprobs[i].append(float(log_softmax(logits)[token]))
            stopped[i] = token in model.stop_ids
        if on_token is not None:
            on_token(model.decode(new[0]))
    seconds = (time.perf_counter() - start) / len(prompts)
    return [Generation(prompt=p, text=model.decode(new[i]), token_ids=new[i],
                       logprobs=logprobs[i], settings=config, seed=seeds[i],
                       stopped=stopped[i], seconds=seconds) for i, p in enumerate(prompts)]


def _beam_search(model: LanguageModel, prompts: list[str], config: DecodingSettings,
                 on_token: Callable[[str], None] | None) -> list[Generation]:
    """Per prompt, keep the ``num_beams`` best partial continuations by summed (penalised)
    log-prob; finished ones (stop token, or the length limit) compete by ``sum / L^alpha``.
    The beams of all prompts share one logits batch per step."""
    start = time.perf_counter()
    contexts = [_prompt_ids(model, p, config) for p in prompts]
    B, alpha, n = config.num_beams, config.length_penalty, len(prompts)
    beams = [[(0.0, [], [])] for _ in prompts]  # per prompt: (sum, ids, raw logprobs)
    finished: list[list[tuple[float, list[int], list[float]]]] = [[] for _ in prompts]
    for _ in range(config.max_new_tokens):
        flat = [(i, b) for i in range(n) for b in range(len(beams[i]))]
        if not flat:
            break
        batch = model.next_token_logits_batch([contexts[i] + beams[i][b][1] for i, b in flat])
        candidates: list[list[tuple[float, int, int, float]]] = [[] for _ in prompts]
        for (i, b), logits in zip(flat, batch):
            total, ids, _ = beams[i][b]
            lp = log_softmax(apply_repetition_penalty(logits, ids, config.repetition_penalty))
            raw = log_softmax(logits)
            for token in np.argsort(-lp, kind="stable")[:B]:
                candidates[i].append((total + lp[token], b, int(token), float(raw[token])))
        for i in {i for i, _ in flat}:
            survivors = []
            for total, b, token, raw_lp in sorted(candidates[i], key=lambda c: (-c[0], c[1:])):
                ids, lps = beams[i][b][1] + [token], beams[i][b][2] + [raw_lp]
                if token in model.stop_ids:
                    finished[i].append((total / len(ids) ** alpha, ids, lps))
                else:
                    survivors.append((total, ids, lps))
                if len(survivors) == B:
                    break
            beams[i] = survivors if len(finished[i]) < B else []  # B finished: done
        if on_token is not None and beams[0]:
            on_token(model.decode(beams[0][0][1]))
    seconds = (time.perf_counter() - start) / n
    results = []
    for i, prompt in enumerate(prompts):  # beams still alive hit the length limit
        pool = finished[i] + [(t / len(ids) ** alpha, ids, lps) for t, ids, lps in beams[i]]
        score, ids, lps = max(pool, key=lambda f: f[0])
        results.append(Generation(prompt=prompt, text=model.decode(ids), token_ids=ids,
                                  logprobs=lps, settings=config, seed=None,
                                  stopped=ids[-1] in model.stop_ids, seconds=seconds,
                                  score=float(score)))
    return results


# --- metrics ---------------------------------------------------------------------------------

def distinct_n(texts: str | Sequence[str], n: int = 2, unit: str = "word") -> float:
    """Distinct-n (Li et al. 2016): unique n-grams / all n-grams, pooled over ``texts``.

    Args:
        texts: one text or several (n-grams never cross from one text to the next).
        n: n-gram length.
        unit: ``"word"`` (whitespace-separated words, case kept, punctuation part of the word)
            or ``"char"`` (every character, spaces and newlines included).

    Returns:
        A number in (0, 1]; 1 means no n-gram repeats.
    """
    check_int("n", n, low=1, high=20)
    if unit not in ("word", "char"):
        raise ValueError(f"unit must be 'word' or 'char', got {unit!r}.")
    texts = [texts] if isinstance(texts, str) else list(texts)
    grams = []
    for text in texts:
        items = check_text("text", text, allow_empty=True)
        items = items.split() if unit == "word" else list(items)
        grams += [tuple(items[i:i + n]) for i in range(len(items) - n + 1)]
    if not grams:
        raise ValueError(f"No {unit} {n}-grams: the texts are shorter than {n} {unit}s.")
    return len(set(grams)) / len(grams)


def token_logprobs(model: LanguageModel, prompt: str, continuation: str) -> np.ndarray:
    """``log p(x_t | prompt, x_<t)`` at T = 1 for each token of ``continuation`` (teacher
    forcing). The two parts are tokenized separately, exactly as :func:`generate` does."""
    context = _prompt_ids(model, prompt, DecodingSettings(max_new_tokens=1))
    target = model.encode(check_text("continuation", continuation))
    out = np.empty(len(target))
    for t, token in enumerate(target):
        out[t] = log_softmax(model.next_token_logits(context + target[:t]))[token]
    return out


def mean_log_likelihood(model: LanguageModel, prompt: str, continuation: str) -> float:
    """Mean log-likelihood per token (nats) of ``continuation`` after ``prompt`` at T = 1."""
    return float(np.mean(token_logprobs(model, prompt, continuation)))
