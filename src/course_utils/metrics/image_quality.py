"""The image evaluation kit shared by chapters 07 and 20-24: a digit judge and a Fréchet distance.

Generated 8x8 digits are scored the way large image models are, at a small scale:

- :class:`DigitJudge` - a small CNN trained by the course on scikit-learn's digits, with an
  11th class "not a digit" learned from structureless images (noise, shuffled pixels, blobs), so
  that "judged as a digit" means something (committed checkpoint
  ``checkpoints/digit_judge.safetensors``, held-out accuracy checked by a test).
- :func:`judge_digits` - does the judge recognise the images as digits, how confidently, which
  classes appear, and (for conditional models) is it the digit that was asked for?
- :func:`frechet_distance` / :func:`digit_fd` - the FID recipe on the judge's features:
  ``FD = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` between Gaussians fitted to the
  features of two image sets (Heusel et al. 2017); 0 for identical distributions.
- :func:`precision_recall` / :func:`digit_precision_recall` - improved precision and recall
  (Kynkäänniemi et al. 2019) on the same features: precision = share of generated images that
  fall on the real images' manifold (fidelity), recall = share of real images on the generated
  manifold (coverage). A Gaussian over pixels matches the data's first two moments, so it
  passes checks built on those; its samples fall off the manifold, and precision shows it.

Images everywhere are ``(N, 8, 8)`` float arrays with ink in ``[0, 1]`` (0 = background).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from course_utils.core.checkpoints import (
    CHECKPOINT_DIR,
    read_checkpoint,
    read_record,
    train_command,
    write_checkpoint,
)
from course_utils.core.validation import check_int
from course_utils.data import load_digits_images

CHECKPOINT = CHECKPOINT_DIR / "digit_judge.safetensors"
TEST_FRACTION = 0.2
NOT_A_DIGIT = 10  # the judge's extra class
N_CLASSES = 11
RANGE_TOLERANCE = 0.5  # generated pixels may overshoot [0, 1] a little; beyond this is a bug


# --- data --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DigitSplits:
    """scikit-learn's 1,797 digits split once, stratified by class (seed 0): every image chapter
    trains generators on ``train`` and compares with ``test``."""

    train_images: np.ndarray  # (1437, 8, 8) float32 in [0, 1]
    train_labels: np.ndarray  # (1437,) int64
    test_images: np.ndarray   # (360, 8, 8)
    test_labels: np.ndarray   # (360,)


@lru_cache(maxsize=1)
def digit_splits() -> DigitSplits:
    from sklearn.model_selection import train_test_split

    images, labels = load_digits_images()
    tr, te = train_test_split(np.arange(len(labels)), test_size=TEST_FRACTION,
                              stratify=labels, random_state=0)
    return DigitSplits(images[tr], labels[tr], images[te], labels[te])


def check_digit_images(images: object, name: str = "images") -> np.ndarray:
    """``images`` as a float32 ``(N, 8, 8)`` array clipped to ``[0, 1]``.

    Accepts ``(N, 8, 8)``, ``(N, 1, 8, 8)`` or ``(N, 64)`` arrays or tensors.

    Raises:
        ValueError: another shape, no images, NaN/inf, or values far outside ``[0, 1]``
            (a generator emitting e.g. ``[-1, 1]`` or ``0..255`` must be rescaled first).
    """
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    try:
        x = np.asarray(images, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array, got {type(images).__name__}.") from None
    if x.ndim == 2 and x.shape[1] == 64:
        x = x.reshape(-1, 8, 8)
    elif x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3 or x.shape[1:] != (8, 8):
        raise ValueError(f"{name} must have shape (N, 8, 8), (N, 1, 8, 8) or (N, 64); got "
                         f"{tuple(x.shape)}.")
    if len(x) == 0:
        raise ValueError(f"{name} is empty: give at least one image.")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite pixels.")
    low, high = float(x.min()), float(x.max())
    if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise ValueError(f"{name} pixels must lie in [0, 1] (ink = 1); got values in "
                         f"[{low:.3g}, {high:.3g}]. Rescale first, e.g. (x + 1) / 2 for [-1, 1].")
    return np.clip(x, 0.0, 1.0)


# --- the judge ---------------------------------------------------------------------------------

class DigitJudge(nn.Module):
    """A small CNN for 8x8 digits; its 64-d penultimate layer is the feature space of the
    Fréchet distance.

    ``(B, 1, 8, 8) -conv3x3-> (B, 32, 8, 8) -conv3x3-> (B, 64, 8, 8) -maxpool-> (B, 64, 4, 4)
    -flatten, linear-> (B, 64) features -linear-> (B, 11) logits``; class 10 is "not a digit".
    """

    def __init__(self, width: int = 32, feature_dim: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.fc = nn.Linear(2 * width * 16, feature_dim)
        self.head = nn.Linear(feature_dim, N_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 8, 8) -> (B, feature_dim)."""
        h = F.relu(self.conv1(x))
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)         # (B, 64, 4, 4)
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 8, 8) -> logits (B, 11)."""
        return self.head(self.features(x))


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by up to one pixel (zero fill): generated digits are rarely centred
    exactly like the training set."""
    padded = F.pad(x, (1, 1, 1, 1))
    out = torch.empty_like(x)
    shifts = torch.randint(0, 3, (len(x), 2), generator=generator)
    for i, (dy, dx) in enumerate(shifts.tolist()):
        out[i] = padded[i, :, dy:dy + 8, dx:dx + 8]
    return out


