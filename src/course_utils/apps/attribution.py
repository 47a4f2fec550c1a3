"""Which input tokens did one next-token prediction depend on? Three attributions and a test.

For a prompt ``x_1..x_T`` and a target token ``y`` (by default the model's greedy next token),
each method gives one score per input position; a larger score means "more support for y":

- **gradient x input** (Shrikumar et al. 2016): ``a_i = (d log p(y|x) / d e_i) . e_i`` for the
  input embedding ``e_i`` - a first-order estimate of what removing ``e_i`` would cost.
- **occlusion** (Zeiler & Fergus 2014): ``a_i = log p(y|x) - log p(y|x without x_i)`` - the
  cost itself, one forward pass per token (all in one batch).
- **attention**: the last layer's attention from the final position to each token, averaged
  over heads - cheap, and not an explanation by itself (Jain & Wallace 2019).

:func:`deletion_test` checks an attribution's *faithfulness*: delete the ``k`` top-scored
tokens and measure how much ``log p(y)`` falls and whether the greedy answer changes, against
random deletions and simple orders that need no model (:func:`baseline_order`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from course_utils.apps.explain import (
    attention_maps,
    check_ids,
    next_token_logprobs,
    pad_right,
)
from course_utils.core.validation import check_int

#: The attribution methods, by the name the chapter's widget shows.
METHODS = ("gradient x input", "occlusion", "attention")
#: Deletion orders that use no model: the last tokens first, the longest tokens first, random.
BASELINES = ("recency", "longest", "random")


def _target(model, ids: list[int], target: int | None) -> int:
    if target is None:
        return int(next_token_logprobs(model, [ids])[0].argmax())
    return check_int("target", target, low=0, high=int(model.config.vocab_size) - 1)


def gradient_x_input(model, ids: Sequence[int], target: int | None = None) -> np.ndarray:
    """``a_i = sum_d (d log p(y | x) / d e_{i,d}) e_{i,d}``, shape ``(T,)``.

    The gradient is taken with respect to the input embeddings (token ids have no gradient);
    the model's weights are not changed and their gradients are not kept.
    """
    ids = check_ids(ids, int(model.config.vocab_size))
    return gradient_x_input_many(model, [ids], [_target(model, ids, target)])[0]


def gradient_x_input_many(model, prompts: Sequence[Sequence[int]],
                          targets: Sequence[int]) -> list[np.ndarray]:
    """:func:`gradient_x_input` for several prompts in one right-padded batch.

    The prompts do not interact, so the gradient of ``sum_b log p(y_b | x_b)`` with respect to
    prompt ``b``'s embeddings is the gradient of its own term.
    """
    rows = [check_ids(p, int(model.config.vocab_size)) for p in prompts]
    if not rows or len(targets) != len(rows):
        raise ValueError(f"Give one target per prompt ({len(rows)} prompts, "
                         f"{len(targets)} targets).")
    targets = torch.tensor([_target(model, r, t) for r, t in zip(rows, targets)])
    ids, lengths = pad_right(rows)
    embeds = model.model.embed_tokens(ids).detach().requires_grad_(True)
    batch = torch.arange(len(rows))
    with torch.enable_grad():
        hidden = model.model(inputs_embeds=embeds).last_hidden_state[batch, lengths - 1]
        logp = torch.log_softmax(model.lm_head(hidden).float(), dim=-1)[batch, targets]
        (grad,) = torch.autograd.grad(logp.sum(), embeds)
    scores = (grad * embeds).sum(dim=-1).detach().numpy()         # (B, T_max)
    return [scores[b, :n] for b, n in enumerate(lengths.tolist())]


def occlusion(model, ids: Sequence[int], target: int | None = None,
              replace_with: int | None = None) -> np.ndarray:
    """``a_i = log p(y | x) - log p(y | x with token i removed)``, shape ``(T,)``.

    Args:
        replace_with: if given, token ``i`` is replaced by this id instead of deleted (the
            prompt keeps its length and positions); by default it is deleted.

    Raises:
        ValueError: a one-token prompt cannot lose its only token.
    """
    ids = check_ids(ids, int(model.config.vocab_size))
    return occlusion_many(model, [ids], [_target(model, ids, target)], replace_with)[0]


def occlusion_many(model, prompts: Sequence[Sequence[int]], targets: Sequence[int],
                   replace_with: int | None = None) -> list[np.ndarray]:
    """:func:`occlusion` for several prompts: every occluded variant in one batched call."""
    vocab = int(model.config.vocab_size)
    rows = [check_ids(p, vocab) for p in prompts]
    if not rows or len(targets) != len(rows):
        raise ValueError(f"Give one target per prompt ({len(rows)} prompts, "
                         f"{len(targets)} targets).")
    if replace_with is None and min(len(r) for r in rows) < 2:
        raise ValueError("Occlusion by deletion needs a prompt of at least two tokens.")
    if replace_with is not None:
        replace_with = check_int("replace_with", replace_with, low=0, high=vocab - 1)
    targets = [_target(model, r, t) for r, t in zip(rows, targets)]
    variants, spans = [], []
    for ids in rows:
        start = len(variants)
        variants.append(ids)
        for i in range(len(ids)):
            middle = [] if replace_with is None else [replace_with]
            variants.append(ids[:i] + middle + ids[i + 1:])
        spans.append((start, len(variants)))
    logprobs = next_token_logprobs(model, variants)
    out = []
    for (start, end), target in zip(spans, targets):
        logp = logprobs[start:end, target].numpy()
        out.append(logp[0] - logp[1:])
    return out


def attention_attribution(model, ids: Sequence[int]) -> np.ndarray:
    """``a_i = mean_h A[L, h, T, i]``: last layer, last query, averaged over heads, ``(T,)``.

    Sums to 1. It says where the last position *read from* in one layer, not what mattered.
    """
    maps = attention_maps(model, ids)          # (L, H, T, T)
    return maps[-1, :, -1, :].mean(axis=0)


def check_method(method: str, allowed: Sequence[str] = METHODS) -> str:
    """Return ``method`` if it is one of ``allowed``, else a ValueError listing them."""
    if method not in allowed:
        raise ValueError(f"Unknown method {method!r}: choose one of {', '.join(allowed)}.")
    return method


def attribute(model, ids: Sequence[int], method: str, target: int | None = None) -> np.ndarray:
    """One score per input token, ``(T,)``, by ``method`` (one of :data:`METHODS`)."""
    method = check_method(method)
    if method == "gradient x input":
        return gradient_x_input(model, ids, target)
    if method == "occlusion":
        return occlusion(model, ids, target)
    return attention_attribution(model, ids)


def order_by_score(scores: np.ndarray) -> np.ndarray:
    """Positions from the highest score to the lowest (ties: the earlier position first)."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1 or not np.isfinite(scores).all():
        raise ValueError("scores must be a finite 1-D array, one per token.")
    return np.argsort(-scores, kind="stable")


