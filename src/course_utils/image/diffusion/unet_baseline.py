"""The course's digit denoiser beside a standard U-Net, at an equal CPU budget.

    python -m course_utils.bench diffusion-vs-unet [--seconds 240] [--seeds 0 1] [--threads 1]
        [--models mlp unet latent]

Both networks are trained by the same loop (:func:`~course_utils.image.diffusion.denoiser.
train_denoiser`: DDPM's simple loss, label dropout for guidance, EMA weights) on the same 1,437
training digits with the same schedule (linear, T = 200), for the same CPU-time budget on
the same threads. The standard model is ``diffusers.UNet2DModel`` - the network family of
Stable Diffusion - sized for 8x8 images, with a class embedding so that one network is the
conditional and the unconditional model, like the course's. A third contender is latent
diffusion (chapter 21): chapter 7's autoencoder with 8-number codes, trained inside the same
budget, and the course's denoiser on the codes (``--models`` picks the contenders). The
learning-rate schedule of each run is stretched over the number of steps that fits the budget
(CPU time per step, measured on a short probe run, so that a busy machine does not cut one
model short).

Scores, all at N = 500 images and 200 reverse steps: FD to the real test digits for samples
without a label and for samples asked for each digit (50 each), the judge's class accuracy on
the latter, sampling time; the real-data floor is 500 training digits against the test digits.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from types import SimpleNamespace

import torch

from course_utils.image.diffusion.ddpm import images_to_x, make_schedule, sample
from course_utils.image.diffusion.denoiser import (
    Denoiser,
    DenoiserConfig,
    DigitDiffusion,
    LabelConditioned,
    TrainConfig,
    train_denoiser,
)

N_EVAL = 500
PROBE_STEPS = 30  # steps timed (CPU time) to size each run's schedule to the budget
LATENT_DIM = 8    # numbers per code of the latent-diffusion contender


class UNetDenoiser(LabelConditioned):
    """``diffusers.UNet2DModel`` for (B, 1, 8, 8) digits behind the course's denoiser interface:
    ``forward(x, t, y)`` with ``y = None`` meaning "no label" (label ``num_classes``)."""

    def __init__(self, num_classes: int = 10, channels: tuple[int, int] = (32, 64)) -> None:
        super().__init__()
        from diffusers import UNet2DModel

        self.unet = UNet2DModel(sample_size=8, in_channels=1, out_channels=1,
                                layers_per_block=1, block_out_channels=channels,
                                down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                                up_block_types=("AttnUpBlock2D", "UpBlock2D"),
                                norm_num_groups=8, num_class_embeds=num_classes + 1)
        self.config = SimpleNamespace(num_classes=num_classes)  # what train_denoiser reads
        self.label_emb = self.unet.class_embedding  # the label table (shared, not a copy)

    def forward(self, x: torch.Tensor, t: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor:
        return self.unet(x, t, class_labels=self.labels_or_null(y, len(x))).sample


def course_denoiser() -> Denoiser:
    """The committed digit model's network, untrained (residual MLP, width 192, 3 blocks)."""
    return Denoiser(DenoiserConfig(width=192, blocks=3, max_steps=200))


class LatentDigits:
    """Latent diffusion: a denoiser over an autoencoder's codes, scaled to unit spread.

    ``generate`` has :class:`DigitDiffusion`'s signature: ``(n, 8)`` codes are sampled by
    DDPM (no clipping: codes are not bounded), unscaled ``z * spread + centre`` and decoded
    to ``(n, 8, 8)`` images in [0, 1].
    """

    def __init__(self, digits: DigitDiffusion, autoencoder, centre, spread) -> None:
        self.model, self.schedule = digits.model, digits.schedule
        self.autoencoder, self.centre, self.spread = autoencoder, centre, spread

    def generate(self, n: int, seed: int = 0, eps_fn=None):
        generator = torch.Generator().manual_seed(seed)
        z = sample(eps_fn or (lambda x, t: self.model(x, t)), (n, LATENT_DIM), self.schedule,
                   clip=None, generator=generator)
        return self.autoencoder.decode(z.numpy() * self.spread + self.centre)


