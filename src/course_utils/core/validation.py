"""Input checks shared by every public helper and widget.

Each check raises ``ValueError`` with a message a learner can act on ("temperature must be
> 0, got -1"), never a traceback from deep inside torch.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np


def check_int(name: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` if it is an integer in ``[low, high]`` (bounds optional).

    Raises:
        ValueError: not an integer (bools rejected) or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        # numpy integers are fine; floats like 3.0 are not (they hide mistakes)
        if hasattr(value, "__index__") and not isinstance(value, bool):
            value = int(value.__index__())  # type: ignore[union-attr]
        elif isinstance(value, str):
            raise ValueError(f"{name} must be an integer, got the text {value!r}: pass a whole "
                             "number without quotes, e.g. 3.")
        elif isinstance(value, float):
            raise ValueError(f"{name} must be an integer, got {value!r} (a float): pass a "
                             "whole number, e.g. 3.")
        else:
            raise ValueError(f"{name} must be an integer, got {value!r}.")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}.")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}.")
    return value


def check_float(name: str, value: object, low: float | None = None, high: float | None = None,
                low_inclusive: bool = True, high_inclusive: bool = True) -> float:
    """Return ``value`` as a float if it is finite and within the bounds.

    Args:
        name: the argument's name, used in the message.
        value: the number to check.
        low, high: optional bounds.
        low_inclusive, high_inclusive: whether each bound itself is allowed.

    Raises:
        ValueError: not a real number, NaN/inf, or out of range.
    """
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if low is not None and (number < low or (number == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, got {number:g}.")
    if high is not None and (number > high or (number == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {op} {high}, got {number:g}.")
    return number


def check_text(name: str, text: object, max_length: int | None = None,
               allowed: Collection[str] | None = None, allow_empty: bool = False) -> str:
    """Return ``text`` if it is a string that is non-empty, short enough and uses known characters.

    Args:
        name: the argument's name, used in the message.
        text: the string to check.
        max_length: longest accepted length, if any.
        allowed: the characters a model knows, if restricted.
        allow_empty: accept ``""``.

    Raises:
        ValueError: not a string, empty, too long, or containing unknown characters (the
            message lists them).
    """
    if not isinstance(text, str):
        raise ValueError(f"{name} must be text, got {type(text).__name__}.")
    if not text and not allow_empty:
        raise ValueError(f"{name} is empty: type some text first.")
    if max_length is not None and len(text) > max_length:
        raise ValueError(f"{name} is too long: {len(text)} characters, the limit is {max_length}.")
    if allowed is not None:
        unknown = sorted(set(text) - set(allowed))
        if unknown:
            shown = ", ".join(repr(ch) for ch in unknown[:10])
            more = f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else ""
            raise ValueError(f"{name} contains characters the model has never seen: "
                             f"{shown}{more}.")
    return text


def check_points(name: str, x: object, min_rows: int = 1) -> np.ndarray:
    """Return ``x`` as a finite float array of shape ``(N, D)`` with ``N >= min_rows``.

    Raises:
        ValueError: wrong number of dimensions, too few rows, or NaN/inf values.
    """
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (N, D), got shape {arr.shape}.")
    if arr.shape[0] < min_rows or arr.shape[1] < 1:
        raise ValueError(f"{name} needs at least {min_rows} rows and 1 column, got {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr
