"""Trust: hallucination and retrieval (Part V, chapter 50), and the hard questions (Part VI).

- :mod:`~course_utils.trust.retrieval` - the course's book pages as a corpus: chunking,
  MiniLM embedding index (cosine similarity), BM25 in NumPy, top-k search, recall@k.
- :mod:`~course_utils.trust.questions` - the fixed set of 36 questions about the course's
  pages, with accepted short answers and evidence phrases; answer checking.
- :mod:`~course_utils.trust.rag` - closed-book vs retrieval-augmented prompts for SmolLM2,
  the extractive no-LLM baseline, abstention and verification (support in the passages).

Part VI (the hard questions, measured):

- :mod:`~course_utils.trust.canaries` - planted secrets, line deduplication, exact exposure
  and greedy extraction (chapter 53).
- :mod:`~course_utils.trust.canary_training` - the recipe and loader of chapter 53's
  committed canary models.
"""
