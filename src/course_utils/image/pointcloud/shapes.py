"""3-D shapes as point clouds, the Chamfer distance, and a PointNet shape judge (chapter 24).

- :func:`sample_shapes` draws procedural 3-D objects - sphere, cube, cylinder, cone, torus -
  as clouds of ``N`` points spread **uniformly over the surface** (each face or patch gets
  points in proportion to its area). Every cloud has its own random proportions (box sides,
  height of a cylinder or cone, thickness of a torus) and a random rotation **about the
  vertical axis** (z); the objects stay upright, as in aligned data sets such as ShapeNet.
  Each cloud is then normalised: centred on its mean and scaled so that its farthest point lies
  on the unit sphere.
- :func:`chamfer_distance` compares two clouds point by point (no correspondence needed);
  :func:`pairwise_chamfer`, :func:`nearest_real` and :func:`coverage` compare sets of clouds
  (the "minimum matching distance" and "coverage" of Achlioptas et al. 2018).
- :class:`PointNetClassifier` is the judge of generated shapes (Qi et al. 2017, "PointNet"):
  a shared per-point MLP, a max-pool over the points (so the order of the points does not
  matter), and a small head. Like the course's digit judge it has an extra class, "not a
  shape", learned from structureless clouds (Gaussian blobs, points filling a ball or a box),
  so that "classified as a torus" means something. Committed checkpoint
  ``checkpoints/shape_classifier.safetensors``, trained by
  ``python -m course_utils.train shape-judge``.

Clouds everywhere are float32 tensors ``(B, N, 3)`` (``(N, 3)`` for one cloud), z pointing up.
The diffusion model that generates them is in :mod:`course_utils.image.pointcloud.point_denoiser`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from course_utils.core.checkpoints import CHECKPOINT_DIR, read_checkpoint, write_checkpoint
from course_utils.core.validation import check_int

if TYPE_CHECKING:
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

SHAPES = ("sphere", "cube", "cylinder", "cone", "torus")
NOT_A_SHAPE = len(SHAPES)          # the judge's extra class
CLASS_NAMES = (*SHAPES, "not a shape")
MAX_POINTS = 4096                  # most points per cloud any helper accepts
MAX_CLOUDS = 20_000                # most clouds drawn in one call
CLASSIFIER_CHECKPOINT = CHECKPOINT_DIR / "shape_classifier.safetensors"


# --- procedural shapes -----------------------------------------------------------------------

def shape_index(name: str) -> int:
    """The label of a shape name (``"torus"`` -> 4); a clear error for unknown names."""
    if not isinstance(name, str) or name.strip().lower() not in SHAPES:
        raise ValueError(f"Unknown shape {name!r}: choose one of {', '.join(SHAPES)}.")
    return SHAPES.index(name.strip().lower())


def _check_sizes(count: int, n_points: int) -> None:
    check_int("number of clouds", count, low=1, high=MAX_CLOUDS)
    check_int("points per cloud (N)", n_points, low=8, high=MAX_POINTS)


def _uniform(shape: Sequence[int], generator: torch.Generator, low: float = 0.0,
             high: float = 1.0) -> torch.Tensor:
    return low + (high - low) * torch.rand(tuple(shape), generator=generator)


def _pick_faces(areas: torch.Tensor, n_points: int, generator: torch.Generator) -> torch.Tensor:
    """For each cloud, ``n_points`` face indices drawn with probability proportional to area.

    ``areas`` (B, F) -> (B, N) int64."""
    return torch.multinomial(areas / areas.sum(1, keepdim=True), n_points, replacement=True,
                             generator=generator)


def _sphere(count: int, n: int, g: torch.Generator) -> torch.Tensor:
    # a normalised Gaussian vector is uniform on the sphere
    x = torch.randn(count, n, 3, generator=g)
    return x / x.norm(dim=-1, keepdim=True)


def _cube(count: int, n: int, g: torch.Generator) -> torch.Tensor:
    half = _uniform((count, 3), g, 0.8, 1.2)                       # (B, 3) half side lengths
    a, b, c = half.unbind(1)
    areas = torch.stack([b * c, b * c, a * c, a * c, a * b, a * b], dim=1)  # faces +-x, +-y, +-z
    face = _pick_faces(areas, n, g)                                 # (B, N)
    axis, sign = face // 2, (face % 2) * 2 - 1.0                    # (B, N) each
    pts = _uniform((count, n, 3), g, -1.0, 1.0) * half[:, None]     # (B, N, 3) inside the box
    on_face = sign * half.gather(1, axis)                           # (B, N): +-half of that axis
    return pts.scatter(2, axis[..., None], on_face[..., None])      # one coordinate on the face


def _disc(count: int, n: int, radius: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor,
                                                                                 torch.Tensor]:
    """Uniform points on discs of radius (B,): x, y each (B, N)."""
    rho = radius[:, None] * _uniform((count, n), g).sqrt()
    theta = _uniform((count, n), g, 0, 2 * math.pi)
    return rho * theta.cos(), rho * theta.sin()


def _cylinder(count: int, n: int, g: torch.Generator) -> torch.Tensor:
    r = torch.ones(count)
    h = _uniform((count,), g, 0.6, 1.6)                             # half height (radius 1)
    areas = torch.stack([2 * math.pi * r * 2 * h, math.pi * r ** 2, math.pi * r ** 2], dim=1)
    face = _pick_faces(areas, n, g)                                 # 0 side, 1 top, 2 bottom
    theta = _uniform((count, n), g, 0, 2 * math.pi)
    side = torch.stack([theta.cos(), theta.sin(), h[:, None] * _uniform((count, n), g, -1, 1)],
                       dim=-1)
    dx, dy = _disc(count, n, r, g)
    cap_z = torch.where(face == 1, h[:, None], -h[:, None])
    caps = torch.stack([dx, dy, cap_z], dim=-1)
    return torch.where((face == 0)[..., None], side, caps)


def _cone(count: int, n: int, g: torch.Generator) -> torch.Tensor:
    r = torch.ones(count)
    height = _uniform((count,), g, 1.4, 3.0)                        # apex height (radius 1)
    slant = (r ** 2 + height ** 2).sqrt()
    areas = torch.stack([math.pi * r * slant, math.pi * r ** 2], dim=1)  # side, base
    face = _pick_faces(areas, n, g)
    # on the side, the area within distance s of the apex grows like s^2: s = sqrt(U)
    u = _uniform((count, n), g).sqrt()                              # 0 at the apex, 1 at the rim
    theta = _uniform((count, n), g, 0, 2 * math.pi)
    side = torch.stack([u * theta.cos(), u * theta.sin(), height[:, None] * (1 - u)], dim=-1)
    dx, dy = _disc(count, n, r, g)
    base = torch.stack([dx, dy, torch.zeros_like(dx)], dim=-1)
    return torch.where((face == 0)[..., None], side, base)


def _torus(count: int, n: int, g: torch.Generator) -> torch.Tensor:
    R = torch.ones(count)                                           # ring radius
    r = _uniform((count,), g, 0.25, 0.5)                            # tube radius
    # area element (R + r cos phi) dphi dtheta: rejection-sample phi with that weight
    phi = torch.empty(count, n)
    filled = torch.zeros(count, dtype=torch.long)
    while bool((filled < n).any()):
        cand = _uniform((count, 2 * n), g, 0, 2 * math.pi)          # (B, 2N) candidates
        keep = _uniform((count, 2 * n), g) * (R + r)[:, None] < (R[:, None] + r[:, None]
                                                                 * cand.cos())
        for i in torch.nonzero(filled < n).flatten().tolist():
            got = cand[i][keep[i]][: n - int(filled[i])]
            phi[i, int(filled[i]):int(filled[i]) + len(got)] = got
            filled[i] += len(got)
    theta = _uniform((count, n), g, 0, 2 * math.pi)
    ring = R[:, None] + r[:, None] * phi.cos()
    return torch.stack([ring * theta.cos(), ring * theta.sin(), r[:, None] * phi.sin()], dim=-1)


_SAMPLERS = {"sphere": _sphere, "cube": _cube, "cylinder": _cylinder, "cone": _cone,
             "torus": _torus}


def rotate_about_z(clouds: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate each cloud (B, N, 3) about the vertical axis by its angle (B,) in radians."""
    c, s = angles.cos(), angles.sin()
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    rot = torch.stack([torch.stack([c, -s, zero], -1), torch.stack([s, c, zero], -1),
                       torch.stack([zero, zero, one], -1)], dim=1)   # (B, 3, 3)
    return clouds @ rot.transpose(1, 2)                              # (B, N, 3)


