"""Texture synthesis and style transfer with Gram matrices (chapter 23).

Gatys, Ecker & Bethge (2015, 2016) described a texture by the *correlations* between the
feature maps of a convolutional network: for a layer with features ``F`` (C, H, W) the Gram
matrix ``G = F F^T / (H W)`` (C, C) keeps which features fire together and forgets *where*.
Synthesising a texture = optimising the pixels of a noise image until its Gram matrices match
the texture's; style transfer = the same, plus a *content* loss that keeps the deeper feature
maps of a content photo:

    L(x) = |F_c(x) - F_c(content)|^2 / |F_c(content)|^2
           + style_weight * sum_l |G_l(x) - G_l(style)|^2 / |G_l(style)|^2

(each term divided by the target's squared norm, so that layers and images weigh alike).

Gatys et al. used VGG-19 trained on ImageNet. No such network ships offline with the course,
so the features here come from a small convolutional network with **fixed random weights**
(:class:`RandomFeatureNet`, seeded). That is less odd than it sounds: Ustyuzhaninov et al.
(2017, "What does it take to generate natural textures?") synthesised convincing textures with
a single layer of random filters, and He, Wang & Hopcroft (2016, "A Powerful Generative Model
Using Random Weights for the Deep Image Representation") did style transfer with random-weight
networks. Random features capture colour and local texture statistics; what they lack is what
training on natural images gives VGG - features for object parts, long strokes, semantic
regions - so large-scale structure is reproduced poorly.

Images are ``(H, W, 3)`` float32 arrays in ``[0, 1]`` outside the optimiser and ``(1, 3, H,
W)`` tensors inside.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from course_utils.core.validation import check_float, check_int

MAX_SIZE = 128   # largest image side accepted: pixel optimisation on a CPU gets slow beyond
MIN_SIZE = 16    # smallest side: the network pools three times
MAX_STEPS = 2000

#: Grey 512x512 textures of scikit-image (``skimage.data``).
TEXTURES = ("brick", "grass", "gravel")
#: Colour photos: scikit-image's and scikit-learn's bundled images.
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "china", "flower")


# --- images ----------------------------------------------------------------------------------

def check_image(image: object, name: str = "image") -> np.ndarray:
    """``image`` as a float32 ``(H, W, 3)`` array in [0, 1].

    Accepts (H, W) grey or (H, W, 3) colour, floats in [0, 1] or uint8 0-255.

    Raises:
        ValueError: another shape, a side outside ``MIN_SIZE .. MAX_SIZE``, NaN, or values
            outside [0, 1] for a float image.
    """
    try:
        a = np.asarray(image)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an image array, got {type(image).__name__}.") from None
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"{name} must be (H, W) grey or (H, W, 3) colour, got {a.shape}.")
    h, w = a.shape[:2]
    if not (MIN_SIZE <= h <= MAX_SIZE and MIN_SIZE <= w <= MAX_SIZE):
        raise ValueError(f"{name} is {h}x{w}: sides must be {MIN_SIZE}-{MAX_SIZE} pixels "
                         "(pixel optimisation is slow on large images; resize it first, e.g. "
                         "with load_image(name, size=64)).")
    if a.dtype == np.uint8:
        return (a / 255.0).astype(np.float32)
    try:
        a = a.astype(np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric.") from None
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    if a.min() < 0 or a.max() > 1:
        raise ValueError(f"{name} values must lie in [0, 1] (or be uint8 0-255), got "
                         f"[{a.min():.3g}, {a.max():.3g}].")
    return a


def load_image(name: str, size: int = 64) -> np.ndarray:
    """A bundled texture or photo, centre-cropped to a square and resized to ``size`` x ``size``.

    Args:
        name: one of :data:`TEXTURES` (grey, returned with 3 equal channels) or :data:`PHOTOS`.
        size: side in pixels, ``MIN_SIZE .. MAX_SIZE``. Textures are first cropped to their
            central 256x256 pixels, so their pattern stays visible at small sizes.

    Returns:
        (size, size, 3) float32 in [0, 1].
    """
    check_int("size", size, low=MIN_SIZE, high=MAX_SIZE)
    if not isinstance(name, str) or name not in TEXTURES + PHOTOS:
        raise ValueError(f"Unknown image {name!r}: use one of "
                         f"{', '.join(TEXTURES + PHOTOS)}.")
    return _load_image(name, size).copy()  # a copy: callers may change their array


@lru_cache(maxsize=32)
def _load_image(name: str, size: int) -> np.ndarray:
    """:func:`load_image` for a checked name and size, decoded and resized once per process."""
    from skimage import data as skdata
    from skimage.transform import resize

    if name in TEXTURES:
        raw = getattr(skdata, name)()
        c = raw.shape[0] // 2
        raw = raw[c - 128:c + 128, c - 128:c + 128]
    elif name in ("china", "flower"):
        from course_utils.data import load_sample_photos

        raw = load_sample_photos()[name]
    else:
        raw = getattr(skdata, name)()
    h, w = raw.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = raw[top:top + side, left:left + side] / 255.0
    small = resize(square, (size, size), anti_aliasing=True).astype(np.float32)
    if small.ndim == 2:
        small = np.repeat(small[..., None], 3, axis=2)
    return np.clip(small, 0, 1)


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) -> (1, 3, H, W)."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]


def _to_image(x: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) -> (H, W, 3) float32 in [0, 1]."""
    return x.detach()[0].permute(1, 2, 0).clamp(0, 1).numpy().astype(np.float32)


