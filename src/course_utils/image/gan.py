"""Generative adversarial networks (chapter 20): a 2-D ring of Gaussians, then 8x8 digits.

A GAN trains two networks against each other (Goodfellow et al. 2014):

- a **generator** ``G`` maps noise ``z ~ N(0, I)`` to a sample ``x = G(z)``;
- a **discriminator** ``D`` maps a sample to a logit ``D(x)``; ``sigma(D(x))`` is its
  probability that ``x`` is real.

They play the minimax game (equation 1 of the paper)::

    min_G max_D  V(D, G) = E_{x~data}[log sigma(D(x))] + E_{z~N(0,I)}[log(1 - sigma(D(G(z))))]

``D`` ascends ``V`` (it is a logistic-regression classifier, real = 1, fake = 0). Early in
training ``D`` rejects the fakes easily, ``log(1 - sigma(D(G(z))))`` is flat there, and the
generator's gradient vanishes; so ``G`` minimises the **non-saturating** loss instead
(section 3 of the paper), which has the same fixed point and strong gradients where the fakes
are bad::

    L_D = -E_x[log sigma(D(x))] - E_z[log(1 - sigma(D(G(z))))]      (discriminator)
    L_G = -E_z[log sigma(D(G(z)))]                                   (non-saturating generator)
    L_G^minimax = E_z[log(1 - sigma(D(G(z))))]                       (the original, saturating)

At the game's optimum the generator's distribution equals the data's and ``sigma(D) = 1/2``
everywhere (``L_D = log 4``).

This module keeps the tested code of the chapter:

- :func:`discriminator_loss`, :func:`generator_loss` - the equations above;
- :func:`adversarial_training` - the alternating updates, for any pair of networks;
- :class:`GANConfig`, :func:`mlp_gan`, :func:`train_gan` - the 2-D GAN (small MLPs) trained
  live, with snapshots of fixed-noise samples for an animation and
  :func:`discriminator_map` for the discriminator's view of the plane. The default recipe
  (discriminator twice as fast as the generator) covers the ring of 8 Gaussians; with the
  generator ten times faster than the discriminator (``lr_g=1e-2, lr_d=1e-3``) it collapses;
- :func:`ring_centers`, :func:`mode_coverage` - which modes of the ring the samples reach and
  how many samples are "high quality" (near some mode);
- :class:`DigitGANConfig`, :class:`DigitGenerator`, :class:`DigitDiscriminator`,
  :func:`train_digit_gan` - a small DCGAN for scikit-learn's 8x8 digits, scored with the
  course's digit judge (:mod:`course_utils.metrics.image_quality`, :func:`score_digit_generator`,
  :func:`judged_labels`), and :func:`interpolate_latents` for walks in its latent space;
- :func:`load_digit_gan` - the committed generator ``checkpoints/digit_gan.safetensors``
  (safetensors, no pickle), made by this module's command line (the defaults; about 100 s of
  CPU on one thread; command, time and scores are stored in the file)::

      python -m course_utils.train digit-gan
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from course_utils.core.checkpoints import CHECKPOINT_DIR, read_checkpoint, write_checkpoint
from course_utils.core.progress import progress
from course_utils.core.validation import check_float, check_int, check_points
from course_utils.train import public_command

LOSSES = ("non-saturating", "minimax")


# --- the game ----------------------------------------------------------------------------------

def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``L_D = -mean log sigma(D(x)) - mean log(1 - sigma(D(G(z))))``, the binary cross-entropy of
    a classifier with real = 1 and fake = 0 (``-log sigma(l) = softplus(-l)``,
    ``-log(1 - sigma(l)) = softplus(l)``, computed stably from logits).

    Args:
        real_logits: ``D(x)`` on a batch of real samples, shape ``(B,)`` or ``(B, 1)``.
        fake_logits: ``D(G(z))`` on a batch of generated samples, any batch size.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, kind: str = "non-saturating") -> torch.Tensor:
    """The generator's loss on ``D(G(z))`` logits.

    - ``"non-saturating"``: ``L_G = -mean log sigma(D(G(z)))`` (the usual choice);
    - ``"minimax"``: ``L_G = mean log(1 - sigma(D(G(z))))``, the game's own objective, whose
      gradient ``-sigma(D(G(z))) dD/dG`` vanishes when ``D`` confidently rejects the fakes.
    """
    if kind == "non-saturating":
        return F.softplus(-fake_logits).mean()
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}.")


# --- 2-D GAN -----------------------------------------------------------------------------------

def _check_adversarial_settings(config) -> None:
    """The optimiser and loss fields both GAN configs share: learning rates, beta1, seed, loss."""
    for name in ("lr_g", "lr_d"):
        check_float(name, getattr(config, name), low=0, high=1, low_inclusive=False)
    check_float("beta1", config.beta1, low=0, high=1, high_inclusive=False)
    check_int("seed", config.seed, low=0)
    if config.loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {config.loss!r}.")


@dataclass(frozen=True)
class GANConfig:
    """A 2-D GAN and its training recipe (two small MLPs, Adam). The defaults are chapter 20's
    healthy recipe: on the ring of 8 Gaussians it covered all 8 modes in 10 of 10 seeds."""

    latent_dim: int = 8  # size of the noise z ~ N(0, I) fed to the generator
    hidden: int = 64  # width of every hidden layer (both networks)
    layers: int = 2  # hidden layers per network
    steps: int = 1500  # generator updates
    d_steps: int = 1  # discriminator updates before each generator update
    batch_size: int = 128  # real and fake samples per update
    lr_g: float = 1e-3  # Adam learning rate of the generator
    lr_d: float = 2e-3  # Adam learning rate of the discriminator (faster than G: healthier)
    beta1: float = 0.5  # Adam's first-moment decay (0.5 is the DCGAN habit for GANs)
    loss: str = "non-saturating"  # generator loss: "non-saturating" or "minimax"
    seed: int = 0  # seeds the weights, the noise and the real batches

    def __post_init__(self) -> None:
        check_int("latent_dim", self.latent_dim, low=1, high=256)
        check_int("hidden", self.hidden, low=2, high=2048)
        check_int("layers", self.layers, low=1, high=8)
        check_int("steps", self.steps, low=1, high=200_000)
        check_int("d_steps", self.d_steps, low=1, high=20)
        check_int("batch_size", self.batch_size, low=2, high=65_536)
        _check_adversarial_settings(self)


def _mlp(n_in: int, hidden: int, layers: int, n_out: int,
         activation: Callable[[], nn.Module]) -> nn.Sequential:
    """``layers`` hidden layers of width ``hidden``: (B, n_in) -> (B, n_out)."""
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks += [nn.Linear(n_in if i == 0 else hidden, hidden), activation()]
    return nn.Sequential(*blocks, nn.Linear(hidden, n_out))


def mlp_gan(config: GANConfig, dim: int = 2) -> tuple[nn.Module, nn.Module]:
    """The generator ``G: (B, latent_dim) -> (B, dim)`` (ReLU MLP) and the discriminator
    ``D: (B, dim) -> (B, 1)`` logits (LeakyReLU MLP), initialised from ``config.seed``."""
    torch.manual_seed(config.seed)
    generator = _mlp(config.latent_dim, config.hidden, config.layers, dim, nn.ReLU)
    discriminator = _mlp(dim, config.hidden, config.layers, 1, lambda: nn.LeakyReLU(0.2))
    return generator, discriminator


@dataclass
class GANRun:
    """A trained GAN and what happened along the way."""

    config: "GANConfig | DigitGANConfig"
    generator: nn.Module
    discriminator: nn.Module
    steps: list[int] = field(default_factory=list)  # generator steps at which losses were logged
    d_loss: list[float] = field(default_factory=list)  # L_D (log 4 = 1.386 at D's equilibrium)
    g_loss: list[float] = field(default_factory=list)  # L_G (log 2 = 0.693 at equilibrium)
    d_real: list[float] = field(default_factory=list)  # mean sigma(D(x)) on real batches
    d_fake: list[float] = field(default_factory=list)  # mean sigma(D(G(z))) on fake batches
    snapshot_steps: list[int] = field(default_factory=list)  # steps of the snapshots below
    snapshots: list[np.ndarray] = field(default_factory=list)  # G(z_fixed): (n_snapshot, ...) each
    seconds: float = 0.0  # training wall time

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` samples ``G(z)`` (n, dim) float32 from fresh noise of seed ``seed``."""
        return sample_generator(self.generator, n, self.config.latent_dim, seed)