def train_latent(images, labels: torch.Tensor, seconds: float, seed: int):
    """The autoencoder first (its CPU time counts against ``seconds``), then the denoiser on
    its codes for the rest. Returns ``(LatentDigits, history, network)``."""
    from course_utils.image import autoencoders

    start = time.process_time()
    torch.manual_seed(seed)
    ae, _ = autoencoders.train_autoencoder(
        autoencoders.AutoencoderConfig(latent_dim=LATENT_DIM), images,
        autoencoders.TrainConfig(seed=seed), show_progress=False)
    codes = ae.embed(images)                                              # (N, 8)
    centre, spread = codes.mean(0), codes.std(0)
    z = torch.from_numpy((codes - centre) / spread)
    left = seconds - (time.process_time() - start)
    digits, history, network = train_for(
        lambda: Denoiser(DenoiserConfig(dim=LATENT_DIM, width=192, blocks=3, max_steps=200)),
        z, labels, left, seed)
    history.cpu_seconds += seconds - left  # report the whole budget used
    return LatentDigits(digits, ae, centre, spread), history, network


def train_for(build, data: torch.Tensor, labels: torch.Tensor, seconds: float, seed: int):
    """Train ``build()`` for ``seconds`` with the committed recipe, its cosine schedule sized
    to the steps that fit. Returns ``(DigitDiffusion, history, network)``."""
    schedule = make_schedule(200)
    recipe = TrainConfig(batch_size=256, lr=2e-3, label_dropout=0.2, ema_decay=0.999,
                         warmup_steps=100, seed=seed)
    torch.manual_seed(seed)
    probe = build()
    _, probe_history = train_denoiser(probe, data, schedule,
                                      replace(recipe, steps=PROBE_STEPS, warmup_steps=0),
                                      labels=labels, show_progress=False)
    # CPU time, not wall time: a busy machine must not shorten one model's budget
    per_step = probe_history.cpu_seconds / PROBE_STEPS
    steps = max(PROBE_STEPS, int(seconds / per_step))
    torch.manual_seed(seed)
    network = build()
    model, history = train_denoiser(network, data, schedule, replace(recipe, steps=steps),
                                    labels=labels, show_progress=False)
    return DigitDiffusion(model, schedule, {}), history, network


def evaluate(digits: DigitDiffusion, seed: int) -> dict[str, float]:
    """FD (unconditional and per-digit samples), class accuracy, sampling seconds."""
    from course_utils.image.diffusion.guidance import guided_eps
    from course_utils.metrics.image_quality import digit_fd, judge_digits

    start = time.perf_counter()
    free = digits.generate(N_EVAL, seed=seed)
    sampling = time.perf_counter() - start
    asked = torch.arange(N_EVAL) % 10
    conditional = digits.generate(N_EVAL, seed=seed, eps_fn=guided_eps(digits.model, asked, 1.0))
    return {"FD no label": digit_fd(free), "FD per digit": digit_fd(conditional),
            "class accuracy": judge_digits(conditional, asked.numpy()).accuracy,
            "sampling s": sampling}


#: ``--models`` name -> the name printed in the table.
CONTENDERS = {"mlp": "course Denoiser (MLP)", "unet": "diffusers UNet2DModel",
              "latent": "latent diffusion (AE d=8)"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.bench diffusion-vs-unet",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=240.0,
                        help="training budget per run, in CPU seconds")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="+", choices=list(CONTENDERS),
                        default=list(CONTENDERS), help="which contenders to train")
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.seconds <= 0:
        parser.error("--seconds must be positive")

    from course_utils.core.environment import setup
    from course_utils.metrics.image_quality import digit_fd, digit_splits

    env = setup(seed=0, threads=args.threads, quiet=True)
    splits = digit_splits()
    data = images_to_x(splits.train_images)
    labels = torch.from_numpy(splits.train_labels)
    floor = digit_fd(splits.train_images[torch.randperm(len(data))[:N_EVAL].numpy()])
    print(f"machine: {os.cpu_count()} CPUs, {env.threads} torch thread(s); budget "
          f"{args.seconds:.0f} s of training per run; N = {N_EVAL}; real-data floor FD "
          f"{floor:.1f}")
    print(f"{'model':<28} {'seed':>4} {'params':>9} {'steps':>6} {'CPU s':>6} {'FD no label':>12} "
          f"{'FD per digit':>13} {'class acc':>9} {'sample s':>9}")
    for key in args.models:
        name = CONTENDERS[key]
        for seed in args.seeds:
            if key == "latent":
                digits, history, network = train_latent(splits.train_images, labels,
                                                        args.seconds, seed)
            else:
                build = course_denoiser if key == "mlp" else UNetDenoiser
                digits, history, network = train_for(build, data, labels, args.seconds, seed)
            scores = evaluate(digits, seed)
            print(f"{name:<28} {seed:>4} {network.num_parameters():>9,} "
                  f"{len(history.loss):>6} {history.cpu_seconds:>6.0f} "
                  f"{scores['FD no label']:>12.1f} "
                  f"{scores['FD per digit']:>13.1f} {scores['class accuracy']:>9.3f} "
                  f"{scores['sampling s']:>9.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
