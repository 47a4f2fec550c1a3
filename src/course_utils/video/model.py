"""Text-to-video at the course's scale: a frame-by-frame diffusion model for 8-frame clips.

A clip is drawn one frame at a time. Each frame is an image made by chapter 21's diffusion
process (:mod:`course_utils.image.diffusion.ddpm`: the same schedule, loss and sampler), and
the network that denoises it is told three things besides the noisy frame and the step:
the prompt (chapter 22's label with classifier-free guidance), *which* frame of the clip it
is, and the **previous frame** - the one just generated::

    frame_0 ~ p(x | prompt, k = 0)                    (no previous frame: an image model)
    frame_k ~ p(x | prompt, k, frame_{k-1})           (k = 1 .. F-1)

This is autoregressive over frames and diffusion within a frame - the design of "frame-
conditioned" video models and of diffusion world models that predict the next frame of a
game. The motion lives in the step from one frame to the next, so the network learns it as
"draw the previous frame's object, moved as the prompt says".

- :class:`FrameDenoiser` - ``eps_theta(x_t, t, y, previous, k)``: a small U-Net (convolutions
  at 16 x 16, 8 x 8 and 4 x 4 pixels, self-attention at 4 x 4) whose input is the noisy frame
  stacked with the previous frame and a "previous frame given" channel, and whose blocks are
  conditioned (FiLM: scale and shift) on the step, the prompt and the frame index.
- :func:`train_frame_denoiser` - DDPM's simple loss on (frame, previous frame) pairs from the
  training clips, with label dropout (for guidance) and **context dropout**: the previous frame
  is withheld from a share of the pairs (and always from frame 0), so that the same network is
  also an image model. The previous frame gets a little noise, so that the model tolerates
  its own imperfect frames at generation time. The loop is the course's
  :func:`course_utils.core.training.run_steps`.
- :class:`VideoDiffusion` - the trained network with its schedule: :meth:`~VideoDiffusion.generate`
  clips from prompts; ``independent=True`` draws every frame without the previous one (the
  **independent-frames baseline**: same network, same weights, same training budget, only the
  flow of information between frames removed); ``start=`` keeps given first frames and
  continues them (editing in time: continue a clip, animate a still); per-frame labels change
  the prompt mid-clip.
- :class:`PromptGaussian` - the trivial baseline that knows the prompt: a Gaussian per label
  with the training clips' mean and covariance.
- :func:`load_video_diffusion` - the committed model (``checkpoints/video_diffusion.safetensors``,
  float16 weights), made by ``python -m course_utils.train video-diffusion`` (the exact command
  is stored in the checkpoint's metadata).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from course_utils.core.checkpoints import CHECKPOINT_DIR
from course_utils.core.training import LossHistory, run_steps
from course_utils.core.validation import check_float, check_int
from course_utils.image.diffusion.ddpm import NoiseSchedule, make_schedule, q_sample, sample
from course_utils.image.diffusion.denoiser import (
    LabelConditioned,
    TrainConfig,
    read_denoiser,
    save_denoiser,
    timestep_embedding,
)
from course_utils.image.diffusion.guidance import check_guidance, guided_eps
from course_utils.train import public_command
from course_utils.video import clips as C

CHECKPOINT = CHECKPOINT_DIR / "video_diffusion.safetensors"
SAMPLERS = ("ddim", "ddpm")
MAX_BATCH = 1024     # most clips one generate() call draws


# --- the network ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FrameDenoiserConfig:
    """Size of :class:`FrameDenoiser`."""

    channels: int = 16           # features at 16 x 16 (twice at 8 x 8, four times at 4 x 4)
    frames: int = C.FRAMES       # frame indices 0..frames-1 the network knows
    num_classes: int = C.NUM_LABELS  # labels 0..44, plus 45 = "no prompt"
    time_dim: int = 64           # size of the sinusoidal time-step embedding
    max_steps: int = 200         # T of the schedule (spreads the embedding's frequencies)
    heads: int = 4               # attention heads at 4 x 4

    def __post_init__(self) -> None:
        check_int("channels", self.channels, low=8, high=512)
        if self.channels % 8:
            raise ValueError(f"channels must be a multiple of 8 (group norm), got "
                             f"{self.channels}.")
        check_int("frames", self.frames, low=1, high=64)
        check_int("heads", self.heads, low=1, high=16)
        if (4 * self.channels) % self.heads:
            raise ValueError(f"4 * channels = {4 * self.channels} must divide by heads "
                             f"{self.heads}.")
        if self.num_classes != C.NUM_LABELS:
            raise ValueError(f"num_classes must be {C.NUM_LABELS} (the clip labels).")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "FrameDenoiserConfig":
        return cls(**json.loads(text))


class AttributeEmbedding(nn.Module):
    """The prompt's vector: ``E_colour[c] + E_shape[s] + E_motion[m]`` (B, D) for labels (B,)
    0..44, with a "none" row in each table for the null label 45 ("no prompt").

    One vector per attribute rather than one per label: the 45 prompts share 3 + 3 + 5
    learned vectors, so what the model learns about "left" is shared by every shape and
    colour moving left.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.colour = nn.Embedding(len(C.COLOURS) + 1, dim)
        self.shape = nn.Embedding(len(C.SHAPES) + 1, dim)
        self.motion = nn.Embedding(len(C.MOTIONS) + 1, dim)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        null = y == C.NUM_LABELS
        rest = torch.where(null, 0, y)
        colour = rest // (len(C.SHAPES) * len(C.MOTIONS))
        shape = (rest // len(C.MOTIONS)) % len(C.SHAPES)
        motion = rest % len(C.MOTIONS)
        return (self.colour(torch.where(null, len(C.COLOURS), colour))
                + self.shape(torch.where(null, len(C.SHAPES), shape))
                + self.motion(torch.where(null, len(C.MOTIONS), motion)))


class _ResBlock(nn.Module):
    """``skip(h) + conv(SiLU(GN(conv(SiLU(GN(h)))) (1 + a) + b))`` with ``(a, b)`` from the
    conditioning vector (FiLM); the second convolution starts at 0 (the block starts as
    the skip)."""

    def __init__(self, c_in: int, c_out: int, cond: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(8, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm2 = nn.GroupNorm(8, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.film = nn.Linear(cond, 2 * c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        z = self.conv1(F.silu(self.norm1(h)))                              # (B, C', h, w)
        scale, shift = self.film(c)[:, :, None, None].chunk(2, dim=1)      # (B, C', 1, 1)
        return self.skip(h) + self.conv2(F.silu(self.norm2(z) * (1 + scale) + shift))


class _Attention(nn.Module):
    """Self-attention over the pixels of a small feature map, ``h + W_o softmax(q k^T /
    sqrt(d)) v``: every position sees every other (at 4 x 4, the whole frame)."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(8, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        b, c, height, width = h.shape
        q, k, v = self.qkv(self.norm(h)).reshape(b, 3, self.heads, c // self.heads,
                                                 height * width).permute(1, 0, 2, 4, 3)
        attended = F.scaled_dot_product_attention(q, k, v)                 # (B, heads, hw, d)
        return h + self.out(attended.permute(0, 1, 3, 2).reshape(b, c, height, width))


class FrameDenoiser(LabelConditioned):
    """The noise predictor of one frame, ``eps_theta(x_t, t, y, previous, k)``.

    ``[x_t, previous * g, g]`` (B, 7, 16, 16) with ``g`` = 1 where a previous frame is given
    -> U-Net: blocks at 16 x 16 (C channels), 8 x 8 (2C), 4 x 4 (4C, with self-attention),
    back up with skip connections -> (B, 3, 16, 16). Every block is conditioned on
    ``c = SiLU(MLP(sinusoid(t)) + E_attributes[y] + E_frame[k])`` (B, 4C). Label ``y = 45``
    means "no prompt"; ``forward(x, t, y)`` and :attr:`null_label` match chapter 21's
    ``Denoiser`` (with the previous frame and the frame index bound by
    :class:`FrameContext`, :func:`course_utils.image.diffusion.guidance.guided_eps` works
    unchanged).
    """

    def __init__(self, config: FrameDenoiserConfig = FrameDenoiserConfig()) -> None:
        super().__init__()
        self.config = config
        ch, cond = config.channels, 4 * config.channels
        self.time_mlp = nn.Sequential(nn.Linear(config.time_dim, cond), nn.SiLU(),
                                      nn.Linear(cond, cond))
        self.label_emb = AttributeEmbedding(cond)
        self.frame_emb = nn.Embedding(config.frames, cond)
        self.inp = nn.Conv2d(7, ch, 3, padding=1)
        self.down1 = _ResBlock(ch, ch, cond)
        self.pool1 = nn.Conv2d(ch, 2 * ch, 3, stride=2, padding=1)          # 16 -> 8
        self.down2 = _ResBlock(2 * ch, 2 * ch, cond)
        self.pool2 = nn.Conv2d(2 * ch, 4 * ch, 3, stride=2, padding=1)      # 8 -> 4
        self.mid1 = _ResBlock(4 * ch, 4 * ch, cond)
        self.attention = _Attention(4 * ch, config.heads)
        self.mid2 = _ResBlock(4 * ch, 4 * ch, cond)
        self.unpool2 = nn.ConvTranspose2d(4 * ch, 2 * ch, 4, stride=2, padding=1)  # 4 -> 8
        self.up2 = _ResBlock(4 * ch, 2 * ch, cond)
        self.unpool1 = nn.ConvTranspose2d(2 * ch, ch, 4, stride=2, padding=1)      # 8 -> 16
        self.up1 = _ResBlock(2 * ch, ch, cond)
        self.out_norm = nn.GroupNorm(8, ch)
        self.out = nn.Conv2d(ch, 3, 3, padding=1)
        nn.init.zeros_(self.out.weight)  # the untrained network predicts eps = 0
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None,
                previous: torch.Tensor | None = None, given: torch.Tensor | None = None,
                frame: torch.Tensor | None = None) -> torch.Tensor:
        """Predicted noise (B, 3, H, W) of the frames ``x`` (B, 3, H, W) at steps ``t`` (B,).

        Args:
            y: labels (B,), or ``None`` for "no prompt".
            previous: the previous frames (B, 3, H, W) in [-1, 1], or ``None`` for none.
            given: (B,) bool, which samples have a previous frame (default: all, when
                ``previous`` is given).
            frame: frame indices (B,) in ``0..frames-1`` (default 0).
        """
        if x.ndim != 4 or x.shape[1:] != (3, C.SIZE, C.SIZE):
            raise ValueError(f"x must be frames (B, 3, {C.SIZE}, {C.SIZE}), got shape "
                             f"{tuple(x.shape)}.")
        b = len(x)
        if previous is None:
            previous, given = torch.zeros_like(x), torch.zeros(b, dtype=torch.bool)
        elif previous.shape != x.shape:
            raise ValueError(f"previous must have the shape of x {tuple(x.shape)}, got "
                             f"{tuple(previous.shape)}.")
        if given is None:
            given = torch.ones(b, dtype=torch.bool)
        if frame is None:
            frame = torch.zeros(b, dtype=torch.long)
        if len(frame) and (frame.min() < 0 or frame.max() >= self.config.frames):
            raise ValueError(f"frame indices must lie in 0..{self.config.frames - 1}.")
        gate = given.to(x.dtype)[:, None, None, None]                      # (B, 1, 1, 1)
        h = self.inp(torch.cat([x, previous * gate, gate.expand(b, 1, C.SIZE, C.SIZE)],
                               dim=1))                                     # (B, 7, H, W) -> (B, C, H, W)
        c = self.time_mlp(timestep_embedding(t, self.config.time_dim,
                                             max_period=self.config.max_steps))
        c = F.silu(c + self.label_emb(self.labels_or_null(y, b)) + self.frame_emb(frame))
        h1 = self.down1(h, c)                                              # (B, C, 16, 16)
        h2 = self.down2(self.pool1(h1), c)                                 # (B, 2C, 8, 8)
        h = self.mid2(self.attention(self.mid1(self.pool2(h2), c)), c)     # (B, 4C, 4, 4)
        h = self.up2(torch.cat([self.unpool2(h), h2], dim=1), c)           # (B, 2C, 8, 8)
        h = self.up1(torch.cat([self.unpool1(h), h1], dim=1), c)           # (B, C, 16, 16)
        return self.out(F.silu(self.out_norm(h)))                          # (B, 3, 16, 16)


class FrameContext(LabelConditioned):
    """:class:`FrameDenoiser` with the previous frames and frame indices fixed, behind the
    interface ``forward(x, t, y)`` that :func:`~course_utils.image.diffusion.guidance.guided_eps`
    calls (a batch of 2B, for guidance, repeats the context)."""

    def __init__(self, model: FrameDenoiser, previous: torch.Tensor, given: torch.Tensor,
                 frame: torch.Tensor) -> None:
        super().__init__()
        self.model, self.config = model, model.config
        self.previous, self.given, self.frame = previous, given, frame

    def forward(self, x: torch.Tensor, t: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor:
        reps = len(x) // len(self.previous)
        return self.model(x, t, y, self.previous.repeat(reps, 1, 1, 1),
                          self.given.repeat(reps), self.frame.repeat(reps))


# --- training ------------------------------------------------------------------------------

CONTEXT_DROPOUT = 0.25   # share of (frame, previous) pairs trained without the previous frame
CONTEXT_NOISE = 0.05     # largest std of the noise added to the previous frame in training


def train_frame_denoiser(model: FrameDenoiser, clips_x: torch.Tensor, labels: torch.Tensor,
                         schedule: NoiseSchedule, config: TrainConfig = TrainConfig(),
                         context_dropout: float = CONTEXT_DROPOUT,
                         context_noise: float = CONTEXT_NOISE,
                         show_progress: bool = True) -> tuple[FrameDenoiser, LossHistory]:
    """Train on clips (N, F, 3, H, W) in [-1, 1] with labels (N,), DDPM's simple loss.

    Each step draws ``config.batch_size`` (clip, frame ``k``) pairs; the target is frame
    ``k``, the context frame ``k - 1``, withheld for ``k = 0`` and with probability
    ``context_dropout``, and otherwise blurred by noise of standard deviation
    ``u * context_noise`` (``u ~ U(0, 1)``). With ``t ~ U{0..T-1}`` and ``eps ~ N(0, I)``:
    ``loss = mean |eps - eps_theta(sqrt(abar_t) x_k + sqrt(1 - abar_t) eps, t, y, x_{k-1},
    k)|^2``; labels are replaced by the null label with probability ``config.label_dropout``.
    :func:`course_utils.core.training.run_steps` runs the loop (warm-up and cosine learning
    rate of ``config``, gradient clipping at 1, EMA of the weights).

    Returns:
        ``(sampling model in eval mode, history)``.
    """
    if clips_x.ndim != 5 or clips_x.shape[2:] != (3, C.SIZE, C.SIZE) or len(clips_x) < 2:
        raise ValueError(f"clips_x must be (N >= 2, F, 3, {C.SIZE}, {C.SIZE}), got shape "
                         f"{tuple(clips_x.shape)}.")
    frames = clips_x.shape[1]
    if frames > model.config.frames:
        raise ValueError(f"the model knows {model.config.frames} frame indices, the clips "
                         f"have {frames} frames.")
    labels = torch.from_numpy(C.check_labels(labels))
    if len(labels) != len(clips_x):
        raise ValueError(f"need one label per clip: {len(clips_x)} clips, {len(labels)} "
                         f"labels.")
    check_float("context_dropout", context_dropout, low=0.0, high=1.0)
    check_float("context_noise", context_noise, low=0.0, high=1.0)
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    batch = config.batch_size

    def loss_at(step: int) -> torch.Tensor:
        clip = torch.randint(0, len(clips_x), (batch,), generator=generator)
        k = torch.randint(0, frames, (batch,), generator=generator)
        target = clips_x[clip, k]                                          # (B, 3, H, W)
        previous = clips_x[clip, (k - 1).clamp(min=0)]                     # (B, 3, H, W)
        given = (k > 0) & (torch.rand(batch, generator=generator) >= context_dropout)
        blur = context_noise * torch.rand(batch, 1, 1, 1, generator=generator)
        previous = previous + blur * torch.randn(previous.shape, generator=generator)
        drop = torch.rand(batch, generator=generator) < config.label_dropout
        y = torch.where(drop, model.null_label, labels[clip])              # (B,)
        t = torch.randint(0, schedule.num_steps, (batch,), generator=generator)
        eps = torch.randn(target.shape, generator=generator)
        x_t = q_sample(target, t, schedule, eps)
        return F.mse_loss(model(x_t, t, y, previous, given, k), eps)

    return run_steps(model, loss_at, optimiser, config.steps, config.learning_rate,
                     ema_decay=config.ema_decay, grad_clip=1.0,
                     max_seconds=config.max_seconds, show_progress=show_progress)


# --- generating ----------------------------------------------------------------------------

def frame_labels(labels: object, frames: int) -> torch.Tensor:
    """Labels per frame (B, F) int64 from: one prompt, a list of prompts or labels (one per
    clip, the same for every frame), or a (B, F) array of labels (one per frame)."""
    check_int("frames", frames, low=1, high=64)
    if isinstance(labels, str):
        labels = [labels]
    if isinstance(labels, (torch.Tensor, np.ndarray)) and np.ndim(labels) == 2:
        y = np.asarray(labels.numpy() if isinstance(labels, torch.Tensor) else labels)
        if y.shape[1] != frames:
            raise ValueError(f"per-frame labels must be (B, {frames}), got {y.shape}.")
        check_int("number of clips", len(y), low=1, high=MAX_BATCH)
        return torch.from_numpy(C.check_labels(y.reshape(-1)).reshape(y.shape))
    values = labels.tolist() if isinstance(labels, (torch.Tensor, np.ndarray)) \
        else list(labels)  # type: ignore[call-overload]
    if not values:
        raise ValueError("ask for at least one clip (a label or a prompt).")
    check_int("number of clips", len(values), low=1, high=MAX_BATCH)
    out = [C.label_from_prompt(v) if isinstance(v, str) else v for v in values]
    y = torch.from_numpy(C.check_labels(np.asarray(out)))
    return y[:, None].expand(len(y), frames).contiguous()


@dataclass
class VideoDiffusion:
    """A trained :class:`FrameDenoiser` with its schedule and training record."""

    model: FrameDenoiser
    schedule: NoiseSchedule
    record: dict

    @property
    def frames(self) -> int:
        """Frames per clip (the frame indices the network knows)."""
        return self.model.config.frames

    def generate(self, labels: object, guidance: float = 1.0, steps: int = 20, seed: int = 0,
                 independent: bool = False, start: object | None = None,
                 sampler: str = "ddim") -> np.ndarray:
        """Clips (B, F, 3, H, W) in [0, 1], drawn frame by frame.

        For ``k = 0 .. F-1``: run the reverse process for frame ``k`` with the noise
        predictor ``guided_eps(FrameContext(model, frame_{k-1}, k), y_k, w)`` - chapter 22's
        classifier-free guidance - then use the result as the next frame's context.

        Args:
            labels: one prompt, prompts or labels (one per clip), or (B, F) labels (one per
                frame: the prompt may change mid-clip).
            guidance: guidance scale ``w`` in [0, 10] (1 = plain conditional model).
            steps: reverse steps per frame (DDIM: 20 are plenty here).
            seed: seed of every frame's starting noise.
            independent: draw every frame without the previous one (the baseline).
            start: known first frames (B, K, 3, H, W) in [0, 1], ``1 <= K < F``: they are
                kept as given and the clip continues from them.
            sampler: ``"ddim"`` (deterministic given the noise) or ``"ddpm"``.
        """
        y = frame_labels(labels, self.frames)                              # (B, F)
        check_guidance(guidance)
        check_int("steps", steps, low=1, high=self.schedule.num_steps)
        check_int("seed", seed, low=0)
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}.")
        known = None
        if start is not None:
            if independent:
                raise ValueError("the independent-frames baseline cannot continue a clip: it "
                                 "never sees another frame.")
            known = C.clips_to_x(start)                                    # (B, K, 3, H, W)
            if not 1 <= known.shape[1] < self.frames:
                raise ValueError(f"start must hold 1..{self.frames - 1} frames, got "
                                 f"{known.shape[1]}.")
            if len(known) == 1 and len(y) > 1:
                known = known.expand(len(y), *known.shape[1:])
            if len(y) == 1 and len(known) > 1:
                y = y.expand(len(known), self.frames)
            if len(known) != len(y):
                raise ValueError(f"need one label per clip: {len(known)} clips, {len(y)} "
                                 f"labels.")
        batch = len(y)
        generator = torch.Generator().manual_seed(seed)
        previous = torch.zeros(batch, 3, C.SIZE, C.SIZE)
        given = torch.zeros(batch, dtype=torch.bool)
        out = []
        for k in range(self.frames):
            if known is not None and k < known.shape[1]:
                frame = known[:, k]
            else:
                context = FrameContext(self.model, previous, given,
                                       torch.full((batch,), k, dtype=torch.long))
                frame = sample(guided_eps(context, y[:, k], guidance),
                               (batch, 3, C.SIZE, C.SIZE), self.schedule, steps=steps,
                               generator=generator, sampler=sampler)
            out.append(frame)
            if not independent:
                previous, given = frame, torch.ones(batch, dtype=torch.bool)
        clips = C.x_to_clips(torch.stack(out, dim=1))                      # (B, F, 3, H, W)
        if start is not None:
            clips[:, :known.shape[1]] = C.check_clips(start)[:, :known.shape[1]]
        return clips


# --- the trivial baseline ------------------------------------------------------------------

class PromptGaussian:
    """A Gaussian per label over clip pixels, with the training clips' mean and covariance.

    For the ``n`` training clips ``x_i`` (flattened to D = F * 3 * H * W numbers) of a label,
    with mean ``mu`` and deviations ``d_i = x_i - mu``, a sample is
    ``mu + sum_i z_i d_i / sqrt(n - 1)`` with ``z ~ N(0, I_n)``: exactly ``N(mu, Sigma)`` for
    the sample covariance ``Sigma = sum_i d_i d_i^T / (n - 1)`` (rank ``n - 1``), without ever
    forming the D x D matrix. It knows the prompt and every pixel correlation of the data -
    and nothing about objects.
    """

    def __init__(self, clips: object, labels: object) -> None:
        x = C.check_clips(clips)
        y = C.check_labels(labels)
        if len(y) != len(x):
            raise ValueError(f"need one label per clip: {len(x)} clips, {len(y)} labels.")
        self.shape = x.shape[1:]
        self.means: dict[int, np.ndarray] = {}
        self.deviations: dict[int, np.ndarray] = {}
        for label in np.unique(y):
            group = x[y == label].reshape(int((y == label).sum()), -1)   # (n, D)
            if len(group) < 2:
                raise ValueError(f"label {label} needs at least 2 training clips.")
            self.means[int(label)] = group.mean(axis=0)
            self.deviations[int(label)] = (group - group.mean(axis=0)) / np.sqrt(len(group) - 1)

    def mean_clips(self, labels: object) -> np.ndarray:
        """The mean clip of each label (B, F, 3, H, W)."""
        y = self._known(labels)
        return np.stack([self.means[int(k)].reshape(self.shape) for k in y])

    def _known(self, labels: object) -> torch.Tensor:
        y = frame_labels(labels, 1)[:, 0]                                  # (B,)
        missing = sorted({int(k) for k in y} - set(self.means))
        if missing:
            raise ValueError(f"no training clips for label(s) {missing}.")
        return y

    def generate(self, labels: object, seed: int = 0) -> np.ndarray:
        """Samples ``mu_y + D_y^T z`` for labels or prompts, clipped to [0, 1]:
        (B, F, 3, H, W)."""
        y = self._known(labels)
        check_int("seed", seed, low=0)
        rng = np.random.default_rng(seed)
        out = []
        for k in y.tolist():
            z = rng.standard_normal(len(self.deviations[k])).astype(np.float32)
            out.append((self.means[k] + z @ self.deviations[k]).reshape(self.shape))
        return np.clip(np.stack(out), 0, 1).astype(np.float32)


# --- the committed model ------------------------------------------------------------------

@lru_cache(maxsize=2)
def load_video_diffusion(path: Path = CHECKPOINT) -> VideoDiffusion:
    """The committed text-to-video model (eval mode; float16 weights read into float32)."""
    model, schedule, record = read_denoiser(
        path, lambda config: FrameDenoiser(FrameDenoiserConfig.from_json(config)),
        "video-diffusion", "python -m course_utils.train video-diffusion")
    return VideoDiffusion(model, schedule, record)


TRAIN_SEED_OFFSET = 1      # the training clips are make_dataset(per_label, seed + 1)
EVAL_SEED = 10_000         # the seed of the evaluation stored in the training record


def training_clips(per_label: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The training set of the committed model: ``make_dataset(per_label, seed + 1)``."""
    return C.make_dataset(per_label, seed + TRAIN_SEED_OFFSET)


def evaluate_model(model: VideoDiffusion, per_label: int = 2, guidance: float = 1.0,
                   steps: int = 20, seed: int = EVAL_SEED) -> dict:
    """The judge's mean scores (:func:`course_utils.video.judge.clip_scores`) of
    ``per_label`` clips for each of the 45 labels, frame by frame (``"video"``) and with
    independent frames (``"independent"``)."""
    from course_utils.video.judge import clip_scores, score_table

    check_int("per_label", per_label, low=1, high=20)
    labels = np.tile(np.arange(C.NUM_LABELS), per_label)
    result: dict = {"clips": len(labels), "guidance": guidance, "steps": steps, "seed": seed}
    for name, independent in (("video", False), ("independent", True)):
        clips = model.generate(labels, guidance=guidance, steps=steps, seed=seed,
                               independent=independent)
        result[name] = {k: round(v, 4) for k, v in score_table(clip_scores(clips, labels)).items()}
    return result


def _train_command(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    clips, labels = training_clips(args.per_label, args.seed)
    schedule = make_schedule(args.num_steps, args.schedule)
    model = FrameDenoiser(FrameDenoiserConfig(channels=args.channels,
                                              max_steps=args.num_steps))
    recipe = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                         warmup_steps=args.warmup, label_dropout=args.label_dropout,
                         ema_decay=args.ema, seed=args.seed,
                         max_seconds=args.max_minutes * 60 if args.max_minutes else None)
    print(f"{model.num_parameters():,} parameters; {recipe.steps} steps of "
          f"{recipe.batch_size} frames", flush=True)
    ema, history = train_frame_denoiser(model, C.clips_to_x(clips), labels, schedule, recipe,
                                        context_dropout=args.context_dropout,
                                        context_noise=args.context_noise,
                                        show_progress=not args.quiet)
    record = {"command": public_command(__name__, args.argv), "seed": args.seed,
              "train_seconds": round(history.seconds, 1),
              "train_cpu_seconds": round(history.cpu_seconds, 1),
              "threads": torch.get_num_threads(), "steps": len(history.loss),
              "final_loss": round(float(np.mean(history.loss[-200:])), 4),
              "train_clips": len(clips), "context_dropout": args.context_dropout,
              "context_noise": args.context_noise, "train_config": asdict(recipe),
              "schedule": schedule.as_dict(), "weights": "float16"}
    record["quality"] = evaluate_model(VideoDiffusion(ema, schedule, record))
    # float16 weights halve the file; loading copies them into float32 parameters
    save_denoiser(args.out or CHECKPOINT, copy.deepcopy(ema).half(), schedule, record)
    print(json.dumps(record, indent=1))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.train",
                                     description="Train the frame-by-frame text-to-video "
                                                 "model of chapter 32.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", prog="python -m course_utils.train video-diffusion",
                           help="train and save the video model")
    defaults = FrameDenoiserConfig()
    train.add_argument("--steps", type=int, default=8000)
    train.add_argument("--batch-size", type=int, default=256, help="frames per step")
    train.add_argument("--lr", type=float, default=2e-3)
    train.add_argument("--warmup", type=int, default=200)
    train.add_argument("--label-dropout", type=float, default=0.1)
    train.add_argument("--context-dropout", type=float, default=CONTEXT_DROPOUT)
    train.add_argument("--context-noise", type=float, default=CONTEXT_NOISE)
    train.add_argument("--ema", type=float, default=0.999)
    train.add_argument("--channels", type=int, default=defaults.channels)
    train.add_argument("--num-steps", type=int, default=200, help="T of the schedule")
    train.add_argument("--schedule", default="cosine", choices=("linear", "cosine"))
    train.add_argument("--per-label", type=int, default=100, help="training clips per label")
    train.add_argument("--max-minutes", type=float, default=None, help="stop after this long")
    train.add_argument("--out", type=Path, default=None)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=1)
    train.add_argument("--quiet", action="store_true")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    return _train_command(args)
