"""Closed-book vs retrieval-augmented answers, an extractive baseline, verification.

Chapter 50 asks SmolLM2 questions about the course's own pages three ways:

- **closed book** - the question alone (:func:`closed_book_messages`): the model can only
  answer from its weights, so any specific answer is a guess (a hallucination when wrong);
- **retrieval-augmented (RAG)** - the ``k`` best chunks of a retriever
  (:mod:`course_utils.trust.retrieval`) are pasted above the question
  (:func:`rag_messages`);
- **extractive baseline, no LLM** - the same chunks, and the answer is the sentence or
  table row with the most question words, minus those words, cut to the same word budget
  (:func:`extractive_answer`).

Two checks can withhold an answer: the retriever's best score below a threshold
(:func:`abstain`), and **verification**: the share of the answer's content words that
occur in the retrieved text, :math:`s = |W(a) \\cap W(P)| / |W(a)|` with ``W`` the content
terms (:func:`terms`) of the answer not already in the question (:func:`support`). An answer with
``s < min_support`` is not supported by the passages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from course_utils.core.validation import check_float, check_int, check_text
from course_utils.trust.retrieval import MAX_QUERY_CHARS, STOP_WORDS, Hit, content_words, words

ABSTAIN = "I don't know"
SYSTEM = ("You answer questions about a course with a short phrase. If you do not know "
          f"the answer, say: {ABSTAIN}.")
RAG_INSTRUCTION = ("Answer the question with a short phrase copied from the context. If "
                   f"the context does not contain the answer, say: {ABSTAIN}.")
MAX_WORDS = 12  # every method's answer is cut to this many words before scoring


def closed_book_messages(question: str) -> list[dict[str, str]]:
    """The chat turns of a closed-book question (the system prompt is :data:`SYSTEM`)."""
    question = check_text("question", question.strip() if isinstance(question, str)
                          else question, max_length=MAX_QUERY_CHARS)
    return [{"role": "user", "content": f"Question: {question}"}]


def rag_messages(question: str, hits: Sequence[Hit]) -> list[dict[str, str]]:
    """The chat turns of a retrieval-augmented question: numbered passages, then it.

    Args:
        question: the question.
        hits: retrieved chunks, best first (at least one).
    """
    question = check_text("question", question.strip() if isinstance(question, str)
                          else question, max_length=MAX_QUERY_CHARS)
    if not hits:
        raise ValueError("A retrieval-augmented prompt needs at least one passage (k >= 1).")
    context = "\n".join(f"[{i}] {h.chunk.text}" for i, h in enumerate(hits, 1))
    return [{"role": "user", "content": f"{RAG_INSTRUCTION}\n\nContext:\n{context}\n\n"
                                        f"Question: {question}"}]


def generate(model, messages: list[dict[str, str]], max_tokens: int = 12,
             **settings) -> str:
    """SmolLM2's answer to ``messages`` (system prompt :data:`SYSTEM`), first line only.

    Args:
        model: a :class:`course_utils.llm.smollm2.SmolLM2`.
        messages: from :func:`closed_book_messages` or :func:`rag_messages`.
        max_tokens: new tokens at most (answers are scored on 12 words).
        settings: sampling settings (default greedy; see ``SmolLM2.complete``).
    """
    check_int("max_tokens", max_tokens, low=1, high=256)
    completion = model.chat(messages, system=SYSTEM, max_tokens=max_tokens, stop=["\n"],
                            **settings)
    lines = completion.text.strip().splitlines()
    return lines[0].strip() if lines else ""


def is_abstention(answer: str) -> bool:
    """Whether the answer declines ("I don't know", "not in the context", empty)."""
    text = " ".join(words(answer))
    return not text or bool(re.search(
        r"\b(i don t know|do not know|not (mentioned|provided|stated|specified|given)|"
        r"does not (contain|say|mention)|no information|cannot answer)\b", text))


def _pieces(hits: Sequence[Hit]) -> list[str]:
    """Sentences and table rows of the passages, in rank order, headings removed."""
    pieces = []
    for hit in hits:
        text = hit.chunk.text
        body = text[len(hit.chunk.heading) + 2:] if text.startswith(hit.chunk.heading) \
            else text
        pieces += [p for p in re.split(r"(?<=[.!?])\s+(?=[A-Z(`*$])", body) if p.strip()]
    return pieces


def extractive_answer(question: str, hits: Sequence[Hit], max_words: int = MAX_WORDS) -> str:
    """The no-LLM baseline: the best-matching sentence of the passages, question words cut.

    Every sentence (or table row) of the passages is scored by how many distinct content
    words of the question it contains (ties: the higher-ranked passage first); from the
    best one, the words that occur in the question are removed and the first
    ``max_words`` of the rest are the answer. With no overlap at all it abstains.

    Args:
        question: the question.
        hits: retrieved chunks, best first.
        max_words: answer length in words (the same budget the LLM's answers are cut to).
    """
    check_text("question", question.strip() if isinstance(question, str) else question,
               max_length=MAX_QUERY_CHARS)
    check_int("max_words", max_words, low=1, high=200)
    if not hits:
        raise ValueError("The extractive baseline needs at least one passage (k >= 1).")
    asked = set(content_words(question))
    best, best_overlap = "", 0
    for piece in _pieces(hits):
        overlap = len(asked & set(content_words(piece)))
        if overlap > best_overlap:
            best, best_overlap = piece, overlap
    if not best_overlap:
        return ABSTAIN
    kept = [token for token in best.split()
            if not (set(words(token)) and set(words(token)) <= asked)]
    return " ".join(kept[:max_words]) or ABSTAIN


def terms(text: str) -> set[str]:
    """Content terms of ``text``, with inner punctuation kept (``gpl-3.0``, ``4.0``,
    ``en_us-joe-medium``), so that a number matches only the same number."""
    found = re.findall(r"[a-z0-9]+(?:[.\-_/][a-z0-9]+)*", text.lower())
    return {t for t in found if t not in STOP_WORDS}


def support(answer: str, hits: Sequence[Hit], question: str = "") -> float:
    """Share of the answer's new content words found in the passages (module docstring).

    Words of the question do not count (repeating the question proves nothing). Returns
    0.0 for an answer with no new content word, so an empty or echoed answer is never
    "supported".
    """
    if not isinstance(answer, str) or not isinstance(question, str):
        raise ValueError("answer and question must be text.")
    claimed = terms(answer) - terms(question)
    if not claimed:
        return 0.0
    seen = set().union(*(terms(h.chunk.text) for h in hits)) if hits else set()
    return len(claimed & seen) / len(claimed)


def abstain(top_score: float, threshold: float, supported: bool | None = None) -> bool:
    """Whether to answer "I don't know": the best retrieval score is below ``threshold``,
    or (when given) the answer is not supported by the passages."""
    check_float("top retrieval score", top_score)
    check_float("threshold", threshold, low=-1, high=1)
    return top_score < threshold or supported is False


@dataclass(frozen=True)
class Verdict:
    """One answer, checked: ``support`` in [0, 1], ``supported`` = ``support >= min_support``."""

    answer: str
    abstained: bool
    support: float
    supported: bool


def verify(answer: str, hits: Sequence[Hit], question: str,
           min_support: float = 0.5) -> Verdict:
    """Check one answer against the passages it was given (see :func:`support`)."""
    check_float("min_support", min_support, low=0, high=1)
    declined = is_abstention(answer)
    s = 0.0 if declined else support(answer, hits, question)
    return Verdict(answer, declined, s, (not declined) and s >= min_support)
