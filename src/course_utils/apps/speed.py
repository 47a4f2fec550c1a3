"""Timing generation: the KV cache against recomputation, threads, and a robust timer (chapter 62).

Greedy decoding of the tiny GPT two ways, with the same arithmetic per position:

- :func:`greedy_recompute` - every step runs the whole prefix ``x_0..x_t`` through the model
  (``TinyGPT.forward``): step ``t`` costs ``O(t)`` positions, ``n`` new tokens ``O(n^2)``;
- :func:`greedy_cached` - :meth:`TinyGPT.prefill` once, then :meth:`TinyGPT.decode_step` per
  token, which computes keys and values for the *new* position only and reads the earlier
  ones from the cache: ``O(1)`` positions per step (attention still reads ``t`` cached keys).

Both return the same tokens up to float rounding (the cache only avoids repeated work).
:func:`best_time` takes the fastest of a few runs, the least disturbed by other processes on
a shared machine; :func:`torch_threads` sets PyTorch's thread count and restores it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from course_utils.core.validation import check_int


@dataclass(frozen=True)
class GreedyRun:
    """Tokens ``(B, n_new)`` generated greedily, their logits ``(B, n_new, V)``, wall seconds."""

    tokens: torch.Tensor
    logits: torch.Tensor
    seconds: float


def _check_prompt(model, ids: object, n_new: object) -> tuple[torch.Tensor, int]:
    if (
        not isinstance(ids, torch.Tensor)
        or ids.dtype != torch.long
        or ids.ndim != 2
        or ids.shape[1] == 0
    ):
        raise ValueError("ids must be a long tensor of prompt ids, shape (B, T) with T >= 1.")
    room = model.config.block_size - ids.shape[1]
    if room < 1:
        raise ValueError(
            f"The prompt fills the context ({ids.shape[1]} of "
            f"{model.config.block_size} positions): shorten it."
        )
    n_new = check_int("n_new", n_new, low=1, high=room)
    return ids, n_new


@torch.no_grad()
def greedy_recompute(model, ids: torch.Tensor, n_new: int) -> GreedyRun:
    """Greedy decoding without a cache: the full prefix through ``model`` at every step.

    Args:
        model: a tiny GPT (put in eval mode here).
        ids: prompts ``(B, T)``; ``T + n_new <= block_size`` (no sliding window).
        n_new: tokens to generate.
    """
    ids, n_new = _check_prompt(model, ids, n_new)
    model.eval()
    start = time.perf_counter()
    seq, steps = ids, []
    for _ in range(n_new):
        logits = model(seq)[:, -1]  # (B, V): all T + t positions recomputed
        steps.append(logits)
        seq = torch.cat([seq, logits.argmax(-1, keepdim=True)], dim=1)
    seconds = time.perf_counter() - start
    return GreedyRun(seq[:, ids.shape[1] :], torch.stack(steps, 1), seconds)


@torch.no_grad()
def greedy_cached(model, ids: torch.Tensor, n_new: int) -> GreedyRun:
    """Greedy decoding with the KV cache: ``prefill`` once, then one ``decode_step`` a token."""
    ids, n_new = _check_prompt(model, ids, n_new)
    model.eval()
    start = time.perf_counter()
    logits, cache = model.prefill(ids)  # (B, V), keys/values of the prompt
    steps, new = [logits], [logits.argmax(-1)]
    for t in range(ids.shape[1], ids.shape[1] + n_new - 1):
        logits = model.decode_step(new[-1], t, cache)  # one position of work per layer
        steps.append(logits)
        new.append(logits.argmax(-1))
    seconds = time.perf_counter() - start
    return GreedyRun(torch.stack(new, 1), torch.stack(steps, 1), seconds)


def best_time(fn: Callable[[], Any], repeats: int = 3) -> tuple[float, Any]:
    """``(fastest wall seconds over repeats, the last result)`` of calling ``fn()``."""
    repeats = check_int("repeats", repeats, low=1, high=100)
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


@contextmanager
def torch_threads(n: int) -> Iterator[int]:
    """Run the ``with`` body with ``torch.set_num_threads(n)``; the old count comes back after."""
    n = check_int("threads", n, low=1, high=256)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


def llama_tokens_per_second(
    llama, prompt_ids: list[int], max_tokens: int = 32, budget_s: float = 3.0
) -> tuple[float, int]:
    """Greedy llama.cpp generation speed, stopped after ``max_tokens`` or ``budget_s`` seconds.

    The time budget keeps a slow setting (e.g. more threads than free cores on a shared
    machine, where llama.cpp's threads wait on each other) from stalling a notebook.

    Returns:
        ``(tokens per second, tokens generated)``, prompt processing included in the time.
    """
    from course_utils.core.validation import check_float

    max_tokens = check_int("max_tokens", max_tokens, low=1, high=1024)
    budget_s = check_float("budget_s", budget_s, low=0, low_inclusive=False)
    if not prompt_ids:
        raise ValueError("prompt_ids is empty: tokenize a prompt first.")
    count = [0]

    def counter(_ids, logits):  # once per sampled token: an exact count
        count[0] += 1
        return logits

    start = time.perf_counter()
    stream = llama.create_completion(
        list(prompt_ids),
        max_tokens=max_tokens,
        temperature=0.0,
        stream=True,
        logits_processor=[counter],
    )
    for _ in stream:
        if time.perf_counter() - start > budget_s:
            break
    stream.close()
    seconds = time.perf_counter() - start
    return count[0] / seconds, count[0]