def not_a_digit(n: int, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """``n`` structureless images (B, 1, 8, 8) for the "not a digit" class: a third uniform
    noise, a third real digits with their pixels shuffled (same ink, no shape), a third smooth
    random blobs."""
    kinds = torch.randint(0, 3, (n,), generator=generator)
    noise = torch.rand(n, 1, 8, 8, generator=generator)
    source = like[torch.randint(0, len(like), (n,), generator=generator)].flatten(1)
    order = torch.argsort(torch.rand(n, 64, generator=generator), dim=1)
    shuffled = source.gather(1, order).view(n, 1, 8, 8)
    coarse = torch.rand(n, 1, 3, 3, generator=generator)
    blobs = F.interpolate(coarse, size=(8, 8), mode="bilinear", align_corners=True)
    blobs = (blobs - blobs.amin((2, 3), keepdim=True)) / \
        (blobs.amax((2, 3), keepdim=True) - blobs.amin((2, 3), keepdim=True) + 1e-6)
    out = torch.where(kinds.view(n, 1, 1, 1) == 0, noise,
                      torch.where(kinds.view(n, 1, 1, 1) == 1, shuffled, blobs))
    return out


def train_digit_judge(epochs: int = 60, seed: int = 0, batch_size: int = 64) -> tuple[DigitJudge, dict]:
    """Train the judge on the train split (AdamW, cosine schedule, shift augmentation).

    Returns:
        (model in eval mode, record with test accuracy and training time).
    """
    check_int("epochs", epochs, low=1, high=1000)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    splits = digit_splits()
    x = torch.from_numpy(splits.train_images)[:, None]
    y = torch.from_numpy(splits.train_labels)
    model = DigitJudge()
    steps = epochs * ((len(x) + batch_size - 1) // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    start = time.perf_counter()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            negatives = not_a_digit(len(idx) // 4, generator, x)
            inputs = torch.cat([_augment(x[idx], generator), negatives])
            targets = torch.cat([y[idx], torch.full((len(negatives),), NOT_A_DIGIT)])
            loss = F.cross_entropy(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    model.eval()
    report = judge_digits(splits.test_images, splits.test_labels, judge=model)
    noise = judge_digits(torch.rand(1000, 8, 8, generator=torch.Generator().manual_seed(seed + 1)),
                         judge=model)
    record = {"test_accuracy": round(report.accuracy, 4),
              "test_digit_rate": round(report.digit_rate, 4),
              "uniform_noise_digit_rate": round(noise.digit_rate, 4), "epochs": epochs, "seed": seed,
              "train_seconds": round(time.perf_counter() - start, 1),
              "train_images": len(x), "test_images": len(splits.test_labels)}
    return model, record


def save_judge(model: DigitJudge, record: dict, path: Path = CHECKPOINT) -> Path:
    return write_checkpoint(path, model.state_dict(), {"record": record})


@lru_cache(maxsize=1)
def load_digit_judge(path: Path = CHECKPOINT) -> DigitJudge:
    """The committed judge (eval mode). Its training record: :func:`judge_record`."""
    tensors, _ = read_checkpoint(path, "digit-judge", train_command("digit-judge"),
                                 required=("record",))
    model = DigitJudge()
    model.load_state_dict(tensors)
    return model.eval()


def judge_record(path: Path = CHECKPOINT) -> dict:
    """The training record stored in the checkpoint (test accuracy, epochs, seconds)."""
    return read_record(path)


# --- scores ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JudgeReport:
    """What the judge says about a set of images."""

    n: int
    digit_rate: float            # share of images judged a digit (any class 0-9, not class 10)
    mean_confidence: float       # mean over images of max_{c<10} p(c | x): real digits ~0.99
    classes_covered: int         # digit classes predicted for at least 2% of the images (0-10)
    class_counts: tuple[int, ...]  # predictions per class 0..9, then "not a digit"
    accuracy: float | None       # share predicted as the intended label (when labels given)

    def as_dict(self) -> dict:
        return asdict(self)


def _probabilities(images: np.ndarray, judge: DigitJudge) -> np.ndarray:
    with torch.inference_mode():
        return torch.softmax(judge(torch.from_numpy(images)[:, None]), dim=-1).numpy()


def judge_digits(images: object, labels: Sequence[int] | None = None,
                 judge: DigitJudge | None = None) -> JudgeReport:
    """Classify generated digits with the judge.

    Args:
        images: ``(N, 8, 8)`` in ``[0, 1]`` (see :func:`check_digit_images`).
        labels: the digit each image was meant to be (conditional generators), or ``None``.
        judge: defaults to the committed :func:`load_digit_judge`.
    """
    x = check_digit_images(images)
    judge = judge if judge is not None else load_digit_judge()
    probs = _probabilities(x, judge)
    predicted = probs.argmax(axis=1)
    counts = np.bincount(predicted, minlength=N_CLASSES)
    accuracy = None
    if labels is not None:
        y = np.asarray(labels)
        if y.shape != (len(x),) or not np.isin(y, np.arange(10)).all():
            raise ValueError(f"labels must be {len(x)} digits 0-9, got shape {y.shape}.")
        accuracy = float((predicted == y).mean())
    return JudgeReport(n=len(x), digit_rate=float((predicted != NOT_A_DIGIT).mean()),
                       mean_confidence=float(probs[:, :NOT_A_DIGIT].max(axis=1).mean()),
                       classes_covered=int((counts[:NOT_A_DIGIT] >= max(1, 0.02 * len(x))).sum()),
                       class_counts=tuple(int(c) for c in counts), accuracy=accuracy)


def digit_features(images: object, judge: DigitJudge | None = None) -> np.ndarray:
    """The judge's features ``(N, 64)`` of ``images``."""
    x = check_digit_images(images)
    judge = judge if judge is not None else load_digit_judge()
    with torch.inference_mode():
        return judge.features(torch.from_numpy(x)[:, None]).double().numpy()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a`` (N, D) and ``b`` (M, D).

    ``|mu_a - mu_b|^2 + Tr(S_a) + Tr(S_b) - 2 Tr((S_a S_b)^(1/2))``; the trace of the matrix
    square root is computed as the sum of the square roots of the eigenvalues of
    ``S_a^(1/2) S_b S_a^(1/2)`` (symmetric PSD, so this is numerically stable).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be (N, D) and (M, D); got {a.shape} and {b.shape}.")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each feature set needs at least 2 rows to estimate a covariance.")
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a = np.atleast_2d(np.cov(a, rowvar=False))  # (D, D), also for D = 1
    s_b = np.atleast_2d(np.cov(b, rowvar=False))
    w, v = np.linalg.eigh(s_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T                 # S_a^(1/2)
    middle = np.linalg.eigvalsh(root_a @ s_b @ root_a)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * trace_root)


def digit_fd(images: object, reference: str = "test") -> float:
    """Fréchet distance between ``images`` and the real ``"train"`` or ``"test"`` digits in the
    judge's feature space (lower is better; real test vs real train is the floor)."""
    if reference not in ("train", "test"):
        raise ValueError(f"reference must be 'train' or 'test', got {reference!r}.")
    splits = digit_splits()
    real = splits.test_images if reference == "test" else splits.train_images
    return frechet_distance(digit_features(images), digit_features(real))


MAX_PR_POINTS = 20_000  # pairwise distances are (N, M): keep them in memory


@dataclass(frozen=True)
class PrecisionRecall:
    """Improved precision and recall of a generated set against a real one."""

    precision: float          # share of generated points on the real manifold
    recall: float             # share of real points on the generated manifold
    fake_on_real: np.ndarray  # (M,) bool, per generated point (for bootstrap intervals)
    real_on_fake: np.ndarray  # (N,) bool, per real point
    k: int                    # neighbourhood size of the manifolds


def _kth_neighbour_radius(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of ``x`` (N, D) to its k-th nearest other row: (N,)."""
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)  # (N, N), 0 on the diagonal
    return np.sort(d, axis=1)[:, k]  # index 0 is the point itself


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of feature sets.

    The manifold of a set is the union of balls around its points, each with the radius of the
    distance to that point's k-th nearest neighbour in the same set::

        precision = mean over fake f of  [ exists real r: |f - r| <= radius_real(r) ]
        recall    = mean over real r of  [ exists fake f: |r - f| <= radius_fake(f) ]

    Args:
        real: real features (N, D); fake: generated features (M, D); each with more than
            ``k`` rows and at most :data:`MAX_PR_POINTS`.
        k: neighbourhood size (3 in the paper).

    Raises:
        ValueError: shapes that are not (N, D) with the same D, too few or too many rows,
            non-finite values, or ``k`` < 1.
    """
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be (N, D) and (M, D); got {real.shape} and "
                         f"{fake.shape}.")
    k = check_int("k", k, low=1, high=100)
    for name, x in (("real", real), ("fake", fake)):
        if not k < len(x) <= MAX_PR_POINTS:
            raise ValueError(f"{name} needs more than k = {k} and at most {MAX_PR_POINTS:,} "
                             f"rows, got {len(x)}.")
        if not np.isfinite(x).all():
            raise ValueError(f"{name} features must be finite (no NaN or infinity).")
    r_real, r_fake = _kth_neighbour_radius(real, k), _kth_neighbour_radius(fake, k)
    d = np.linalg.norm(fake[:, None, :] - real[None, :, :], axis=-1)  # (M, N)
    fake_on_real = (d <= r_real[None, :]).any(axis=1)
    real_on_fake = (d <= r_fake[:, None]).any(axis=0)
    return PrecisionRecall(float(fake_on_real.mean()), float(real_on_fake.mean()),
                           fake_on_real, real_on_fake, k)


def digit_precision_recall(images: object, reference: str = "test",
                           k: int = 3) -> PrecisionRecall:
    """:func:`precision_recall` of ``images`` against the real ``"train"`` or ``"test"`` digits
    in the judge's feature space."""
    if reference not in ("train", "test"):
        raise ValueError(f"reference must be 'train' or 'test', got {reference!r}.")
    splits = digit_splits()
    real = splits.test_images if reference == "test" else splits.train_images
    return precision_recall(digit_features(real), digit_features(images), k=k)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_utils.train",
                                     description="Train the digit judge of the image chapters.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", prog="python -m course_utils.train digit-judge")
    train.add_argument("--epochs", type=int, default=60)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", type=Path, default=CHECKPOINT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model, record = train_digit_judge(args.epochs, args.seed)
    record["command"] = f"python -m course_utils.train digit-judge --epochs {args.epochs} " \
                        f"--seed {args.seed}"
    print(record, "->", save_judge(model, record, args.out))

