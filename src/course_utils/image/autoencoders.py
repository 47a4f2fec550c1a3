"""Autoencoders and variational autoencoders on 8x8 digits (chapter 07, *Latent spaces*).

An **autoencoder** (AE) squeezes an image ``x`` (64 pixels) through a small code ``z`` (``d``
numbers) and back: an encoder ``z = f(x)``, a decoder ``x_hat = g(z)``, both trained to make
``x_hat`` close to ``x``. With linear ``f`` and ``g`` and squared error, the best it can do is
PCA; the MLPs here are non-linear and do better at the same ``d`` (:func:`pca_reconstruct` is
the baseline).

A **variational autoencoder** (VAE, Kingma & Welling 2014) makes the code random. The encoder
gives a Gaussian ``q(z | x) = N(mu(x), diag sigma^2(x))``, the decoder a distribution
``p(x | z)`` over images, and a prior ``p(z) = N(0, I)`` says where codes should live. Training
maximises the evidence lower bound (ELBO) on ``log p(x)``; we minimise its negative, with a
weight ``beta`` on the second term (``beta = 1`` is the ELBO, Higgins et al. 2017)::

    loss(x) = E_{z ~ q(z|x)} [ -log p(x | z) ] + beta * KL( q(z | x) || N(0, I) )      (1)

    KL( N(mu, diag sigma^2) || N(0, I) ) = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)  (2)

    z = mu + sigma * eps,  eps ~ N(0, I)      (the reparameterisation trick)              (3)

    -log p(x | z) = -sum_i [ x_i log x_hat_i + (1 - x_i) log(1 - x_hat_i) ]   (Bernoulli)  (4a)
    -log p(x | z) = sum_i (x_i - x_hat_i)^2 / (2 s^2) + const                  (Gaussian)   (4b)

(2) is :func:`kl_standard_normal`, (3) :func:`reparameterize`, (4) :func:`reconstruction_nll`
and (1) :meth:`Autoencoder.loss`. The expectation in (1) is estimated with one ``z`` per image.
Because the KL term pulls every ``q(z | x)`` towards ``N(0, I)``, decoding ``z ~ N(0, I)``
(:func:`sample_latents` with ``"prior"``) gives new images: the VAE is a generative model. A
plain AE has no such prior; :func:`sample_latents` offers three ways to pick its "random"
codes, so the difference can be measured.

Pixel values are grey levels in ``[0, 1]``, not binary; (4a) is still the usual choice (the
cross-entropy is minimal at ``x_hat = x``), although it is not a normalised density for grey
values (the *continuous Bernoulli* of Loaiza-Ganem & Cunningham 2019 fixes that).

Images everywhere are ``(N, 8, 8)`` float arrays in ``[0, 1]`` (also accepted: ``(N, 64)``,
``(N, 1, 8, 8)``; see :func:`course_utils.metrics.image_quality.check_digit_images`); codes are ``(N, d)``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from course_utils.core.progress import progress
from course_utils.core.validation import check_float, check_int
from course_utils.metrics.image_quality import NOT_A_DIGIT, check_digit_images, load_digit_judge

N_PIXELS = 64  # 8 x 8
RECONSTRUCTIONS = ("bernoulli", "gaussian")
LATENT_SAMPLERS = ("prior", "box", "fitted")
MAX_LATENT_DIM = 64


# --- configuration -----------------------------------------------------------------------------

@dataclass(frozen=True)
class AutoencoderConfig:
    """The model: an MLP encoder and a mirrored MLP decoder."""

    latent_dim: int = 2                   # d, the size of the code z
    hidden: tuple[int, ...] = (256, 128)  # encoder hidden widths; the decoder uses them reversed
    variational: bool = False             # True: a VAE (Gaussian q(z|x), loss (1)); False: an AE
    beta: float = 1.0                     # weight of the KL term in (1); 1 = the ELBO (VAE only)
    reconstruction: str = "bernoulli"     # -log p(x|z): "bernoulli" (4a) or "gaussian" (4b)
    gaussian_std: float = 0.1             # s in (4b), the decoder's fixed pixel noise

    def __post_init__(self) -> None:
        check_int("latent_dim", self.latent_dim, low=1, high=MAX_LATENT_DIM)
        if not isinstance(self.hidden, tuple) or not self.hidden:
            raise ValueError(f"hidden must be a non-empty tuple of widths, got {self.hidden!r}.")
        for width in self.hidden:
            check_int("hidden width", width, low=1, high=4096)
        if not isinstance(self.variational, bool):
            raise ValueError(f"variational must be True or False, got {self.variational!r}.")
        check_float("beta", self.beta, low=0.0)
        if self.reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"reconstruction must be one of {RECONSTRUCTIONS}, got "
                             f"{self.reconstruction!r}.")
        check_float("gaussian_std", self.gaussian_std, low=0.0, low_inclusive=False)

    @property
    def name(self) -> str:
        """Short label, e.g. ``"VAE d=2"``."""
        return f"{'VAE' if self.variational else 'AE'} d={self.latent_dim}"


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe (AdamW, one-cycle learning-rate schedule, shuffled mini-batches)."""

    epochs: int = 150         # passes over the training images (12 steps each for 1,437 images)
    batch_size: int = 128     # images per step
    lr: float = 4e-3          # peak learning rate of the one-cycle schedule
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    seed: int = 0             # initial weights, batch order and the noise eps of (3)

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, low=1, high=10_000)
        check_int("batch_size", self.batch_size, low=1, high=100_000)
        check_float("lr", self.lr, low=0.0, low_inclusive=False, high=1.0)
        check_float("weight_decay", self.weight_decay, low=0.0)
        check_int("seed", self.seed, low=0)