def normalise(clouds: torch.Tensor) -> torch.Tensor:
    """Centre each cloud on its mean and scale its farthest point to distance 1.

    (B, N, 3) -> (B, N, 3)."""
    centred = clouds - clouds.mean(dim=1, keepdim=True)
    radius = centred.norm(dim=-1).amax(dim=1).clamp_min(1e-8)       # (B,)
    return centred / radius[:, None, None]


def sample_shapes(shape: str, count: int = 1, n_points: int = 256, seed: int | None = 0,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """``count`` random clouds of one shape: uniform on the surface, rotated, normalised.

    Random variations (each cloud its own): cube - box half-sides in ``[0.8, 1.2]``; cylinder -
    half height ``[0.6, 1.6]`` x radius; cone - height ``[1.4, 3.0]`` x base radius; torus -
    tube radius ``[0.25, 0.5]`` x ring radius; sphere - none. Then a rotation about the
    vertical axis by a uniform angle, and :func:`normalise`.

    Args:
        shape: one of :data:`SHAPES`.
        count: number of clouds B (1-20,000).
        n_points: points per cloud N (8-4096).
        seed: seed of a fresh generator (ignored when ``generator`` is given).
        generator: random generator to draw from (for streams of fresh batches).

    Returns:
        (B, N, 3) float32.
    """
    name = SHAPES[shape_index(shape)]
    _check_sizes(count, n_points)
    if generator is None:
        check_int("seed", seed, low=0)
        generator = torch.Generator().manual_seed(seed)
    clouds = _SAMPLERS[name](count, n_points, generator)
    angles = _uniform((count,), generator, 0, 2 * math.pi)
    return normalise(rotate_about_z(clouds, angles)).float()


def make_dataset(per_shape: int, n_points: int = 256, seed: int = 0,
                 shapes: Sequence[str] = SHAPES) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_shape`` clouds of each shape: clouds (S * per_shape, N, 3) and labels (S *
    per_shape,) int64 (the index in :data:`SHAPES`), grouped by shape."""
    check_int("seed", seed, low=0)
    if len(shapes) == 0:
        raise ValueError("make_dataset needs at least one shape.")
    clouds, labels = [], []
    for k, shape in enumerate(shapes):
        label = shape_index(shape)
        clouds.append(sample_shapes(shape, per_shape, n_points, seed=seed * 1000 + 7 * k + label))
        labels.append(torch.full((per_shape,), label, dtype=torch.long))
    return torch.cat(clouds), torch.cat(labels)


def gaussian_blobs(count: int, n_points: int = 256, seed: int = 0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Baseline "shapes": isotropic Gaussian clouds, normalised like the real ones (B, N, 3)."""
    _check_sizes(count, n_points)
    generator = generator or torch.Generator().manual_seed(check_int("seed", seed, low=0))
    return normalise(torch.randn(count, n_points, 3, generator=generator))


def not_a_shape(count: int, n_points: int, generator: torch.Generator) -> torch.Tensor:
    """Structureless clouds for the judge's extra class (B, N, 3): Gaussian blobs with random
    axis scales, and points filling a ball or a box (volumes, not surfaces), normalised."""
    _check_sizes(count, n_points)
    kind = torch.randint(0, 3, (count,), generator=generator)
    scales = _uniform((count, 1, 3), generator, 0.4, 1.0)
    blob = torch.randn(count, n_points, 3, generator=generator) * scales
    ball = _sphere(count, n_points, generator) * _uniform((count, n_points, 1),
                                                           generator) ** (1 / 3) * scales
    box = _uniform((count, n_points, 3), generator, -1, 1) * scales
    out = torch.where((kind == 0)[:, None, None], blob, torch.where((kind == 1)[:, None, None],
                                                                    ball, box))
    return normalise(out)


def check_clouds(clouds: object, name: str = "clouds") -> torch.Tensor:
    """``clouds`` as a float32 tensor (B, N, 3); a single (N, 3) cloud becomes (1, N, 3).

    Raises:
        ValueError: another shape, no points, or NaN/inf values.
    """
    x = torch.as_tensor(np.asarray(clouds) if not isinstance(clouds, torch.Tensor) else clouds)
    x = x.detach().float()
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[-1] != 3 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must be (B, N, 3) or (N, 3) point coordinates, got shape "
                         f"{tuple(x.shape)}.")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or infinite coordinates.")
    return x


