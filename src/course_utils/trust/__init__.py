"""Trust: hallucination and retrieval (Part V, chapter 50), and the hard questions (Part VI).

- :mod:`~course_utils.trust.retrieval` - the course's book pages as a corpus: chunking,
  MiniLM embedding index (cosine similarity), BM25 in NumPy, top-k search, recall@k.
- :mod:`~course_utils.trust.questions` - the fixed set of 36 questions about the course's
  pages, with accepted short answers and evidence phrases; answer checking.
- :mod:`~course_utils.trust.rag` - closed-book vs retrieval-augmented prompts for SmolLM2,
  the extractive no-LLM baseline, abstention and verification (support in the passages).

Part VI (the hard questions, measured):

- :mod:`~course_utils.trust.association` - WEAT on GloVe and sentence vectors, random-list
  baselines, bias direction and projection debiasing (chapter 52).
- :mod:`~course_utils.trust.skew` - training text with a planted gender skew, counterfactual
  augmentation, the skew in a model's samples (chapter 52).
- :mod:`~course_utils.trust.watermark` - the green-list text watermark, its detector and an
  editing attack (chapter 54).
- :mod:`~course_utils.trust.injection` - injected passages against RAG and a passage filter
  (chapter 54).
- :mod:`~course_utils.trust.moderation` - templated harmful and benign requests, a topic
  split and a keyword blocklist (chapter 54).
- :mod:`~course_utils.trust.compute` - FLOP counts, the PyTorch cross-check, power-law fits,
  energy and CO2 ranges, the training-cost calculator (chapter 55).
- :mod:`~course_utils.trust.canaries` - planted secrets, line deduplication, exact exposure
  and greedy extraction (chapter 53).
- :mod:`~course_utils.trust.canary_training` - the recipe and loader of chapter 53's
  committed canary models.
"""
