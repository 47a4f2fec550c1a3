"""Offline data for the course: every loader reads from an installed package or generates data.

Nothing here touches the network. The sources (and their licences, listed on the book's
credits page):

- :func:`load_text_corpus` - the Python reference manual's topic pages, shipped with CPython
  in ``pydoc_data.topics`` (465 000 characters of English technical prose; about 370 000 after
  removing pages that repeat other pages).
- :func:`load_names` - US census name lists shipped by the ``names`` package.
- :func:`load_digits_images` - scikit-learn's 8x8 handwritten digits.
- :func:`load_sample_photos` - scikit-learn's two bundled photos.
- :func:`make_2d_mixture` / :func:`make_two_moons` - procedural 2-D data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from course_utils.core.validation import check_float, check_int

# Typographic characters in the corpus, mapped to ASCII so models see a small, clean alphabet.
_ASCII_MAP = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                            "\u2026": "...", "\u2014": "--", "\u2013": "-", "\u00df": "ss",
                            "\u00b0": " degrees", "\u00a0": " "})


@dataclass(frozen=True)
class TextSplits:
    """A corpus split into contiguous train / validation / test parts (whole documents)."""

    train: str
    val: str
    test: str

    @property
    def alphabet(self) -> list[str]:
        """Sorted characters that occur in the training text."""
        return sorted(set(self.train))


def normalize_text(text: str) -> str:
    """Map typographic punctuation to ASCII and drop any remaining non-ASCII character."""
    text = text.translate(_ASCII_MAP)
    return text.encode("ascii", "ignore").decode("ascii")


def load_raw_corpus_documents() -> list[tuple[str, str]]:
    """Every topic page as ``(title, text)``, sorted by title, normalised to ASCII.

    Source: ``pydoc_data.topics`` from the Python standard library (the reference manual's
    topic pages that ``help()`` shows). Many pages repeat sections of longer pages (``if`` is
    a section of ``compound``); :func:`load_corpus_documents` removes those.
    """
    from pydoc_data.topics import topics

    return [(title, normalize_text(topics[title])) for title in sorted(topics)]


@lru_cache(maxsize=1)
def _deduplicated_documents() -> tuple[tuple[tuple[str, str], ...], tuple]:
    from course_utils.data.curation import drop_contained_documents

    kept, dropped = drop_contained_documents(load_raw_corpus_documents())
    return tuple(kept), tuple(dropped)


def load_corpus_documents() -> list[tuple[str, str]]:
    """The course corpus: topic pages as ``(title, text)``, without near-duplicate pages.

    A page is dropped when half or more of its 50-character windows already occur in longer
    pages (:func:`course_utils.data.curation.drop_contained_documents`); otherwise the held-out
    text would partly be a copy of the training text and flatter every model.
    """
    return list(_deduplicated_documents()[0])


def corpus_duplicates() -> list:
    """The pages :func:`load_corpus_documents` dropped, with their containment."""
    return list(_deduplicated_documents()[1])


def load_text_corpus() -> str:
    """The whole corpus as one string (documents separated by a blank line)."""
    return "\n\n".join(text.strip("\n") for _, text in load_corpus_documents()) + "\n"


def split_documents(documents: list[str], val_fraction: float = 0.1,
                    test_fraction: float = 0.1, groups: list[int] | None = None) -> TextSplits:
    """Split documents into train/val/test parts at document boundaries.

    Walking through the documents in order, a document (or its whole group) goes to
    validation or test whenever that part has fallen behind its share of the characters seen
    so far, so all three parts cover the whole range of topics and no document is split.

    Args:
        documents: texts in a fixed order.
        val_fraction, test_fraction: approximate character share of each held-out part.
        groups: optional group id per document (e.g. from
            :func:`course_utils.data.curation.overlap_groups`); a group is never split across
            parts, so documents that share text stay on the same side.

    Returns:
        :class:`TextSplits`.
    """
    check_float("val_fraction", val_fraction, low=0, high=0.5, low_inclusive=False)
    check_float("test_fraction", test_fraction, low=0, high=0.5, low_inclusive=False)
    if len(documents) < 3:
        raise ValueError("split_documents needs at least 3 documents.")
    if groups is None:
        groups = list(range(len(documents)))
    if len(groups) != len(documents):
        raise ValueError(f"groups has {len(groups)} entries for {len(documents)} documents.")
    members: dict[int, list[str]] = {}
    for doc, group in zip(documents, groups):
        members.setdefault(group, []).append(doc)
    total = sum(len(d) for d in documents)
    parts: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    seen = {"val": 0, "test": 0}
    cumulative = 0
    for docs in members.values():
        size = sum(len(d) for d in docs)
        cumulative += size
        # send a unit to a held-out part whenever that part falls behind its share
        if seen["val"] < val_fraction * cumulative - size / 2:
            part = "val"
        elif seen["test"] < test_fraction * cumulative - size / 2:
            part = "test"
        else:
            part = "train"
        if part != "train":
            seen[part] += size
        parts[part].extend(docs)
    if not parts["val"] or not parts["test"]:
        raise ValueError(f"Corpus of {total} characters too small to split.")
    return TextSplits(*("\n\n".join(d.strip("\n") for d in parts[k]) + "\n"
                        for k in ("train", "val", "test")))


@lru_cache(maxsize=1)
def load_text_splits() -> TextSplits:
    """The course corpus split 80/10/10 - the same held-out text for every chapter
    (n-grams in 03, the tiny GPT in 05, SmolLM2 in 10), so their scores compare.

    Pages that still share some text (5 % or more of their 50-character windows) are kept in
    the same part, so held-out text is not a copy of training text.
    """
    from course_utils.data.curation import overlap_groups

    texts = [text for _, text in load_corpus_documents()]
    return split_documents(texts, groups=overlap_groups(texts))


_NAME_FILES = {"female": "dist.female.first", "male": "dist.male.first", "last": "dist.all.last"}


def load_names(kind: str = "first") -> list[str]:
    """US census names (1990) from the ``names`` package, lower-case, most frequent first.

    Args:
        kind: ``"female"``, ``"male"``, ``"first"`` (female + male, de-duplicated) or ``"last"``.

    Returns:
        A list of names such as ``["mary", "patricia", ...]`` (letters a-z only).
    """
    if kind == "first":
        seen: dict[str, None] = {}
        for name in load_names("female") + load_names("male"):
            seen.setdefault(name, None)
        return list(seen)
    if kind not in _NAME_FILES:
        raise ValueError(f"Unknown name list {kind!r}: use 'first', 'female', 'male' or 'last'.")
    text = resources.files("names").joinpath(_NAME_FILES[kind]).read_text(encoding="ascii")
    out = []
    for line in text.splitlines():
        fields = line.split()
        if fields and re.fullmatch(r"[A-Z]+", fields[0]):
            out.append(fields[0].lower())
    return out


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's handwritten digits.

    Returns:
        ``images`` of shape ``(1797, 8, 8)``, float32 in ``[0, 1]``, and ``labels`` ``(1797,)``
        int64 in ``0..9``.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32), digits.target.astype(np.int64)


def load_sample_photos() -> dict[str, np.ndarray]:
    """scikit-learn's bundled colour photos: ``{"china": (427, 640, 3), "flower": ...}`` uint8."""
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    return {name.removesuffix(".jpg"): image for name, image in zip(bunch.filenames, bunch.images)
            for name in [name.replace("\\", "/").rsplit("/", 1)[-1]]}