# --- comparing clouds --------------------------------------------------------------------------

def chamfer_distance(a: object, b: object) -> torch.Tensor:
    """Symmetric Chamfer distance between paired clouds, one number per pair.

    ``CD(A, B) = 1/|A| sum_{a in A} min_{b in B} |a - b|^2 + 1/|B| sum_{b in B} min_{a in A}
    |a - b|^2``

    (mean squared distance to the nearest neighbour, both ways; 0 exactly when every point of
    each cloud lies on a point of the other). The two clouds may have different numbers of
    points, and the order of the points does not matter.

    Args:
        a: (B, N, 3) or (N, 3).
        b: (B, M, 3) or (M, 3); a single cloud is compared with every cloud of the other.

    Returns:
        (B,) float32.
    """
    a, b = check_clouds(a, "a"), check_clouds(b, "b")
    if len(a) != len(b):
        if len(a) == 1:
            a = a.expand(len(b), -1, -1)
        elif len(b) == 1:
            b = b.expand(len(a), -1, -1)
        else:
            raise ValueError(f"a and b must hold the same number of clouds (or one), got "
                             f"{len(a)} and {len(b)}.")
    d2 = torch.cdist(a, b).square()                                 # (B, N, M)
    return d2.min(dim=2).values.mean(dim=1) + d2.min(dim=1).values.mean(dim=1)