# --- the equations -----------------------------------------------------------------------------

def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Equation (2): ``KL(N(mu, diag exp(logvar)) || N(0, I))`` per row, in nats.

    Args:
        mu, logvar: ``(B, d)`` means and log-variances ``log sigma^2`` of ``q(z | x)``.

    Returns:
        ``(B,)``.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(dim=-1)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Equation (3): ``z = mu + sigma * eps`` with ``eps ~ N(0, I)``, ``sigma = exp(logvar / 2)``.

    The randomness sits in ``eps``, outside the network, so gradients flow through ``mu`` and
    ``sigma``. Shapes: ``(B, d), (B, d) -> (B, d)``.
    """
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)  # (B, d)
    return mu + torch.exp(0.5 * logvar) * eps


def reconstruction_nll(logits: torch.Tensor, x: torch.Tensor, kind: str = "bernoulli",
                       gaussian_std: float = 0.1) -> torch.Tensor:
    """Equation (4): ``-log p(x | z)`` per image, summed over the 64 pixels (nats).

    Args:
        logits: ``(B, 64)`` decoder outputs before the sigmoid; ``x_hat = sigmoid(logits)``.
        x: ``(B, 64)`` target pixels in ``[0, 1]``.
        kind: ``"bernoulli"`` (4a, binary cross-entropy) or ``"gaussian"`` (4b, squared error
            over ``2 s^2``, without the constant ``64 log(s sqrt(2 pi))``).
        gaussian_std: ``s`` in (4b).

    Returns:
        ``(B,)``.
    """
    if kind == "bernoulli":
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)
    if kind == "gaussian":
        return ((torch.sigmoid(logits) - x).pow(2) / (2 * gaussian_std ** 2)).sum(dim=-1)
    raise ValueError(f"kind must be one of {RECONSTRUCTIONS}, got {kind!r}.")


# --- the model ---------------------------------------------------------------------------------

def _mlp(widths: Sequence[int]) -> nn.Sequential:
    """Linear layers ``widths[0] -> widths[1] -> ...`` with ReLU between them (none at the end)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@dataclass
