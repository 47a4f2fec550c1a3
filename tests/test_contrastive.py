"""The CLIP-style model of chapter 40: InfoNCE, shapes, retrieval metrics, baselines and a
short training run that must beat chance and the ridge baseline on unseen captions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils.multimodal import captioned_shapes as cs
from course_utils.multimodal import contrastive as ct

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def fake_text():
    """Stand-in caption embeddings (no MiniLM in unit tests): a sum of one random vector
    per attribute value, so captions that share attributes are alike, as with MiniLM."""
    rng = np.random.default_rng(0)
    table = {v: rng.normal(size=ct.TEXT_DIM) for v in
             [*cs.COLOURS, *cs.SHAPES, *cs.SIZES, *cs.POSITIONS]}
    e = np.stack([table[s.colour] + table[s.shape] + table[s.size] + table[s.position]
                  for s in cs.SCENES]).astype(np.float32)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def test_info_nce_golden_values():
    torch.manual_seed(0)
    z = torch.nn.functional.normalize(torch.randn(8, 4), dim=-1)
    # identical towers, huge scale: every pair picks itself -> loss ~ 0
    assert ct.info_nce(z, z, torch.tensor(1e4)).item() < 1e-3
    # scale 0: uniform logits -> log B in both directions
    assert ct.info_nce(z, z, torch.tensor(0.0)).item() == pytest.approx(math.log(8))
    # swapping the captions of two images raises the loss
    swapped = z[[1, 0, 2, 3, 4, 5, 6, 7]]
    assert ct.info_nce(z, swapped, torch.tensor(10.0)) > ct.info_nce(z, z, torch.tensor(10.0))


def test_info_nce_soft_targets_for_repeated_captions():
    norm = torch.nn.functional.normalize
    images = norm(torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), dim=-1)
    texts = norm(torch.tensor([[1.0, 0.0], [1.0, 0.3], [0.0, 1.0]]), dim=-1)
    scale = torch.tensor(20.0)
    distinct = ct.info_nce(images, texts, scale, torch.arange(3))
    assert distinct.item() == pytest.approx(ct.info_nce(images, texts, scale).item())
    # items 0 and 1 share a caption: image 1 matching text 0 is no longer an error
    shared = ct.info_nce(images, texts, scale, torch.tensor([0, 0, 1]))
    assert shared < distinct
    # for identical pairs the soft-target loss is the targets' entropy, log 2 in 2 of 3 rows
    same = ct.info_nce(images, images, scale, torch.tensor([0, 0, 1]))
    assert same.item() == pytest.approx(math.log(2) * 2 / 3, abs=1e-3)


def test_model_shapes_and_unit_vectors():
    model = ct.ShapeCLIP(ct.ContrastiveConfig(width=4, embed_dim=8))
    u = model.encode_images(torch.rand(5, 3, 32, 32))
    v = model.encode_text(torch.randn(3, ct.TEXT_DIM))
    assert u.shape == (5, 8) and v.shape == (3, 8)
    assert torch.allclose(u.norm(dim=-1), torch.ones(5), atol=1e-5)
    model.log_scale.data.fill_(10.0)
    assert model.scale.item() == pytest.approx(ct.MAX_SCALE)


def test_recall_at_k():
    scores = np.array([[0.9, 0.1, 0.0], [0.5, 0.4, 0.6], [0.2, 0.2, 0.1]])
    targets = np.array([0, 1, 0])
    assert ct.recall_at_k(scores, targets, 1).tolist() == [1, 0, 0]  # a tie counts against
    assert ct.recall_at_k(scores, targets, 2).tolist() == [1, 0, 1]
    assert ct.recall_at_k(scores, targets, 3).tolist() == [1, 1, 1]


def test_short_training_beats_chance_and_ridge_on_unseen(fake_text):
    model, history = ct.train_shape_clip(
        fake_text, ct.TrainSettings(steps=120, batch_size=64, lr=3e-3, seed=0),
        ct.ContrastiveConfig(width=8, embed_dim=32), show_progress=False)
    assert np.mean(history.loss[-20:]) < 0.6 * np.mean(history.loss[:5])
    gallery = cs.render(np.arange(96), seed=9)  # one image per caption
    sim = ct.similarity(model, gallery, fake_text)  # (96 images, 96 captions)
    hits = ct.recall_at_k(sim.T, np.arange(96), 5)  # text -> image
    unseen = cs.UNSEEN_IDS
    assert hits[cs.SEEN_IDS].mean() > 0.5 and hits[unseen].mean() > 0.3  # chance 5/96
    train = cs.random_ids(3000, seed=1, among=cs.SEEN_IDS)
    ridge = ct.RidgeBaseline().fit(cs.render(train, seed=1), fake_text[train])
    ridge_hits = ct.recall_at_k(ridge.similarity(gallery, fake_text).T, np.arange(96), 5)
    assert ridge_hits[unseen].mean() < hits[unseen].mean()


def test_nearest_neighbour_only_answers_seen_captions():
    train = cs.random_ids(400, seed=2, among=cs.SEEN_IDS)
    images = cs.render(train, seed=2)
    answers = ct.nearest_neighbour_captions(images, train, cs.render(cs.UNSEEN_IDS, seed=3))
    assert set(answers) <= set(cs.SEEN_IDS)
    same = ct.nearest_neighbour_captions(images, train, images[:20])
    assert np.array_equal(same, train[:20])


def test_best_of_n_sorted_and_seeded(fake_text):
    model = ct.ShapeCLIP(ct.ContrastiveConfig(width=4, embed_dim=8))
    a = ct.best_of_n(model, fake_text[3], n=10, seed=1)
    b = ct.best_of_n(model, fake_text[3][None], n=10, seed=1)
    assert a.images.shape == (10, 3, 32, 32)
    assert np.all(np.diff(a.scores) <= 0)
    assert np.array_equal(a.ids, b.ids)


class FakeSentenceModel:
    def encode(self, texts, **_):
        return np.ones((len(texts), ct.TEXT_DIM), dtype=np.float32) / math.sqrt(ct.TEXT_DIM)


def test_text_tower_cache_and_bad_captions():
    tower = ct.TextTower(FakeSentenceModel())
    assert tower.embed(["a red circle", "a red circle"]).shape == (2, ct.TEXT_DIM)
    assert list(tower.cache) == ["a red circle"]
    for bad in ([], "a red circle", [""], ["   "], ["x" * (ct.MAX_CAPTION_CHARS + 1)], [3]):
        with pytest.raises(ValueError):
            tower.embed(bad)


def test_bad_inputs(fake_text):
    model = ct.ShapeCLIP(ct.ContrastiveConfig(width=4, embed_dim=8))
    with pytest.raises(ValueError, match="images must have shape"):
        model.encode_images(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="text embeddings"):
        model.encode_text(torch.rand(2, 10))
    with pytest.raises(ValueError):
        ct.info_nce(torch.rand(1, 4), torch.rand(1, 4), torch.tensor(1.0))
    with pytest.raises(ValueError):
        ct.ContrastiveConfig(width=0)
    with pytest.raises(ValueError):
        ct.TrainSettings(lr=-1.0)
    with pytest.raises(ValueError, match="caption_embeddings"):
        ct.train_shape_clip(fake_text[:10], ct.TrainSettings(steps=1), show_progress=False)
    with pytest.raises(ValueError):
        ct.recall_at_k(np.zeros((2, 3)), np.array([0, 3]), 1)
    with pytest.raises(ValueError):
        ct.recall_at_k(np.full((2, 3), np.nan), np.array([0, 1]), 1)
    with pytest.raises(ValueError, match="fit the baseline"):
        ct.RidgeBaseline().similarity(np.zeros((1, 3, 32, 32)), fake_text)
    with pytest.raises(ValueError):
        ct.RidgeBaseline(alpha=0)
    for kwargs in ({"n": 0}, {"n": 2000}, {"seed": -1}, {"n": 2.5}):
        with pytest.raises(ValueError):
            ct.best_of_n(model, fake_text[0], **kwargs)
    with pytest.raises(ValueError, match="one"):
        ct.best_of_n(model, fake_text[:2])