def pairwise_chamfer(a: object, b: object) -> torch.Tensor:
    """Chamfer distance between every cloud of ``a`` (P, N, 3) and every cloud of ``b``
    (Q, M, 3): a (P, Q) matrix (one cloud of ``a`` against all of ``b`` at a time, so memory
    stays at Q * N * M numbers). Cost grows like P * Q * N * M: about 3,000 pairs of
    256-point clouds per second on one CPU core."""
    a, b = check_clouds(a, "a"), check_clouds(b, "b")
    rows = []
    with torch.inference_mode():
        for cloud in a:
            d2 = torch.cdist(cloud.expand(len(b), -1, -1), b).square()    # (Q, N, M)
            rows.append(d2.min(dim=2).values.mean(dim=1) + d2.min(dim=1).values.mean(dim=1))
    return torch.stack(rows)                                           # (P, Q)


def nearest_real(generated: object, reference: object) -> tuple[torch.Tensor, torch.Tensor]:
    """For each generated cloud, the Chamfer distance to its nearest reference cloud and that
    cloud's index: ``(distances (P,), indices (P,))``. Small = close to *some* real object."""
    d = pairwise_chamfer(generated, reference)
    values, index = d.min(dim=1)
    return values, index


def coverage(generated: object, reference: object) -> float:
    """Share of reference clouds that are the nearest reference of at least one generated
    cloud (Achlioptas et al. 2018). A model that draws the same object again and again covers
    little of the data set, however good each object is."""
    _, index = nearest_real(generated, reference)
    return len(torch.unique(index)) / len(check_clouds(reference, "reference"))


# --- the shape judge -----------------------------------------------------------------------

@dataclass(frozen=True)
class ClassifierConfig:
    """Size of :class:`PointNetClassifier`."""

    widths: tuple[int, ...] = (64, 128, 256)  # the shared per-point MLP: 3 -> 64 -> 128 -> 256
    hidden: int = 128                        # width of the head after the max-pool
    num_classes: int = len(CLASS_NAMES)      # the shapes plus "not a shape"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ClassifierConfig":
        values = json.loads(text)
        values["widths"] = tuple(values["widths"])
        return cls(**values)


