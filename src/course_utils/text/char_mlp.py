"""A next-character MLP language model (Bengio et al., 2003), trained by self-supervision.

The model reads the last ``block_size`` characters of a word and predicts the next one::

    context ids (B, T) --embedding--> (B, T, D) --concat--> (B, T*D)
        --Linear + tanh--> (B, H) --Linear--> logits (B, V)

with ``B`` the batch size, ``T = block_size``, ``D = embed_dim``, ``H = hidden_dim`` and ``V``
the vocabulary size (letters plus one boundary token ``"."`` that marks both the start and the
end of a word). The training labels are simply the next character of the raw text - no human
labelling - which is what *self-supervised* means.

Training minimises the average cross-entropy (negative log-likelihood) of the next character,

.. math::

    \\mathcal{L} = -\\frac{1}{N}\\sum_{i=1}^{N} \\log p_\\theta(y_i \\mid x_i),
    \\qquad p_\\theta(y \\mid x) = \\operatorname{softmax}(f_\\theta(x))_y,

measured in nats per character (divide by ``ln 2`` for bits per character).

Used by chapter 02 (learning patterns from data); the count baselines here are deliberately
minimal - chapter 03 builds full n-gram models.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.core.progress import progress
from course_utils.core.validation import check_float, check_int, check_text
from course_utils.text.ngram import CharNGramModel
from course_utils.text.transformer import CharTokenizer

#: Token that marks the start (context padding) and the end of every word.
BOUNDARY = "."


def _check_words(name: str, words: object) -> list[str]:
    """Return ``words`` as a list if it is a non-empty sequence of non-empty strings."""
    if isinstance(words, str) or not isinstance(words, Sequence):
        raise ValueError(f"{name} must be a list of words, got {type(words).__name__}.")
    if len(words) == 0:
        raise ValueError(f"{name} is empty: give at least one word.")
    for word in words:
        if not isinstance(word, str) or not word:
            raise ValueError(f"{name} must contain non-empty strings, got {word!r}.")
        if BOUNDARY in word:
            raise ValueError(f"{name} contains the boundary token {BOUNDARY!r} inside "
                             f"{word!r}; remove it first.")
    return list(words)


class CharVocab(CharTokenizer):
    """The chapter-02 vocabulary: a :class:`CharTokenizer` whose id 0 is the boundary ``"."``.

    One character tokenizer serves the course; this subclass only fixes the first entry and
    adds the names chapter 02 reads (``chars``, ``size``, ``letters``, ``stoi``). Build one
    with :meth:`from_words`; ``chars[i]`` is the character with id ``i``.
    """

    def __init__(self, chars: Sequence[str]) -> None:
        chars = tuple(chars)
        if not chars or chars[0] != BOUNDARY:
            raise ValueError(f"The first vocabulary entry must be the boundary token "
                             f"{BOUNDARY!r}.")
        super().__init__(chars)

    @classmethod
    def from_words(cls, words: Sequence[str]) -> CharVocab:
        """The boundary token followed by every character of ``words``, sorted."""
        words = _check_words("words", words)
        return cls((BOUNDARY, *sorted(set("".join(words)))))

    @property
    def chars(self) -> tuple[str, ...]:
        """Id -> character; ``chars[0] == BOUNDARY``."""
        return tuple(self.alphabet)

    @property
    def size(self) -> int:
        """Number of ids ``V`` (letters + boundary)."""
        return self.vocab_size

    @property
    def letters(self) -> str:
        """Every character except the boundary, as one string."""
        return self.alphabet[1:]

    @property
    def stoi(self) -> dict[str, int]:
        """Character -> id (a copy: changing it does not change the vocabulary)."""
        return dict(self._stoi)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharVocab) and other.alphabet == self.alphabet

    def __hash__(self) -> int:
        return hash(self.alphabet)

    def __repr__(self) -> str:
        return f"CharVocab(chars={self.chars!r})"


def split_words(words: Sequence[str], val_fraction: float = 0.1, test_fraction: float = 0.1,
                seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """Shuffle ``words`` with a fixed seed and cut them into train / validation / test lists.

    Args:
        words: the words (order does not matter; duplicates stay duplicates).
        val_fraction, test_fraction: share of words in each held-out list, each in (0, 0.5).
        seed: shuffle seed; the same seed always gives the same split.

    Returns:
        ``(train, val, test)``.
    """
    words = _check_words("words", words)
    check_float("val_fraction", val_fraction, low=0, high=0.5, low_inclusive=False)
    check_float("test_fraction", test_fraction, low=0, high=0.5, low_inclusive=False)
    check_int("seed", seed, low=0)
    if len(words) < 3:
        raise ValueError(f"split_words needs at least 3 words, got {len(words)}.")
    order = list(words)
    random.Random(seed).shuffle(order)
    n_val = max(1, round(val_fraction * len(order)))
    n_test = max(1, round(test_fraction * len(order)))
    n_train = len(order) - n_val - n_test
    if n_train < 1:
        raise ValueError("No words left for training; lower val_fraction / test_fraction.")
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def build_context_dataset(words: Sequence[str], vocab: CharVocab,
                          block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn words into (context -> next character) training pairs.

    Each word ``w`` of length ``L`` gives ``L + 1`` pairs: the context starts as
    ``block_size`` boundary tokens and slides along ``w + "."``. For ``"ann"`` and
    ``block_size=3``: ``... -> a``, ``..a -> n``, ``.an -> n``, ``ann -> .``.

    Args:
        words: the training words (characters must be in ``vocab``).
        vocab: the character vocabulary.
        block_size: context length ``T`` (>= 1).

    Returns:
        ``X`` of shape ``(N, T)`` and ``Y`` of shape ``(N,)``, both int64, where
        ``N = sum(len(w) + 1 for w in words)``.
    """
    words = _check_words("words", words)
    check_int("block_size", block_size, low=1, high=64)
    xs: list[list[int]] = []
    ys: list[int] = []
    for word in words:
        context = [0] * block_size
        for target in vocab.encode(word) + [0]:
            xs.append(context)
            ys.append(target)
            context = context[1:] + [target]
    return torch.tensor(xs, dtype=torch.long), torch.tensor(ys, dtype=torch.long)


