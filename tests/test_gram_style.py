"""Tests for course_utils.image.gram_style: Gram matrices, the random feature network, texture statistics,
texture synthesis and style transfer on tiny images, and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.image import gram_style as S

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_gram_matrix_golden_values():
    f = torch.tensor([[1.0, 2.0], [0.0, 1.0]]).reshape(1, 2, 1, 2)   # 2 channels, 2 positions
    g = S.gram_matrix(f)
    torch.testing.assert_close(g, torch.tensor([[[2.5, 1.0], [1.0, 0.5]]]))
    # it forgets where things are: shuffling positions changes nothing
    x = torch.randn(1, 5, 4, 4, generator=torch.Generator().manual_seed(0))
    shuffled = x.flatten(2)[:, :, torch.randperm(16)].reshape(1, 5, 4, 4)
    torch.testing.assert_close(S.gram_matrix(x), S.gram_matrix(shuffled))


def test_feature_net_is_fixed_by_its_seed():
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    a, b = S.RandomFeatureNet(), S.RandomFeatureNet()
    other = S.RandomFeatureNet(S.FeatureNetConfig(seed=1))
    shapes = [tuple(f.shape) for f in a(x)]
    assert shapes == [(1, 3, 32, 32), (1, 48, 32, 32), (1, 64, 16, 16), (1, 96, 8, 8),
                      (1, 128, 4, 4)]
    for fa, fb, fo in zip(a(x), b(x), other(x)):
        torch.testing.assert_close(fa, fb)
    assert not torch.allclose(a(x)[2], other(x)[2])
    assert not any(p.requires_grad for p in a.parameters())


def test_style_loss_is_zero_on_itself_and_scale_free():
    net = S.RandomFeatureNet()
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    grams = [S.gram_matrix(f) for f in net(x)]
    assert float(S.style_loss(net(x), grams)) == pytest.approx(0.0, abs=1e-10)
    assert float(S.style_loss(net(x * 0.5), grams)) > 0.1
    with pytest.raises(ValueError, match="Gram targets"):
        S.style_loss(net(x)[:2], grams)


def test_texture_statistics():
    rng = np.random.default_rng(0)
    a = rng.random((32, 32, 3)).astype(np.float32)
    assert S.colour_histogram_distance(a, a) == 0.0
    assert S.colour_histogram_distance(np.zeros((32, 32, 3)), np.ones((32, 32, 3))) == 1.0
    spectrum = S.radial_spectrum(a)
    assert spectrum.shape == (8,) and spectrum.sum() == pytest.approx(1.0)
    smooth = np.repeat(np.repeat(rng.random((4, 4, 3)), 8, axis=0), 8, axis=1)
    assert S.radial_spectrum(smooth)[:2].sum() > spectrum[:2].sum()     # coarse = low bands
    assert S.spectrum_distance(a, a) == 0.0 and S.spectrum_distance(a, smooth) > 0.5
    assert S.gram_distance(a, a) == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("name", ["brick", "chelsea", "china"])
def test_load_image(name):
    image = S.load_image(name, size=32)
    assert image.shape == (32, 32, 3) and image.dtype == np.float32
    assert 0 <= image.min() and image.max() <= 1 and image.std() > 0.02


def test_texture_synthesis_matches_grams_and_unoptimised_statistics():
    gravel = S.load_image("gravel", size=32)
    result = S.synthesize_texture(gravel, S.TransferConfig(steps=60, lr=0.05))
    assert result.image.shape == (32, 32, 3) and len(result.style_loss) == 60
    assert result.style_loss[-1] < result.style_loss[0] / 50
    noise = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    # a network with another seed, never used in the optimisation, agrees
    assert S.gram_distance(result.image, gravel) < S.gram_distance(noise, gravel) / 10
    assert S.colour_histogram_distance(result.image, gravel) < \
        S.colour_histogram_distance(noise, gravel)


def test_style_weight_moves_from_content_to_style():
    content, style = S.load_image("chelsea", 32), S.load_image("coffee", 32)
    keep = S.style_transfer(content, style, S.TransferConfig(steps=30, style_weight=0.0))
    np.testing.assert_allclose(keep.image, content, atol=1e-6)      # weight 0: the photo
    styled = S.style_transfer(content, style, S.TransferConfig(steps=60, lr=0.05,
                                                               style_weight=10.0))
    assert styled.style_loss[-1] < styled.style_loss[0] / 10
    assert styled.content_loss[0] == pytest.approx(0.0, abs=1e-8)
    assert styled.content_loss[-1] > 0.05        # the photo gave way to the style
    assert S.gram_distance(styled.image, style) < S.gram_distance(content, style) / 3
    assert 0 < styled.seconds


@pytest.mark.parametrize("image, message", [
    (np.zeros((8, 8, 3)), "sides"), (np.zeros((600, 600, 3)), "sides"),
    (np.zeros((32, 32, 4)), "colour"), (np.full((32, 32, 3), 2.0), r"\[0, 1\]"),
    (np.full((32, 32, 3), np.nan), "NaN")])
def test_bad_images(image, message):
    with pytest.raises(ValueError, match=message):
        S.check_image(image)


def test_grey_and_uint8_images_are_accepted():
    grey = (np.arange(32 * 32).reshape(32, 32) % 256).astype(np.uint8)
    image = S.check_image(grey)
    assert image.shape == (32, 32, 3) and image.max() <= 1.0
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


@pytest.mark.parametrize("kwargs, message", [
    ({"style_weight": -1.0}, "style weight"), ({"steps": 0}, "steps"), ({"lr": 0.0}, "lr"),
    ({"init": "random"}, "init"), ({"steps": 10_000}, "steps")])
def test_bad_transfer_configs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        S.TransferConfig(**kwargs)


def test_bad_names_sizes_and_layers():
    with pytest.raises(ValueError, match="Unknown image"):
        S.load_image("mona lisa")
    with pytest.raises(ValueError, match="size"):
        S.load_image("brick", size=512)
    with pytest.raises(ValueError, match="content_layer"):
        S.style_transfer(np.zeros((16, 16, 3)), np.zeros((16, 16, 3)),
                         S.TransferConfig(steps=1, content_layer=9))
    with pytest.raises(ValueError, match="kernel"):
        S.FeatureNetConfig(kernel=4)
