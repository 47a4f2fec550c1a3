"""Looking inside one prediction of a decoder-only transformer: attention maps and the logit lens.

Every function takes a Hugging Face ``LlamaForCausalLM``-style model (``model.model.layers``,
``model.model.norm``, ``model.lm_head``) and a prompt already turned into token ids, so the
same code runs on SmolLM2-135M (chapter 63) and on a tiny random model in the tests.

- :func:`encode` - prompt text -> token ids, with the checks every widget needs.
- :func:`next_token_logprobs` - log-probabilities of the next token for a batch of prompts of
  different lengths (right-padded, which a causal model never sees).
- :func:`attention_maps` - the attention weights of every layer and head, ``(L, H, T, T)``
  (:func:`attention_maps_many` for a batch of prompts).
- :func:`sink_share`, :func:`previous_token_score` - two measurements of those maps.
- :func:`logit_lens` - the next-token distribution read out after every layer
  (:func:`logit_lens_many` for a batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from course_utils.core.validation import check_int, check_text

#: Longest prompt (in tokens) the chapter's helpers accept: occlusion costs one forward pass
#: per token, and the maps are drawn token by token.
MAX_PROMPT_TOKENS = 200


def check_ids(ids: Sequence[int] | torch.Tensor, vocab_size: int | None = None) -> list[int]:
    """Return ``ids`` as a list of ints after checking it is a non-empty 1-D id sequence."""
    if isinstance(ids, torch.Tensor):
        if ids.ndim != 1:
            raise ValueError(f"ids must be one prompt (a 1-D sequence), got shape "
                             f"{tuple(ids.shape)}.")
        ids = ids.tolist()
    ids = [check_int("token id", i, low=0) for i in ids]
    if not ids:
        raise ValueError("The prompt has no tokens: type at least one word.")
    if vocab_size is not None and max(ids) >= vocab_size:
        raise ValueError(f"token id {max(ids)} is outside the vocabulary of {vocab_size}.")
    return ids


def encode(tokenizer, prompt: str, max_tokens: int = MAX_PROMPT_TOKENS) -> list[int]:
    """Token ids of ``prompt`` (no special tokens added), checked.

    Raises:
        ValueError: empty or blank prompt, or more than ``max_tokens`` tokens.
    """
    check_int("max_tokens", max_tokens, low=1)
    prompt = check_text("prompt", prompt)
    if not prompt.strip():
        raise ValueError("The prompt is blank: type at least one word.")
    ids = tokenizer(prompt, add_special_tokens=False).input_ids
    if not ids:
        raise ValueError("The prompt has no tokens: type at least one word.")
    if len(ids) > max_tokens:
        raise ValueError(f"The prompt has {len(ids)} tokens; at most {max_tokens} are "
                         "accepted here: shorten it.")
    return list(ids)


def _vocab(model) -> int:
    return int(model.config.vocab_size)


def pad_right(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack prompts of different lengths into ``(B, T_max)`` ids (padded with 0 on the right)
    and their ``(B,)`` lengths. In a causal model position ``t`` attends to positions ``<= t``
    only and position ids count from 0 on the left, so the padding changes nothing before it."""
    lengths = torch.tensor([len(r) for r in rows])
    ids = torch.zeros(len(rows), int(lengths.max()), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(list(r))
    return ids, lengths


@torch.no_grad()
def next_token_logprobs(model, prompts: Sequence[Sequence[int]],
                        batch_size: int = 64) -> torch.Tensor:
    """``log p(x_{T+1} = v | prompt)`` for every prompt in a batch, ``(N, V)``.

    Prompts of different lengths are right-padded and read at their own last position: in a
    causal model position ``t`` attends to positions ``<= t`` only, and position ids count from
    0 on the left, so the padding after a prompt changes nothing before it. Only the rows
    needed go through ``lm_head`` (the largest matrix of a small model).
    """
    check_int("batch_size", batch_size, low=1)
    rows = [check_ids(p, _vocab(model)) for p in prompts]
    if not rows:
        raise ValueError("No prompts given.")
    out = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        ids, lengths = pad_right(chunk)
        hidden = model.model(input_ids=ids).last_hidden_state        # (B, T, d), normed
        last = hidden[torch.arange(len(chunk)), lengths - 1]          # (B, d)
        out.append(torch.log_softmax(model.lm_head(last).float(), dim=-1))
    return torch.cat(out)


@contextmanager
def eager_attention(model):
    """Switch ``model`` to the plain (eager) attention kernel, which can return its weights;
    the fused kernel (``sdpa``) cannot. The previous kernel is restored afterwards."""
    before = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        yield model
    finally:
        model.set_attn_implementation(before)


def attention_maps(model, ids: Sequence[int]) -> np.ndarray:
    """Attention weights of every layer and head for one prompt.

    ``A[l, h, q, k] = softmax_k(q_q . k_k / sqrt(d_head))`` with the causal mask, so each row
    sums to 1 and ``A[l, h, q, k] = 0`` for ``k > q``.

    Returns:
        float32 array of shape ``(L, H, T, T)``: layer, head, query position, key position.
    """
    return attention_maps_many(model, [ids])[0]


@torch.no_grad()
def attention_maps_many(model, prompts: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """:func:`attention_maps` of several prompts in one right-padded batch (much faster than
    one call each); item ``b`` has shape ``(L, H, T_b, T_b)``."""
    rows = [check_ids(p, _vocab(model)) for p in prompts]
    if not rows:
        raise ValueError("No prompts given.")
    ids, lengths = pad_right(rows)
    with eager_attention(model):
        out = model.model(input_ids=ids, output_attentions=True)
    stacked = torch.stack(out.attentions, dim=1).float().numpy()   # (B, L, H, T, T)
    return [stacked[b, :, :, :n, :n] for b, n in enumerate(lengths.tolist())]


def _check_maps(maps: np.ndarray) -> np.ndarray:
    maps = np.asarray(maps, dtype=float)
    if maps.ndim != 4 or maps.shape[-1] != maps.shape[-2]:
        raise ValueError(f"maps must have shape (L, H, T, T), got {maps.shape}.")
    if maps.shape[-1] < 2:
        raise ValueError("Attention measurements need a prompt of at least two tokens.")
    return maps


def sink_share(maps: np.ndarray) -> np.ndarray:
    """Share of attention on the first token, averaged over queries ``q = 1..T-1``, ``(L, H)``.

    Query 0 is left out: it can only attend to itself. Uniform causal attention would give
    :func:`uniform_sink_share`; much more than that is an "attention sink" (Xiao et al. 2023).
    """
    maps = _check_maps(maps)
    return maps[..., 1:, 0].mean(axis=-1)


def uniform_sink_share(n_tokens: int) -> float:
    """What :func:`sink_share` would be if every query spread attention evenly over its
    ``q + 1`` visible tokens: ``mean_{q=1..T-1} 1 / (q + 1)``."""
    check_int("n_tokens", n_tokens, low=2)
    return float(np.mean(1.0 / (np.arange(1, n_tokens) + 1)))


def previous_token_score(maps: np.ndarray) -> np.ndarray:
    """Mean attention from each query to the token just before it, ``A[q, q-1]``, ``(L, H)``.

    A head with a score near 1 is a "previous-token head"; the first token is its own
    predecessor only when ``q = 1`` is its one choice besides itself.
    """
    maps = _check_maps(maps)
    T = maps.shape[-1]
    q = np.arange(1, T)
    return maps[..., q, q - 1].mean(axis=-1)


@dataclass(frozen=True)
class LogitLens:
    """The next-token distribution read out after every layer, for one prompt.

    Attributes:
        logprobs: ``(L + 1, V)`` log-probabilities; row 0 reads the token embeddings, row ``l``
            the residual stream after block ``l``. Row ``L`` equals the model's own output.
        target: the token followed through the layers.
        ranks: ``(L + 1,)`` rank of ``target`` (0 = most likely) at each layer.
        probs: ``(L + 1,)`` probability of ``target`` at each layer.
        top: ``(L + 1,)`` most likely token at each layer.
    """

    logprobs: np.ndarray
    target: int
    ranks: np.ndarray
    probs: np.ndarray
    top: np.ndarray

    @property
    def first_top1_layer(self) -> int | None:
        """First layer from which ``target`` stays the most likely token to the end, or None."""
        is_top = self.ranks == 0
        if not is_top[-1]:
            return None
        layer = len(is_top) - 1
        while layer > 0 and is_top[layer - 1]:
            layer -= 1
        return layer


def logit_lens(model, ids: Sequence[int], target: int | None = None) -> LogitLens:
    """Apply the final norm and the unembedding to the residual stream after every layer.

    ``p_l = softmax(W_U norm(h_l))`` at the last position (nostalgebraist 2020), where ``h_l``
    is the output of block ``l`` (``h_0`` the embeddings). The last layer is the model's own
    prediction; earlier rows show when the answer becomes readable.

    Args:
        ids: one prompt's token ids.
        target: the token to follow; default: the model's own greedy prediction.
    """
    return logit_lens_many(model, [ids], None if target is None else [target])[0]


@torch.no_grad()
def logit_lens_many(model, prompts: Sequence[Sequence[int]],
                    targets: Sequence[int] | None = None) -> list[LogitLens]:
    """:func:`logit_lens` of several prompts in one right-padded batch."""
    rows = [check_ids(p, _vocab(model)) for p in prompts]
    if not rows:
        raise ValueError("No prompts given.")
    if targets is not None and len(targets) != len(rows):
        raise ValueError(f"{len(rows)} prompts but {len(targets)} targets.")
    ids, lengths = pad_right(rows)
    last = lengths - 1
    batch = torch.arange(len(rows))
    captured: list[torch.Tensor] = []

    def keep(_module, _inputs, output):
        # a decoder layer returns its hidden state (older versions: a tuple starting with it)
        captured.append((output[0] if isinstance(output, tuple) else output)[batch, last])

    hooks = [layer.register_forward_hook(keep) for layer in model.model.layers]
    try:
        embedded = model.model.embed_tokens(ids)[batch, last]
        model.model(input_ids=ids)
    finally:
        for hook in hooks:
            hook.remove()
    stream = torch.stack([embedded, *captured], dim=1)             # (B, L + 1, d)
    all_logprobs = torch.log_softmax(model.lm_head(model.model.norm(stream)).float(), dim=-1)
    lenses = []
    for b, logprobs in enumerate(all_logprobs):                    # (L + 1, V)
        target = int(logprobs[-1].argmax()) if targets is None else targets[b]
        target = check_int("target", target, low=0, high=_vocab(model) - 1)
        chosen = logprobs[:, target]
        ranks = (logprobs > chosen[:, None]).sum(dim=-1)
        lenses.append(LogitLens(logprobs.numpy(), target, ranks.numpy(),
                                chosen.exp().numpy(), logprobs.argmax(dim=-1).numpy()))
    return lenses
