"""A CLIP-style contrastive model with a locked, pretrained text tower (chapter 40).

CLIP (Radford et al. 2021) trains an image encoder ``f`` and a text encoder ``g`` so that an
image and its caption land close together in one shared space. Here the text tower is the
pretrained sentence encoder all-MiniLM-L6-v2, **frozen** - the "locked tower" idea of LiT
(Zhai et al. 2022), with the text side locked - followed by a trained linear projection; the
image tower is a small CNN trained from scratch. Because the text tower never changes, every
caption is embedded once (:class:`TextTower` keeps a cache) and training only pushes pixels
through the CNN.

With unit vectors ``u_i = f(x_i) / |f(x_i)|`` (image) and ``v_j = W g(t_j) / |W g(t_j)|``
(caption) for a batch of ``B`` pairs, the logits are ``s_ij = exp(tau) u_i . v_j`` with a
learnable log-scale ``tau`` (CLIP's inverse temperature, capped at 100), and the loss is the
symmetric InfoNCE

    L = 1/2 [ CE(rows of s, targets) + CE(columns of s, targets) ],
    CE(rows) = -1/B sum_i sum_j q_ij log softmax_j(s_ij),

where ``q_ij`` is ``1 / (number of batch items with caption i)`` when items ``i`` and ``j``
share a caption, else 0 (for distinct captions, the usual ``q = I``). Each image must pick
out its caption among the batch's captions, and each caption its image.

Also here: the retrieval metrics (:func:`recall_at_k`), best-of-N reranking (:func:`best_of_n`) and the two baselines that see the
same images and the same frozen caption embeddings without contrastive learning
(:class:`RidgeBaseline`, :func:`nearest_neighbour_captions`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.core.training import LossHistory, run_steps, warmup_cosine
from course_utils.core.validation import check_float, check_int, check_text
from course_utils.multimodal import captioned_shapes as cs

TEXT_DIM = 384            # all-MiniLM-L6-v2 sentence embedding size
MAX_CAPTION_CHARS = 200   # longest caption the text tower accepts
MAX_SCALE = 100.0         # cap on exp(tau), as in CLIP


class TextTower:
    """The frozen text tower: all-MiniLM-L6-v2, with a cache of embedded captions.

    ``embed(texts)`` returns ``(T, 384)`` float32 unit vectors; a text seen before is not
    encoded again. Loading the model takes a few seconds; pass ``model`` to reuse one.
    """

    def __init__(self, model=None) -> None:
        if model is None:
            from course_utils.llm.minilm import load_minilm

            model = load_minilm()
        self.model = model
        self.cache: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(T, 384)`` unit embeddings of ``texts``.

        Raises:
            ValueError: for an empty list, or a text that is empty, blank or longer than
                :data:`MAX_CAPTION_CHARS`.
        """
        if isinstance(texts, str) or len(texts) == 0:
            raise ValueError("texts must be a non-empty list of strings.")
        for text in texts:
            check_text("caption", text, max_length=MAX_CAPTION_CHARS)
            if not text.strip():
                raise ValueError("caption is blank: type a few words, e.g. "
                                 "'a small red circle at the top left'.")
        new = sorted({t for t in texts if t not in self.cache})
        if new:
            vectors = self.model.encode(new, batch_size=64, convert_to_numpy=True,
                                        normalize_embeddings=True, show_progress_bar=False)
            self.cache.update(zip(new, vectors.astype(np.float32)))
        return np.stack([self.cache[t] for t in texts])


@dataclass(frozen=True)
class ContrastiveConfig:
    """Sizes of the image CNN and of the shared space."""

    width: int = 16        # channels of the first conv layer (then 2x, 2x)
    embed_dim: int = 64    # size of the shared image-text space
    init_scale: float = 10.0  # exp(tau) at the start

    def __post_init__(self) -> None:
        check_int("width", self.width, 4, 256)
        check_int("embed_dim", self.embed_dim, 2, 1024)
        check_float("init_scale", self.init_scale, 1.0, MAX_SCALE)


