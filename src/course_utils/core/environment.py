"""One call that prepares a notebook: ``env = course_utils.setup()``.

It makes runs reproducible (seeds, thread count), keeps the course offline (Hugging Face
offline flags), sets a readable plotting style, chooses a Plotly renderer that works both in
JupyterLab and in the static book, and quiets noisy third-party warnings.
"""

from __future__ import annotations

import os
import platform
import random
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from course_utils.core.device import pick_device
from course_utils.viz.plotting import (
    apply_style,
    use_course_figure_format,
    use_course_plotly_renderer,
)

#: Environment variables that keep Hugging Face libraries from reaching a hub.
OFFLINE_FLAGS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


@dataclass(frozen=True)
class CourseEnvironment:
    """What ``setup()`` configured; printed at the top of every notebook."""

    seed: int  # seed given to random, numpy and torch
    threads: int  # torch intra-op threads
    device: torch.device  # where models run
    torch_version: str
    python_version: str

    def __str__(self) -> str:
        return (f"course_utils ready: seed={self.seed}, threads={self.threads}, "
                f"device={self.device}, torch {self.torch_version}, "
                f"Python {self.python_version}")


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and GPU).

    Args:
        seed: a non-negative integer.

    Raises:
        ValueError: if ``seed`` is not a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def default_threads() -> int:
    """Threads for torch: ``COURSE_THREADS`` if set, else the core count capped at 4.

    A small fixed number keeps timings and results comparable between machines.
    """
    if os.environ.get("COURSE_THREADS"):
        return int(os.environ["COURSE_THREADS"])
    return max(1, min(4, os.cpu_count() or 1))


def setup(seed: int = 0, threads: int | None = None, device: str | None = None,
          quiet: bool = True) -> CourseEnvironment:
    """Prepare a notebook (or script) for the course.

    Args:
        seed: seed for ``random``, NumPy and torch.
        threads: torch intra-op threads (default: :func:`default_threads`).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"`` (see :func:`pick_device`).
        quiet: hide known-noisy warnings from third-party libraries.

    Returns:
        A :class:`CourseEnvironment` describing the configuration.

    Raises:
        ValueError: for a bad seed, thread count or device.
    """
    for name, value in OFFLINE_FLAGS.items():
        os.environ.setdefault(name, value)
    seed_everything(seed)
    n_threads = default_threads() if threads is None else threads
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
        raise ValueError(f"threads must be a positive integer, got {n_threads!r}.")
    torch.set_num_threads(n_threads)
    chosen = pick_device(device)
    apply_style()
    use_course_figure_format()
    use_course_plotly_renderer()
    if quiet:
        _quiet_warnings()
    return CourseEnvironment(seed=seed, threads=n_threads, device=chosen,
                             torch_version=torch.__version__.split("+")[0],
                             python_version=platform.python_version())


def _quiet_warnings() -> None:
    """Hide warnings that say nothing to a learner (library deprecations, tqdm's widget note)."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*IProgress not found.*")