# --- the feature network ----------------------------------------------------------------------

@dataclass(frozen=True)
class FeatureNetConfig:
    """A small convolutional network with fixed random weights."""

    channels: tuple[int, ...] = (48, 64, 96, 128)  # feature maps per layer (one Gram each)
    kernel: int = 3                # kernel size of every convolution
    seed: int = 0                  # seeds the random weights: another seed = another network
    zero_mean: bool = False        # shift each filter to zero mean (patterns, not brightness)
    pixel_layer: bool = True       # the centred pixels are layer 0 (colour statistics)

    def __post_init__(self) -> None:
        if not self.channels or any(not isinstance(c, int) or c < 1 for c in self.channels):
            raise ValueError(f"channels must be positive integers, got {self.channels}.")
        check_int("kernel", self.kernel, low=1, high=15)
        if self.kernel % 2 == 0:
            raise ValueError(f"kernel must be odd (same-size padding), got {self.kernel}.")
        check_int("seed", self.seed, low=0)


class RandomFeatureNet(nn.Module):
    """Features at several scales from random convolutions (never trained).

    ``(1, 3, H, W) -> conv, ReLU -> F_1 (1, C_1, H, W) -> avgpool 2, conv, ReLU -> F_2
    (1, C_2, H/2, W/2) -> ...``: each layer sees a region twice as large as the one before.
    Weights are drawn with He initialisation (variance 2 / fan-in), biases are zero, and the
    input is centred (``x - 0.5``). The centred pixels themselves are layer 0 (their Gram
    matrix holds the mean colours and colour correlations). With ``zero_mean=True`` each
    filter is shifted to zero mean, so that it responds to patterns only, not to brightness:
    grey textures then come out cleaner, colour photos with less faithful colours.
    """

    def __init__(self, config: FeatureNetConfig = FeatureNetConfig()) -> None:
        super().__init__()
        self.config = config
        generator = torch.Generator().manual_seed(config.seed)
        self.convs = nn.ModuleList()
        c_in = 3
        for c_out in config.channels:
            conv = nn.Conv2d(c_in, c_out, config.kernel, padding=config.kernel // 2,
                             padding_mode="reflect")
            fan_in = c_in * config.kernel ** 2
            w = torch.randn(conv.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5
            if config.zero_mean:
                w = w - w.mean(dim=(1, 2, 3), keepdim=True)
            conv.weight.data.copy_(w)
            conv.bias.data.zero_()
            self.convs.append(conv)
            c_in = c_out
        self.requires_grad_(False)
        self.eval()

    @property
    def num_layers(self) -> int:
        """Feature maps returned by :meth:`forward` (the pixel layer included)."""
        return len(self.convs) + int(self.config.pixel_layer)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) in [0, 1] -> feature maps: the centred pixels (B, 3, H, W) if
        ``pixel_layer``, then one map (B, C_l, H / 2^l, W / 2^l) per convolution l = 0, 1, ..."""
        h = x - 0.5
        features = [h] if self.config.pixel_layer else []
        for i, conv in enumerate(self.convs):
            if i:
                h = F.avg_pool2d(h, 2)
            h = F.relu(conv(h))
            features.append(h)
        return features


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """``G = F F^T / (H W)``: (B, C, H, W) -> (B, C, C), the features' second moments
    averaged over positions (where a pattern occurs is forgotten)."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)                        # (B, C, HW)
    return flat @ flat.transpose(1, 2) / (h * w)                # (B, C, C)


