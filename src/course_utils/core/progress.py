"""Progress bars for any loop that takes more than a couple of seconds.

``tqdm.auto`` draws a widget bar in Jupyter and a text bar in a terminal. Set
``COURSE_PROGRESS=0`` to silence bars (e.g. in benchmarks).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_enabled() -> bool:
    """Whether progress bars are shown (``COURSE_PROGRESS`` is not ``0``)."""
    return os.environ.get("COURSE_PROGRESS", "1") != "0"


def progress(iterable: Iterable[T], description: str = "", total: int | None = None,
             **tqdm_kwargs) -> Iterator[T]:
    """Wrap ``iterable`` in a progress bar.

    Args:
        iterable: what to loop over.
        description: short label shown before the bar, e.g. ``"training"``.
        total: number of items, when ``len(iterable)`` is not available.
        **tqdm_kwargs: passed on to ``tqdm`` (e.g. ``unit="step"``).

    Returns:
        An iterator over the same items.
    """
    options = {"desc": description, "total": total, "mininterval": 0.5,
               "disable": not progress_enabled(), "leave": True}
    options.update(tqdm_kwargs)
    return iter(tqdm(iterable, **options))