def sample_generator(generator: nn.Module, n: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """``G(z)`` for ``n`` noise vectors ``z ~ N(0, I)`` drawn with ``seed``: (n, ...) float32."""
    check_int("n", n, low=1, high=1_000_000)
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
    was_training = generator.training
    generator.eval()
    with torch.no_grad():
        out = generator(z).numpy().astype(np.float32)
    generator.train(was_training)
    return out


def adversarial_training(generator: nn.Module, discriminator: nn.Module, real: torch.Tensor,
                         config: "GANConfig | DigitGANConfig", snapshot_every: int = 100,
                         n_snapshot: int = 1000, log_every: int = 10,
                         show_progress: bool = False, description: str = "training the GAN",
                         on_snapshot: Callable[[GANRun], None] | None = None) -> GANRun:
    """Train ``generator`` and ``discriminator`` in place against each other on ``real``.

    Each generator step ``t = 1..steps``:

    1. ``d_steps`` times: a real batch ``x`` (B, ...) drawn from ``real`` and a fake batch
       ``G(z)`` (B, ...), ``z ~ N(0, I)`` (B, latent_dim); one Adam step on ``D`` down
       :func:`discriminator_loss`;
    2. a fresh fake batch; one Adam step on ``G`` down :func:`generator_loss` (``config.loss``).

    Every ``snapshot_every`` steps (and at step 0, before training) the generator maps the same
    ``n_snapshot`` fixed noise vectors (in eval mode), so the snapshots show one set of samples
    moving.

    Args:
        generator: ``(B, latent_dim) -> (B, ...)`` samples shaped like ``real[i]``.
        discriminator: ``(B, ...) -> (B, 1)`` logits.
        real: the training set (N, ...), N >= 2.
        config: the recipe (``steps``, ``d_steps``, ``batch_size``, ``lr_g``, ``lr_d``,
            ``beta1``, ``loss``, ``latent_dim``, ``seed``).
        snapshot_every: generator steps between snapshots.
        n_snapshot: samples per snapshot.
        log_every: generator steps between logged losses.
        show_progress: draw a progress bar.
        description: the progress bar's label.
        on_snapshot: called with the run after each snapshot (e.g. to record the
            discriminator's map with :func:`discriminator_map`).

    Returns:
        :class:`GANRun` (both networks left in eval mode).
    """
    check_int("snapshot_every", snapshot_every, low=1)
    check_int("n_snapshot", n_snapshot, low=1, high=100_000)
    check_int("log_every", log_every, low=1)
    if len(real) < 2:
        raise ValueError("the training set needs at least 2 samples.")
    c = config
    run = GANRun(c, generator, discriminator)
    rng = torch.Generator().manual_seed(c.seed + 1)
    z_fixed = torch.randn(n_snapshot, c.latent_dim,
                          generator=torch.Generator().manual_seed(c.seed + 2))
    # foreach=True: one fused update over all parameters, twice as fast for these small
    # networks on a CPU, with the same numbers as the default loop
    opt_g = torch.optim.Adam(generator.parameters(), lr=c.lr_g, betas=(c.beta1, 0.999),
                             foreach=True)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=c.lr_d, betas=(c.beta1, 0.999),
                             foreach=True)

    def snapshot(step: int) -> None:
        generator.eval()
        with torch.no_grad():
            run.snapshots.append(generator(z_fixed).numpy().astype(np.float32))
        generator.train()
        run.snapshot_steps.append(step)
        if on_snapshot is not None:
            on_snapshot(run)

    generator.train()
    discriminator.train()
    snapshot(0)
    steps = range(1, c.steps + 1)
    clock = time.perf_counter()
    for step in progress(steps, description, unit="step") if show_progress else steps:
        for _ in range(c.d_steps):
            x = real[torch.randint(0, len(real), (c.batch_size,), generator=rng)]  # (B, ...)
            with torch.no_grad():
                fake = generator(torch.randn(c.batch_size, c.latent_dim, generator=rng))
            real_logits, fake_logits = discriminator(x), discriminator(fake)  # (B, 1) each
            loss_d = discriminator_loss(real_logits, fake_logits)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        z = torch.randn(c.batch_size, c.latent_dim, generator=rng)  # (B, latent_dim)
        loss_g = generator_loss(discriminator(generator(z)), c.loss)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if step % log_every == 0 or step == c.steps:
            run.steps.append(step)
            run.d_loss.append(loss_d.item())
            run.g_loss.append(loss_g.item())
            run.d_real.append(torch.sigmoid(real_logits).mean().item())
            run.d_fake.append(torch.sigmoid(fake_logits).mean().item())
        if step % snapshot_every == 0 or step == c.steps:
            snapshot(step)
    run.seconds = time.perf_counter() - clock
    generator.eval()
    discriminator.eval()
    return run