class PointNetClassifier(nn.Module):
    """PointNet without its alignment networks: ``(B, N, 3) -shared MLP-> (B, N, C) -max over
    points-> (B, C) -MLP-> (B, K)`` logits. The max-pool makes the output independent of the
    order of the points (permutation invariance)."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig()) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width_in = 3
        for width in config.widths:
            layers += [nn.Linear(width_in, width), nn.ReLU()]
            width_in = width
        self.point_mlp = nn.Sequential(*layers[:-1])                 # no ReLU before the max
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(width_in, config.hidden), nn.ReLU(),
                                  nn.Linear(config.hidden, config.num_classes))

    def features(self, clouds: torch.Tensor) -> torch.Tensor:
        """The global feature (B, C) = max over points of the per-point features (B, N, C)."""
        return self.point_mlp(clouds).amax(dim=1)

    def forward(self, clouds: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(clouds))                      # (B, K)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


@dataclass(frozen=True)
class ShapeVerdict:
    """What the judge says about a set of clouds."""

    predicted: np.ndarray       # (B,) class index, NOT_A_SHAPE for "not a shape"
    confidence: np.ndarray      # (B,) probability of the predicted class
    probabilities: np.ndarray   # (B, K)

    @property
    def names(self) -> list[str]:
        return [CLASS_NAMES[i] for i in self.predicted]

    def accuracy(self, labels: Sequence[int] | np.ndarray) -> float:
        """Share of clouds read as the given labels (e.g. the shape that was asked for)."""
        labels = np.asarray(labels)
        if labels.shape != self.predicted.shape:
            raise ValueError(f"need one label per cloud: {len(self.predicted)} clouds, "
                             f"{labels.shape} labels.")
        return float((self.predicted == labels).mean())

    @property
    def shape_rate(self) -> float:
        """Share of clouds read as one of the shapes (not "not a shape")."""
        return float((self.predicted != NOT_A_SHAPE).mean())

    def counts(self) -> dict[str, int]:
        """How many clouds the judge reads as each class."""
        return {name: int((self.predicted == k).sum()) for k, name in enumerate(CLASS_NAMES)}


def classify(clouds: object, judge: PointNetClassifier | None = None) -> ShapeVerdict:
    """The judge's reading of clouds (B, N, 3) (default judge: the committed one)."""
    x = check_clouds(clouds)
    judge = judge or load_shape_classifier()
    with torch.inference_mode():
        probs = F.softmax(judge(x), dim=1).numpy()
    predicted = probs.argmax(1)
    return ShapeVerdict(predicted, probs[np.arange(len(probs)), predicted], probs)


def save_classifier(path: Path, model: PointNetClassifier, record: dict) -> Path:
    """Weights, config and training record in one safetensors file (no pickle)."""
    return write_checkpoint(path, model.state_dict(),
                            {"config": model.config.to_json(), "record": record})


@lru_cache(maxsize=2)
def load_shape_classifier(path: Path = CLASSIFIER_CHECKPOINT) -> PointNetClassifier:
    """The committed shape judge (eval mode); its training record is ``.record``."""
    tensors, meta = read_checkpoint(path, "shape-classifier", "python -m "
                                    "course_utils.image.pointcloud.point_denoiser train-classifier")
    model = PointNetClassifier(ClassifierConfig.from_json(meta["config"]))
    model.load_state_dict(tensors)
    model.eval().requires_grad_(False)
    model.record = json.loads(meta.get("record", "{}"))
    return model


# --- 3-D views -----------------------------------------------------------------------------

def cloud_trace(cloud: object, color: str = "#0072B2", size: float = 2.0, name: str = "",
                scene: str = "scene") -> "go.Scatter3d":
    """One cloud (N, 3) as a Plotly ``Scatter3d`` trace (coordinates stored as float32)."""
    import plotly.graph_objects as go

    x = check_clouds(cloud)[0].numpy().astype(np.float32)
    return go.Scatter3d(x=x[:, 0], y=x[:, 1], z=x[:, 2], mode="markers", name=name,
                        marker={"size": size, "color": color, "opacity": 0.85},
                        hoverinfo="skip", scene=scene, showlegend=False)


def _scene(limit: float = 1.05) -> dict:
    axis = {"range": [-limit, limit], "showticklabels": False, "title": "",
            "showbackground": False, "gridcolor": "#e5e5e5"}
    return {"xaxis": axis, "yaxis": axis, "zaxis": axis, "aspectmode": "cube",
            "camera": {"eye": {"x": 1.5, "y": 1.5, "z": 0.9}}}


EYE = 1.45  # camera distance per unit of the figure's height / width (fits 1-10 columns)
GALLERY_SPACING = 2.8  # distance between neighbouring clouds' centres (clouds have radius ~1)