@dataclass(frozen=True)
class CharMLPConfig:
    """Every setting of the model and of its training run."""

    block_size: int = 4  # T: characters of context the model sees
    embed_dim: int = 10  # D: size of each character's learned vector
    hidden_dim: int = 200  # H: tanh units in the hidden layer
    steps: int = 4000  # optimiser steps (one minibatch each)
    batch_size: int = 128  # (context, next char) pairs per step
    lr: float = 0.01  # AdamW learning rate at the start (cosine-decayed)
    lr_final_fraction: float = 0.05  # final lr = lr * this (end of the cosine schedule)
    weight_decay: float = 0.05  # AdamW decoupled weight decay (mild regularisation)
    eval_every: int = 250  # steps between validation-loss measurements
    seed: int = 0  # initial weights and minibatch order

    def __post_init__(self) -> None:
        check_int("block_size", self.block_size, low=1, high=64)
        check_int("embed_dim", self.embed_dim, low=1, high=1024)
        check_int("hidden_dim", self.hidden_dim, low=1, high=65536)
        check_int("steps", self.steps, low=1)
        check_int("batch_size", self.batch_size, low=1)
        check_float("lr", self.lr, low=0, low_inclusive=False)
        check_float("lr_final_fraction", self.lr_final_fraction, low=0, high=1)
        check_float("weight_decay", self.weight_decay, low=0)
        check_int("eval_every", self.eval_every, low=1)
        check_int("seed", self.seed, low=0)


class CharMLP(nn.Module):
    """Embedding table -> concatenated context -> tanh hidden layer -> next-character logits.

    Args:
        vocab_size: ``V``, number of character ids.
        config: sizes (``block_size``, ``embed_dim``, ``hidden_dim``) and the init ``seed``.

    Initialisation (seeded by ``config.seed``, independent of the global RNG): embeddings
    ``N(0, 1)``; hidden weights ``N(0, (5/3)^2 / (T*D))`` (tanh gain); output weights
    ``N(0, 0.01^2)`` and zero biases, so the first loss is close to ``ln V`` (uniform guess).
    """

    def __init__(self, vocab_size: int, config: CharMLPConfig) -> None:
        super().__init__()
        check_int("vocab_size", vocab_size, low=2)
        self.config = config
        self.vocab_size = vocab_size
        fan_in = config.block_size * config.embed_dim
        self.embedding = nn.Embedding(vocab_size, config.embed_dim)  # (V, D)
        self.hidden = nn.Linear(fan_in, config.hidden_dim)  # (T*D) -> H
        self.output = nn.Linear(config.hidden_dim, vocab_size)  # H -> V
        generator = torch.Generator().manual_seed(config.seed)
        with torch.no_grad():
            self.embedding.weight.normal_(0.0, 1.0, generator=generator)
            self.hidden.weight.normal_(0.0, (5 / 3) / math.sqrt(fan_in), generator=generator)
            self.hidden.bias.zero_()
            self.output.weight.normal_(0.0, 0.01, generator=generator)
            self.output.bias.zero_()

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """Next-character logits.

        Args:
            context: ids of shape ``(B, T)`` (int64).

        Returns:
            Logits of shape ``(B, V)``; ``softmax`` over the last axis gives ``p(next | context)``.
        """
        if context.ndim != 2 or context.shape[1] != self.config.block_size:
            raise ValueError(f"context must have shape (B, {self.config.block_size}), "
                             f"got {tuple(context.shape)}.")
        emb = self.embedding(context)  # (B, T, D)
        flat = emb.flatten(start_dim=1)  # (B, T*D)
        hidden = torch.tanh(self.hidden(flat))  # (B, H)
        return self.output(hidden)  # (B, V)

    def num_parameters(self) -> int:
        """Total number of trainable numbers."""
        return sum(p.numel() for p in self.parameters())