def train_gan(data: np.ndarray, config: GANConfig = GANConfig(), snapshot_every: int = 100,
              n_snapshot: int = 1000, log_every: int = 10, show_progress: bool = False,
              on_snapshot: Callable[[GANRun], None] | None = None) -> GANRun:
    """Build :func:`mlp_gan` networks and train them on 2-D ``data`` (N, 2) with
    :func:`adversarial_training`; snapshots are (n_snapshot, 2) point sets."""
    x_real = torch.from_numpy(check_points("data", data, min_rows=2).astype(np.float32))
    generator, discriminator = mlp_gan(config, dim=x_real.shape[1])
    return adversarial_training(generator, discriminator, x_real, config, snapshot_every,
                                n_snapshot, log_every, show_progress, on_snapshot=on_snapshot)


def discriminator_map(discriminator: nn.Module, limit: float = 3.0,
                      resolution: int = 41) -> tuple[np.ndarray, np.ndarray]:
    """``sigma(D(x))`` on a square grid: returns the grid coordinates ``(resolution,)`` and the
    probabilities ``(resolution, resolution)`` (rows follow y, columns follow x)."""
    check_float("limit", limit, low=0, low_inclusive=False)
    check_int("resolution", resolution, low=2, high=1000)
    axis = np.linspace(-limit, limit, resolution, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis)
    points = torch.from_numpy(np.stack([xx.ravel(), yy.ravel()], axis=1))  # (R*R, 2)
    with torch.no_grad():
        p = torch.sigmoid(discriminator(points)).numpy().reshape(resolution, resolution)
    return axis, p