def baseline_order(name: str, tokens: Sequence[str], seed: int = 0) -> np.ndarray:
    """A deletion order that needs no model, over ``len(tokens)`` positions.

    ``recency``: the last token first (the tokens closest to the prediction); ``longest``: the
    most characters first (long tokens tend to be rare content words); ``random``: a random
    permutation drawn with ``seed``.
    """
    check_method(name, BASELINES)
    n = len(tokens)
    if n == 0:
        raise ValueError("No tokens to order.")
    if name == "recency":
        return np.arange(n)[::-1].copy()
    if name == "longest":
        lengths = np.array([len(t.strip()) for t in tokens], dtype=float)
        return np.argsort(-lengths, kind="stable")
    return np.random.default_rng(check_int("seed", seed, low=0)).permutation(n)


def delete_positions(ids: Sequence[int], positions: Sequence[int]) -> list[int]:
    """``ids`` without the tokens at ``positions`` (each must be a valid, distinct index)."""
    ids = list(ids)
    drop = {check_int("position", p, low=0, high=len(ids) - 1) for p in positions}
    if len(drop) != len(positions):
        raise ValueError("Each position may be deleted only once.")
    return [t for i, t in enumerate(ids) if i not in drop]


@dataclass(frozen=True)
class DeletionResult:
    """Effect of deleting the first ``k`` positions of each order, for one prompt.

    Attributes:
        ks: ``(K,)`` numbers of deleted tokens.
        logp: order name -> ``(K,)`` log-probability of the original target after deletion.
        changed: order name -> ``(K,)`` whether the greedy next token is no longer the target.
        base_logp: the target's log-probability with nothing deleted.
    """

    ks: np.ndarray
    logp: dict[str, np.ndarray]
    changed: dict[str, np.ndarray]
    base_logp: float

    def drop(self, name: str) -> np.ndarray:
        """``base_logp - logp[name]``: how much deleting cost the target, ``(K,)``."""
        return self.base_logp - self.logp[name]