@dataclass
class TrainHistory:
    """Loss curves of one training run (nats per character)."""

    train_loss: list[float] = field(default_factory=list)  # minibatch loss at every step
    val_steps: list[int] = field(default_factory=list)  # steps where validation was measured
    val_loss: list[float] = field(default_factory=list)  # full validation loss at those steps
    seconds: float = 0.0  # wall-clock training time

    def curves(self, window: int = 100) -> dict[str, np.ndarray]:
        """``{"train (running mean)": (S, 2), "validation": (K, 2)}`` for ``plot_curves``."""
        check_int("window", window, low=1)
        train = np.asarray(self.train_loss, dtype=float)
        out: dict[str, np.ndarray] = {}
        if len(train):
            w = min(window, len(train))
            smooth = np.convolve(train, np.ones(w) / w, mode="valid")
            out[f"train (mean of {w} steps)"] = np.column_stack(
                [np.arange(w, len(train) + 1), smooth])
        if self.val_loss:
            out["validation"] = np.column_stack([self.val_steps, self.val_loss])
        return out


@torch.no_grad()
def evaluate_nll(model: CharMLP, X: torch.Tensor, Y: torch.Tensor,
                 batch_size: int = 8192) -> float:
    """Average negative log-likelihood of ``Y`` given ``X``, in nats per character.

    ``-(1/N) * sum_i log p(Y_i | X_i)``; divide by ``math.log(2)`` for bits per character.

    Args:
        model: a trained or untrained :class:`CharMLP`.
        X: contexts ``(N, T)``; Y: next-character ids ``(N,)``.
        batch_size: rows per forward pass (memory only; the result does not depend on it).
    """
    _check_xy(X, Y)
    check_int("batch_size", batch_size, low=1)
    was_training = model.training
    model.eval()
    total = 0.0
    for start in range(0, len(X), batch_size):
        logits = model(X[start:start + batch_size])
        total += F.cross_entropy(logits, Y[start:start + batch_size], reduction="sum").item()
    model.train(was_training)
    return total / len(X)


def _check_xy(X: torch.Tensor, Y: torch.Tensor) -> None:
    if not isinstance(X, torch.Tensor) or not isinstance(Y, torch.Tensor):
        raise ValueError("X and Y must be torch tensors (see build_context_dataset).")
    if X.ndim != 2 or Y.ndim != 1 or len(X) != len(Y) or len(X) == 0:
        raise ValueError(f"X must be (N, T) and Y (N,) with N > 0, got {tuple(X.shape)} and "
                         f"{tuple(Y.shape)}.")


