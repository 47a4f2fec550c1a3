"""Tests for course_utils.image.diffusion.editing: masks, inpainting (replace and RePaint), SDEdit, sketches,
and bad inputs. The real digit model runs briefly on a few images (fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.image.diffusion import ddpm as D
from course_utils.image.diffusion import editing as E
from course_utils.image.diffusion.denoiser import load_digit_diffusion
from course_utils.metrics import image_quality as IE

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def digits():
    return load_digit_diffusion()


@pytest.fixture(scope="module")
def test_digits():
    splits = IE.digit_splits()
    return splits.test_images[:40], splits.test_labels[:40]


# --- masks ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, known", [("bottom half", 32), ("top half", 32), ("right half", 32),
                                         ("left half", 32), ("centre", 48), ("random half", 32)])
def test_named_masks(name, known):
    m = E.make_mask(name)
    assert m.shape == (8, 8) and m.dtype == np.float32
    assert int(m.sum()) == known and set(np.unique(m)) == {0.0, 1.0}
    np.testing.assert_array_equal(E.check_mask(m), m)


def test_named_masks_say_what_is_missing():
    assert E.make_mask("bottom half")[:4].all() and not E.make_mask("bottom half")[4:].any()
    assert not E.make_mask("left half")[:, :4].any() and E.make_mask("left half")[:, 4:].all()
    assert not E.make_mask("centre")[2:6, 2:6].any()
    assert not np.array_equal(E.make_mask("random half", seed=0), E.make_mask("random half", 1))


@pytest.mark.parametrize("fraction, known", [(0.25, 16), (0.5, 32), (0.75, 48)])
def test_random_mask_fraction(fraction, known):
    assert int(E.random_mask(fraction, seed=3).sum()) == known


@pytest.mark.parametrize("bad, message", [
    (np.ones((8, 7)), "shape"), (np.ones((1, 8, 8)), "shape"), (np.full((8, 8), 0.5), "only 0"),
    (np.ones((8, 8)), "nothing is left"), (np.zeros((8, 8)), "plain generation"),
    ("top", "numeric")])
def test_bad_masks(bad, message):
    with pytest.raises(ValueError, match=message):
        E.check_mask(bad)


def test_bad_mask_names_and_fractions():
    with pytest.raises(ValueError, match="Unknown mask"):
        E.make_mask("middle")
    for bad in (0.0, 1.0, 1.5, 0.001):
        with pytest.raises(ValueError):
            E.random_mask(bad)


def test_masked_mse_counts_only_unknown_pixels():
    target = np.zeros((2, 8, 8), dtype=np.float32)
    out = target.copy()
    mask = E.make_mask("bottom half")
    out[:, :4] = 1.0          # errors in the known part do not count
    assert E.masked_mse(out, target, mask) == 0.0
    out[:, 4:] = 0.5          # every unknown pixel off by 0.5
    assert E.masked_mse(out, target, mask) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="same shape"):
        E.masked_mse(out[:1], target, mask)
    with pytest.raises(ValueError, match="2 masks for 1 images|masks for"):
        E.masked_mse(out[:1], target[:1], np.stack([mask, mask]))


def test_composite_keeps_known_pixels():
    images = np.full((3, 8, 8), 0.2, dtype=np.float32)
    mask = E.make_mask("right half")
    out = E.composite(images, np.ones((8, 8)), mask)
    assert np.all(out[:, :, :4] == 0.2) and np.all(out[:, :, 4:] == 1.0)


# --- inpainting -------------------------------------------------------------------------------

def test_repaint_with_one_pass_is_the_replace_method(digits, test_digits):
    images, _ = test_digits
    known = D.images_to_x(images[:6])
    mask = torch.from_numpy(E.make_mask("centre"))[None, None]
    ours = E.repaint_sample(digits.eps_fn(), known, mask, digits.schedule, steps=20,
                            resample=1, generator=torch.Generator().manual_seed(4))
    chapter21 = D.sample(digits.eps_fn(), known.shape, digits.schedule, steps=20,
                         generator=torch.Generator().manual_seed(4), known=known,
                         known_mask=mask)
    torch.testing.assert_close(ours, chapter21)


def test_repaint_resampling_with_a_fake_model_is_deterministic():
    schedule = D.make_schedule(50)
    known = torch.zeros(3, 1, 8, 8)
    mask = torch.from_numpy(E.make_mask("top half"))[None, None]

    def fake_eps(x, t):
        return 0.5 * torch.tanh(x)

    a = E.repaint_sample(fake_eps, known, mask, schedule, steps=10, resample=3,
                         generator=torch.Generator().manual_seed(0))
    b = E.repaint_sample(fake_eps, known, mask, schedule, steps=10, resample=3,
                         generator=torch.Generator().manual_seed(0))
    c = E.repaint_sample(fake_eps, known, mask, schedule, steps=10, resample=1,
                         generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)                   # resampling changes the result
    assert torch.all(a[:, :, 4:] == 0)                # known pixels (rows 4-7) at the end
    assert a.shape == known.shape


def test_inpaint_keeps_known_pixels_and_beats_an_unconditional_fill(digits, test_digits):
    images, labels = test_digits
    mask = E.make_mask("bottom half")
    out = E.inpaint(digits, images, mask, steps=25, resample=2, seed=0)
    assert out.shape == images.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[:, :4], images[:, :4], atol=1e-6)
    free = digits.generate(len(images), seed=0, steps=25)
    assert E.masked_mse(out, images, mask) < 0.8 * E.masked_mse(E.composite(images, free, mask),
                                                               images, mask)
    report = E.inpainting_report(images, labels, mask, {"RePaint": out})
    assert list(report.columns) == ["masked MSE", "judge accuracy", "digit rate"]
    assert report.loc["RePaint", "judge accuracy"] >= 0.5


def test_inpaint_accepts_one_mask_per_image(digits, test_digits):
    images, _ = test_digits
    masks = np.stack([E.random_mask(0.5, seed=i) for i in range(4)])
    out = E.inpaint(digits, images[:4], masks, steps=5, seed=1)
    np.testing.assert_allclose(out * masks, images[:4] * masks, atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0}, "steps"), ({"steps": 201}, "steps"), ({"resample": 0}, "resample"),
    ({"resample": 50}, "resample"), ({"seed": -1}, "seed"),
    ({"mask": np.ones((4, 4))}, "shape"), ({"images": np.ones((2, 5, 5))}, "shape"),
    ({"images": np.full((2, 8, 8), 9.0)}, "Rescale")])
def test_inpaint_bad_inputs(digits, kwargs, message):
    args = {"images": np.zeros((2, 8, 8)), "mask": E.make_mask("centre"), **kwargs}
    with pytest.raises(ValueError, match=message):
        E.inpaint(digits, **args)


# --- SDEdit -----------------------------------------------------------------------------------

@pytest.mark.parametrize("strength, t", [(1.0, 199), (0.5, 99), (0.1, 19), (0.001, 0)])
def test_strength_to_start_t(strength, t):
    assert E.strength_to_start_t(strength, 200) == t


@pytest.mark.parametrize("bad", [0.0, -0.2, 1.01, float("nan"), "half"])
def test_bad_strength(digits, bad):
    with pytest.raises(ValueError, match="strength"):
        E.sdedit(digits, np.zeros((1, 8, 8)), bad)


def test_sdedit_trades_faithfulness_for_realism(digits):
    sketches, labels = E.make_sketches(40, seed=2)
    table, outputs = E.sdedit_sweep(digits, sketches, labels, [0.1, 0.6], steps=20, seed=0)
    assert list(table.index) == [0.1, 0.6] and list(table["start_t"]) == [19, 119]
    assert set(outputs) == {0.1, 0.6} and outputs[0.1].shape == (40, 8, 8)
    weak, strong = table.loc[0.1], table.loc[0.6]
    assert weak["distance to input"] < strong["distance to input"]
    assert weak["judge accuracy"] > strong["judge accuracy"] + 0.3   # the sketch is forgotten
    assert strong["FD to real"] < weak["FD to real"]                 # but it looks more real
    # telling the model the digit keeps it
    guided, _ = E.sdedit_sweep(digits, sketches, labels, [0.6], steps=20, seed=0,
                               eps_fn=digits.eps_fn(torch.from_numpy(labels)))
    assert guided.loc[0.6, "judge accuracy"] >= 0.9


def test_sdedit_is_reproducible(digits):
    sketches, _ = E.make_sketches(3, seed=0)
    a = E.sdedit(digits, sketches, 0.3, steps=10, seed=5)
    b = E.sdedit(digits, sketches, 0.3, steps=10, seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, E.sdedit(digits, sketches, 0.3, steps=10, seed=6))


# --- sketches ---------------------------------------------------------------------------------

def test_sketches_golden_and_readable():
    sketches, labels = E.make_sketches(20, seed=0)
    assert sketches.shape == (20, 8, 8) and sketches.dtype == np.float32
    assert list(labels) == list(range(10)) * 2
    assert sketches.min() >= 0 and np.allclose(sketches.max(axis=(1, 2)), 1.0)
    np.testing.assert_array_equal(sketches, E.make_sketches(20, seed=0)[0])
    plain = E.draw_strokes(E.STROKES[1])                    # an unjittered one: a vertical bar
    assert plain[:, 4].sum() > plain[:, 0].sum() + 3 and plain[:, 0].sum() == 0
    # crude, but the judge reads most of them
    assert IE.judge_digits(sketches, labels).accuracy >= 0.7


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 3, "labels": [1, 2]},
                                    {"n": 2, "labels": [1, 12]}, {"n": 2, "width": 0.5},
                                    {"n": 2, "jitter": -0.1}])
def test_bad_sketch_settings(kwargs):
    with pytest.raises(ValueError):
        E.make_sketches(**kwargs)