class ShapeCLIP(nn.Module):
    """Image tower (a CNN) + text projection (linear) + learnable log-scale ``tau``.

    The image tower maps ``(B, 3, 32, 32)`` images through three 3x3 convolutions (stride
    2, 2, 1; ReLU) to a ``(B, 2w, 8, 8)`` map, flattens it - *not* pooled, so that it
    keeps where things are - and projects to ``embed_dim``. The text projection maps frozen
    ``(T, 384)`` MiniLM embeddings to ``embed_dim``.
    """

    def __init__(self, config: ContrastiveConfig = ContrastiveConfig()) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.image_tower = nn.Sequential(
            nn.Conv2d(3, w, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * w * 8 * 8, config.embed_dim))
        self.text_projection = nn.Linear(TEXT_DIM, config.embed_dim)
        self.log_scale = nn.Parameter(torch.tensor(math.log(config.init_scale)))

    @property
    def scale(self) -> torch.Tensor:
        """``exp(tau)``, capped at :data:`MAX_SCALE`."""
        return self.log_scale.clamp(max=math.log(MAX_SCALE)).exp()

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 32, 32)`` images in [0, 1] -> ``(B, embed_dim)`` unit vectors."""
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, cs.IMAGE_SIZE, cs.IMAGE_SIZE):
            raise ValueError(f"images must have shape (B, 3, {cs.IMAGE_SIZE}, "
                             f"{cs.IMAGE_SIZE}), got {tuple(images.shape)}.")
        return F.normalize(self.image_tower(images - 0.5), dim=-1)

    def encode_text(self, text_embeddings: torch.Tensor) -> torch.Tensor:
        """``(T, 384)`` frozen MiniLM embeddings -> ``(T, embed_dim)`` unit vectors."""
        if text_embeddings.ndim != 2 or text_embeddings.shape[1] != TEXT_DIM:
            raise ValueError(f"text embeddings must have shape (T, {TEXT_DIM}), got "
                             f"{tuple(text_embeddings.shape)}.")
        return F.normalize(self.text_projection(text_embeddings), dim=-1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def info_nce(image_z: torch.Tensor, text_z: torch.Tensor, scale: torch.Tensor,
             ids: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE loss of a batch of ``B`` image-caption pairs (module docstring).

    Args:
        image_z: ``(B, D)`` unit image vectors.
        text_z: ``(B, D)`` unit caption vectors; row ``i`` is the caption of image ``i``.
        scale: the scalar ``exp(tau)``.
        ids: optional ``(B,)`` caption ids; items sharing an id are all positives (soft
            targets), so a repeated caption is not pushed away from its own images.

    Returns:
        The scalar loss; ``log B`` for random vectors, 0 for a perfect, confident model.
    """
    if image_z.ndim != 2 or image_z.shape != text_z.shape or len(image_z) < 2:
        raise ValueError(f"image_z and text_z must both be (B, D) with B >= 2, got "
                         f"{tuple(image_z.shape)} and {tuple(text_z.shape)}.")
    logits = scale * image_z @ text_z.T  # (B, B)
    if ids is None:
        targets = torch.eye(len(logits))
    else:
        if ids.shape != (len(logits),):
            raise ValueError(f"ids must have shape ({len(logits)},), got {tuple(ids.shape)}.")
        same = (ids[:, None] == ids[None, :]).float()
        targets = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


@dataclass(frozen=True)
class TrainSettings:
    """Optimiser settings of :func:`train_shape_clip`."""

    steps: int = 600
    batch_size: int = 128
    lr: float = 2e-3
    seed: int = 0
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        check_int("steps", self.steps, 1, 1_000_000)
        check_int("batch_size", self.batch_size, 2, 4096)
        check_float("lr", self.lr, 0, 1, low_inclusive=False)
        check_int("seed", self.seed, 0)
        if self.max_seconds is not None:
            check_float("max_seconds", self.max_seconds, 0, low_inclusive=False)


