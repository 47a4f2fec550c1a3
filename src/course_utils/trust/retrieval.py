"""Retrieval for chapter 50: chunk the course's own pages, index them, search, score.

The corpus is the course's book pages (``book/*.md`` of this repository, without the
generated ``status.md``). They are cut into :class:`Chunk` s of at most ``max_chars``
characters along headings, paragraphs and table rows, and searched two ways:

- :class:`EmbeddingIndex` - dense retrieval. Every chunk and the query are embedded with
  all-MiniLM-L6-v2 (384 numbers, unit length); the score of chunk ``d`` for query ``q`` is
  the cosine similarity ``cos(q, d) = q . d / (|q| |d|)``, in ``[-1, 1]``.
- :class:`BM25Index` - lexical retrieval (Robertson and Zaragoza 2009), written in NumPy.
  With ``f(t, d)`` the count of word ``t`` in chunk ``d``, ``|d|`` its length in words and
  ``avgdl`` the mean length::

      BM25(q, d) = sum_{t in q} idf(t) * f(t, d) * (k1 + 1)
                   / (f(t, d) + k1 * (1 - b + b * |d| / avgdl))
      idf(t) = log(1 + (N - n(t) + 0.5) / (n(t) + 0.5))

  (``N`` chunks, ``n(t)`` of them contain ``t``).

Both return the ``k`` best chunks as :class:`Hit` s. :func:`recall_at_k` scores a ranking:
the fraction of questions whose evidence is in the top ``k``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_utils.core.validation import check_int, check_text

#: Book pages left out of the corpus: ``status.md`` is rewritten on every run (timings).
EXCLUDED_PAGES = ("status.md",)
MAX_QUERY_CHARS = 300

#: Words too common to count as evidence (lexical retrieval, overlap, verification).
STOP_WORDS = frozenset("""
a about above after again all also an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from
further had has have having he her here hers him his how i if in into is it its itself
just me more most my no nor not now of off on once only or other our out over own same
she should so some such than that the their them then there these they this those through
to too under until up very was we were what when where which while who whom why will with
would you your yours one use used uses using course course's
""".split())


def repo_root() -> Path:
    """The repository root (the folder holding ``book/``), found from this file's place.

    Raises:
        FileNotFoundError: when ``course_utils`` is not run from a checkout of the course.
    """
    root = Path(__file__).resolve().parents[3]
    if not (root / "book").is_dir():
        raise FileNotFoundError(f"No book/ folder next to src/ (looked in {root}); pass "
                                "the folder of the book pages explicitly.")
    return root


def course_pages(folder: str | Path | None = None) -> dict[str, str]:
    """The book pages, ``file name -> Markdown text``, sorted by name.

    Args:
        folder: the folder of the pages (default: ``book/`` of this repository).

    Raises:
        ValueError: the folder holds no Markdown page.
    """
    folder = repo_root() / "book" if folder is None else Path(folder)
    pages = {path.name: path.read_text(encoding="utf-8")
             for path in sorted(folder.glob("*.md")) if path.name not in EXCLUDED_PAGES}
    if not pages:
        raise ValueError(f"No Markdown pages (*.md) in {folder}.")
    return pages


def words(text: str) -> list[str]:
    """Lower-case word tokens of ``text`` (letters and digits; ``3.11`` gives ``3``, ``11``)."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}.")
    return re.findall(r"[a-z0-9]+", text.lower())