def train_char_model(model: CharMLP, X: torch.Tensor, Y: torch.Tensor,
                     X_val: torch.Tensor | None = None, Y_val: torch.Tensor | None = None,
                     show_progress: bool = True, description: str = "training") -> TrainHistory:
    """Train ``model`` with AdamW on random minibatches of ``(X, Y)``, settings from its config.

    Each step samples ``batch_size`` rows (seeded by ``config.seed``), computes the mean
    cross-entropy ``-(1/B) sum log softmax(f(x_i))_{y_i}``, and takes one AdamW step; the
    learning rate decays from ``lr`` to ``lr * lr_final_fraction`` on a cosine schedule.

    Args:
        model: the :class:`CharMLP` to train (updated in place).
        X, Y: training contexts ``(N, T)`` and targets ``(N,)``.
        X_val, Y_val: optional validation pairs, scored every ``config.eval_every`` steps and
            at the last step.
        show_progress: draw a progress bar.
        description: progress-bar label.

    Returns:
        A :class:`TrainHistory` with the loss curves and the training time.
    """
    _check_xy(X, Y)
    if (X_val is None) != (Y_val is None):
        raise ValueError("Give both X_val and Y_val, or neither.")
    if X_val is not None:
        _check_xy(X_val, Y_val)  # type: ignore[arg-type]
    if X.shape[1] != model.config.block_size:
        raise ValueError(f"X has contexts of length {X.shape[1]} but the model expects "
                         f"block_size={model.config.block_size}.")
    if int(Y.max()) >= model.vocab_size or int(X.max()) >= model.vocab_size:
        raise ValueError("X / Y contain ids >= the model's vocab_size; build them with the "
                         "same vocabulary as the model.")
    cfg = model.config
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=cfg.steps, eta_min=cfg.lr * cfg.lr_final_fraction)
    generator = torch.Generator().manual_seed(cfg.seed)
    history = TrainHistory()
    start = time.perf_counter()
    steps = range(1, cfg.steps + 1)
    iterator = progress(steps, description, unit="step") if show_progress else steps
    model.train()
    for step in iterator:
        idx = torch.randint(0, len(X), (cfg.batch_size,), generator=generator)
        loss = F.cross_entropy(model(X[idx]), Y[idx])  # mean over the batch, nats
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        history.train_loss.append(loss.item())
        if X_val is not None and (step % cfg.eval_every == 0 or step == cfg.steps):
            history.val_steps.append(step)
            history.val_loss.append(evaluate_nll(model, X_val, Y_val))  # type: ignore[arg-type]
    history.seconds = time.perf_counter() - start
    model.eval()
    return history


@torch.no_grad()
def sample_words(model: CharMLP, vocab: CharVocab, n: int = 10, temperature: float = 1.0,
                 seed: int = 0, prefix: str = "", max_length: int = 30) -> list[str]:
    """Generate ``n`` words, one character at a time, until the boundary token.

    At each step ``p = softmax(logits / temperature)`` and the next character is drawn from
    ``p``. Low temperature sharpens ``p`` (safer, more repetitive), high flattens it.

    Args:
        model: a :class:`CharMLP` built for ``vocab``.
        vocab: the vocabulary the model was trained with.
        n: number of words (1..10 000).
        temperature: > 0 (at most 10).
        seed: sampling seed; the same seed gives the same words.
        prefix: letters every word starts with (may be empty).
        max_length: longest word returned, prefix included (words are cut there).

    Returns:
        ``n`` strings (the prefix included, the boundary token excluded).

    Raises:
        ValueError: for a bad count, temperature, seed, length, or a prefix with characters
            outside the vocabulary.
    """
    check_int("n", n, low=1, high=10_000)
    check_float("temperature", temperature, low=0, high=10, low_inclusive=False)
    check_int("seed", seed, low=0)
    check_int("max_length", max_length, low=1, high=1000)
    check_text("prefix", prefix, max_length=max_length, allowed=vocab.letters, allow_empty=True)
    if model.vocab_size != vocab.size:
        raise ValueError(f"The model has {model.vocab_size} character ids but the vocabulary "
                         f"has {vocab.size}; use the vocabulary the model was trained with.")
    model.eval()
    block = model.config.block_size
    generator = torch.Generator().manual_seed(seed)
    start = ([0] * block + vocab.encode(prefix))[-block:]
    context = torch.tensor([start] * n, dtype=torch.long)  # (n, T)
    out = torch.zeros((n, max_length - len(prefix)), dtype=torch.long)  # generated ids
    done = torch.zeros(n, dtype=torch.bool)
    for t in range(max_length - len(prefix)):
        probs = F.softmax(model(context) / temperature, dim=-1)  # (n, V)
        nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (n,)
        nxt = torch.where(done, torch.zeros_like(nxt), nxt)
        out[:, t] = nxt
        done |= nxt == 0
        if bool(done.all()):
            break
        context = torch.cat([context[:, 1:], nxt[:, None]], dim=1)
    words = []
    for row in out.tolist():
        body = row[:row.index(0)] if 0 in row else row
        words.append(prefix + vocab.decode(body))
    return words


def unigram_nll(train_words: Sequence[str], eval_words: Sequence[str], vocab: CharVocab,
                alpha: float = 1.0) -> float:
    """Cross-entropy of ``eval_words`` under character frequencies counted on ``train_words``.

    Every word contributes its characters and one end-of-word boundary. With add-``alpha``
    smoothing, ``p(c) = (count(c) + alpha) / (total + alpha * V)`` and the result is
    ``-(1/N) sum_i log p(y_i)`` in nats per character. With ``alpha=0`` and
    ``eval_words = train_words`` this is the entropy of the character distribution.
    """
    counts = _unigram_counts(train_words, vocab) + check_float("alpha", alpha, low=0)
    probs = counts / counts.sum()
    targets = _targets(eval_words, vocab)
    return float(-np.log(probs[targets]).mean())