# --- mode coverage -----------------------------------------------------------------------------

def ring_centers(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """The centres (n_modes, 2) of :func:`course_utils.data.make_2d_mixture`'s blobs:
    ``radius * (cos 2 pi k / n, sin 2 pi k / n)``."""
    check_int("n_modes", n_modes, low=1, high=1000)
    check_float("radius", radius, low=0)
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(np.float64)


@dataclass(frozen=True)
class ModeCoverage:
    """How a set of samples covers the modes of a mixture."""

    counts: tuple[int, ...]  # samples within n_sigma * spread of each centre
    n_covered: int  # modes that received at least min_share of the samples
    high_quality: float  # share of samples within n_sigma * spread of some centre
    effective_modes: float  # exp(entropy) of the near-mode samples' modes: n_modes if balanced

    @property
    def n_modes(self) -> int:
        return len(self.counts)


def mode_coverage(samples: np.ndarray, centers: np.ndarray, spread: float, n_sigma: float = 3.0,
                  min_share: float = 0.02) -> ModeCoverage:
    """Count the modes that samples reach (the metric of Srivastava et al. 2017 / Metz et al.
    2017 for the ring of Gaussians).

    A sample is **high quality** if it lies within ``n_sigma * spread`` of its nearest centre;
    a mode is **covered** if at least ``min_share`` of all samples are high-quality samples of
    that mode. With 8 balanced modes each gets 12.5 %; the default 2 % asks for a sixth of
    that. ``effective_modes = exp(-sum_k q_k log q_k)``, with ``q_k`` the share of the
    high-quality samples at mode ``k``, is 8 for a balanced generator and 1 for one stuck on
    a single mode.

    Args:
        samples: (N, D) generated points.
        centers: (K, D) mode centres.
        spread: the standard deviation of each mode.
        n_sigma: radius of a mode, in standard deviations.
        min_share: share of all samples a mode needs to count as covered.
    """
    x = check_points("samples", samples)
    c = check_points("centers", centers)
    if c.shape[1] != x.shape[1]:
        raise ValueError(f"samples have {x.shape[1]} dimensions but centers have {c.shape[1]}.")
    check_float("spread", spread, low=0, low_inclusive=False)
    check_float("n_sigma", n_sigma, low=0, low_inclusive=False)
    check_float("min_share", min_share, low=0, high=1, low_inclusive=False)
    distance = np.linalg.norm(x[:, None, :] - c[None, :, :], axis=2)  # (N, K)
    nearest = distance.argmin(axis=1)
    near = distance[np.arange(len(x)), nearest] <= n_sigma * spread
    counts = np.bincount(nearest[near], minlength=len(c))
    q = counts / max(1, counts.sum())
    entropy = -(q[q > 0] * np.log(q[q > 0])).sum()
    return ModeCoverage(counts=tuple(int(n) for n in counts),
                        n_covered=int((counts >= min_share * len(x)).sum()),
                        high_quality=float(near.mean()),
                        effective_modes=float(np.exp(entropy)) if counts.sum() else 0.0)


# --- digit GAN (DCGAN) -------------------------------------------------------------------------

CHECKPOINT = CHECKPOINT_DIR / "digit_gan.safetensors"


@dataclass(frozen=True)
class DigitGANConfig:
    """A small DCGAN for 8x8 digits (Radford et al. 2016: strided convolutions, batch norm in
    the generator, LeakyReLU in the discriminator, Adam with beta1 = 0.5)."""

    latent_dim: int = 32  # size of the noise z ~ N(0, I)
    width: int = 32  # channels of the 8x8 feature maps; the 4x4 maps have 2 * width
    steps: int = 4000  # generator updates
    d_steps: int = 1  # discriminator updates per generator update
    batch_size: int = 64  # real and fake images per update
    lr_g: float = 5e-4  # Adam learning rate of the generator
    lr_d: float = 5e-4  # Adam learning rate of the discriminator
    beta1: float = 0.5  # Adam's first-moment decay
    loss: str = "non-saturating"  # generator loss: "non-saturating" or "minimax"
    seed: int = 0  # seeds the weights, the noise and the batches

    def __post_init__(self) -> None:
        check_int("latent_dim", self.latent_dim, low=1, high=512)
        check_int("width", self.width, low=1, high=512)
        check_int("steps", self.steps, low=1, high=200_000)
        check_int("d_steps", self.d_steps, low=1, high=20)
        check_int("batch_size", self.batch_size, low=2, high=8192)
        _check_adversarial_settings(self)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


class DigitGenerator(nn.Module):
    """``z (B, latent_dim) -linear, BN, ReLU-> (B, 2w, 4, 4) -transposed conv 4x4 stride 2, BN,
    ReLU-> (B, w, 8, 8) -conv 3x3-> (B, 1, 8, 8) -sigmoid->`` ink in ``[0, 1]``."""

    def __init__(self, latent_dim: int = 32, width: int = 32) -> None:
        super().__init__()
        self.width = width
        self.project = nn.Sequential(nn.Linear(latent_dim, 2 * width * 16),
                                     nn.BatchNorm1d(2 * width * 16), nn.ReLU())
        self.upsample = nn.Sequential(nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
                                      nn.BatchNorm2d(width), nn.ReLU())
        self.to_image = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(-1, 2 * self.width, 4, 4)  # (B, 2w * 16) -> (B, 2w, 4, 4)
        h = self.upsample(h)  # (B, w, 8, 8)
        return torch.sigmoid(self.to_image(h))  # (B, 1, 8, 8)


class DigitDiscriminator(nn.Module):
    """``x (B, 1, 8, 8) -conv 3x3, LReLU-> (B, w, 8, 8) -conv 4x4 stride 2, LReLU->
    (B, 2w, 4, 4) -flatten, linear-> (B, 1)`` logit of "real"."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.LeakyReLU(0.2),  # (B, w, 8, 8)
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # (B, 2w, 4, 4)
            nn.Flatten(), nn.Linear(2 * width * 16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def digit_gan(config: DigitGANConfig) -> tuple[DigitGenerator, DigitDiscriminator]:
    """Fresh generator and discriminator, initialised from ``config.seed``."""
    torch.manual_seed(config.seed)
    return DigitGenerator(config.latent_dim, config.width), DigitDiscriminator(config.width)


def train_digit_gan(config: DigitGANConfig = DigitGANConfig(), images: np.ndarray | None = None,
                    snapshot_every: int = 500, n_snapshot: int = 16,
                    show_progress: bool = False) -> GANRun:
    """Train the DCGAN on 8x8 digits with :func:`adversarial_training`.

    Args:
        config: networks and recipe.
        images: (N, 8, 8) in ``[0, 1]``; default: the course's training split
            (:func:`course_utils.metrics.image_quality.digit_splits`), never the test digits.
        snapshot_every: steps between snapshots of ``n_snapshot`` fixed-noise images
            (n_snapshot, 1, 8, 8).
        show_progress: draw a progress bar.
    """
    from course_utils.metrics.image_quality import check_digit_images, digit_splits

    x = digit_splits().train_images if images is None else check_digit_images(images)
    real = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[:, None]  # (N, 1, 8, 8)
    generator, discriminator = digit_gan(config)
    return adversarial_training(generator, discriminator, real, config, snapshot_every,
                                n_snapshot, log_every=20, show_progress=show_progress,
                                description="training the digit GAN")


def sample_digits(generator: nn.Module, n: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """``n`` generated digits (n, 8, 8) float32 in ``[0, 1]`` from noise of seed ``seed``."""
    return sample_generator(generator, n, latent_dim, seed)[:, 0]


# --- the committed digit GAN -------------------------------------------------------------------

@dataclass(frozen=True)
class PretrainedDigitGAN:
    """The committed digit generator with its recipe, training record and the fixed-noise
    samples saved during its training."""

    generator: DigitGenerator  # in eval mode
    config: DigitGANConfig
    record: dict  # command, seed, training time, judge scores of 1,000 samples
    snapshot_steps: tuple[int, ...]  # training steps of the snapshots
    snapshots: np.ndarray  # (n_snapshots, n_images, 8, 8) in [0, 1]

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` digits (n, 8, 8) from noise of seed ``seed``."""
        return sample_digits(self.generator, n, self.config.latent_dim, seed)

    def decode(self, z: np.ndarray | torch.Tensor) -> np.ndarray:
        """Digits (B, 8, 8) for given latent vectors ``z`` (B, latent_dim)."""
        z = torch.as_tensor(np.asarray(z, dtype=np.float32))
        if z.ndim != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"z must have shape (B, {self.config.latent_dim}), got "
                             f"{tuple(z.shape)}.")
        if not torch.isfinite(z).all():
            raise ValueError("z contains NaN or infinite values.")
        with torch.no_grad():
            return self.generator(z)[:, 0].numpy()


