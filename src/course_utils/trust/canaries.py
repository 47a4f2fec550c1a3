"""Canaries: random secrets planted in training text, and how much a model gives away (chapter 53).

The Secret Sharer test (Carlini et al. 2019). A *canary* is a sentence with a random secret,
``"the door code of room 417 is 8035."``, inserted ``r`` times into the training text. After
training, every possible secret ``s`` in the space ``R`` (here all ``10^d`` digit strings) is
ranked by the model's log-likelihood after the canary's prefix. The **exposure** of the true
secret is

    exposure = log2 |R| - log2 rank(secret)

so 0 bits for the least likely candidate, about ``log2 e = 1.44`` bits on average for a secret
the model never saw, and ``log2 |R|`` when the secret is the model's first choice. A canary
is **extracted** when greedy decoding after the prefix writes exactly its secret.

The ranks are exact: the log-likelihood of every candidate is a sum along a tree of digit
prefixes, ``log p(s) = sum_k log p(s_k | prefix, s_<k)``, which needs the model's next-digit
distribution at ``1 + 10 + ... + 10^(d-1)`` contexts, evaluated in batches per depth.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from course_utils.core.validation import check_int, check_text

DIGITS = "0123456789"
MAX_DIGITS = 6  # 10^6 candidates: ~111k contexts to score, still seconds for the tiny GPT


@dataclass(frozen=True)
class Canary:
    """One planted secret: ``prefix + secret + "."``, inserted ``repeats`` times."""

    prefix: str   # e.g. "the door code of room 417 is "
    secret: str   # d random digits
    repeats: int  # copies in the training text (0 = a control the model never saw)

    @property
    def text(self) -> str:
        return f"{self.prefix}{self.secret}."


def make_canaries(repeats: Sequence[int] = (0, 1, 2, 4, 8, 16, 32), per_level: int = 4,
                  digits: int = 4, seed: int = 0) -> list[Canary]:
    """``per_level`` canaries for each repetition count, each with its own room number and a
    uniformly random secret of ``digits`` digits."""
    digits = check_int("digits", digits, low=1, high=MAX_DIGITS)
    per_level = check_int("per_level", per_level, low=1, high=100)
    levels = [check_int("repeats", r, low=0, high=10_000) for r in repeats]
    if not levels:
        raise ValueError("give at least one repetition count.")
    rng = random.Random(seed)
    rooms = rng.sample(range(100, 1000), per_level * len(levels))
    canaries = []
    for i, r in enumerate(level for level in levels for _ in range(per_level)):
        secret = "".join(rng.choice(DIGITS) for _ in range(digits))
        canaries.append(Canary(f"the door code of room {rooms[i]} is ", secret, r))
    return canaries


def insert_canaries(text: str, canaries: Sequence[Canary], seed: int = 0) -> str:
    """``text`` with each canary's sentence inserted ``repeats`` times, each copy as its own
    paragraph at a random paragraph boundary (``"\\n\\n"``) of the text."""
    check_text("text", text)
    paragraphs = text.split("\n\n")
    copies = [c.text for c in canaries for _ in range(c.repeats)]
    rng = random.Random(seed)
    slots = sorted(rng.randrange(len(paragraphs) + 1) for _ in copies)
    rng.shuffle(copies)
    out, k = [], 0
    for i, paragraph in enumerate(paragraphs + [None]):
        while k < len(slots) and slots[k] == i:
            out.append(copies[k])
            k += 1
        if paragraph is not None:
            out.append(paragraph)
    return "\n\n".join(out)


def deduplicate_lines(text: str, min_chars: int = 20) -> tuple[str, int]:
    """Exact line deduplication, the simplest mitigation: every line of at least ``min_chars``
    characters is kept only at its first occurrence. Returns ``(text, lines removed)``."""
    check_text("text", text)
    min_chars = check_int("min_chars", min_chars, low=1)
    seen: set[str] = set()
    kept, removed = [], 0
    for line in text.split("\n"):
        key = line.strip()
        if len(key) >= min_chars and key in seen:
            removed += 1
            continue
        seen.add(key)
        kept.append(line)
    return "\n".join(kept), removed


@torch.no_grad()
def secret_log_probs(model, tokenizer, prefix: str, digits: int,
                     batch_size: int = 2048) -> np.ndarray:
    """Log-likelihood (nats) of every ``digits``-digit secret after ``prefix``.

    Returns:
        ``(10 ** digits,)`` array; entry ``i`` scores the secret ``f"{i:0{digits}d}"``.
    """
    digits = check_int("digits", digits, low=1, high=MAX_DIGITS)
    check_text("prefix", prefix)
    block = model.config.block_size
    digit_ids = torch.tensor(tokenizer.encode(DIGITS))
    prefix_ids = tokenizer.encode(prefix)
    was_training = model.training
    model.eval()
    totals = torch.zeros(1)  # log p of every digit string of the current depth
    for depth in range(digits):
        # every context of this depth: prefix + each of the 10^depth digit strings
        n = 10 ** depth
        strings = torch.tensor(np.indices((10,) * depth).reshape(depth, -1).T
                               if depth else np.zeros((1, 0), dtype=int))  # (n, depth)
        contexts = torch.cat([torch.tensor(prefix_ids).expand(n, -1),
                              digit_ids[strings]], dim=1)[:, -block:]  # (n, <= T)
        step = torch.empty(n, 10)
        for start in range(0, n, batch_size):
            logits = model(contexts[start:start + batch_size])[:, -1]  # (b, V)
            step[start:start + batch_size] = torch.log_softmax(logits, -1)[:, digit_ids]
        totals = (totals[:, None] + step).reshape(-1)  # (10^(depth+1),) in lexical order
    model.train(was_training)
    return totals.numpy().astype(np.float64)


@dataclass(frozen=True)
class CanaryResult:
    """What a model reveals about one canary."""

    canary: Canary
    rank: int          # 1 = the model's most likely secret
    exposure: float    # log2 |R| - log2 rank, bits
    extracted: bool    # greedy decoding after the prefix writes the secret


def probe_canary(model, tokenizer, canary: Canary) -> CanaryResult:
    """Rank, exposure and greedy extraction of ``canary`` under ``model``."""
    d = len(canary.secret)
    scores = secret_log_probs(model, tokenizer, canary.prefix, d)
    target = scores[int(canary.secret)]
    rank = int((scores > target).sum()) + 1  # ties broken in the secret's favour
    # greedy: at each depth the best next digit given the digits chosen so far
    was_training = model.training
    model.eval()  # no dropout while decoding
    try:
        best = _greedy_secret(model, tokenizer, canary.prefix, d)
    finally:
        model.train(was_training)
    return CanaryResult(canary, rank, float(d * np.log2(10) - np.log2(rank)),
                        best == canary.secret)


@torch.no_grad()
def _greedy_secret(model, tokenizer, prefix: str, digits: int) -> str:
    """The digits greedy decoding writes after ``prefix`` (restricted to digits)."""
    digit_ids = tokenizer.encode(DIGITS)
    ids = tokenizer.encode(prefix)
    block = model.config.block_size
    out = ""
    for _ in range(digits):
        logits = model(torch.tensor([ids[-block:]]))[0, -1]
        choice = int(torch.argmax(logits[digit_ids]))
        out += DIGITS[choice]
        ids.append(digit_ids[choice])
    return out