def style_loss(features: Sequence[torch.Tensor], target_grams: Sequence[torch.Tensor],
               ) -> torch.Tensor:
    """``sum_l |G_l - A_l|^2 / |A_l|^2``: Gram mismatch per layer, each relative to the
    target's size (so that every layer counts, whatever its scale)."""
    if len(features) != len(target_grams):
        raise ValueError(f"{len(features)} feature maps for {len(target_grams)} Gram targets.")
    total = torch.zeros(())
    for f, a in zip(features, target_grams):
        total = total + ((gram_matrix(f) - a) ** 2).sum() / (a ** 2).sum().clamp_min(1e-12)
    return total


def gram_distance(image: object, reference: object,
                  net: RandomFeatureNet | None = None) -> float:
    """:func:`style_loss` between two images under ``net`` (default: a fresh network with
    seed 1, i.e. *not* the one an optimisation used)."""
    net = net if net is not None else RandomFeatureNet(FeatureNetConfig(seed=1))
    with torch.no_grad():
        targets = [gram_matrix(f) for f in net(_to_tensor(check_image(reference, "reference")))]
        return float(style_loss(net(_to_tensor(check_image(image))), targets))


# --- texture statistics that are not optimised ---------------------------------------------------

def colour_histogram_distance(image: object, reference: object, bins: int = 16) -> float:
    """Total-variation distance between colour histograms, averaged over R, G, B:
    ``mean_c 0.5 * sum_k |p_c(k) - q_c(k)|`` in [0, 1] (0 = same colour distribution)."""
    a, b = check_image(image), check_image(reference, "reference")
    check_int("bins", bins, low=2, high=256)
    edges = np.linspace(0, 1, bins + 1)
    d = []
    for c in range(3):
        p = np.histogram(a[..., c], edges)[0] / a[..., c].size
        q = np.histogram(b[..., c], edges)[0] / b[..., c].size
        d.append(0.5 * np.abs(p - q).sum())
    return float(np.mean(d))


