"""A statistical text watermark: the green-list scheme of Kirchenbauer et al. (2023) (chapter 54).

At each step the previous token ``x_{t-1}`` and a secret key seed a random split of the
vocabulary into a *green* list (a share ``gamma`` of the tokens) and a red list. Generation
adds ``delta`` to the logits of the green tokens, so green tokens are chosen more often
than their share; text written without the key is green at rate ``gamma`` by chance.
Detection needs only the key and the text: with ``|s|_G`` green tokens among ``T`` scored ones,

    z = (|s|_G - gamma T) / sqrt(T gamma (1 - gamma))

is approximately standard normal for unwatermarked text, so ``z > 4`` flags a watermark
with a false-positive rate of about 3 in 100,000 - and longer texts give larger ``z``.

:class:`WatermarkedModel` wraps any :class:`~course_utils.text.decoding.LanguageModel`, so
every decoding strategy of chapter 06 can write watermarked text.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from course_utils.core.validation import check_float, check_int
from course_utils.text.decoding import LanguageModel


@dataclass(frozen=True)
class WatermarkKey:
    """The secret and the two knobs of the scheme."""

    secret: int = 15485863   # seeds the green lists; whoever holds it can detect
    gamma: float = 0.5       # share of the vocabulary that is green
    delta: float = 2.0       # logit bonus of green tokens during generation
    context: int = 1         # h: how many previous tokens seed the green list

    def __post_init__(self) -> None:
        check_int("secret", self.secret, low=0)
        check_float("gamma", self.gamma, low=0, high=1, low_inclusive=False,
                    high_inclusive=False)
        check_float("delta", self.delta, low=0, high=50)
        check_int("context", self.context, low=1, high=16)


def green_list(previous: Sequence[int], vocab_size: int, key: WatermarkKey) -> np.ndarray:
    """Boolean mask ``(V,)`` of the green tokens after the last ``key.context`` tokens
    ``previous`` (fewer at the start of a text); read-only, cached for generation and
    detection alike."""
    return _green_list(tuple(int(i) for i in previous), int(vocab_size), key)


@lru_cache(maxsize=1 << 16)
def _green_list(previous: tuple[int, ...], vocab_size: int, key: WatermarkKey) -> np.ndarray:
    seed = zlib.crc32(f"{key.secret}:{','.join(str(i) for i in previous)}".encode())
    order = np.random.default_rng(seed).permutation(vocab_size)
    mask = np.zeros(vocab_size, dtype=bool)
    mask[order[:int(round(key.gamma * vocab_size))]] = True
    mask.setflags(write=False)
    return mask


class WatermarkedModel(LanguageModel):
    """``model`` with ``delta`` added to the logits of the green list of the last token."""

    def __init__(self, model: LanguageModel, key: WatermarkKey = WatermarkKey()) -> None:
        self.model, self.key = model, key
        self.name = f"{model.name} + watermark (delta={key.delta:g})"
        self.vocab_size, self.max_context = model.vocab_size, model.max_context
        self.max_total, self.stop_ids = model.max_total, model.stop_ids
        self.unit, self.batched = model.unit, model.batched

    def encode(self, text: str) -> list[int]:
        return self.model.encode(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self.model.decode(ids)

    def next_token_logits(self, ids: Sequence[int]) -> np.ndarray:
        return self.next_token_logits_batch([ids])[0]

    def next_token_logits_batch(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        logits = np.array(self.model.next_token_logits_batch(batch), dtype=np.float64)
        for row, ids in enumerate(batch):
            green = green_list(ids[-self.key.context:], self.vocab_size, self.key)
            logits[row] += self.key.delta * green
        return logits


def logits_processor(vocab_size: int, key: WatermarkKey = WatermarkKey()):
    """The same watermark as a llama.cpp logits processor, for SmolLM2 (chapter 60).

    Returns a function ``(ids (N,), logits (V,)) -> logits`` for
    ``SmolLM2.complete(..., logits_processor=[...])``: ``ids`` are the prompt and the tokens
    generated so far, and the green list of their last ``key.context`` tokens gets ``delta``.
    """
    vocab_size = check_int("vocab_size", vocab_size, low=2)

    def add_delta(ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
        green = green_list(ids[-key.context:], vocab_size, key)
        return logits + key.delta * green[:len(logits)]

    return add_delta


@dataclass(frozen=True)
class Detection:
    """The watermark test of one text."""

    scored: int    # T: tokens scored (after the first; repeats skipped when unique)
    green: int     # |s|_G
    z: float       # the z-score of the module docstring

    def flagged(self, threshold: float = 4.0) -> bool:
        """``z > threshold``; the threshold must lie in (0, 40] (4 = a false-positive rate of
        about 3 in 100,000 for unwatermarked text)."""
        threshold = check_float("z threshold", threshold, low=0, high=40, low_inclusive=False)
        return self.z > threshold


def detect(ids: Sequence[int], vocab_size: int, key: WatermarkKey = WatermarkKey(),
           unique: bool = True) -> Detection:
    """Count green tokens of ``ids`` (each judged by the green list of the ``key.context``
    tokens before it).

    With ``unique`` (the default), a (context, token) pair that occurs again is scored only
    once: repeated n-grams are not independent evidence, and on low-entropy text (characters,
    code) they inflate ``z`` without any watermark (Kirchenbauer et al. 2023, section 7).

    Raises:
        ValueError: fewer than two tokens, or ids outside the vocabulary.
    """
    ids = [int(i) for i in ids]
    if len(ids) < 2:
        raise ValueError("need at least two tokens to test for a watermark.")
    if min(ids) < 0 or max(ids) >= vocab_size:
        raise ValueError(f"token ids must lie in 0..{vocab_size - 1}.")
    h = key.context
    seen: set[tuple[int, ...]] = set()
    green = scored = 0
    for t in range(1, len(ids)):
        previous = tuple(ids[max(0, t - h):t])
        if unique:
            if previous + (ids[t],) in seen:
                continue
            seen.add(previous + (ids[t],))
        green += bool(green_list(previous, vocab_size, key)[ids[t]])
        scored += 1
    t, g = scored, key.gamma
    return Detection(t, green, float((green - g * t) / np.sqrt(t * g * (1 - g))))


def substitute(text: str, fraction: float, alphabet: Sequence[str], seed: int = 0) -> str:
    """An editing attack: replace a ``fraction`` of the characters of ``text`` by random
    characters of ``alphabet`` (each edit changes two green-list decisions)."""
    fraction = check_float("fraction", fraction, low=0, high=1)
    if not alphabet:
        raise ValueError("alphabet is empty.")
    rng = np.random.default_rng(seed)
    chars = list(text)
    for i in rng.choice(len(chars), int(round(fraction * len(chars))), replace=False):
        chars[i] = alphabet[rng.integers(len(alphabet))]
    return "".join(chars)