def bigram_nll(train_words: Sequence[str], eval_words: Sequence[str], vocab: CharVocab,
               alpha: float = 1.0) -> float:
    """Cross-entropy of ``eval_words`` under a smoothed bigram count model of ``train_words``.

    ``p(c | prev) = (count(prev, c) + alpha) / (count(prev) + alpha * V)``, where ``prev`` is
    the boundary token at the start of a word. Returns nats per character (end token included).
    """
    check_float("alpha", alpha, low=0)
    counts = np.full((vocab.size, vocab.size), float(alpha))
    for word in _check_words("train_words", train_words):
        ids = [0, *vocab.encode(word), 0]
        for a, b in zip(ids, ids[1:]):
            counts[a, b] += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        probs = counts / counts.sum(axis=1, keepdims=True)
    total, n = 0.0, 0
    for word in _check_words("eval_words", eval_words):
        ids = [0, *vocab.encode(word), 0]
        for a, b in zip(ids, ids[1:]):
            total -= math.log(probs[a, b]) if probs[a, b] > 0 else -math.inf
            n += 1
    return total / n


def fit_ngram(train_words: Sequence[str], vocab: CharVocab, order: int = 5,
              smoothing: str = "kneser-ney", alpha: float = 0.1) -> CharNGramModel:
    """A character n-gram model of ``train_words``: the counting baseline with *the same
    information* as a ``block_size = order - 1`` MLP.

    Each word is padded with ``order - 1`` boundary symbols in front and one behind, exactly
    like :func:`build_context_dataset`, and counted on its own (no context runs across two
    words); smoothing is interpolated Kneser-Ney or add-``alpha``
    (:class:`course_utils.text.ngram.CharNGramModel`).
    """
    order = check_int("order", order, 1, 12)
    boundary = vocab.chars[0]
    pad = boundary * (order - 1)
    train = _check_words("train_words", train_words)
    for word in train:
        vocab.encode(word)  # unknown characters get the vocabulary's clear error
    return CharNGramModel(order, smoothing=smoothing, alpha=alpha).fit(
        "\n".join(pad + w + boundary for w in train), alphabet="".join(vocab.chars),
        separator="\n")


def ngram_nll(train_words: Sequence[str], eval_words: Sequence[str], vocab: CharVocab,
              order: int = 5, smoothing: str = "kneser-ney", alpha: float = 0.1) -> float:
    """Cross-entropy of ``eval_words`` under :func:`fit_ngram` of ``train_words``:
    ``-(1/N) sum_t ln p(c_t | c_{t-order+1} .. c_{t-1})`` over every character and each
    word's end boundary, in nats per character (comparable with :func:`evaluate_nll`)."""
    model = fit_ngram(train_words, vocab, order, smoothing, alpha)
    order = model.n
    boundary = vocab.chars[0]
    total, n = 0.0, 0
    for word in _check_words("eval_words", eval_words):
        vocab.encode(word)
        padded = boundary * (order - 1) + word + boundary
        for t in range(order - 1, len(padded)):
            total -= model.log_prob(padded[t], padded[t - order + 1:t]) * math.log(2)
            n += 1
    return total / n


def _unigram_counts(words: Sequence[str], vocab: CharVocab) -> np.ndarray:
    counts = np.zeros(vocab.size)
    for i, c in Counter(_targets(words, vocab).tolist()).items():
        counts[i] = c
    return counts


def _targets(words: Sequence[str], vocab: CharVocab) -> np.ndarray:
    """Ids of every character of every word, each word followed by the boundary id 0."""
    ids: list[int] = []
    for word in _check_words("words", words):
        ids.extend(vocab.encode(word))
        ids.append(0)
    return np.asarray(ids, dtype=np.int64)


def embedding_2d(model: CharMLP) -> np.ndarray:
    """The model's character embeddings projected onto their top-2 principal components.

    Returns:
        An array of shape ``(V, 2)``; row ``i`` belongs to character id ``i``. With
        ``embed_dim == 1`` the second column is zero.
    """
    weights = model.embedding.weight.detach().cpu().numpy().astype(float)  # (V, D)
    centred = weights - weights.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T  # (V, min(2, D))
    if coords.shape[1] < 2:
        coords = np.column_stack([coords, np.zeros(len(coords))])
    return coords
