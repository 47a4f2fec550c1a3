"""A tiny GPT: a decoder-only transformer over characters (chapter 05).

Read top to bottom: :class:`GPTConfig` (every size in one dataclass), :class:`CharTokenizer`
(characters <-> ids), :class:`CausalSelfAttention` (the one new idea), :class:`MLP`,
:class:`Block` (pre-norm residual block), :class:`TinyGPT` (embeddings, blocks, head).
Training, evaluation and the committed checkpoint live in :mod:`course_utils.text.gpt_training`.

Notation (as in the chapter): ``B`` batch size, ``T`` sequence length, ``C`` embedding width
(``n_embd``), ``nh`` heads, ``hs = C / nh`` head size, ``V`` vocabulary size.

Attention (Vaswani et al. 2017, eq. 1) with a causal mask ``M`` (``0`` on and below the
diagonal, ``-inf`` above)::

    Attention(Q, K, V) = softmax(Q K^T / sqrt(hs) + M) V
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from course_utils.core.validation import check_text


@dataclass(frozen=True)
class GPTConfig:
    """Sizes of a :class:`TinyGPT`. Tests use tiny values; the chapter's model is the default."""

    vocab_size: int  # V: number of distinct characters the model can read and write
    block_size: int = 128  # T_max: longest context the model attends over (positions learned)
    n_layer: int = 4  # number of transformer blocks
    n_head: int = 4  # nh: attention heads per block
    n_embd: int = 128  # C: width of every token vector; head size hs = C / nh
    dropout: float = 0.1  # dropout on attention weights and residual branches while training

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"GPTConfig.{name} must be a positive integer, got {value!r}.")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head "
                             f"({self.n_head}) so each head gets n_embd / n_head dimensions.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}.")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GPTConfig:
        return cls(**json.loads(text))