def radial_spectrum(image: object, n_bands: int = 8) -> np.ndarray:
    """Share of the (grey, mean-removed) image's power in ``n_bands`` rings of spatial
    frequency, low to high (sums to 1): how much of the image is coarse shapes vs fine grain."""
    g = check_image(image).mean(axis=2)
    g = g - g.mean()
    power = np.abs(np.fft.fftshift(np.fft.fft2(g))) ** 2
    h, w = g.shape
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot((yy - h // 2) / h, (xx - w // 2) / w)         # cycles per pixel, 0 .. 0.7
    band = np.minimum((r / 0.5 * n_bands).astype(int), n_bands - 1)
    shares = np.bincount(band.ravel(), weights=power.ravel(), minlength=n_bands)
    return shares / max(shares.sum(), 1e-12)


def spectrum_distance(image: object, reference: object, n_bands: int = 8) -> float:
    """L1 distance between the :func:`radial_spectrum` of two images, in [0, 2]."""
    return float(np.abs(radial_spectrum(image, n_bands) - radial_spectrum(reference, n_bands))
                 .sum())


# --- optimisation ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TransferConfig:
    """How :func:`synthesize_texture` and :func:`style_transfer` optimise the pixels."""

    steps: int = 200            # Adam steps on the pixels
    lr: float = 0.03            # Adam learning rate (pixels live in [0, 1])
    style_weight: float = 1.0   # weight of the Gram (style) loss against the content loss
    content_layer: int = 2      # feature map kept as content (0 = pixels, 2 = 2nd conv, 1/2 size)
    seed: int = 0               # seeds the starting noise
    init: str = "content"       # style transfer starts from "content" or "noise"

    def __post_init__(self) -> None:
        check_int("steps", self.steps, low=1, high=MAX_STEPS)
        check_float("lr", self.lr, low=0, high=1, low_inclusive=False)
        check_float("style weight", self.style_weight, low=0, high=1e6)
        check_int("content_layer", self.content_layer, low=0)
        check_int("seed", self.seed, low=0)
        if self.init not in ("content", "noise"):
            raise ValueError(f"init must be 'content' or 'noise', got {self.init!r}.")


@dataclass
class TransferResult:
    """The optimised image and how the losses went."""

    image: np.ndarray                                        # (H, W, 3) in [0, 1]
    style_loss: list[float] = field(default_factory=list)    # Gram loss per step (before it)
    content_loss: list[float] = field(default_factory=list)  # content loss per step (or empty)
    seconds: float = 0.0                                     # optimisation time


def _optimise(x: torch.Tensor, net: RandomFeatureNet, target_grams: list[torch.Tensor],
              content_target: torch.Tensor | None, config: TransferConfig) -> TransferResult:
    """Adam on the pixels of ``x`` (1, 3, H, W), clamped to [0, 1] after every step."""
    x = x.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([x], lr=config.lr)
    result = TransferResult(image=np.empty(0))
    start = time.perf_counter()
    for _ in range(config.steps):
        features = net(x)
        s_loss = style_loss(features, target_grams)
        loss = config.style_weight * s_loss if content_target is not None else s_loss
        if content_target is not None:
            c = features[config.content_layer]
            c_loss = ((c - content_target) ** 2).sum() / (content_target ** 2).sum()
            loss = loss + c_loss
            result.content_loss.append(c_loss.item())
        result.style_loss.append(s_loss.item())
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    result.image = _to_image(x)
    result.seconds = time.perf_counter() - start
    return result


def synthesize_texture(style: object, config: TransferConfig = TransferConfig(),
                       net: RandomFeatureNet | None = None,
                       size: int | None = None) -> TransferResult:
    """A new image with the Gram matrices of ``style``, optimised from uniform noise.

    Args:
        style: the texture (H, W, 3) in [0, 1] (see :func:`check_image`).
        config: steps, learning rate, seed of the starting noise.
        net: the feature network (default ``RandomFeatureNet()``, seed 0).
        size: side of the square output (default: the style's height).

    Returns:
        A :class:`TransferResult`; ``style_loss[0]`` is the loss of the starting noise.
    """
    s = check_image(style, "style")
    size = s.shape[0] if size is None else check_int("size", size, low=MIN_SIZE, high=MAX_SIZE)
    net = net if net is not None else RandomFeatureNet()
    with torch.no_grad():
        targets = [gram_matrix(f) for f in net(_to_tensor(s))]
    generator = torch.Generator().manual_seed(config.seed)
    x = torch.rand(1, 3, size, size, generator=generator)
    return _optimise(x, net, targets, None, config)


def style_transfer(content: object, style: object, config: TransferConfig = TransferConfig(),
                   net: RandomFeatureNet | None = None) -> TransferResult:
    """Re-render ``content`` with the texture statistics of ``style``.

    Minimises ``content loss + style_weight * Gram loss`` (see the module docstring) over the
    pixels, starting from the content photo (``config.init="content"``) or from noise.
    ``style_weight = 0`` keeps the photo; large weights turn it into the texture.

    Args:
        content: the photo (H, W, 3) in [0, 1].
        style: the style image (any size within the limits).
        config: see :class:`TransferConfig`.
        net: the feature network (default ``RandomFeatureNet()``).

    Returns:
        A :class:`TransferResult`.
    """
    c = check_image(content, "content")
    s = check_image(style, "style")
    net = net if net is not None else RandomFeatureNet()
    if config.content_layer >= net.num_layers:
        raise ValueError(f"content_layer {config.content_layer} does not exist: the network "
                         f"has layers 0..{net.num_layers - 1}.")
    with torch.no_grad():
        targets = [gram_matrix(f) for f in net(_to_tensor(s))]
        content_target = net(_to_tensor(c))[config.content_layer]
    if config.init == "content":
        x = _to_tensor(c)
    else:
        x = torch.rand(_to_tensor(c).shape, generator=torch.Generator().manual_seed(config.seed))
    return _optimise(x, net, targets, content_target, config)
