"""Trust: hallucination, retrieval and checking answers (Part V, chapter 50).

- :mod:`~course_utils.trust.retrieval` - the course's book pages as a corpus: chunking,
  MiniLM embedding index (cosine similarity), BM25 in NumPy, top-k search, recall@k.
- :mod:`~course_utils.trust.questions` - the fixed set of 36 questions about the course's
  pages, with accepted short answers and evidence phrases; answer checking.
- :mod:`~course_utils.trust.rag` - closed-book vs retrieval-augmented prompts for SmolLM2,
  the extractive no-LLM baseline, abstention and verification (support in the passages).
"""
