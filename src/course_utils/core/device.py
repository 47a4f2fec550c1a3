"""Pick the torch device the course runs on.

Everything in the course runs on a CPU; a GPU (CUDA) or Apple-silicon GPU (MPS) is used when
present, because it is free speed. ``COURSE_DEVICE=cpu`` (or ``cuda``/``mps``) forces a choice.
"""

from __future__ import annotations

import os

import torch

_VALID = ("auto", "cpu", "cuda", "mps")


def pick_device(preference: str | None = None) -> torch.device:
    """Return the device to train and run models on.

    Args:
        preference: ``"auto"`` (default: CUDA, then MPS, then CPU), or one of ``"cpu"``,
            ``"cuda"``, ``"mps"``. When ``None``, the ``COURSE_DEVICE`` environment variable is
            read, then ``"auto"``.

    Returns:
        A ``torch.device``.

    Raises:
        ValueError: for an unknown preference, or an accelerator that is not available.
    """
    choice = (preference or os.environ.get("COURSE_DEVICE") or "auto").strip().lower()
    if choice not in _VALID:
        raise ValueError(f"Unknown device {choice!r}: use one of {', '.join(_VALID)}.")
    cuda_ok = torch.cuda.is_available()
    mps_ok = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if choice == "auto":
        return torch.device("cuda" if cuda_ok else "mps" if mps_ok else "cpu")
    if choice == "cuda" and not cuda_ok:
        raise ValueError("Device 'cuda' was requested but no CUDA GPU is available; use 'cpu'.")
    if choice == "mps" and not mps_ok:
        raise ValueError("Device 'mps' was requested but MPS is not available; use 'cpu'.")
    return torch.device(choice)
