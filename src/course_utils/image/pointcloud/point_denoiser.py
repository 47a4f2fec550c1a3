"""Point-cloud diffusion (chapter 24): a permutation-equivariant denoiser, its training loop, the
committed shape model, and the training command for it and for the shape judge.

The diffusion process is chapter 21's, unchanged (:mod:`course_utils.image.diffusion.ddpm`): the data are
now ``(B, N, 3)`` point coordinates instead of pixels, and since coordinates have no fixed
range the sampler runs with ``clip=None``. Classifier-free guidance is chapter 22's
(:func:`course_utils.image.diffusion.guidance.guided_eps`), with a shape name instead of a digit.

- :class:`PointDenoiser` predicts the noise of every point, ``eps_theta(x_t, t, y)`` (B, N, 3):
  a shared per-point residual MLP (each point processed by the same weights) whose blocks are
  conditioned on the time step, the shape label and a **global feature** - the max and mean of
  all points' features, so each point "sees" the whole cloud. Sharing weights and pooling with
  max/mean make it permutation-equivariant: shuffle the input points and the predicted noise
  is shuffled the same way.
- :func:`train_point_denoiser` minimises DDPM's simple loss on clouds, with label dropout and
  EMA (the recipe of :class:`course_utils.image.diffusion.denoiser.TrainConfig`).
- :func:`load_shape_diffusion` loads ``checkpoints/shape_diffusion.safetensors``, produced by::

      python -m course_utils.train shape-diffusion --steps 6000 --seed 0 --quiet

  and ``checkpoints/shape_classifier.safetensors`` (the judge of
  :mod:`course_utils.image.pointcloud.shapes`) by ``python -m course_utils.image.pointcloud.point_denoiser
  train-classifier``. The exact commands are stored in the checkpoints' metadata.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from course_utils.core.checkpoints import CHECKPOINT_DIR
from course_utils.core.training import run_steps, warmup_cosine
from course_utils.core.validation import check_float, check_int
from course_utils.image.diffusion.ddpm import (
    EpsFn,
    NoiseSchedule,
    StepResult,
    Trajectory,
    make_schedule,
    sample,
    sample_trajectory,
)
from course_utils.image.diffusion.denoiser import (
    LabelConditioned,
    TrainConfig,
    TrainHistory,
    read_denoiser,
    save_denoiser,
    timestep_embedding,
    train_denoiser,
)
from course_utils.image.diffusion.guidance import MAX_GUIDANCE
from course_utils.image.pointcloud import shapes as P
from course_utils.image.prompts import LabelPromptEncoder
from course_utils.train import public_command

CHECKPOINT = CHECKPOINT_DIR / "shape_diffusion.safetensors"
N_POINTS = 256        # points per cloud of the committed model's training data


# --- the network ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PointDenoiserConfig:
    """Size of :class:`PointDenoiser`."""

    width: int = 64               # H: features per point
    blocks: int = 4               # residual blocks, each with its own global feature
    num_classes: int = len(P.SHAPES)  # labels 0..C-1, plus label C = "no shape named"
    time_dim: int = 64            # size of the sinusoidal time-step embedding
    max_steps: int = 200          # T of the schedule (spreads the embedding's frequencies)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "PointDenoiserConfig":
        return cls(**json.loads(text))


class _PointBlock(nn.Module):
    """``h + W2 SiLU(W1 (LN(h) (1 + scale) + shift))`` for every point, with (scale, shift)
    from the cloud's conditioning vector plus its pooled global feature (FiLM)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.pool = nn.Linear(2 * width, width)     # [max, mean] of the points -> global feature
        self.film = nn.Linear(width, 2 * width)
        self.fc1 = nn.Linear(width, 2 * width)
        self.fc2 = nn.Linear(2 * width, width)
        nn.init.zeros_(self.fc2.weight)             # each block starts as the identity
        nn.init.zeros_(self.fc2.bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        z = self.norm(h)                                                  # (B, N, H)
        pooled = torch.cat([z.amax(dim=1), z.mean(dim=1)], dim=-1)        # (B, 2H)
        cond = F.silu(c + self.pool(pooled))                              # (B, H)
        scale, shift = self.film(cond)[:, None].chunk(2, dim=-1)          # (B, 1, H) each
        return h + self.fc2(F.silu(self.fc1(z * (1 + scale) + shift)))    # (B, N, H)


class PointDenoiser(LabelConditioned):
    """The noise predictor for point clouds, ``eps_theta(x_t, t, y)``: (B, N, 3) -> (B, N, 3).

    ``x_t -linear-> (B, N, H) -blocks(c, global feature)-> -LN, linear-> (B, N, 3)`` with
    ``c = MLP(sinusoid(t)) + E[y]`` (B, H). Label ``y = C`` means "no shape named" (for
    classifier-free guidance); ``forward(x, t, y)`` and :attr:`null_label` match chapter 22's
    ``Denoiser``, so :func:`course_utils.image.diffusion.guidance.guided_eps` works with it unchanged.
    """

    def __init__(self, config: PointDenoiserConfig = PointDenoiserConfig()) -> None:
        super().__init__()
        self.config = config
        H = config.width
        self.inp = nn.Linear(3, H)
        self.time_mlp = nn.Sequential(nn.Linear(config.time_dim, H), nn.SiLU(), nn.Linear(H, H))
        self.label_emb = nn.Embedding(config.num_classes + 1, H)
        self.blocks = nn.ModuleList(_PointBlock(H) for _ in range(config.blocks))
        self.out_norm = nn.LayerNorm(H)
        self.out = nn.Linear(H, 3)

    def forward(self, x: torch.Tensor, t: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (B, N, 3), ``t`` (B,), ``y`` (B,) or ``None`` (no label) -> noise (B, N, 3)."""
        if x.ndim != 3 or x.shape[-1] != 3:
            raise ValueError(f"x must be (B, N, 3) point clouds, got shape {tuple(x.shape)}.")
        y = self.labels_or_null(y, len(x))
        h = self.inp(x)                                                   # (B, N, H)
        c = self.time_mlp(timestep_embedding(t, self.config.time_dim,
                                             max_period=self.config.max_steps))  # (B, H)
        c = c + self.label_emb(y)                                         # (B, H)
        for block in self.blocks:
            h = block(h, c)
        return self.out(self.out_norm(h))                                 # (B, N, 3)


# --- training ------------------------------------------------------------------------------

def train_point_denoiser(model: PointDenoiser, clouds: torch.Tensor, schedule: NoiseSchedule,
                         config: TrainConfig = TrainConfig(), labels: torch.Tensor | None = None,
                         show_progress: bool = True) -> tuple[PointDenoiser, TrainHistory]:
    """Train ``model`` on clouds (M, N, 3) with DDPM's simple loss (Algorithm 1 of Ho et al.).

    Each step: a batch of clouds ``x_0``, steps ``t ~ U{0..T-1}``, noise ``eps`` (B, N, 3);
    minimise ``mean |eps - eps_theta(sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, t, y)|^2``.
    Labels are replaced by the null label with probability ``config.label_dropout``; without
    ``labels`` the model trains unconditionally (null label throughout).

    Returns:
        ``(sampling_model, history)``: the EMA copy (or ``model`` when EMA is off), eval mode.
    """
    if len(clouds) < 2:
        raise ValueError("train_point_denoiser needs at least 2 training clouds.")
    return train_denoiser(model, P.check_clouds(clouds), schedule, config, labels,
                          show_progress)


# --- the committed shape model -------------------------------------------------------------

def shape_labels(shapes: str | int | Sequence[str | int], count: int | None = None) -> torch.Tensor:
    """Labels (B,) for shape names or indices; one name with ``count`` repeats it."""
    if isinstance(shapes, (str, int)):
        shapes = [shapes] * (1 if count is None else check_int("count", count, low=1,
                                                               high=P.MAX_CLOUDS))
    if len(shapes) == 0:
        raise ValueError("name at least one shape.")
    out = []
    for s in shapes:
        if isinstance(s, str):
            out.append(P.shape_index(s))
        else:
            out.append(check_int("shape label", s, low=0, high=len(P.SHAPES) - 1))
    return torch.tensor(out, dtype=torch.long)


#: Words a shape prompt may contain besides the shape's name.
PROMPT_FILLER = ("a", "an", "the", "one", "shape", "object", "of", "draw", "make", "show", "me",
                 "please", "3d", "3-d", "solid", "surface", "point", "cloud", "generate")
MAX_PROMPT_CHARS = 80


#: The shape prompt encoder: one of the shapes' names (or its plural), plus filler words.
SHAPE_PROMPTS = LabelPromptEncoder(names=tuple(P.SHAPES), filler_words=PROMPT_FILLER,
                                   thing="shape", plurals=True, max_chars=MAX_PROMPT_CHARS,
                                   example="'a torus' or 'draw a cube'")


def shape_from_prompt(prompt: str) -> int:
    """The shape a short prompt names ("a torus", "Draw a cone!", "3-D cube") -> its label.

    Text-to-3-D at the scale of this chapter: :data:`SHAPE_PROMPTS` (the course's one prompt
    encoder, :class:`course_utils.image.prompts.LabelPromptEncoder`) reads the prompt, which
    must name exactly one of :data:`course_utils.image.pointcloud.shapes.SHAPES` (a trailing
    plural "s" is accepted) and may add words from :data:`PROMPT_FILLER`; case and
    punctuation are ignored.

    Raises:
        ValueError: empty or long prompt, unknown words (the message lists the known ones),
            no shape, or two different shapes.
    """
    return SHAPE_PROMPTS.encode(prompt)


@dataclass
class ShapeDiffusion:
    """The shape-conditional point-cloud DDPM with its schedule and training record."""

    model: PointDenoiser
    schedule: NoiseSchedule
    record: dict

    def eps_fn(self, labels: torch.Tensor, guidance: float = 1.0) -> EpsFn:
        """The guided noise predictor for labels (B,) (:func:`course_utils.image.diffusion.guidance.guided_eps`);
        ``guidance = 0`` ignores the labels, 1 is the plain conditional model."""
        from course_utils.image.diffusion.guidance import guided_eps

        check_float("guidance scale w", guidance, low=0.0, high=MAX_GUIDANCE)
        return guided_eps(self.model, labels, guidance)

    def _check(self, steps: int | None, seed: int, n_points: int) -> None:
        check_int("seed", seed, low=0)
        check_int("points per cloud (N)", n_points, low=8, high=P.MAX_POINTS)
        if steps is not None:
            check_int("steps", steps, low=1, high=self.schedule.num_steps)

    def generate(self, shapes: str | int | Sequence[str | int], count: int | None = None,
                 guidance: float = 1.0, steps: int | None = 50, seed: int = 0,
                 n_points: int = N_POINTS,
                 callback: Callable[[StepResult], None] | None = None) -> torch.Tensor:
        """Draw clouds (B, n_points, 3) of the named shapes.

        Args:
            shapes: one name (with ``count``) or a list of names / labels, one per cloud.
            count: clouds when ``shapes`` is one name.
            guidance: classifier-free guidance scale ``w`` in ``[0, 10]``.
            steps: reverse steps (1..T; ``None`` = all T).
            seed: seed of the starting noise and of every step's noise.
            n_points: points per cloud (the network takes any number; it saw 256).
            callback: called with every reverse step (see :func:`course_utils.image.diffusion.ddpm.sample`).
        """
        labels = shape_labels(shapes, count)
        self._check(steps, seed, n_points)
        eps_fn = self.eps_fn(labels, guidance)
        check_int("clouds x points", len(labels) * n_points, high=2_000_000)
        return sample(eps_fn, (len(labels), n_points, 3), self.schedule, steps=steps,
                      generator=torch.Generator().manual_seed(seed), callback=callback,
                      clip=None)

    def trajectory(self, shape: str, keep: Sequence[int], guidance: float = 1.0,
                   steps: int | None = 50, seed: int = 0,
                   n_points: int = N_POINTS) -> Trajectory:
        """One cloud's reverse process, with snapshots at the steps in ``keep``."""
        labels = shape_labels(shape, 1)
        self._check(steps, seed, n_points)
        return sample_trajectory(self.eps_fn(labels, guidance), (1, n_points, 3), self.schedule,
                                 keep=keep, steps=steps, clip=None,
                                 generator=torch.Generator().manual_seed(seed))


@lru_cache(maxsize=2)
def load_shape_diffusion(path: Path = CHECKPOINT) -> ShapeDiffusion:
    """The committed shape-conditional point-cloud DDPM (eval mode; no pickle)."""
    model, schedule, record = read_denoiser(
        path, lambda config: PointDenoiser(PointDenoiserConfig.from_json(config)),
        "shape-diffusion", "python -m course_utils.train shape-diffusion")
    return ShapeDiffusion(model, schedule, record)


def evaluate_shape_model(shapes: ShapeDiffusion, per_shape: int = 20, guidance: float = 1.0,
                         steps: int | None = 50, seed: int = 1,
                         reference_per_shape: int = 40) -> dict:
    """Quality of generated clouds, per asked shape and overall: the judge's accuracy (read as
    the asked shape), the mean Chamfer distance to the nearest of ``reference_per_shape`` real
    clouds of that shape, and the same distance for Gaussian blobs (the baseline)."""
    labels = torch.arange(len(P.SHAPES)).repeat_interleave(per_shape)
    clouds = shapes.generate(labels.tolist(), guidance=guidance, steps=steps, seed=seed)
    verdict = P.classify(clouds)
    reference, ref_labels = P.make_dataset(reference_per_shape, clouds.shape[1], seed=seed + 500)
    blobs = P.gaussian_blobs(per_shape, clouds.shape[1], seed=seed + 900)
    result: dict = {"per_shape": per_shape, "guidance": guidance, "steps": steps,
                    "shape_accuracy": round(verdict.accuracy(labels.numpy()), 4)}
    gen_cd, blob_cd = [], []
    for k, name in enumerate(P.SHAPES):
        ref = reference[ref_labels == k]
        gen_cd.append(float(P.nearest_real(clouds[labels == k], ref)[0].mean()))
        blob_cd.append(float(P.nearest_real(blobs, ref)[0].mean()))
        result[f"accuracy_{name}"] = round(float((verdict.predicted[labels.numpy() == k] == k)
                                                 .mean()), 4)
        result[f"chamfer_{name}"] = round(gen_cd[-1], 5)
    result["chamfer_generated"] = round(float(np.mean(gen_cd)), 5)
    result["chamfer_blob"] = round(float(np.mean(blob_cd)), 5)
    return result


# --- the shape judge's training ------------------------------------------------------------

def _augment(clouds: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Small random changes a judge should ignore: scale 0.9-1.1, a shift of up to 0.05, and
    Gaussian jitter of up to 0.02 per coordinate (B, N, 3)."""
    b = len(clouds)
    scale = 0.9 + 0.2 * torch.rand(b, 1, 1, generator=generator)
    shift = 0.05 * (2 * torch.rand(b, 1, 3, generator=generator) - 1)
    jitter = 0.02 * torch.rand(b, 1, 1, generator=generator)
    return clouds * scale + shift + jitter * torch.randn(clouds.shape, generator=generator)


def train_shape_classifier(steps: int = 600, batch_per_class: int = 8, n_points: int = N_POINTS,
                           pool_per_shape: int = 600, lr: float = 2e-3, seed: int = 0,
                           show_progress: bool = True) -> tuple[P.PointNetClassifier, dict]:
    """Train the shape judge: the five shapes (a pool of ``pool_per_shape`` clouds each, with
    :func:`_augment`) and freshly drawn structureless clouds for "not a shape".

    Returns:
        ``(model in eval mode, record)`` with held-out accuracy on fresh clouds (other seeds).
    """
    check_int("steps", steps, low=1, high=100_000)
    check_int("batch_per_class", batch_per_class, low=1, high=1000)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    pool, pool_labels = P.make_dataset(pool_per_shape, n_points, seed=seed + 1)
    model = P.PointNetClassifier()
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    k = len(P.SHAPES)

    def loss_at(step: int) -> torch.Tensor:
        idx = torch.randint(0, len(pool), (batch_per_class * k,), generator=generator)
        negatives = P.not_a_shape(batch_per_class, n_points, generator)
        x = torch.cat([_augment(pool[idx], generator), negatives])
        y = torch.cat([pool_labels[idx], torch.full((batch_per_class,), P.NOT_A_SHAPE)])
        return F.cross_entropy(model(x), y)

    model, history = run_steps(model, loss_at, optimiser, steps,
                               lambda step: warmup_cosine(step, steps, lr),  # cosine to 5%
                               show_progress=show_progress, label="training the judge")
    losses, seconds, cpu_seconds = history.loss, history.seconds, history.cpu_seconds
    model.eval().requires_grad_(False)
    test, test_labels = P.make_dataset(100, n_points, seed=seed + 77)
    noise = P.not_a_shape(200, n_points, torch.Generator().manual_seed(seed + 78))
    blobs = P.gaussian_blobs(200, n_points, seed=seed + 79)
    real = P.classify(test, model)
    record = {"seed": seed, "steps": steps, "batch": batch_per_class * (k + 1),
              "pool_per_shape": pool_per_shape, "n_points": n_points,
              "train_seconds": round(seconds, 1), "train_cpu_seconds": round(cpu_seconds, 1),
              "final_loss": round(float(np.mean(losses[-50:])), 4),
              "test_accuracy": round(real.accuracy(test_labels.numpy()), 4),
              "test_confidence": round(float(real.confidence.mean()), 4),
              "noise_rejected": round(1 - P.classify(noise, model).shape_rate, 4),
              "blob_rejected": round(1 - P.classify(blobs, model).shape_rate, 4)}
    return model, record


# --- command line --------------------------------------------------------------------------

def _train_command(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    command = public_command(__name__, args.argv)
    if args.command == "train-classifier":
        model, record = train_shape_classifier(steps=args.steps, seed=args.seed,
                                               show_progress=not args.quiet)
        record.update({"command": command, "threads": torch.get_num_threads()})
        P.save_classifier(args.out or P.CLASSIFIER_CHECKPOINT, model, record)
        print(json.dumps(record, indent=1))
        return 0
    clouds, labels = P.make_dataset(args.per_shape, N_POINTS, seed=args.seed + 1)
    schedule = make_schedule(args.num_steps)
    model = PointDenoiser(PointDenoiserConfig(width=args.width, blocks=args.blocks,
                                              max_steps=args.num_steps))
    recipe = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                         label_dropout=args.label_dropout, seed=args.seed,
                         max_seconds=args.max_minutes * 60 if args.max_minutes else None)
    print(f"{model.num_parameters():,} parameters; {recipe.steps} steps of "
          f"{recipe.batch_size} clouds x {N_POINTS} points", flush=True)
    ema, history = train_point_denoiser(model, clouds, schedule, recipe, labels,
                                        show_progress=not args.quiet)
    record = {"command": command, "seed": args.seed,
              "train_seconds": round(history.seconds, 1),
              "train_cpu_seconds": round(history.cpu_seconds, 1),
              "threads": torch.get_num_threads(), "steps": len(history.loss),
              "final_loss": round(float(np.mean(history.loss[-200:])), 4),
              "train_clouds": len(clouds), "n_points": N_POINTS,
              "train_config": asdict(recipe), "schedule": schedule.as_dict()}
    record["quality"] = evaluate_shape_model(ShapeDiffusion(ema, schedule, record))
    save_denoiser(args.out or CHECKPOINT, ema, schedule, record)
    print(json.dumps(record, indent=1))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.train",
                                     description="Train the shape judge or the shape DDPM.")
    sub = parser.add_subparsers(dest="command", required=True)
    judge = sub.add_parser("train-classifier", prog="python -m course_utils.train shape-judge", help="train and save the shape judge")
    judge.add_argument("--steps", type=int, default=600)
    train = sub.add_parser("train", prog="python -m course_utils.train shape-diffusion", help="train and save the point-cloud DDPM")
    defaults, recipe = PointDenoiserConfig(), TrainConfig()
    train.add_argument("--steps", type=int, default=6000)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--lr", type=float, default=2e-3)
    train.add_argument("--label-dropout", type=float, default=recipe.label_dropout)
    train.add_argument("--width", type=int, default=defaults.width)
    train.add_argument("--blocks", type=int, default=defaults.blocks)
    train.add_argument("--num-steps", type=int, default=200, help="T of the schedule")
    train.add_argument("--per-shape", type=int, default=1000, help="training clouds per shape")
    train.add_argument("--max-minutes", type=float, default=None, help="stop after this long")
    for p in (judge, train):
        p.add_argument("--out", type=Path, default=None)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--quiet", action="store_true")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    return _train_command(args)