def content_words(text: str) -> list[str]:
    """:func:`words` without :data:`STOP_WORDS`."""
    return [w for w in words(text) if w not in STOP_WORDS]


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of a page: ``text`` is what the model reads."""

    id: int        # position in the corpus
    page: str      # file name, e.g. "credits.md"
    heading: str   # the nearest heading above it
    text: str      # "heading: content", at most max_chars (one long line can be longer)


def _clean(markdown: str) -> str:
    """Markdown made easier to read: roles such as ``{doc}`x``` become ``x``, table pipes
    become separators."""
    text = re.sub(r"\{doc\}`(?:\.\./notebooks/)?([^`]*)`", r"\1", markdown)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [label](link) -> label
    text = re.sub(r"^\|[-:| ]+\|\s*$", "", text, flags=re.M)  # table rules
    text = re.sub(r"^\|\s*|\s*\|\s*$", "", text, flags=re.M)
    return text.replace(" | ", "; ")


def _split_long(paragraph: str) -> list[str]:
    """A long paragraph as pieces: its lines for a table or a list (cleaned table rows
    contain ``; ``), its sentences for prose."""
    lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
    listed = sum(bool(re.match(r"([-*+] |\d+\. )", line)) or "; " in line for line in lines)
    if listed >= len(lines) / 2:
        return lines
    return re.split(r"(?<=[.!?])\s+(?=[A-Z({$*`])", " ".join(paragraph.split()))


def chunk_page(page: str, markdown: str, max_chars: int = 500,
               start_id: int = 0) -> list[Chunk]:
    """Cut one page into chunks along headings, then paragraphs, then lines.

    Each section (text under a heading) is split into paragraphs; a paragraph longer than
    ``max_chars`` is split into its lines (table rows, list items) or, for prose, its
    sentences. Consecutive pieces are
    packed into one chunk while it stays within ``max_chars``. Every chunk starts with its
    heading, so a table row keeps its context.

    Args:
        page: the page's name (stored in each chunk).
        markdown: the page's text.
        max_chars: longest chunk (a single longer line stays whole), at least 80.
        start_id: id of the first chunk.

    Returns:
        The chunks, in page order.
    """
    check_text("page name", page, max_length=200)
    check_text("page text", markdown)
    check_int("max_chars", max_chars, low=80, high=20_000)
    check_int("start_id", start_id, low=0)
    chunks: list[Chunk] = []
    title = page
    for section in re.split(r"^(?=#{1,6} )", markdown, flags=re.M):
        lines = section.strip().splitlines()
        if not lines:
            continue
        if lines[0].startswith("#"):
            heading = lines[0].lstrip("#").strip()
            if lines[0].startswith("# "):
                title = heading
            body = "\n".join(lines[1:])
        else:
            heading, body = title, section
        heading = heading if heading == title else f"{title} - {heading}"
        pieces: list[str] = []
        for paragraph in re.split(r"\n\s*\n", _clean(body)):
            paragraph = paragraph.strip()
            if not paragraph:
                continue
            if len(paragraph) > max_chars:
                pieces += _split_long(paragraph)
            else:
                pieces.append(" ".join(paragraph.split()))
        current = ""
        for piece in pieces:
            candidate = f"{current} {piece}".strip()
            if current and len(heading) + 2 + len(candidate) > max_chars:
                chunks.append(Chunk(start_id + len(chunks), page, heading,
                                    f"{heading}: {current}"))
                candidate = piece
            current = candidate
        if current:
            chunks.append(Chunk(start_id + len(chunks), page, heading, f"{heading}: {current}"))
    return chunks


def chunk_pages(pages: dict[str, str], max_chars: int = 500) -> list[Chunk]:
    """:func:`chunk_page` over every page, ids numbered through the whole corpus."""
    if not isinstance(pages, dict) or not pages:
        raise ValueError("pages must be a non-empty dict: page name -> Markdown text.")
    chunks: list[Chunk] = []
    for page, markdown in pages.items():
        chunks += chunk_page(page, markdown, max_chars, start_id=len(chunks))
    return chunks


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk and its score (cosine similarity or BM25)."""

    chunk: Chunk
    score: float


def _check_query(query: object, k: int, n: int) -> str:
    query = check_text("question", query.strip() if isinstance(query, str) else query,
                       max_length=MAX_QUERY_CHARS)
    check_int("k", k, low=1, high=n)
    return query


class EmbeddingIndex:
    """Dense retrieval: chunks embedded once, queries by cosine similarity.

    Args:
        chunks: the corpus.
        model: a ``sentence_transformers.SentenceTransformer`` (all-MiniLM-L6-v2), or
            anything with ``encode(list_of_texts, normalize_embeddings=True)`` returning an
            ``(n, d)`` array.
        batch_size: texts embedded per batch.

    Attributes:
        embeddings: ``(n_chunks, d)`` float32, rows of unit length.
    """

    name = "MiniLM (dense)"

    def __init__(self, chunks: Sequence[Chunk], model, batch_size: int = 32) -> None:
        if not chunks:
            raise ValueError("The index needs at least one chunk.")
        self.chunks, self.model = list(chunks), model
        self.embeddings = self.embed([c.text for c in self.chunks], batch_size)
        if self.embeddings.shape[0] != len(self.chunks):
            raise ValueError("The model returned a different number of embeddings.")

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length embeddings ``(len(texts), d)`` (float32)."""
        vectors = np.asarray(self.model.encode(list(texts), batch_size=batch_size,
                                               normalize_embeddings=True,
                                               show_progress_bar=False), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity of the query with every chunk, shape ``(n_chunks,)``."""
        query = _check_query(query, 1, len(self.chunks))
        return self.embeddings @ self.embed([query])[0]

    def search(self, query: str, k: int = 3) -> list[Hit]:
        """The ``k`` chunks most similar to ``query``, best first."""
        _check_query(query, k, len(self.chunks))
        return _top_k(self.chunks, self.scores(query), k)