class LossTerms:
    """The terms of (1), averaged over a batch (nats per image)."""

    total: torch.Tensor           # reconstruction + beta * kl (scalar, differentiable)
    reconstruction: torch.Tensor  # E_q[-log p(x|z)] (one-sample estimate for a VAE)
    kl: torch.Tensor              # KL(q(z|x) || N(0, I)); 0 for an AE


class Autoencoder(nn.Module):
    """An MLP autoencoder, or a VAE when ``config.variational``.

    ``x (B, 64) -encoder-> (B, d) code`` (AE) or ``(B, 2d) -> mu (B, d), logvar (B, d)`` (VAE);
    ``z (B, d) -decoder-> logits (B, 64) -sigmoid-> x_hat (B, 64)``. With the default widths:
    ``64 -> 256 -> 128 -> d`` and back.
    """

    def __init__(self, config: AutoencoderConfig = AutoencoderConfig()) -> None:
        super().__init__()
        self.config = config
        d, widths = config.latent_dim, (N_PIXELS, *config.hidden)
        self.encoder = _mlp([*widths, 2 * d if config.variational else d])
        self.decoder = _mlp([d, *reversed(widths)])

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(B, 64) -> (mu, logvar)``, each ``(B, d)``; an AE returns ``(code, None)``."""
        h = self.encoder(x)  # (B, d) or (B, 2d)
        if not self.config.variational:
            return h, None
        mu, logvar = h.chunk(2, dim=-1)  # (B, 2d) -> 2 x (B, d)
        return mu, logvar.clamp(-12.0, 8.0)  # keeps exp() finite early in training

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, d) -> (B, 64)`` logits of the pixels."""
        return self.decoder(z)

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None) -> LossTerms:
        """Equation (1) on a batch ``x (B, 64)``: the AE keeps only its reconstruction term,
        computed from its deterministic code."""
        mu, logvar = self.encode(x)  # (B, d)
        z = mu if logvar is None else reparameterize(mu, logvar, generator)  # (B, d)
        nll = reconstruction_nll(self.decode_logits(z), x, self.config.reconstruction,
                                 self.config.gaussian_std).mean()
        kl = (kl_standard_normal(mu, logvar).mean() if logvar is not None
              else torch.zeros((), dtype=x.dtype))
        return LossTerms(total=nll + self.config.beta * kl, reconstruction=nll, kl=kl)

    # numpy in, numpy out: what the notebook and the widgets use --------------------------------

    @torch.no_grad()
    def embed(self, images: object) -> np.ndarray:
        """The codes of ``images``: ``(N, 8, 8) -> (N, d)`` (a VAE gives its mean ``mu(x)``)."""
        x = torch.from_numpy(check_digit_images(images)).reshape(-1, N_PIXELS)  # (N, 64)
        return self.encode(x)[0].numpy()

    @torch.no_grad()
    def decode(self, codes: object) -> np.ndarray:
        """Images ``x_hat`` (the decoder's mean) of ``codes``: ``(N, d) -> (N, 8, 8)`` in
        ``[0, 1]``. A single code ``(d,)`` is accepted too."""
        z = torch.from_numpy(check_codes(codes, self.latent_dim))  # (N, d)
        return torch.sigmoid(self.decode_logits(z)).reshape(-1, 8, 8).numpy()

    def reconstruct(self, images: object) -> np.ndarray:
        """``decode(embed(images))``: ``(N, 8, 8) -> (N, 8, 8)``."""
        return self.decode(self.embed(images))


