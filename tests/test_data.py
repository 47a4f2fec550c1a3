import numpy as np
import pytest

from course_utils import data


def test_corpus_is_ascii_and_splits_are_deterministic_and_disjoint():
    splits = data.load_text_splits()
    again = data.load_text_splits()
    assert splits == again
    total = len(data.load_text_corpus())
    sizes = [len(splits.train), len(splits.val), len(splits.test)]
    assert sum(sizes) == pytest.approx(total, rel=0.01)
    assert 0.07 < sizes[1] / total < 0.13 and 0.07 < sizes[2] / total < 0.13
    assert splits.train.isascii() and splits.val.isascii()
    # held-out parts are whole documents that do not occur in the training text
    first_val_doc = splits.val.split("\n\n")[0]
    assert first_val_doc not in splits.train
    assert set(splits.val) <= set(splits.alphabet) | {"\n"}


def test_split_documents_validates():
    with pytest.raises(ValueError, match="at least 3 documents"):
        data.split_documents(["a", "b"])
    with pytest.raises(ValueError, match="val_fraction must be <= 0.5"):
        data.split_documents(["a"] * 10, val_fraction=0.9)


def test_names_are_clean_lowercase_and_ordered_by_frequency():
    first = data.load_names()
    assert first[:3] == ["mary", "patricia", "linda"]
    assert len(first) == len(set(first)) > 5000
    assert all(name.isalpha() and name.islower() for name in first)
    assert "smith" == data.load_names("last")[0]
    with pytest.raises(ValueError, match="Unknown name list 'middle'"):
        data.load_names("middle")


def test_images():
    images, labels = data.load_digits_images()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0 and set(labels) == set(range(10))
    photos = data.load_sample_photos()
    assert sorted(photos) == ["china", "flower"]
    assert photos["china"].shape == (427, 640, 3)


def test_toy_2d_data():
    x, modes = data.make_2d_mixture(4000, n_modes=4, radius=2.0, spread=0.1, seed=1)
    assert x.shape == (4000, 2) and set(modes) == {0, 1, 2, 3}
    centre = x[modes == 0].mean(axis=0)
    assert np.allclose(centre, [2.0, 0.0], atol=0.05)
    x2, _ = data.make_2d_mixture(4000, n_modes=4, radius=2.0, spread=0.1, seed=1)
    assert np.array_equal(x, x2)
    with pytest.raises(ValueError, match="spread must be > 0"):
        data.make_2d_mixture(10, spread=0)
    moons, labels = data.make_two_moons(100, seed=0)
    assert moons.shape == (100, 2) and set(labels) == {0, 1}


def test_corpus_drops_duplicate_pages_and_held_out_text_is_not_in_training():
    from course_utils.data.curation import containment, shingles

    dropped = {d.title for d in data.corpus_duplicates()}
    assert {"if", "customization", "try"} <= dropped  # sections repeated in longer pages
    titles = {title for title, _ in data.load_corpus_documents()}
    assert "compound" in titles and not titles & dropped
    splits = data.load_text_splits()
    train_windows = shingles(splits.train)
    for part in (splits.val, splits.test):
        assert containment(shingles(part), train_windows) < 0.01


def test_split_documents_keeps_groups_together():
    docs = [f"doc{i} " * 50 for i in range(20)]
    groups = [i // 2 for i in range(20)]  # pairs
    splits = data.split_documents(docs, groups=groups)
    for i in range(0, 20, 2):
        side = [name for name in ("train", "val", "test") if docs[i] in getattr(splits, name)]
        partner = [name for name in ("train", "val", "test") if docs[i + 1] in getattr(splits, name)]
        assert side == partner
    with pytest.raises(ValueError, match="groups has 3 entries for 20 documents"):
        data.split_documents(docs, groups=[0, 1, 2])
