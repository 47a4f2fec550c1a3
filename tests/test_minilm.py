"""The shared sentence encoder: loaded once, offline, 384-dimensional unit vectors."""

from __future__ import annotations

import numpy as np

from course_utils.llm.minilm import EMBEDDING_DIM, load_minilm


def test_minilm_is_shared_and_embeds_meaning():
    model = load_minilm()
    assert load_minilm() is model
    vectors = model.encode(["a red circle", "a crimson disc", "the tax return is due"],
                           normalize_embeddings=True)
    assert vectors.shape == (3, EMBEDDING_DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.2