class BM25Index:
    """Lexical retrieval with BM25 (module docstring), on :func:`content_words`.

    Args:
        chunks: the corpus.
        k1: term-frequency saturation (> 0).
        b: length normalisation, in ``[0, 1]``.
    """

    name = "BM25 (lexical)"

    def __init__(self, chunks: Sequence[Chunk], k1: float = 1.5, b: float = 0.75) -> None:
        if not chunks:
            raise ValueError("The index needs at least one chunk.")
        if not (isinstance(k1, (int, float)) and k1 > 0) or not (
                isinstance(b, (int, float)) and 0 <= b <= 1):
            raise ValueError(f"BM25 needs k1 > 0 and 0 <= b <= 1, got k1={k1}, b={b}.")
        self.chunks, self.k1, self.b = list(chunks), float(k1), float(b)
        docs = [content_words(c.text) for c in self.chunks]
        self.vocab = {w: i for i, w in enumerate(sorted({w for d in docs for w in d}))}
        counts = np.zeros((len(docs), len(self.vocab)), dtype=np.float64)  # f(t, d)
        for row, doc in enumerate(docs):
            for w in doc:
                counts[row, self.vocab[w]] += 1
        lengths = counts.sum(axis=1)
        n = len(docs)
        df = (counts > 0).sum(axis=0)
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        norm = self.k1 * (1 - self.b + self.b * lengths / max(lengths.mean(), 1e-12))
        # the BM25 weight of every (chunk, word) pair, before summing over the query
        self.weights = self.idf * counts * (self.k1 + 1) / (counts + norm[:, None])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query``, shape ``(n_chunks,)`` (0: no shared word)."""
        query = _check_query(query, 1, len(self.chunks))
        ids = [self.vocab[w] for w in set(content_words(query)) if w in self.vocab]
        return self.weights[:, ids].sum(axis=1)

    def search(self, query: str, k: int = 3) -> list[Hit]:
        """The ``k`` best chunks by BM25, best first (ties: earlier chunk first)."""
        _check_query(query, k, len(self.chunks))
        return _top_k(self.chunks, self.scores(query), k)


def _top_k(chunks: Sequence[Chunk], scores: np.ndarray, k: int) -> list[Hit]:
    order = np.argsort(-scores, kind="stable")[:k]
    return [Hit(chunks[i], float(scores[i])) for i in order]


def normalise(text: str) -> str:
    """Lower case, runs of non-alphanumeric characters as one space (for matching)."""
    return " ".join(words(text))


def contains(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words, after :func:`normalise`."""
    phrase = normalise(phrase)
    if not phrase:
        raise ValueError("The phrase to look for has no letters or digits.")
    return f" {phrase} " in f" {normalise(text)} "


def recall_at_k(rankings: Sequence[Sequence[Hit]], evidence: Sequence[str],
                k: int) -> float:
    """Fraction of questions whose evidence phrase is in one of their top ``k`` chunks.

    ``recall@k = (1/Q) sum_q 1[evidence_q in top-k chunks of q]`` (one relevant passage
    per question, so this equals hit rate at ``k``).

    Args:
        rankings: per question, its retrieved hits, best first (at least ``k`` each).
        evidence: per question, a phrase that only a relevant chunk contains.
        k: cut-off.
    """
    if len(rankings) != len(evidence) or not rankings:
        raise ValueError(f"Need one ranking per evidence phrase, got {len(rankings)} "
                         f"rankings and {len(evidence)} phrases.")
    check_int("k", k, low=1)
    if any(len(r) < k for r in rankings):
        raise ValueError(f"Every ranking needs at least k={k} hits.")
    return float(np.mean([hits_contain(r[:k], e) for r, e in zip(rankings, evidence)]))


def hits_contain(hits: Sequence[Hit], phrase: str) -> bool:
    """Whether any of ``hits`` contains ``phrase`` (see :func:`contains`)."""
    return any(contains(h.chunk.text, phrase) for h in hits)