def check_codes(codes: object, latent_dim: int, name: str = "codes") -> np.ndarray:
    """``codes`` as a float32 ``(N, latent_dim)`` array (a single ``(latent_dim,)`` code becomes
    ``(1, latent_dim)``).

    Raises:
        ValueError: not numeric, wrong shape, empty, NaN/inf, or absurdly large (``|z| > 1e3``).
    """
    if isinstance(codes, torch.Tensor):
        codes = codes.detach().cpu().numpy()
    try:
        z = np.asarray(codes, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers, got {type(codes).__name__}.") from None
    if z.ndim == 1:
        z = z[None]
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"{name} must have shape (N, {latent_dim}) for a {latent_dim}-d latent "
                         f"space, got {tuple(np.shape(codes))}.")
    if len(z) == 0:
        raise ValueError(f"{name} is empty: give at least one code.")
    if not np.isfinite(z).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    if np.abs(z).max() > 1e3:
        raise ValueError(f"{name} has values up to {np.abs(z).max():.3g}: codes live within a "
                         "few units of 0, keep |z| <= 1000.")
    return z


# --- training ----------------------------------------------------------------------------------

@dataclass
class TrainHistory:
    """Per-epoch means of the loss terms on the training images (nats per image)."""

    total: list[float] = field(default_factory=list)
    reconstruction: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    seconds: float = 0.0  # wall-clock training time
    steps: int = 0        # optimiser steps


def train_autoencoder(config: AutoencoderConfig, images: object,
                      recipe: TrainConfig = TrainConfig(), show_progress: bool = True,
                      description: str | None = None,
                      on_epoch: Callable[[TrainHistory], None] | None = None,
                      ) -> tuple[Autoencoder, TrainHistory]:
    """Train a new :class:`Autoencoder` on ``images`` (train split only!) by minimising (1).

    Args:
        config: the model.
        images: ``(N, 8, 8)`` training images in ``[0, 1]``, ``N >= 2``.
        recipe: epochs, batch size, learning rate, seed.
        show_progress: draw a progress bar over epochs.
        description: the bar's label (default: ``config.name``).
        on_epoch: called with the history after every epoch.

    Returns:
        ``(model in eval mode, history)``. Same seed, same thread count: same weights.
    """
    x_all = torch.from_numpy(check_digit_images(images, "training images")).reshape(-1, N_PIXELS)
    if len(x_all) < 2:
        raise ValueError("Need at least 2 training images.")
    torch.manual_seed(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    model = Autoencoder(config)
    batch = min(recipe.batch_size, len(x_all))
    per_epoch = math.ceil(len(x_all) / batch)
    optimiser = torch.optim.AdamW(model.parameters(), lr=recipe.lr,
                                  weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=recipe.lr,
                                                   total_steps=recipe.epochs * per_epoch)
    history = TrainHistory()
    epochs = range(recipe.epochs)
    if show_progress:
        epochs = progress(epochs, description or config.name, unit="epoch")
    start = time.perf_counter()
    model.train()
    for _ in epochs:
        order = torch.randperm(len(x_all), generator=generator)
        sums = np.zeros(3)
        for i in range(0, len(x_all), batch):
            x = x_all[order[i:i + batch]]  # (B, 64)
            terms = model.loss(x, generator)
            optimiser.zero_grad(set_to_none=True)
            terms.total.backward()
            optimiser.step()
            schedule.step()
            sums += len(x) * np.array([terms.total.item(), terms.reconstruction.item(),
                                       terms.kl.item()])
            history.steps += 1
        for values, mean in zip((history.total, history.reconstruction, history.kl),
                                sums / len(x_all)):
            values.append(float(mean))
        if on_epoch is not None:
            on_epoch(history)
    history.seconds = time.perf_counter() - start
    return model.eval(), history


# --- measuring ---------------------------------------------------------------------------------

def reconstruction_mse(original: object, reconstructed: object) -> float:
    """Mean squared error per pixel between two image sets of the same shape ``(N, 8, 8)``."""
    a = check_digit_images(original, "original")
    b = check_digit_images(reconstructed, "reconstructed")
    if a.shape != b.shape:
        raise ValueError(f"original {a.shape} and reconstructed {b.shape} differ in shape.")
    return float(((a - b) ** 2).mean())


def pca_reconstruct(train_images: object, images: object, latent_dim: int) -> np.ndarray:
    """The linear baseline: PCA with ``latent_dim`` components fitted on ``train_images``,
    then ``images`` projected and mapped back, ``x_hat = mean + W^T W (x - mean)`` with ``W``
    ``(d, 64)`` the top principal directions. Returns ``(N, 8, 8)``, clipped to ``[0, 1]``."""
    from sklearn.decomposition import PCA
    from threadpoolctl import threadpool_limits

    train = check_digit_images(train_images, "train_images").reshape(-1, N_PIXELS)
    x = check_digit_images(images).reshape(-1, N_PIXELS)
    check_int("latent_dim", latent_dim, low=1, high=min(N_PIXELS, len(train)))
    with threadpool_limits(limits=1):  # a (1437, 64) SVD: one BLAS thread is fastest
        pca = PCA(n_components=latent_dim, svd_solver="full").fit(train)
        x_hat = pca.inverse_transform(pca.transform(x))  # (N, 64) -> (N, d) -> (N, 64)
    return np.clip(x_hat, 0, 1).reshape(-1, 8, 8).astype(np.float32)


@torch.no_grad()
def kl_per_dimension(model: Autoencoder, images: object) -> np.ndarray:
    """Mean over ``images`` of each latent dimension's term of (2): ``(d,)`` nats. A dimension
    whose mean KL is near 0 has ``q(z_j | x) = N(0, 1)`` for every image: the decoder cannot use
    it (a *collapsed* dimension)."""
    if not model.config.variational:
        raise ValueError("kl_per_dimension needs a VAE (config.variational=True); an AE's code "
                         "is not a distribution.")
    x = torch.from_numpy(check_digit_images(images)).reshape(-1, N_PIXELS)  # (N, 64)
    mu, logvar = model.encode(x)  # (N, d) each
    return (0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0)).mean(dim=0).numpy()