def score_digit_generator(generator: nn.Module, latent_dim: int, n: int = 1000,
                          seed: int = 12345) -> dict:
    """Judge ``n`` samples (:func:`course_utils.metrics.image_quality.judge_digits`) and their Fréchet
    distance to the real test digits (:func:`course_utils.metrics.image_quality.digit_fd`)."""
    from course_utils.metrics.image_quality import digit_fd, judge_digits

    images = sample_digits(generator, n, latent_dim, seed)
    report = judge_digits(images)
    return {"n": n, "sample_seed": seed, "digit_rate": round(report.digit_rate, 4),
            "mean_confidence": round(report.mean_confidence, 4),
            "classes_covered": report.classes_covered, "class_counts": list(report.class_counts),
            "digit_fd": round(digit_fd(images), 2)}


def interpolate_latents(z_a: np.ndarray, z_b: np.ndarray, n: int,
                        method: str = "slerp") -> np.ndarray:
    """``n`` latent vectors (n, D) from ``z_a`` (D,) to ``z_b`` (D,), ends included.

    - ``"linear"``: ``z(t) = (1 - t) z_a + t z_b``; its midpoints are shorter than typical
      Gaussian samples (``|z| ~ sqrt(D)``), so they are less typical inputs for ``G``;
    - ``"slerp"`` (White 2016): along the great circle,
      ``z(t) = sin((1 - t) w) / sin w * z_a + sin(t w) / sin w * z_b`` with
      ``cos w = z_a . z_b / (|z_a| |z_b|)``, which keeps the norm typical.
    """
    a, b = np.asarray(z_a, dtype=np.float64), np.asarray(z_b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"z_a and z_b must be vectors of the same length, got {a.shape} and "
                         f"{b.shape}.")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("z_a and z_b must be finite.")
    check_int("n", n, low=2, high=1000)
    t = np.linspace(0.0, 1.0, n)[:, None]  # (n, 1)
    if method == "linear":
        return ((1 - t) * a + t * b).astype(np.float32)
    if method != "slerp":
        raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}.")
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        raise ValueError("slerp needs two non-zero vectors.")
    omega = np.arccos(np.clip(a @ b / norms, -1.0, 1.0))
    if np.sin(omega) < 1e-6:  # (anti)parallel: no unique great circle, fall back to a line
        return ((1 - t) * a + t * b).astype(np.float32)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(
        np.float32)