class CharTokenizer:
    """Characters <-> integer ids for a fixed alphabet (one id per character).

    Args:
        alphabet: the characters the model knows, e.g. ``sorted(set(train_text))``.
    """

    def __init__(self, alphabet: Sequence[str] | str) -> None:
        chars = list(alphabet)
        if not chars or any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError("alphabet must be a non-empty sequence of single characters.")
        if len(set(chars)) != len(chars):
            raise ValueError("alphabet contains repeated characters.")
        self.alphabet = "".join(chars)
        self._stoi = {c: i for i, c in enumerate(chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet)

    def describe_alphabet(self, limit: int = 60) -> str:
        """The alphabet as a short readable string, e.g. ``'\\n !,.?abc…xyz'``."""
        shown = repr(self.alphabet[:limit])
        return shown + (f" and {self.vocab_size - limit} more" if self.vocab_size > limit else "")

    def unknown_chars(self, text: str) -> list[str]:
        """Characters of ``text`` outside the alphabet, sorted, each once."""
        return sorted(set(text) - set(self._stoi))

    def encode(self, text: str) -> list[int]:
        """``text`` as ids; a clear ``ValueError`` names any character the model never saw."""
        text = check_text("text", text, allow_empty=True)
        unknown = self.unknown_chars(text)
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:10])
            raise ValueError(f"The model has never seen these characters: {shown}. "
                             f"It knows {self.vocab_size} characters: {self.describe_alphabet()}; "
                             "remove or replace the others.")
        return [self._stoi[c] for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        """Ids back to text; ids outside ``[0, vocab_size)`` raise ``ValueError``."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"id {i} is outside the vocabulary [0, {self.vocab_size}).")
            out.append(self.alphabet[i])
        return "".join(out)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position ``t`` only sees positions ``<= t``."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.head_size = config.n_embd // config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)  # W_Q, W_K, W_V stacked
        self.proj = nn.Linear(config.n_embd, config.n_embd)  # W_O: mixes the heads back
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        mask = torch.tril(torch.ones(config.block_size, config.block_size, dtype=torch.bool))
        self.register_buffer("causal_mask", mask, persistent=False)  # (T_max, T_max)

    def forward(self, x: torch.Tensor, return_attention: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` (B, T, C) -> output (B, T, C) and, if asked, weights (B, nh, T, T)."""
        B, T, C = x.shape
        q, k, v = self.heads(x)  # each (B, nh, T, hs): every head attends independently
        if return_attention:
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_size)  # (B, nh, T, T)
            scores = scores.masked_fill(~self.causal_mask[:T, :T], float("-inf"))
            weights = F.softmax(scores, dim=-1)  # each row sums to 1 over positions <= t
            y = self.attn_dropout(weights) @ v  # (B, nh, T, T) @ (B, nh, T, hs) -> (B, nh, T, hs)
        else:
            # The same equation in one fused kernel (faster, no (T, T) matrix kept).
            weights = None
            y = F.scaled_dot_product_attention(
                q, k, v, is_causal=True, dropout_p=self.attn_dropout.p if self.training else 0.0)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, nh, T, hs) -> (B, T, C)
        return self.resid_dropout(self.proj(y)), weights

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values of ``x`` (B, T, C), each split into heads (B, nh, T, hs)."""
        B, T, C = x.shape
        # (B, T, 3C) -> 3 x (B, T, C) -> (B, T, nh, hs) -> (B, nh, T, hs)
        return tuple(part.view(B, T, self.n_head, self.head_size).transpose(1, 2)
                     for part in self.qkv(x).split(C, dim=2))

    def step(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor], t: int
             ) -> torch.Tensor:
        """Attention output for the single new position ``t``: ``x`` (B, 1, C) -> (B, 1, C).

        Its key and value are written into ``cache`` (two buffers (B, nh, T_max, hs)), and its
        query attends over the cached positions ``0..t`` - no mask needed, the future is not
        there yet. Equivalent to ``forward`` on the whole prefix, at the cost of one position.
        """
        B, _, C = x.shape
        q, k, v = self.heads(x)  # each (B, nh, 1, hs)
        k_cache, v_cache = cache
        k_cache[:, :, t], v_cache[:, :, t] = k[:, :, 0], v[:, :, 0]
        scores = q @ k_cache[:, :, :t + 1].transpose(2, 3) / math.sqrt(self.head_size)
        y = F.softmax(scores, dim=-1) @ v_cache[:, :, :t + 1]  # (B, nh, 1, hs)
        return self.proj(y.transpose(1, 2).reshape(B, 1, C))


class MLP(nn.Module):
    """Position-wise feed-forward layer: ``Linear(C, 4C) -> GELU -> Linear(4C, C)``."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.up = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.down = nn.Linear(4 * config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        return self.dropout(self.down(F.gelu(self.up(x))))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + Attn(LN(x))`` then ``x + MLP(LN(x))``."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, return_attention: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        a, weights = self.attn(self.ln1(x), return_attention)
        x = x + a  # residual stream (B, T, C)
        x = x + self.mlp(self.ln2(x))
        return x, weights