def sample_latents(how: str, n: int, latent_dim: int, codes: object | None = None,
                   seed: int = 0) -> np.ndarray:
    """``n`` "random" codes ``(n, d)`` for decoding.

    Args:
        how: ``"prior"`` - ``z ~ N(0, I)``, the VAE's prior (for an AE, whose codes were never
            asked to look like this, it is the naive choice);
            ``"box"`` - uniform in the bounding box of ``codes`` (per-dimension min to max);
            ``"fitted"`` - a Gaussian with the mean and covariance of ``codes`` (a density
            fitted to an AE's codes after training).
        n: how many codes.
        latent_dim: ``d``.
        codes: ``(M, d)`` codes of training images (for ``"box"`` and ``"fitted"``).
        seed: NumPy seed.
    """
    check_int("n", n, low=1, high=100_000)
    check_int("latent_dim", latent_dim, low=1, high=MAX_LATENT_DIM)
    check_int("seed", seed, low=0)
    if how not in LATENT_SAMPLERS:
        raise ValueError(f"how must be one of {LATENT_SAMPLERS}, got {how!r}.")
    rng = np.random.default_rng(seed)
    if how == "prior":
        return rng.standard_normal((n, latent_dim)).astype(np.float32)
    if codes is None:
        raise ValueError(f"how={how!r} needs the training codes (codes=model.embed(train)).")
    c = check_codes(codes, latent_dim).astype(np.float64)
    if len(c) < 2:
        raise ValueError("codes needs at least 2 rows.")
    if how == "box":
        return rng.uniform(c.min(0), c.max(0), size=(n, latent_dim)).astype(np.float32)
    return rng.multivariate_normal(c.mean(0), np.atleast_2d(np.cov(c, rowvar=False)),
                                   size=n).astype(np.float32)


