"""Captioned shapes (chapter 40): captions, held-out combinations, rendering, pairs."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.multimodal import captioned_shapes as cs


def test_caption_counts_and_split():
    assert len(cs.SCENES) == len(set(cs.CAPTIONS)) == 96
    assert len(cs.SEEN_IDS) == 72 and len(cs.UNSEEN_IDS) == 24
    assert set(cs.SEEN_IDS) | set(cs.UNSEEN_IDS) == set(range(96))
    assert cs.CAPTIONS[0] == "a small red circle at the top left"
    seen = [cs.SCENES[i] for i in cs.SEEN_IDS]
    # every colour and every shape is still seen, only some pairs are held out
    assert {s.colour for s in seen} == set(cs.COLOURS)
    assert {s.shape for s in seen} == set(cs.SHAPES)
    assert all((s.colour, s.shape) not in cs.HELD_OUT_PAIRS for s in seen)


def test_render_is_seeded_and_in_range():
    a = cs.render([0, 5, 95], seed=3)
    b = cs.render([0, 5, 95], seed=3)
    c = cs.render([0, 5, 95], seed=4)
    assert a.shape == (3, 3, 32, 32) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert 0.0 <= a.min() and a.max() <= 1.0


def test_render_puts_the_object_where_the_caption_says():
    for i in (0, 17, 60, 95):
        scene = cs.SCENES[i]
        image = cs.render([i] * 8, seed=i)
        red, green, blue = cs.COLOURS[scene.colour]
        # pixels far from the background grey are the object
        mask = (np.abs(image - cs.BACKGROUND).max(axis=1) > 0.3)  # (8, 32, 32)
        ys, xs = np.nonzero(mask.mean(axis=0) > 0.5)
        assert (xs.mean() > 16) == scene.position.endswith("right")
        assert (ys.mean() > 16) == scene.position.startswith("bottom")
        colour = image[:, :, mask.all(axis=0)].mean(axis=(0, 2))
        assert np.allclose(colour, [red, green, blue], atol=0.1)


def test_sizes_and_shapes_differ_in_area():
    def area(scene):
        i = cs.CAPTIONS.index(scene.caption)
        image = cs.render([i] * 16, seed=1)
        return (np.abs(image - cs.BACKGROUND).max(axis=1) > 0.3).mean()

    small = area(cs.Scene("red", "circle", "small", "top left"))
    large = area(cs.Scene("red", "circle", "large", "top left"))
    triangle = area(cs.Scene("red", "triangle", "large", "top left"))
    assert large > 2.5 * small
    assert triangle < 0.75 * large  # a triangle covers less than its circle


def test_pairs_and_swaps():
    assert len(cs.PAIRS) == 72
    pair = cs.Pair(("red", "circle"), ("blue", "square"))
    assert pair.caption == "a red circle left of a blue square"
    assert pair.relation_swap().caption == "a blue square left of a red circle"
    assert pair.binding_swap().caption == "a blue circle left of a red square"
    assert sorted(pair.caption.split()) == sorted(pair.relation_swap().caption.split())
    captions = {p.caption for p in cs.PAIRS}
    assert all(p.relation_swap().caption in captions for p in cs.PAIRS)
    images = cs.render_pairs([cs.PAIRS.index(pair)] * 4, seed=0)
    left, right = images[..., :16].mean(axis=(0, 2, 3)), images[..., 16:].mean(axis=(0, 2, 3))
    assert left[0] > left[2] and right[2] > right[0]  # red on the left, blue on the right


def test_random_ids_and_attributes_matched():
    ids = cs.random_ids(500, seed=0, among=cs.SEEN_IDS)
    assert set(ids) <= set(cs.SEEN_IDS)
    assert len(set(cs.random_ids(2000, seed=1))) == 96
    assert cs.attributes_matched([0], [0])[0] == 4
    a = cs.CAPTIONS.index("a small red circle at the top left")
    b = cs.CAPTIONS.index("a large red square at the top left")
    assert cs.attributes_matched([a], [b])[0] == 2
    assert cs.caption_ids([cs.CAPTIONS[7]])[0] == 7


@pytest.mark.parametrize("bad", [[], [96], [-1], [1.5], [[0, 1]]])
def test_render_rejects_bad_ids(bad):
    with pytest.raises(ValueError):
        cs.render(bad)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="not a captioned-shapes caption"):
        cs.caption_ids(["a purple hexagon"])
    with pytest.raises(ValueError):
        cs.render_pairs([len(cs.PAIRS)])
    with pytest.raises(ValueError):
        cs.random_ids(0)
    with pytest.raises(ValueError):
        cs.attributes_matched([0, 1], [0])
    with pytest.raises(ValueError):
        cs.for_display(np.zeros((2, 32, 32)))
    with pytest.raises(ValueError, match="at most"):
        cs.render(np.zeros(cs.MAX_IMAGES + 1, dtype=int))
