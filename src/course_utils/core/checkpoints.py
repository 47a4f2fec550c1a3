"""The course's ``safetensors`` checkpoints: where they live, writing and reading them.

Every trained model the course ships is a safetensors file (never pickle): tensors plus a
string-to-string metadata dict holding the config and the training record as JSON. Each model's
loader builds its network from the metadata; this module does the part they share:

- :data:`CHECKPOINT_DIR` - the folder of committed checkpoints inside the package;
- :func:`train_command` - the one command that (re)trains a model, ``python -m
  course_utils.train <model>`` (see :mod:`course_utils.train`);
- :func:`write_checkpoint` / :func:`read_checkpoint` - one writer, one reader, one set of errors;
- :func:`training_record` - the fields every training record starts with.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


def train_command(model: str, *args: str) -> str:
    """The command that trains ``model`` (a name listed by ``python -m course_utils.train``)."""
    return " ".join(["python -m course_utils.train", model, *args])


def training_record(model: str, argv: Sequence[str], seconds: float, **fields: Any) -> dict:
    """The record stored with a checkpoint: the command that made it, wall time, versions.

    ``fields`` (seed, steps, scores...) are added after the common keys.
    """
    import shlex

    record = {"command": train_command(model, *(shlex.quote(a) for a in argv)),
              "seconds": round(float(seconds), 1), "torch": torch.__version__,
              "python": platform.python_version(),
              "date": time.strftime("%Y-%m-%d")}
    record.update(fields)
    return record


def _metadata_strings(metadata: Mapping[str, Any]) -> dict[str, str]:
    """safetensors metadata is str -> str: anything that is not a string is stored as JSON."""
    return {key: value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            for key, value in metadata.items()}


def write_checkpoint(path: str | Path, weights: Mapping[str, torch.Tensor] | torch.nn.Module,
                     metadata: Mapping[str, Any]) -> Path:
    """Write ``weights`` (a tensor dict, or a module's state) and ``metadata`` to ``path``.

    A module is written with ``safetensors.torch.save_model``, which handles tied weights
    (the tiny GPT's embedding and output head share one matrix). Non-string metadata values
    are JSON-encoded. The parent folder is created. Returns ``path``.
    """
    from safetensors.torch import save_file, save_model

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    strings = _metadata_strings(metadata)
    if isinstance(weights, torch.nn.Module):
        save_model(weights, str(path), metadata=strings)
    else:
        save_file({k: v.detach().contiguous() for k, v in weights.items()}, str(path),
                  metadata=strings)
    return path


def read_checkpoint(path: str | Path, what: str, retrain: str,
                    required: Sequence[str] = ("config",)
                    ) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a checkpoint file.

    Args:
        path: the safetensors file.
        what: the kind of checkpoint, for messages, e.g. ``"digit-GAN"``.
        retrain: the command that writes a missing file, e.g.
            ``train_command("digit-gan")``.
        required: metadata keys the file must have to be this kind of checkpoint.

    Returns:
        ``(tensors by name, metadata)``.

    Raises:
        FileNotFoundError: no file at ``path`` (the message names ``retrain``).
        ValueError: the file lacks a ``required`` metadata key.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: train it with `{retrain}`.")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    missing = [key for key in required if key not in metadata]
    if missing:
        raise ValueError(f"{path} is not a {what} checkpoint (its metadata has no "
                         f"{', '.join(missing)}).")
    return load_file(str(path)), metadata


def read_record(path: str | Path) -> dict:
    """The JSON training record stored in a checkpoint's metadata (``{}`` if it has none)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return json.loads((handle.metadata() or {}).get("record", "{}"))