def interpolate_codes(z_a: object, z_b: object, steps: int) -> np.ndarray:
    """Straight line from ``z_a`` to ``z_b`` (both ``(d,)``): ``z_t = (1 - t) z_a + t z_b`` for
    ``steps`` values of ``t`` evenly spaced in ``[0, 1]``. Returns ``(steps, d)``."""
    check_int("steps", steps, low=2, high=1000)
    a = np.asarray(z_a, dtype=np.float32).reshape(-1)
    b = np.asarray(z_b, dtype=np.float32).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"the two codes differ in size: {a.shape} vs {b.shape}.")
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]  # (steps, 1)
    return (1 - t) * a + t * b


def interpolate_images(model: Autoencoder, image_a: object, image_b: object,
                       steps: int = 9) -> np.ndarray:
    """Decode the straight line between the codes of two images: ``(steps, 8, 8)``; the first
    and last images are the two reconstructions."""
    pair = np.concatenate([_one_image(image_a, "image_a"), _one_image(image_b, "image_b")])
    z = model.embed(pair)  # (2, d)
    return model.decode(interpolate_codes(z[0], z[1], steps))


def crossfade(image_a: object, image_b: object, steps: int = 9) -> np.ndarray:
    """Pixel-space interpolation ``(1 - t) x_a + t x_b`` (the baseline a latent space beats):
    ``(steps, 8, 8)``."""
    a, b = _one_image(image_a, "image_a"), _one_image(image_b, "image_b")
    return interpolate_codes(a.reshape(-1), b.reshape(-1), steps).reshape(-1, 8, 8)


def _one_image(image: object, name: str) -> np.ndarray:
    """One ``(8, 8)`` image (also ``(64,)``, ``(1, 8, 8)``) as ``(1, 8, 8)``."""
    x = np.asarray(image.detach().cpu() if isinstance(image, torch.Tensor) else image)
    if x.size != N_PIXELS:
        raise ValueError(f"{name} must be one 8x8 image (64 pixels), got shape {x.shape}.")
    return check_digit_images(x.reshape(1, 8, 8), name)


def latent_grid(model: Autoencoder, values: object) -> np.ndarray:
    """Decode a grid of 2-D codes (the "manifold" picture): with ``values`` of length ``n``,
    row ``i`` and column ``j`` decode ``z = (values[j], values[n - 1 - i])`` (``z2`` grows
    upwards). Returns ``(n, n, 8, 8)``."""
    if model.latent_dim != 2:
        raise ValueError(f"latent_grid needs a 2-d latent space, this model has "
                         f"d={model.latent_dim}.")
    v = np.asarray(values, dtype=np.float32).reshape(-1)
    check_int("number of grid values", len(v), low=2, high=100)
    z1, z2 = np.meshgrid(v, v[::-1])  # (n, n) each; rows go down in z2
    codes = np.stack([z1.ravel(), z2.ravel()], axis=1)  # (n*n, 2)
    return model.decode(codes).reshape(len(v), len(v), 8, 8)


@dataclass(frozen=True)
class Verdict:
    """What the digit judge of :mod:`course_utils.metrics.image_quality` says about one image."""

    label: int          # predicted class: 0-9, or 10 for "not a digit"
    probability: float  # the judge's probability of that class
    p_not_digit: float  # its probability of "not a digit"

    def __str__(self) -> str:
        if self.label == NOT_A_DIGIT:
            return f"not a digit (p = {self.probability:.2f})"
        return f"a {self.label} (p = {self.probability:.2f})"


def judge_each(images: object) -> list[Verdict]:
    """The judge's verdict on every image of ``(N, 8, 8)`` (see :func:`image_eval.judge_digits`
    for the summary over a set)."""
    x = torch.from_numpy(check_digit_images(images))[:, None]  # (N, 1, 8, 8)
    with torch.inference_mode():
        p = torch.softmax(load_digit_judge()(x), dim=-1).numpy()  # (N, 11)
    return [Verdict(int(row.argmax()), float(row.max()), float(row[NOT_A_DIGIT])) for row in p]
