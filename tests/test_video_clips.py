"""Tests for course_utils.video.clips, .judge and .views: the procedural clips, the clip
prompts, the deterministic judge (exact on real clips, fooled by what should fool it), the
animations, and bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from course_utils.video import clips as C
from course_utils.video import judge as J
from course_utils.video import views as V


# --- clips ---------------------------------------------------------------------------------

def test_labels_and_attributes_round_trip():
    assert C.NUM_LABELS == 45
    seen = set()
    for label in range(C.NUM_LABELS):
        parts = C.attributes(label)
        assert C.label_of(*parts) == label
        seen.add(parts)
    assert len(seen) == 45
    assert C.label_of("blue", "triangle", "bouncing") == 44
    colour, shape, motion = C.label_parts(np.arange(45))
    assert (colour == np.repeat(np.arange(3), 15)).all() and (motion[:5] == np.arange(5)).all()
    assert C.prompt_of(0) == "a red circle moving left"
    assert C.prompt_of(44) == "a blue triangle bouncing"


def test_clips_show_one_object_of_the_asked_kind_moving_as_asked():
    x, labels = C.make_dataset(3, seed=5)
    assert x.shape == (135, 8, 3, 16, 16) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    colour, shape, motion = C.label_parts(labels)
    # only the asked colour's channel is lit
    lit = x.sum(axis=(1, 3, 4)) > 0                                  # (N, 3)
    assert (lit.argmax(1) == colour).all() and (lit.sum(1) == 1).all()
    # the same amount of ink in every frame: the object never leaves the frame
    ink = x.sum(axis=(2, 3, 4))                                      # (N, F)
    assert np.allclose(ink, ink[:, :1])
    # the centre of mass moves one pixel per frame in the asked direction
    ys, xs = np.mgrid[0:16, 0:16]
    mass = x.sum(axis=2)                                              # (N, F, H, W)
    cx = (mass * xs).sum((2, 3)) / mass.sum((2, 3))
    cy = (mass * ys).sum((2, 3)) / mass.sum((2, 3))
    for m, (dx, dy) in enumerate([(-7, 0), (7, 0), (0, -7), (0, 7), (0, 1)]):
        sel = motion == m
        assert np.allclose(cx[sel, -1] - cx[sel, 0], dx), C.MOTIONS[m]
        assert np.allclose(cy[sel, -1] - cy[sel, 0], dy), C.MOTIONS[m]
    bounce = motion == 4
    assert np.allclose(cy[bounce, 4] - cy[bounce, 0], 4)            # lowest in the middle
    assert np.array_equal(x, C.make_dataset(3, seed=5)[0])           # seeded
    assert not np.array_equal(x, C.make_dataset(3, seed=6)[0])


def test_shape_masks_have_the_right_areas():
    for size in C.SHAPE_SIZES:
        circle, square, triangle = (C.shape_mask(s, size).sum() for s in range(3))
        assert square == size ** 2
        assert abs(circle - np.pi * size ** 2 / 4) < 0.05 * size ** 2
        assert abs(triangle - size ** 2 / 2) < 0.05 * size ** 2
    triangle = C.shape_mask(2, 7)
    assert triangle[0].sum() < triangle[-1].sum()                    # apex up, base down


def test_start_positions_keep_the_object_inside_and_are_counted():
    for motion in range(5):
        for size in C.SHAPE_SIZES:
            (xl, xh), (yl, yh) = C.start_range(motion, size)
            path = C.motion_offsets(motion)
            assert (xl + path[:, 0]).min() == 0 or xl == 0
            assert (xh + path[:, 0]).max() + size <= 16 and (yh + path[:, 1]).max() + size <= 16
    assert C.count_distinct_clips() == 6921


@pytest.mark.parametrize("prompt, label", [
    ("a red circle moving left", 0), ("A blue square bouncing!", 39),
    ("green ball falling", 18), ("a red box moving rightwards", 6),
    ("Show me a blue triangle that bounces.", 44), ("triangle, green, up", 27)])
def test_clip_prompts(prompt, label):
    assert C.CLIP_PROMPTS.encode(prompt) == label
    assert C.label_from_prompt(prompt) == label
    assert C.label_from_prompt(C.prompt_of(label)) == label


@pytest.mark.parametrize("prompt, match", [
    ("a purple circle moving left", "Unknown word 'purple'.*colours red, green, blue"),
    ("a red circle", "names no motion"), ("red blue circle left", "2 different colours"),
    ("a red circle moving left and up", "2 different motions"), ("", "empty"),
    ("a red circle moving left \U0001F600", "cannot read"), (None, "must be text"),
    ("a red circle " * 10, "too long"), ("a red square circle up", "2 different shapes")])
def test_bad_clip_prompts_are_explained(prompt, match):
    with pytest.raises(ValueError, match=match):
        C.label_from_prompt(prompt)


def test_bad_clip_inputs():
    with pytest.raises(ValueError, match="0..44"):
        C.make_clips([45])
    with pytest.raises(ValueError, match="integers"):
        C.make_clips([0.5])
    with pytest.raises(ValueError, match="Unknown colour"):
        C.label_of("purple", 0, 0)
    with pytest.raises(ValueError, match="clips must be"):
        C.check_clips(np.zeros((2, 8, 3, 8, 8)))
    with pytest.raises(ValueError, match="NaN"):
        C.check_clips(np.full((1, 8, 3, 16, 16), np.nan))
    with pytest.raises(ValueError, match="leaves the frame"):
        C.render([C.ClipSpec(0, 0, 0, 5, 0, 0)])                    # left from column 0
    with pytest.raises(ValueError, match="per_label"):
        C.make_dataset(0)


# --- the judge -----------------------------------------------------------------------------

def test_judge_is_exact_on_real_clips():
    x, labels = C.make_dataset(4, seed=11)
    reading = J.read_clips(x)
    colour, shape, motion = C.label_parts(labels)
    assert (reading.colour == colour).all() and (reading.shape == shape).all()
    assert (reading.motion == motion).all() and reading.persistent.all()
    assert np.allclose(reading.path_error, 0) and np.allclose(reading.residual, 0, atol=1e-4)
    sizes = np.array([s.size for s in C.random_specs(labels, 11)])
    assert (reading.size == sizes).all()
    scores = J.score_table(J.clip_scores(x, labels))
    assert scores["prompt"] == 1.0 and scores["persistent"] == 1.0
    assert reading.names()[0] == "red circle left"


def test_judge_reads_damage_as_damage():
    x, labels = C.make_dataset(2, seed=12)
    motion = C.label_parts(labels)[2]
    shuffled = J.read_clips(J.perturb(x, "shuffle", seed=1))
    assert (shuffled.motion == motion).mean() < 0.1                  # order matters
    frozen = J.read_clips(J.perturb(x, "freeze"))
    assert (frozen.motion == J.STILL).all()
    empty = J.read_clips(np.zeros((3, 8, 3, 16, 16)))
    assert not empty.present.any() and (empty.motion == J.ERRATIC).all()
    assert not empty.persistent.any()
    noisy = J.score_table(J.clip_scores(J.perturb(x, "noise", 0.1, seed=2), labels))
    assert noisy["prompt"] >= 0.95                                   # mild noise is tolerated
    wrong = (labels + 15) % 45                                       # next colour
    assert J.score_table(J.clip_scores(x, wrong))["colour"] == 0.0


def test_judge_sees_a_size_change_as_a_persistence_failure():
    spec = C.random_specs([5], seed=3)[0]                            # a red square moving left
    clip = C.render([spec])
    other = C.render([C.ClipSpec(spec.colour, spec.shape, spec.motion, spec.size - 1,
                                 spec.x0, spec.y0)])
    clip[0, 3] = other[0, 3]                                         # one frame shrinks
    reading = J.read_clips(clip)
    assert reading.present.all() and not reading.persistent[0]
    causes = J.persistence_failures(reading)
    assert causes["not persistent"] == 1.0 and causes["size changes by 1 pixel only"] == 1.0
    assert causes["a frame without an object"] == 0.0 and causes["colour changes"] == 0.0
    blank = clip.copy()
    blank[0, 5] = 0.0                                                # one frame loses it
    assert J.persistence_failures(J.read_clips(blank))["a frame without an object"] == 1.0
    with pytest.raises(ValueError, match="ClipReading"):
        J.persistence_failures(clip)


def test_frame_change_and_bad_judge_inputs():
    x, labels = C.make_dataset(1, seed=0)
    assert np.allclose(J.frame_change(J.perturb(x, "freeze")), 0)
    assert (J.frame_change(x) > 0).all()
    with pytest.raises(ValueError, match="one label per clip"):
        J.clip_scores(x, labels[:3])
    with pytest.raises(ValueError, match="at least 2 frames"):
        J.read_clips(x[:, :1])
    with pytest.raises(ValueError, match="Unknown perturbation"):
        J.perturb(x, "melt")
    with pytest.raises(ValueError, match="amount"):
        J.perturb(x, "noise", amount=2.0)
    with pytest.raises(ValueError, match="score_table"):
        J.score_table({})


# --- views ---------------------------------------------------------------------------------

def test_animation_filmstrip_and_gif():
    import matplotlib.pyplot as plt

    x, labels = C.make_dataset(1, seed=0)
    titles = [C.prompt_of(k) for k in labels[:5]]
    fig = V.clip_animation(x[:5], titles, ncols=5, title="real clips")
    assert len(fig.frames) == 8 and len(fig.data) == 1
    assert fig.layout.sliders[0].steps[-1].label == "8"
    assert len(fig.to_json()) < 60_000                                # PNG frames: small
    *captions, hint = [a.text for a in fig.layout.annotations]   # one per clip, then a hint
    assert captions == titles and "play" in hint
    strip = V.filmstrip(x[:3], titles[:3], title="strip")
    assert "strip" in strip.get_label() and titles[0] in strip.get_label()
    plt.close(strip)
    gif = V.gif_bytes(x[0])
    assert gif[:6] == b"GIF89a"
    assert 'alt="a clip"' in V.gif_html(x[0], "a clip")
    picture = V.rgb_mosaic(x[:2, 0], ncols=2)
    assert picture.shape == (16, 33, 3)
    assert np.array_equal(picture[:, :16], x[0, 0].transpose(1, 2, 0))


def test_bad_view_inputs():
    x, _ = C.make_dataset(1, seed=0)
    with pytest.raises(ValueError, match="one title per clip"):
        V.clip_animation(x[:2], ["one"])
    with pytest.raises(ValueError, match="at most"):
        V.filmstrip(np.zeros((60, 8, 3, 16, 16), np.float32))
    with pytest.raises(ValueError, match="scale"):
        V.gif_bytes(x[0], scale=0)
    with pytest.raises(ValueError, match="rgb_mosaic"):
        V.rgb_mosaic(np.zeros((2, 16, 16)), ncols=2)
    json.dumps(V.clip_animation(x[:1]).to_plotly_json(), default=str)  # serialisable