class TinyGPT(nn.Module):
    """Token + position embeddings, ``n_layer`` blocks, final LayerNorm, tied output head.

    ``forward(ids)`` maps ids (B, T) to next-token logits (B, T, V): position ``t`` predicts
    token ``t + 1`` from tokens ``0..t``.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)  # (V, C)
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)  # (T_max, C)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # weight tying: reading and writing share vectors
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by depth
            if name.endswith(("proj.weight", "down.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self) -> int:
        """Trainable parameters (the tied head counted once)."""
        return sum(p.numel() for p in self.parameters())

    def _check_ids(self, ids: torch.Tensor) -> torch.Tensor:
        if not isinstance(ids, torch.Tensor) or ids.dtype not in (torch.int64, torch.int32):
            raise ValueError("ids must be an integer torch tensor of shape (B, T).")
        if ids.ndim != 2 or ids.shape[1] == 0:
            raise ValueError(f"ids must have shape (B, T) with T >= 1, got {tuple(ids.shape)}.")
        if ids.shape[1] > self.config.block_size:
            raise ValueError(f"The context has {ids.shape[1]} tokens but this model reads at "
                             f"most block_size={self.config.block_size}; keep only the last "
                             f"{self.config.block_size}.")
        if int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab_size:
            raise ValueError(f"ids must lie in [0, {self.config.vocab_size}).")
        return ids.long()

    def forward(self, ids: torch.Tensor, return_attention: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Next-token logits.

        Args:
            ids: token ids, shape (B, T) with ``T <= block_size``.
            return_attention: also return each layer's attention weights.

        Returns:
            logits (B, T, V); with ``return_attention`` also a list of ``n_layer`` tensors of
            shape (B, nh, T, T).
        """
        ids = self._check_ids(ids)
        T = ids.shape[1]
        positions = torch.arange(T, device=ids.device)  # (T,)
        x = self.dropout(self.tok_emb(ids) + self.pos_emb(positions))  # (B, T, C)
        maps = []
        for block in self.blocks:
            x, weights = block(x, return_attention)
            if return_attention:
                maps.append(weights)
        logits = self.head(self.ln_f(x))  # (B, T, C) @ (C, V) -> (B, T, V)
        return (logits, maps) if return_attention else logits

    @torch.no_grad()
    def prefill(self, ids: torch.Tensor) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Run the prompt once and keep every layer's keys and values (a *KV cache*).

        Args:
            ids: prompts (B, T), all of the same length ``T <= block_size``.

        Returns:
            logits of the next token (B, V) and the cache: per layer, keys and values in
            buffers (B, nh, block_size, hs) whose first ``T`` positions are filled.
        """
        ids = self._check_ids(ids)
        B, T = ids.shape
        x = self.tok_emb(ids) + self.pos_emb(torch.arange(T))  # (B, T, C); eval: no dropout
        cache = []
        for block in self.blocks:
            # keys/values of this layer's input (the block recomputes them: clearer than
            # duplicating its code, and the prompt is processed only once per generation)
            _, k, v = block.attn.heads(block.ln1(x))  # (B, nh, T, hs) each
            buffers = (k.new_zeros(B, k.shape[1], self.config.block_size, k.shape[3]),
                       v.new_zeros(B, v.shape[1], self.config.block_size, v.shape[3]))
            buffers[0][:, :, :T], buffers[1][:, :, :T] = k, v
            cache.append(buffers)
            x, _ = block(x)
        return self.head(self.ln_f(x))[:, -1], cache

    @torch.no_grad()
    def decode_step(self, last: torch.Tensor, t: int,
                    cache: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """Logits (B, V) after appending token ids ``last`` (B,) at position ``t``, using and
        extending the ``cache`` from :meth:`prefill` (one position of work per layer)."""
        if not 0 < t < self.config.block_size:
            raise ValueError(f"position {t} is outside the cache (1..{self.config.block_size - 1}).")
        x = self.tok_emb(last)[:, None] + self.pos_emb.weight[t]  # (B, 1, C)
        for block, layer_cache in zip(self.blocks, cache):
            x = x + block.attn.step(block.ln1(x), layer_cache, t)
            x = x + block.mlp(block.ln2(x))
        return self.head(self.ln_f(x))[:, 0]

    @torch.no_grad()
    def next_token_logits(self, ids: Sequence[int]) -> torch.Tensor:
        """Logits (V,) for the token after ``ids`` (the last ``block_size`` ids are used)."""
        if len(ids) == 0:
            raise ValueError("Give at least one token of context (the prompt is empty).")
        context = torch.tensor([list(ids)[-self.config.block_size:]], dtype=torch.long)
        was_training = self.training
        self.eval()
        logits = self(context)[0, -1]
        self.train(was_training)
        return logits
