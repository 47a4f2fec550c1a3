"""The denoising network of chapters 21-23, its training loop, and the committed digit model.

- :class:`Denoiser` is the noise predictor ``eps_theta(x_t, t, y)``: a residual MLP with a
  sinusoidal time embedding and an optional label embedding (with a "no label" entry, so one
  network serves as the conditional and the unconditional model of classifier-free guidance).
- :func:`train_denoiser` minimises DDPM's simple loss (Ho et al. 2020, eq. 14 / Algorithm 1),
  with label dropout and an exponential moving average (EMA) of the weights.
- :func:`load_digit_diffusion` loads the committed class-conditional DDPM for the 8x8 digits
  (``checkpoints/digit_diffusion.safetensors``, safetensors - no pickle), produced by this
  module's command line (the exact command is stored in the checkpoint's metadata)::

      python -m course_utils.train digit-diffusion --steps 16000 --seed 0 --quiet

The diffusion process itself (schedule, forward noising, reverse sampler) is
:mod:`course_utils.image.diffusion.ddpm`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from course_utils.core.checkpoints import CHECKPOINT_DIR, read_checkpoint, write_checkpoint
from course_utils.core.training import LossHistory, run_steps, warmup_cosine
from course_utils.core.validation import check_float, check_int
from course_utils.image.diffusion.ddpm import (
    SCHEDULE_KINDS,
    EpsFn,
    NoiseSchedule,
    images_to_x,
    make_schedule,
    q_sample,
    sample,
    x_to_images,
)
from course_utils.train import public_command

CHECKPOINT = CHECKPOINT_DIR / "digit_diffusion.safetensors"


# --- the network ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DenoiserConfig:
    """Size of :class:`Denoiser`, a residual MLP with time (and label) conditioning."""

    dim: int = 64            # D: numbers per sample (64 = 8x8 image, 2 = a 2-D point)
    width: int = 192         # H: hidden width of the residual blocks
    blocks: int = 3          # residual blocks
    num_classes: int = 10    # labels 0..C-1, plus label C = "no label" (0: unconditional only)
    time_dim: int = 64       # size of the sinusoidal time-step embedding
    max_steps: int = 1000    # largest time step the embedding's frequencies are spread over
    dropout: float = 0.0     # dropout inside the blocks

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "DenoiserConfig":
        return cls(**json.loads(text))


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of time steps (as in the Transformer and DDPM): (B,) -> (B, dim).

    ``[cos(t w_0), ..., cos(t w_{k-1}), sin(t w_0), ..., sin(t w_{k-1})]`` with ``k = dim / 2``
    and frequencies ``w_i = max_period^(-i / k)``.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]                    # (B, half)
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class _Block(nn.Module):
    """``h + W2 dropout(SiLU(W1 (LN(h) (1 + scale) + shift))))`` with (scale, shift) from the
    conditioning vector (FiLM)."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.film = nn.Linear(width, 2 * width)
        self.fc1 = nn.Linear(width, 2 * width)
        self.fc2 = nn.Linear(2 * width, width)
        self.dropout = nn.Dropout(dropout)
        nn.init.zeros_(self.fc2.weight)  # each block starts as the identity
        nn.init.zeros_(self.fc2.bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(c).chunk(2, dim=-1)               # (B, H) each
        z = self.norm(h) * (1 + scale) + shift
        return h + self.fc2(self.dropout(F.silu(self.fc1(z))))     # (B, H)


class LabelConditioned(nn.Module):
    """What every course denoiser shares (digits, point clouds, the U-Net baseline): labels
    ``0..C-1`` name a class and label ``C = config.num_classes`` means "no label", so one
    network is the conditional and the unconditional model (classifier-free guidance)."""

    @property
    def null_label(self) -> int:
        """The label index that means "no label" (= number of classes)."""
        return self.config.num_classes

    def labels_or_null(self, y: torch.Tensor | None, batch: int) -> torch.Tensor:
        """``y`` itself, or the null label for every one of ``batch`` samples when ``None``."""
        return torch.full((batch,), self.null_label, dtype=torch.long) if y is None else y

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class Denoiser(LabelConditioned):
    """The noise predictor ``eps_theta(x_t, t, y)``: a residual MLP.

    ``x_t (B, ...) -flatten-> (B, D) -linear-> (B, H) -blocks(c)-> -LN, linear-> (B, D)
    -reshape-> (B, ...)``, with the conditioning ``c = MLP(sinusoid(t)) + E[y]`` (B, H) feeding
    every block. Label ``y = C`` (``config.num_classes``) means "no label"; training replaces
    the real label with it now and then, so one network is both the conditional and the
    unconditional model that classifier-free guidance needs (chapter 22).

    An MLP rather than the U-Net of large image models: on 8x8 images it reaches good samples,
    and on a CPU it runs several times faster per step than a small convolutional U-Net did in
    the course's measurements (sampling cost is what limits a notebook: T network calls per
    image).
    """

    def __init__(self, config: DenoiserConfig = DenoiserConfig()) -> None:
        super().__init__()
        self.config = config
        H = config.width
        self.inp = nn.Linear(config.dim, H)
        self.time_mlp = nn.Sequential(nn.Linear(config.time_dim, H), nn.SiLU(), nn.Linear(H, H))
        self.label_emb = nn.Embedding(config.num_classes + 1, H) if config.num_classes else None
        self.blocks = nn.ModuleList(_Block(H, config.dropout) for _ in range(config.blocks))
        self.out_norm = nn.LayerNorm(H)
        self.out = nn.Linear(H, config.dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (B, ...) with ``prod(...) = D``, ``t`` (B,), ``y`` (B,) or ``None`` (= no label)
        -> predicted noise, shaped like ``x``."""
        h = self.inp(x.reshape(len(x), -1))                              # (B, D) -> (B, H)
        c = self.time_mlp(timestep_embedding(t, self.config.time_dim,
                                             max_period=self.config.max_steps))  # (B, H)
        if self.label_emb is not None:
            c = c + self.label_emb(self.labels_or_null(y, len(x)))       # (B, H)
        c = F.silu(c)
        for block in self.blocks:
            h = block(h, c)
        return self.out(self.out_norm(h)).view_as(x)                      # (B, D) -> (B, ...)


# --- training ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainConfig:
    """The training recipe of :func:`train_denoiser`."""

    steps: int = 3000             # optimiser steps
    batch_size: int = 256         # samples per step
    lr: float = 2e-3              # peak learning rate (AdamW); cosine decay to 5% of it
    warmup_steps: int = 100       # linear warm-up
    weight_decay: float = 0.0     # AdamW weight decay
    label_dropout: float = 0.2    # probability of replacing a label by "no label" (CFG training)
    ema_decay: float = 0.999      # weights for sampling = exponential moving average (0: off)
    max_seconds: float | None = None  # stop early after this much training time (live runs)
    seed: int = 0                 # seeds initial weights, batches, time steps and noise

    def __post_init__(self) -> None:
        check_int("steps", self.steps, low=1, high=10_000_000)
        check_int("batch_size", self.batch_size, low=1, high=65_536)
        check_int("warmup_steps", self.warmup_steps, low=0)
        check_float("lr", self.lr, low=0, high=1, low_inclusive=False)
        check_float("label_dropout", self.label_dropout, low=0, high=1)
        check_float("ema_decay", self.ema_decay, low=0, high=1, high_inclusive=False)
        if self.max_seconds is not None:
            check_float("max_seconds", self.max_seconds, low=0, low_inclusive=False)

    def learning_rate(self, step: int) -> float:
        """Linear warm-up, then cosine decay to 5% of ``lr`` (:func:`warmup_cosine`)."""
        return warmup_cosine(step, self.steps, self.lr, self.warmup_steps, floor_fraction=0.05)


#: The loss history of a denoiser run (``loss``, ``seconds``, ``cpu_seconds``, ``smoothed()``).
TrainHistory = LossHistory


def train_denoiser(model: Denoiser, data: torch.Tensor, schedule: NoiseSchedule,
                   config: TrainConfig = TrainConfig(), labels: torch.Tensor | None = None,
                   show_progress: bool = True) -> tuple[Denoiser, TrainHistory]:
    """Train ``model`` on ``data`` with DDPM's simple loss (eq. 14 / Algorithm 1).

    Each step: draw a batch ``x_0``, steps ``t ~ U{0..T-1}`` and noise ``eps``, form ``x_t``
    with :func:`q_sample`, and minimise ``mean |eps - eps_theta(x_t, t, y)|^2``. With
    ``labels``, each label is replaced by the null label with probability
    ``config.label_dropout``.

    Args:
        model: the network (trained in place).
        data: training samples (N, ...) in the model's scale (images in [-1, 1]).
        schedule: the noise schedule.
        config: the recipe.
        labels: (N,) int64 labels in ``0..C-1``, or ``None`` (unconditional).
        show_progress: progress bar.

    Returns:
        ``(sampling_model, history)``: the EMA copy of the weights (or ``model`` itself when
        EMA is off), in eval mode, and the loss history.
    """
    if len(data) < 2:
        raise ValueError("train_denoiser needs at least 2 training samples.")
    dim = getattr(model.config, "dim", None)  # flat-vector denoisers check the sample size
    if dim is not None and data[0].numel() != dim:
        raise ValueError(f"each sample must have {dim} numbers, got {data[0].numel()}.")
    if labels is not None:
        if labels.shape != (len(data),):
            raise ValueError(f"labels must be ({len(data)},), got {tuple(labels.shape)}.")
        if getattr(model, "label_emb", None) is None or labels.min() < 0 \
                or labels.max() >= model.null_label:
            raise ValueError(f"labels must lie in 0..{model.null_label - 1} for this model.")
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)

    def loss_at(step: int) -> torch.Tensor:
        idx = torch.randint(0, len(data), (config.batch_size,), generator=generator)
        x0 = data[idx]                                                   # (B, ...)
        t = torch.randint(0, schedule.num_steps, (config.batch_size,), generator=generator)
        eps = torch.randn(x0.shape, generator=generator)
        y = None  # None = the null label
        if labels is not None:
            drop = torch.rand(config.batch_size, generator=generator) < config.label_dropout
            y = torch.where(drop, model.null_label, labels[idx])         # (B,)
        return F.mse_loss(model(q_sample(x0, t, schedule, eps), t, y), eps)

    return run_steps(model, loss_at, optimiser, config.steps, config.learning_rate,
                     ema_decay=config.ema_decay, max_seconds=config.max_seconds,
                     show_progress=show_progress)


# --- the committed digit model -------------------------------------------------------------

@dataclass
class DigitDiffusion:
    """The class-conditional digit model with its schedule and training record."""

    model: Denoiser
    schedule: NoiseSchedule
    record: dict

    def eps_fn(self, labels: torch.Tensor | None = None) -> EpsFn:
        """The unguided predictor for fixed labels (B,), or unconditional (null label)."""
        def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return self.model(x, t, labels)
        return eps

    def generate(self, n: int, seed: int = 0, steps: int | None = None,
                 eps_fn: EpsFn | None = None, **sample_kwargs) -> np.ndarray:
        """``n`` images (n, 8, 8) in [0, 1]; unconditional unless ``eps_fn`` says otherwise
        (see :func:`course_utils.image.diffusion.guidance.guided_eps`). Extra arguments go to
        :func:`course_utils.image.diffusion.ddpm.sample`."""
        check_int("n", n, low=1, high=10_000)
        check_int("seed", seed, low=0)
        generator = torch.Generator().manual_seed(seed)
        x = sample(eps_fn or self.eps_fn(), (n, 1, 8, 8), self.schedule, steps=steps,
                   generator=generator, **sample_kwargs)
        return x_to_images(x)


def save_denoiser(path: Path, model: nn.Module, schedule: NoiseSchedule, record: dict) -> Path:
    """Weights, config (``model.config.to_json()``), schedule and training record of any of the
    course's denoisers in one safetensors file (no pickle). Chapter 24's point denoiser uses it
    too."""
    return write_checkpoint(path, model.state_dict(), {
        "config": model.config.to_json(),
        "schedule": {"kind": schedule.kind, "num_steps": schedule.num_steps},
        "record": record})


def read_denoiser(path: Path, build: Callable[[str], nn.Module], what: str,
                  train_command: str) -> tuple[nn.Module, NoiseSchedule, dict]:
    """Load a file written by :func:`save_denoiser`.

    Args:
        path: the safetensors file.
        build: makes the (untrained) network from the stored config JSON.
        what: the checkpoint's name for error messages, e.g. ``"digit-diffusion"``.
        train_command: the command that makes a missing file, for the error message.

    Returns:
        ``(model in eval mode without gradients, schedule, training record)``.
    """
    tensors, meta = read_checkpoint(path, what, train_command, required=("config", "schedule"))
    model = build(meta["config"])
    model.load_state_dict(tensors)
    model.eval().requires_grad_(False)
    schedule = make_schedule(**json.loads(meta["schedule"]))
    return model, schedule, json.loads(meta.get("record", "{}"))


@lru_cache(maxsize=2)
def load_digit_diffusion(path: Path = CHECKPOINT) -> DigitDiffusion:
    """The committed class-conditional DDPM for 8x8 digits (eval mode; no pickle)."""
    model, schedule, record = read_denoiser(
        path, lambda config: Denoiser(DenoiserConfig.from_json(config)), "digit-diffusion",
        "python -m course_utils.train digit-diffusion")
    return DigitDiffusion(model, schedule, record)


def evaluate_digit_model(digits: DigitDiffusion, n: int = 500, seed: int = 1) -> dict:
    """Sample quality of the model: unconditional samples judged by the course's digit judge,
    and conditional samples (no guidance) checked against the asked label."""
    from course_utils.metrics.image_quality import digit_fd, judge_digits

    images = digits.generate(n, seed=seed)
    report = judge_digits(images)
    labels = torch.arange(n) % 10
    conditional = digits.generate(n, seed=seed + 1, eps_fn=digits.eps_fn(labels))
    cond = judge_digits(conditional, labels.numpy())
    return {"unconditional_digit_rate": round(report.digit_rate, 4),
            "unconditional_confidence": round(report.mean_confidence, 4),
            "unconditional_classes": report.classes_covered,
            "unconditional_fd": round(digit_fd(images), 2),
            "conditional_accuracy": round(cond.accuracy or 0.0, 4),
            "conditional_fd": round(digit_fd(conditional), 2), "eval_samples": n}


def _train_command(args: argparse.Namespace) -> int:
    from course_utils.metrics.image_quality import digit_splits

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    splits = digit_splits()
    data = images_to_x(splits.train_images)
    labels = torch.from_numpy(splits.train_labels)
    schedule = make_schedule(args.num_steps, args.schedule)
    model = Denoiser(DenoiserConfig(width=args.width, blocks=args.blocks, dropout=args.dropout,
                                    max_steps=args.num_steps))
    recipe = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                         label_dropout=args.label_dropout, seed=args.seed)
    print(f"{model.num_parameters():,} parameters; {recipe.steps} steps of "
          f"{recipe.batch_size} digits", flush=True)
    ema, history = train_denoiser(model, data, schedule, recipe, labels,
                                  show_progress=not args.quiet)
    record = {"command": public_command(__name__, args.argv),
              "seed": args.seed, "train_seconds": round(history.seconds, 1),
              "train_cpu_seconds": round(history.cpu_seconds, 1),
              "threads": torch.get_num_threads(), "steps": len(history.loss),
              "final_loss": round(float(np.mean(history.loss[-200:])), 4),
              "train_images": len(data), "train_config": asdict(recipe),
              "schedule": schedule.as_dict()}
    record.update(evaluate_digit_model(DigitDiffusion(ema, schedule, record)))
    save_denoiser(args.out, ema, schedule, record)
    print(json.dumps(record, indent=1))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.train",
                                     description="Train the class-conditional digit DDPM.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", prog="python -m course_utils.train digit-diffusion", help="train and save the digit model")
    defaults, recipe = DenoiserConfig(), TrainConfig()
    train.add_argument("--out", type=Path, default=CHECKPOINT)
    train.add_argument("--steps", type=int, default=recipe.steps)
    train.add_argument("--batch-size", type=int, default=recipe.batch_size)
    train.add_argument("--lr", type=float, default=recipe.lr)
    train.add_argument("--label-dropout", type=float, default=recipe.label_dropout)
    train.add_argument("--width", type=int, default=defaults.width)
    train.add_argument("--blocks", type=int, default=defaults.blocks)
    train.add_argument("--dropout", type=float, default=defaults.dropout)
    train.add_argument("--num-steps", type=int, default=200, help="T of the schedule")
    train.add_argument("--schedule", default="linear", choices=SCHEDULE_KINDS)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=1)
    train.add_argument("--quiet", action="store_true")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    return _train_command(args)