def cloud_gallery(clouds: object, titles: Sequence[str] | None = None, ncols: int = 5,
                  colors: Sequence[str] | None = None, width: int = 720,
                  title: str = "") -> "go.Figure":
    """Clouds (B, N, 3) side by side in **one** rotatable 3-D scene (Plotly).

    Cloud ``k`` is shifted to column ``k % ncols`` (along x) and row ``k // ncols`` (down z),
    :data:`GALLERY_SPACING` apart, and titled by a label above it; dragging turns the whole
    gallery. One scene, not one per cloud, because every 3-D scene is a WebGL context and
    browsers keep only about 16 per page: a page with more loses the oldest figures.
    Keep ``B * N`` modest (a few thousand points) so that the stored figure stays small.
    """
    import plotly.graph_objects as go

    x = check_clouds(clouds)
    check_int("ncols", ncols, low=1, high=10)
    if len(x) > 40:
        raise ValueError(f"cloud_gallery shows at most 40 clouds, got {len(x)}.")
    titles = list(titles) if titles is not None else [""] * len(x)
    if len(titles) != len(x):
        raise ValueError(f"{len(titles)} titles for {len(x)} clouds.")
    from course_utils.viz.plotting import PALETTE

    colors = list(colors) if colors is not None else [PALETTE[0]] * len(x)
    ncols = min(ncols, len(x))
    nrows = -(-len(x) // ncols)
    offsets = torch.tensor([[(k % ncols) * GALLERY_SPACING, 0.0, -(k // ncols) * GALLERY_SPACING]
                            for k in range(len(x))])                       # (B, 3)
    fig = go.Figure([cloud_trace(cloud + offset, color=color)
                     for cloud, offset, color in zip(x, offsets, colors)])
    # a title above each cloud; "<br>" breaks a long one into lines
    labels = [{"x": float(o[0]), "y": 0.0, "z": float(o[2]) + 1.25 + 0.12 * text.count("<br>"),
               "text": text,
               "showarrow": False, "font": {"size": 14}}
              for o, text in zip(offsets, titles) if text]
    hidden = {"visible": False}
    top = 40 if title else 10
    # a square cell of width / ncols per cloud, but not too flat a figure: the camera would
    # come so close that perspective stretches the clouds at the sides
    height = max(round(nrows * width / ncols), round(0.36 * width)) + top
    # A 3-D camera has a fixed vertical field of view, so the visible width grows with
    # width / height: the camera distance that fits the gallery is proportional to
    # height / width (the scene's width, x, is its unit length). The width is fixed
    # because a narrower figure would crop the gallery's sides.
    distance = EYE * height / width
    x_range = [-1.3, (ncols - 1) * GALLERY_SPACING + 1.3]
    y_range = [-1.3, 1.3]
    z_range = [-(nrows - 1) * GALLERY_SPACING - 1.3, 1.6]

    def span(r: list[float]) -> float:
        return r[1] - r[0]

    fig.update_layout(
        width=width, height=height, title=title,
        margin={"l": 0, "r": 0, "t": top, "b": 0},
        scene={"xaxis": {**hidden, "range": x_range}, "yaxis": {**hidden, "range": y_range},
               "zaxis": {**hidden, "range": z_range}, "annotations": labels,
               # true proportions, with the gallery's width (x) as the unit length
               "aspectmode": "manual",
               "aspectratio": {"x": 1.0, "y": span(y_range) / span(x_range),
                               "z": span(z_range) / span(x_range)},
               # seen from the front and a little above
               "camera": {"eye": {"x": 0.0, "y": -0.97 * distance, "z": 0.25 * distance},
                          "center": {"x": 0.0, "y": 0.0, "z": 0.0}}})
    return fig


def plot_cloud(cloud: object, title: str = "", azimuth: float = 45.0, elevation: float = 25.0,
               color: str = "#0072B2", size: float = 4.0) -> "plt.Figure":
    """One cloud (N, 3) as a static matplotlib 3-D scatter, seen from ``azimuth`` degrees
    around the vertical axis and ``elevation`` degrees above the ground (for widgets: a PNG
    that the book can show without a kernel)."""
    import matplotlib.pyplot as plt

    from course_utils.core.validation import check_float

    x = check_clouds(cloud)[0].numpy()
    check_float("azimuth", azimuth, low=-360, high=360)
    check_float("elevation", elevation, low=-90, high=90)
    fig = plt.figure(figsize=(4.2, 4.2))
    ax = fig.add_subplot(projection="3d")
    ax.scatter(x[:, 0], x[:, 1], x[:, 2], s=size, color=color, depthshade=True)
    ax.set(xlim=(-1.05, 1.05), ylim=(-1.05, 1.05), zlim=(-1.05, 1.05), xticklabels=[],
           yticklabels=[], zticklabels=[])
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=elevation, azim=azimuth)
    ax.set_title(title)
    fig.tight_layout()
    return fig