def judged_labels(images: object) -> tuple[np.ndarray, np.ndarray]:
    """The digit judge's verdict on each image: predicted class (N,) (10 = "not a digit") and the
    judge's probabilities (N, 11) (:func:`course_utils.metrics.image_quality.load_digit_judge`)."""
    from course_utils.metrics.image_quality import check_digit_images, load_digit_judge

    x = torch.from_numpy(check_digit_images(images))[:, None]  # (N, 1, 8, 8)
    with torch.no_grad():
        probs = torch.softmax(load_digit_judge()(x), dim=-1).numpy()  # (N, 11)
    return probs.argmax(axis=1), probs


def save_digit_gan(run: GANRun, record: dict, path: Path = CHECKPOINT) -> Path:
    """Write the generator's weights, the snapshots and (config, record, snapshot steps) as
    metadata to one ``safetensors`` file (no pickle)."""
    tensors = {f"generator.{k}": v for k, v in run.generator.state_dict().items()}
    tensors["snapshots"] = torch.from_numpy(np.stack(run.snapshots)[:, :, 0])
    return write_checkpoint(path, tensors, {"config": run.config.to_json(), "record": record,
                                            "snapshot_steps": run.snapshot_steps})


def load_digit_gan(path: Path | str = CHECKPOINT) -> PretrainedDigitGAN:
    """Load a checkpoint written by :func:`save_digit_gan` (default: the committed one)."""
    tensors, metadata = read_checkpoint(path, "digit-GAN", "python -m course_utils.train digit-gan")
    config = DigitGANConfig(**json.loads(metadata["config"]))
    generator = DigitGenerator(config.latent_dim, config.width)
    generator.load_state_dict({k.removeprefix("generator."): v for k, v in tensors.items()
                               if k.startswith("generator.")})
    return PretrainedDigitGAN(generator.eval(), config, json.loads(metadata.get("record", "{}")),
                              tuple(json.loads(metadata.get("snapshot_steps", "[]"))),
                              tensors["snapshots"].numpy())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.train",
                                     description="Train the digit GAN of chapter 20.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", prog="python -m course_utils.train digit-gan", help="train the DCGAN on the training digits and save it")
    defaults = DigitGANConfig()
    for name in ("latent_dim", "width", "steps", "batch_size", "seed"):
        train.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    for name in ("lr_g", "lr_d"):
        train.add_argument(f"--{name.replace('_', '-')}", type=float,
                           default=getattr(defaults, name))
    train.add_argument("--snapshot-every", type=int, default=250)
    train.add_argument("--threads", type=int, default=1)
    train.add_argument("--out", type=Path, default=CHECKPOINT)
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    from course_utils.metrics.image_quality import digit_splits

    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = DigitGANConfig(latent_dim=args.latent_dim, width=args.width, steps=args.steps,
                            batch_size=args.batch_size, lr_g=args.lr_g, lr_d=args.lr_d,
                            seed=args.seed)
    cpu_start = time.process_time()
    run = train_digit_gan(config, snapshot_every=args.snapshot_every,
                          show_progress=not args.quiet)
    record = {"command": public_command(__name__, argv),
              "train_seconds": round(run.seconds, 1),  # wall clock (longer on a busy machine)
              "train_cpu_seconds": round(time.process_time() - cpu_start, 1),
              "threads": torch.get_num_threads(),
              "generator_parameters": sum(p.numel() for p in run.generator.parameters()),
              "train_images": len(digit_splits().train_images),
              **score_digit_generator(run.generator, config.latent_dim)}
    print(json.dumps(record, indent=1), "->", save_digit_gan(run, record, args.out))
    return 0

