"""Tests for course_utils.trust.retrieval and the question set (chapter 50)."""

import numpy as np
import pytest

from course_utils.trust import questions as qs
from course_utils.trust import retrieval as r

PAGE = """# Title

Intro paragraph about cats.

## Licences

| thing | licence |
|---|---|
| digits | CC BY 4.0 |
| voice | MIT |

## Long

First sentence is here. Second sentence follows it. Third one ends the paragraph.
"""


def toy_chunks():
    texts = ["the cat sat on the mat", "dogs chase cats", "stock prices fell sharply",
             "the mat was red"]
    return [r.Chunk(i, "toy.md", "toy", t) for i, t in enumerate(texts)]


class BagOfWords:
    """A stand-in embedding model: counts of a fixed vocabulary."""

    vocab = ["cat", "cats", "mat", "dogs", "stock", "prices", "red", "sat"]

    def encode(self, texts, batch_size=32, normalize_embeddings=True,
               show_progress_bar=False):
        rows = np.array([[r.words(t).count(w) for w in self.vocab] for t in texts],
                        dtype=float) + 1e-3
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_chunk_page_keeps_headings_and_rows():
    chunks = r.chunk_page("p.md", PAGE, max_chars=80)
    assert [c.id for c in chunks] == list(range(len(chunks)))
    assert all(c.text.startswith(c.heading) for c in chunks)
    row = [c for c in chunks if "CC BY 4.0" in c.text]
    assert len(row) == 1 and row[0].heading == "Title - Licences"
    assert "|" not in row[0].text  # table pipes cleaned
    # the long paragraph is split at sentences, never inside one
    assert any(c.text.endswith("Second sentence follows it.") for c in chunks)


def test_chunk_pages_numbers_ids_through_corpus():
    chunks = r.chunk_pages({"a.md": PAGE, "b.md": PAGE}, max_chars=500)
    assert [c.id for c in chunks] == list(range(len(chunks)))
    assert {c.page for c in chunks} == {"a.md", "b.md"}


def test_bm25_ranks_the_matching_chunk_first_and_matches_formula():
    chunks = toy_chunks()
    index = r.BM25Index(chunks, k1=1.2, b=0.75)
    hits = index.search("stock prices", k=2)
    assert hits[0].chunk.id == 2 and hits[0].score > hits[1].score
    # by hand: 'stock' occurs once in chunk 2 of N=4, n(t)=1
    lengths = np.array([len(r.content_words(c.text)) for c in chunks], dtype=float)
    idf = np.log(1 + (4 - 1 + 0.5) / (1 + 0.5))
    norm = 1.2 * (1 - 0.75 + 0.75 * lengths[2] / lengths.mean())
    expected = 2 * idf * 1 * 2.2 / (1 + norm)
    assert hits[0].score == pytest.approx(expected)
    assert index.scores("zebra").sum() == 0  # unknown word: every score 0


def test_embedding_index_cosine_search():
    index = r.EmbeddingIndex(toy_chunks(), BagOfWords())
    assert np.allclose(np.linalg.norm(index.embeddings, axis=1), 1)
    hits = index.search("red mat", k=3)
    assert hits[0].chunk.id == 3
    assert [h.score for h in hits] == sorted([h.score for h in hits], reverse=True)
    assert -1 <= hits[-1].score <= 1


def test_recall_at_k():
    chunks = toy_chunks()
    hits = [[r.Hit(chunks[1], 1.0), r.Hit(chunks[0], 0.5)],
            [r.Hit(chunks[2], 1.0), r.Hit(chunks[3], 0.5)]]
    evidence = ["cat sat", "mat was red"]
    assert r.recall_at_k(hits, evidence, 1) == 0.0
    assert r.recall_at_k(hits, evidence, 2) == 1.0


def test_contains_is_whole_word_and_normalised():
    assert r.contains("Licence: CC-BY 4.0.", "cc by 4.0")
    assert not r.contains("category", "cat")


def test_question_set_is_fixed_and_matches_the_book():
    assert len(qs.QUESTIONS) == 36
    assert len({q.text for q in qs.QUESTIONS}) == 36
    pages = r.course_pages()
    assert "status.md" not in pages
    assert qs.missing_evidence(qs.QUESTIONS, pages) == []
    chunks = r.chunk_pages(pages)
    for q in qs.QUESTIONS:  # evidence and answer land in one chunk
        assert any(r.contains(c.text, q.evidence)
                   and any(r.contains(c.text, a) for a in q.answers) for c in chunks), q


def test_is_correct_cuts_to_word_budget():
    q = qs.QUESTIONS[0]  # CC BY 4.0
    assert qs.is_correct("cc by 4.0", q)
    assert not qs.is_correct("MIT", q)
    assert not qs.is_correct("word " * 12 + "CC BY 4.0", q)
    assert qs.is_correct("word " * 12 + "CC BY 4.0", q, max_words=20)


@pytest.mark.parametrize("call", [
    lambda: r.chunk_page("p.md", "", 500),
    lambda: r.chunk_page("p.md", PAGE, max_chars=10),
    lambda: r.chunk_pages({}),
    lambda: r.BM25Index([]),
    lambda: r.BM25Index(toy_chunks(), k1=0),
    lambda: r.BM25Index(toy_chunks(), b=2),
    lambda: r.BM25Index(toy_chunks()).search("cat", k=0),
    lambda: r.BM25Index(toy_chunks()).search("cat", k=99),
    lambda: r.BM25Index(toy_chunks()).search("   ", k=1),
    lambda: r.BM25Index(toy_chunks()).search("x" * 301, k=1),
    lambda: r.EmbeddingIndex([], BagOfWords()),
    lambda: r.recall_at_k([], [], 1),
    lambda: r.recall_at_k([[r.Hit(toy_chunks()[0], 1.0)]], ["cat"], 2),
    lambda: r.contains("text", "!!"),
    lambda: r.course_pages("/nonexistent-folder"),
    lambda: qs.is_correct(None, qs.QUESTIONS[0]),
    lambda: qs.is_correct("x", qs.QUESTIONS[0], max_words=0),
])
def test_bad_input_is_rejected(call):
    with pytest.raises(ValueError):
        call()