def _check_deletions(ids: list[int], orders: Mapping[str, Sequence[int]],
                     ks: Sequence[int]) -> list[int]:
    if not orders:
        raise ValueError("Give at least one deletion order.")
    ks = [check_int("k", k, low=0) for k in ks]
    if not ks:
        raise ValueError("Give at least one k.")
    for k in ks:
        if k > len(ids) - 1:
            raise ValueError(f"k={k} would delete {k} of the prompt's {len(ids)} tokens; "
                             f"k can be at most {len(ids) - 1} (one token must remain).")
    for name, order in orders.items():
        if max(ks) > len(order):
            raise ValueError(f"The order {name!r} has {len(order)} positions, fewer than "
                             f"k={max(ks)}.")
    return ks


def deletion_test(model, ids: Sequence[int], orders: Mapping[str, Sequence[int]],
                  ks: Sequence[int], target: int | None = None) -> DeletionResult:
    """Delete the first ``k`` positions of every order, for every ``k``, in one batch.

    Args:
        ids: the prompt, ``T`` tokens.
        orders: name -> a permutation (or prefix of one) of positions, most important first.
        ks: how many tokens to delete; each in ``0..T-1`` (at least one token must remain).
        target: the token whose log-probability is followed; default: the greedy prediction.

    Raises:
        ValueError: a ``k`` larger than ``T - 1`` or than an order's length, or no orders.
    """
    ids = check_ids(ids, int(model.config.vocab_size))
    return deletion_test_many(model, [ids], [orders], ks, [_target(model, ids, target)])[0]


def deletion_test_many(model, prompts: Sequence[Sequence[int]],
                       orders: Sequence[Mapping[str, Sequence[int]]], ks: Sequence[int],
                       targets: Sequence[int]) -> list[DeletionResult]:
    """:func:`deletion_test` for several prompts (one order mapping and one target each), all
    deleted variants in one batched call."""
    vocab = int(model.config.vocab_size)
    rows = [check_ids(p, vocab) for p in prompts]
    if not rows or not len(rows) == len(orders) == len(targets):
        raise ValueError(f"Give one order mapping and one target per prompt ({len(rows)} "
                         f"prompts, {len(orders)} mappings, {len(targets)} targets).")
    plans = []
    for ids, order in zip(rows, orders):
        ks_checked = _check_deletions(ids, order, ks)
        names = list(order)
        plans.append((names, [ids] + [delete_positions(ids, list(order[n])[:k])
                                      for n in names for k in ks_checked]))
    # random orders often delete the same tokens: run each distinct prompt once
    distinct = list(dict.fromkeys(tuple(v) for _, variants in plans for v in variants))
    logprobs = next_token_logprobs(model, distinct)              # (distinct, V)
    greedy = logprobs.argmax(dim=-1)
    row = {v: i for i, v in enumerate(distinct)}
    K = len(ks)
    results = []
    for (names, variants), target in zip(plans, targets):
        target = check_int("target", target, low=0, high=vocab - 1)
        index = torch.tensor([row[tuple(v)] for v in variants])
        logp = logprobs[index, target].numpy()                   # (1 + N K,)
        changed = (greedy[index] != target).numpy()
        results.append(DeletionResult(
            ks=np.array(ks),
            logp={n: logp[1 + j * K:1 + (j + 1) * K] for j, n in enumerate(names)},
            changed={n: changed[1 + j * K:1 + (j + 1) * K] for j, n in enumerate(names)},
            base_logp=float(logp[0])))
    return results


def attribution_html(tokens: Sequence[str], scores: np.ndarray) -> str:
    """The tokens as HTML, each on a background whose colour shows its score.

    Positive scores (support for the prediction) are green, negative red; the strongest
    ``|score|`` gets the strongest colour, kept light enough (opacity at most 0.45) for dark
    text to stay readable (contrast above 4.5:1). Hovering a token shows its score. Text is
    escaped.
    """
    scores = np.asarray(scores, dtype=float)
    if len(tokens) != len(scores):
        raise ValueError(f"{len(tokens)} tokens but {len(scores)} scores.")
    peak = float(np.abs(scores).max()) or 1.0
    spans = []
    for token, score in zip(tokens, scores):
        alpha = 0.45 * abs(score) / peak
        rgb = "0,150,60" if score >= 0 else "200,30,30"
        text = html.escape(token).replace(" ", "&nbsp;")
        spans.append(f"<span title='{score:+.3f}' style='background:rgba({rgb},{alpha:.2f});"
                     f"padding:2px 1px;border-radius:3px'>{text}</span>")
    return ("<div style='font-family:monospace;font-size:15px;line-height:2'>"
            + "".join(spans) + "</div>")