def make_2d_mixture(n: int, n_modes: int = 8, radius: float = 2.0, spread: float = 0.15,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points from ``n_modes`` Gaussian blobs placed evenly on a circle.

    Args:
        n: number of points (>= 1).
        n_modes: number of blobs (>= 1).
        radius: circle radius.
        spread: standard deviation of each blob.
        seed: random seed.

    Returns:
        ``x`` of shape ``(n, 2)`` float32 and the blob index of each point ``(n,)`` int64.
    """
    check_int("n", n, low=1, high=10_000_000)
    check_int("n_modes", n_modes, low=1, high=1000)
    check_float("radius", radius, low=0)
    check_float("spread", spread, low=0, low_inclusive=False)
    rng = np.random.default_rng(seed)
    modes = rng.integers(0, n_modes, size=n)
    angles = 2 * np.pi * modes / n_modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    x = centers + spread * rng.standard_normal((n, 2))
    return x.astype(np.float32), modes.astype(np.int64)


def make_two_moons(n: int, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half-circles, labelled 0 and 1 (scikit-learn's ``make_moons``).

    Returns:
        ``x`` ``(n, 2)`` float32 and labels ``(n,)`` int64.
    """
    from sklearn.datasets import make_moons

    check_int("n", n, low=2, high=10_000_000)
    check_float("noise", noise, low=0)
    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return x.astype(np.float32), y.astype(np.int64)
