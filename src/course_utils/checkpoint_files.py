"""Reading the course's ``safetensors`` checkpoints, with one set of clear errors.

Every trained model the course ships is a safetensors file (never pickle): tensors plus a
string-to-string metadata dict holding the config and the training record as JSON. Each model's
loader builds its network from the metadata; this module does the part they share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch


def read_checkpoint(path: str | Path, what: str, train_command: str,
                    required: Sequence[str] = ("config",)
                    ) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a checkpoint file.

    Args:
        path: the safetensors file.
        what: the kind of checkpoint, for messages, e.g. ``"digit-GAN"``.
        train_command: the command that writes a missing file, e.g.
            ``"python -m course_utils.gan train"``.
        required: metadata keys the file must have to be this kind of checkpoint.

    Returns:
        ``(tensors by name, metadata)``.

    Raises:
        FileNotFoundError: no file at ``path`` (the message names ``train_command``).
        ValueError: the file lacks a ``required`` metadata key.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: train it with `{train_command}`.")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    missing = [key for key in required if key not in metadata]
    if missing:
        raise ValueError(f"{path} is not a {what} checkpoint (its metadata has no "
                         f"{', '.join(missing)}).")
    return load_file(str(path)), metadata