def train_shape_clip(caption_embeddings: np.ndarray, settings: TrainSettings = TrainSettings(),
                     config: ContrastiveConfig = ContrastiveConfig(),
                     train_ids: np.ndarray = cs.SEEN_IDS, show_progress: bool = True,
                     label: str = "contrastive training"
                     ) -> tuple[ShapeCLIP, LossHistory]:
    """Train the image CNN and the text projection with :func:`info_nce`.

    Each step renders a fresh batch: ``batch_size`` caption ids drawn from ``train_ids``
    (by default the 72 seen captions), one new image each. AdamW, warm-up + cosine schedule,
    gradient clipping at 1; the loop is :func:`course_utils.core.training.run_steps`.

    Args:
        caption_embeddings: ``(96, 384)`` frozen MiniLM embeddings of
            :data:`captioned_shapes.CAPTIONS`, in that order.
        settings: steps, batch size, learning rate, seed, optional time budget.
        config: network sizes.
        train_ids: caption ids the model may see.

    Returns:
        ``(model in eval mode, loss history)``.
    """
    text = torch.as_tensor(np.asarray(caption_embeddings, dtype=np.float32))
    if tuple(text.shape) != (len(cs.SCENES), TEXT_DIM):
        raise ValueError(f"caption_embeddings must have shape ({len(cs.SCENES)}, {TEXT_DIM}) "
                         f"(one row per caption in CAPTIONS), got {tuple(text.shape)}.")
    torch.manual_seed(settings.seed)
    model = ShapeCLIP(config)
    rng = np.random.default_rng(settings.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=1e-4)

    def loss_at(step: int) -> torch.Tensor:
        ids = cs.random_ids(settings.batch_size, rng, among=train_ids)
        images = torch.from_numpy(cs.render(ids, rng))
        return info_nce(model.encode_images(images), model.encode_text(text[ids]),
                        model.scale, torch.from_numpy(ids))

    return run_steps(model, loss_at, optimiser, settings.steps,
                     lambda s: warmup_cosine(s, settings.steps, settings.lr,
                                             warmup_steps=min(50, settings.steps // 10)),
                     grad_clip=1.0, max_seconds=settings.max_seconds,
                     show_progress=show_progress, label=label)


@torch.no_grad()
def similarity(model: ShapeCLIP, images: np.ndarray, text_embeddings: np.ndarray
               ) -> np.ndarray:
    """Cosine similarities ``u_i . v_j``: ``(N, 3, 32, 32)`` images x ``(T, 384)`` texts ->
    ``(N, T)`` in [-1, 1] (without the scale ``exp(tau)``)."""
    model.eval()
    u = model.encode_images(torch.as_tensor(np.asarray(images, dtype=np.float32)))
    v = model.encode_text(torch.as_tensor(np.asarray(text_embeddings, dtype=np.float32)))
    return (u @ v.T).numpy()


def recall_at_k(scores: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    """Per-query hits of retrieval: is ``targets[q]`` among the ``k`` best of ``scores[q]``?

    Args:
        scores: ``(Q, G)`` scores of every gallery item for every query.
        targets: ``(Q,)`` index of the correct gallery item of each query.
        k: how many top items count.

    Returns:
        ``(Q,)`` array of 0.0/1.0; its mean is recall@k. Ties count against the query (the
        correct item must beat every other item with a strictly higher score).
    """
    scores = np.asarray(scores, dtype=float)
    targets = np.asarray(targets)
    if scores.ndim != 2 or targets.shape != (len(scores),):
        raise ValueError(f"scores must be (Q, G) and targets (Q,), got {scores.shape} and "
                         f"{targets.shape}.")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinite values.")
    k = check_int("k", k, 1, scores.shape[1])
    if targets.min() < 0 or targets.max() >= scores.shape[1]:
        raise ValueError(f"targets must index the {scores.shape[1]} gallery items.")
    correct = scores[np.arange(len(scores)), targets]
    rank = (scores >= correct[:, None]).sum(axis=1)  # 1 = best; ties count against
    return (rank <= k).astype(float)


def pixel_features(images: np.ndarray) -> np.ndarray:
    """``(N, 3, H, W)`` images -> ``(N, 3 H W)`` centred pixel vectors for the baselines."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, 3, H, W), got {images.shape}.")
    return images.reshape(len(images), -1) - cs.BACKGROUND


class RidgeBaseline:
    """Bag-of-attributes baseline: a linear map from pixels to the frozen caption embeddings.

    Fitted by ridge regression, ``W = argmin |X W - E|^2 + alpha |W|^2`` with ``X`` the
    ``(N, 3072)`` pixels of the training images and ``E`` the ``(N, 384)`` MiniLM
    embeddings of their captions. It sees the same images and the same text tower as the
    contrastive model, but is fitted to *predict* each caption's embedding rather than to
    tell captions apart. Scores are cosines between ``X W`` and caption embeddings.
    """

    def __init__(self, alpha: float = 10.0) -> None:
        self.alpha = check_float("alpha", alpha, 0, low_inclusive=False)
        self.weights: np.ndarray | None = None

    def fit(self, images: np.ndarray, caption_embeddings: np.ndarray) -> "RidgeBaseline":
        """``images`` (N, 3, 32, 32) and their captions' ``(N, 384)`` embeddings."""
        x = pixel_features(images)
        e = np.asarray(caption_embeddings, dtype=np.float32)
        if e.shape != (len(x), TEXT_DIM):
            raise ValueError(f"caption_embeddings must be ({len(x)}, {TEXT_DIM}), got {e.shape}.")
        gram = x.T @ x + self.alpha * np.eye(x.shape[1], dtype=np.float32)
        self.weights = np.linalg.solve(gram, x.T @ e)
        return self

    def similarity(self, images: np.ndarray, text_embeddings: np.ndarray) -> np.ndarray:
        """``(N, T)`` cosines between predicted and given caption embeddings."""
        if self.weights is None:
            raise ValueError("fit the baseline first.")
        pred = pixel_features(images) @ self.weights
        pred /= np.linalg.norm(pred, axis=1, keepdims=True) + 1e-8
        text = np.asarray(text_embeddings, dtype=np.float32)
        return pred @ (text / np.linalg.norm(text, axis=1, keepdims=True)).T


def nearest_neighbour_captions(train_images: np.ndarray, train_ids: np.ndarray,
                               images: np.ndarray) -> np.ndarray:
    """Image -> caption by the nearest training image in pixel space (Euclidean).

    Returns the ``(N,)`` caption ids of the nearest neighbours. It can only ever answer a
    caption it has seen.
    """
    a, b = pixel_features(train_images), pixel_features(images)
    train_ids = np.asarray(train_ids)
    if train_ids.shape != (len(a),):
        raise ValueError(f"train_ids must have shape ({len(a)},), got {train_ids.shape}.")
    d = (b ** 2).sum(1)[:, None] - 2 * b @ a.T + (a ** 2).sum(1)[None, :]
    return train_ids[d.argmin(axis=1)]


@dataclass(frozen=True)
class BestOfN:
    """The candidates of :func:`best_of_n`, best first."""

    ids: np.ndarray      # (N,) caption ids the generator drew
    images: np.ndarray   # (N, 3, 32, 32) the generated images
    scores: np.ndarray   # (N,) cosine with the caption, decreasing


def best_of_n(model: ShapeCLIP, text_embedding: np.ndarray, n: int = 16,
              seed: int = 0) -> BestOfN:
    """Rerank a prompt-blind generator with the contrastive model.

    The generator draws ``n`` random attribute sets and renders them
    (:func:`captioned_shapes.random_ids` + :func:`captioned_shapes.render`); the model
    scores each image against the caption, ``score_i = u_i . v``, and the candidates come
    back sorted, best first. The pick is ``argmax_i score_i``.

    Args:
        model: the trained :class:`ShapeCLIP`.
        text_embedding: the caption's ``(384,)`` (or ``(1, 384)``) MiniLM embedding.
        n: number of candidates, 1..1024.
        seed: seed of the generator.

    Raises:
        ValueError: for a bad ``n``, ``seed`` or embedding shape.
    """
    n = check_int("n", n, 1, 1024)
    seed = check_int("seed", seed, 0)
    vector = np.asarray(text_embedding, dtype=np.float32).reshape(-1, TEXT_DIM)
    if len(vector) != 1:
        raise ValueError(f"text_embedding must be one ({TEXT_DIM},) vector, got shape "
                         f"{np.shape(text_embedding)}.")
    rng = np.random.default_rng(seed)
    ids = cs.random_ids(n, rng)
    images = cs.render(ids, rng)
    scores = similarity(model, images, vector)[:, 0]
    order = np.argsort(-scores, kind="stable")
    return BestOfN(ids[order], images[order], scores[order])
