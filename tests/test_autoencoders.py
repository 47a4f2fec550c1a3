"""Autoencoders and VAEs (chapter 07): the equations, shapes, the PCA baseline, short real
training runs, latent sampling and interpolation, and bad input."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.image import autoencoders as A
from course_utils.metrics import image_quality as ie
from course_utils.viz.plotting import mosaic


@pytest.fixture(scope="module")
def splits():
    return ie.digit_splits()


def tiny(variational=False, d=3, **overrides) -> A.Autoencoder:
    torch.manual_seed(0)
    return A.Autoencoder(A.AutoencoderConfig(latent_dim=d, hidden=(16,), variational=variational,
                                             **overrides))


# --- the equations ---------------------------------------------------------------------------

def test_kl_matches_torch_distributions_and_is_zero_at_the_prior():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 4), torch.randn(5, 4)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(4), torch.ones(4))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    assert torch.allclose(A.kl_standard_normal(mu, logvar), expected, atol=1e-5)
    assert A.kl_standard_normal(torch.zeros(2, 3), torch.zeros(2, 3)).abs().max() == 0
    # one dimension, mu = 1, sigma = 1: 1/2 (1 + 1 - 0 - 1) = 0.5 nats
    assert A.kl_standard_normal(torch.ones(1, 1), torch.zeros(1, 1)).item() == pytest.approx(0.5)


def test_reparameterisation_has_the_right_moments_and_passes_gradients():
    mu = torch.tensor([[1.0, -2.0]]).repeat(200_000, 1).requires_grad_()
    logvar = torch.log(torch.tensor([[0.25, 4.0]])).repeat(200_000, 1).requires_grad_()
    z = A.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    assert torch.allclose(z.mean(0), torch.tensor([1.0, -2.0]), atol=0.02)
    assert torch.allclose(z.std(0), torch.tensor([0.5, 2.0]), atol=0.02)
    z.sum().backward()
    assert mu.grad is not None and torch.allclose(mu.grad, torch.ones_like(mu))
    # same generator seed, same draw
    again = A.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    assert torch.equal(z, again)


def test_reconstruction_terms():
    torch.manual_seed(1)
    logits, x = torch.randn(3, 64), torch.rand(3, 64)
    bce = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").sum(-1)
    assert torch.allclose(A.reconstruction_nll(logits, x, "bernoulli"), bce, atol=1e-4)
    sq = ((torch.sigmoid(logits) - x) ** 2).sum(-1) / (2 * 0.2 ** 2)
    assert torch.allclose(A.reconstruction_nll(logits, x, "gaussian", 0.2), sq, atol=1e-5)
    with pytest.raises(ValueError, match="kind"):
        A.reconstruction_nll(logits, x, "poisson")


def test_vae_loss_is_reconstruction_plus_beta_kl_and_ae_has_no_kl():
    x = torch.rand(6, 64)
    vae = tiny(variational=True, beta=2.5)
    terms = vae.loss(x, torch.Generator().manual_seed(0))
    assert terms.total.item() == pytest.approx(terms.reconstruction.item() + 2.5 * terms.kl.item(),
                                               rel=1e-6)
    assert terms.kl.item() > 0
    ae_terms = tiny().loss(x)
    assert ae_terms.kl.item() == 0 and ae_terms.total.item() == ae_terms.reconstruction.item()


def test_kl_per_dimension_adds_up_to_the_mean_kl():
    vae = tiny(variational=True)
    images = np.random.default_rng(0).random((7, 8, 8)).astype(np.float32)
    per_dim = A.kl_per_dimension(vae, images)
    with torch.no_grad():
        mu, logvar = vae.encode(torch.from_numpy(images).reshape(-1, 64))
    assert per_dim.shape == (3,) and (per_dim >= 0).all()
    assert per_dim.sum() == pytest.approx(A.kl_standard_normal(mu, logvar).mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match="needs a VAE"):
        A.kl_per_dimension(tiny(), images)


# --- shapes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("variational", [False, True])
def test_shapes_and_layouts(variational):
    model = tiny(variational)
    x = torch.rand(5, 64)
    mu, logvar = model.encode(x)
    assert mu.shape == (5, 3) and (logvar is None) != variational
    if variational:
        assert logvar.shape == (5, 3) and model.encoder[-1].out_features == 6
    assert model.decode_logits(mu).shape == (5, 64)
    images = np.random.default_rng(0).random((5, 8, 8)).astype(np.float32)
    assert model.embed(images).shape == (5, 3)
    assert model.embed(images.reshape(5, 64)).shape == (5, 3)   # (N, 64) accepted
    out = model.reconstruct(images[:, None])                      # (N, 1, 8, 8) accepted
    assert out.shape == (5, 8, 8) and out.min() >= 0 and out.max() <= 1
    assert model.decode(np.zeros(3)).shape == (1, 8, 8)           # one code (d,)


def test_default_architecture_parameter_count():
    model = A.Autoencoder(A.AutoencoderConfig(latent_dim=2, variational=True))
    enc = (64 * 256 + 256) + (256 * 128 + 128) + (128 * 4 + 4)
    dec = (2 * 128 + 128) + (128 * 256 + 256) + (256 * 64 + 64)
    assert model.num_parameters() == enc + dec


# --- baseline, sampling, interpolation ----------------------------------------------------------

def test_pca_baseline_golden_values(splits):
    """Held-out per-pixel MSE of PCA on the fixed split: the numbers chapter 07 must beat."""
    mse = {d: A.reconstruction_mse(splits.test_images,
                                   A.pca_reconstruct(splits.train_images, splits.test_images, d))
           for d in (2, 8, 64)}
    assert mse[2] == pytest.approx(0.0530, abs=5e-4)
    assert mse[8] == pytest.approx(0.0236, abs=5e-4)
    assert mse[64] < 1e-10  # all components: exact


def test_sample_latents(splits):
    codes = np.random.default_rng(0).normal([5.0, -3.0], [2.0, 0.5], size=(4000, 2))
    prior = A.sample_latents("prior", 20_000, 2, seed=1)
    assert prior.shape == (20_000, 2) and abs(prior.mean()) < 0.03 and abs(prior.std() - 1) < 0.03
    box = A.sample_latents("box", 5000, 2, codes, seed=1)
    assert (box.min(0) >= codes.min(0) - 1e-4).all() and (box.max(0) <= codes.max(0) + 1e-4).all()
    fitted = A.sample_latents("fitted", 20_000, 2, codes, seed=1)
    assert np.allclose(fitted.mean(0), [5.0, -3.0], atol=0.05)
    assert np.allclose(fitted.std(0), [2.0, 0.5], atol=0.05)
    assert np.array_equal(A.sample_latents("prior", 4, 2, seed=3), A.sample_latents("prior", 4, 2,
                                                                                    seed=3))
    with pytest.raises(ValueError, match="training codes"):
        A.sample_latents("box", 5, 2)
    with pytest.raises(ValueError, match="how"):
        A.sample_latents("uniform", 5, 2, codes)


def test_interpolation_ends_at_the_reconstructions_and_crossfade_is_linear(splits):
    model = tiny(variational=True, d=2)
    a, b = splits.test_images[0], splits.test_images[1]
    path = A.interpolate_images(model, a, b, steps=5)
    assert path.shape == (5, 8, 8)
    assert np.allclose(path[0], model.reconstruct(a[None])[0], atol=1e-6)
    assert np.allclose(path[-1], model.reconstruct(b[None])[0], atol=1e-6)
    fade = A.crossfade(a, b, steps=3)
    assert np.allclose(fade[1], (a + b) / 2, atol=1e-6)
    z = A.interpolate_codes([0.0, 0.0], [1.0, 2.0], 3)
    assert np.allclose(z, [[0, 0], [0.5, 1.0], [1.0, 2.0]])


def test_latent_grid_orientation():
    model = tiny(d=2)
    values = np.array([-1.0, 0.0, 2.0])
    grid = A.latent_grid(model, values)
    assert grid.shape == (3, 3, 8, 8)
    # top-left is (z1 = -1, z2 = 2): z2 grows upwards
    assert np.allclose(grid[0, 0], model.decode([[-1.0, 2.0]])[0])
    assert np.allclose(grid[2, 2], model.decode([[2.0, -1.0]])[0])
    with pytest.raises(ValueError, match="2-d latent"):
        A.latent_grid(tiny(d=3), values)
    assert mosaic(grid).shape == (26, 26)


def test_judge_each_on_real_digits_and_noise(splits):
    verdicts = A.judge_each(splits.test_images[:20])
    assert [v.label for v in verdicts] == list(splits.test_labels[:20])
    noise = A.judge_each(np.random.default_rng(0).random((1, 8, 8)))[0]
    assert noise.label == ie.NOT_A_DIGIT and str(noise).startswith("not a digit")
    assert str(verdicts[0]).startswith(f"a {splits.test_labels[0]} (p = ")


# --- training (real, short runs) ------------------------------------------------------------------

def test_short_training_beats_pca_and_the_vae_samples_digits(splits):
    """40 epochs (~2 s each): the AE already beats PCA at d = 2; the VAE's prior samples are
    judged digits of most classes. (Chapter 07 asserts the full-recipe numbers.)"""
    torch.set_num_threads(1)
    recipe = A.TrainConfig(epochs=40, seed=0)
    pca = A.reconstruction_mse(splits.test_images,
                               A.pca_reconstruct(splits.train_images, splits.test_images, 2))
    ae, history = A.train_autoencoder(A.AutoencoderConfig(2), splits.train_images, recipe,
                                      show_progress=False)
    assert not ae.training and history.steps == 40 * 12 and len(history.total) == 40
    assert history.total[-1] < 0.9 * history.total[0]
    assert A.reconstruction_mse(splits.test_images, ae.reconstruct(splits.test_images)) < 0.8 * pca
    vae, vhistory = A.train_autoencoder(A.AutoencoderConfig(2, variational=True),
                                        splits.train_images, recipe, show_progress=False)
    assert vhistory.kl[-1] > 0.5  # the code carries information
    report = ie.judge_digits(vae.decode(A.sample_latents("prior", 300, 2, seed=1)))
    assert report.digit_rate >= 0.9 and report.classes_covered >= 7


def test_training_is_reproducible():
    images = ie.digit_splits().train_images[:100]
    recipe = A.TrainConfig(epochs=2, batch_size=32, seed=4)
    config = A.AutoencoderConfig(2, hidden=(32,), variational=True)
    a, ha = A.train_autoencoder(config, images, recipe, show_progress=False)
    b, hb = A.train_autoencoder(config, images, recipe, show_progress=False)
    assert ha.total == hb.total
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, match", [
    (dict(latent_dim=0), "latent_dim"), (dict(latent_dim=2.0), "latent_dim"),
    (dict(hidden=[64]), "tuple"), (dict(hidden=()), "tuple"), (dict(hidden=(0,)), "width"),
    (dict(beta=-1.0), "beta"), (dict(reconstruction="l1"), "reconstruction"),
    (dict(variational="yes"), "variational"), (dict(gaussian_std=0.0), "gaussian_std"),
])
def test_bad_model_config(bad, match):
    with pytest.raises(ValueError, match=match):
        A.AutoencoderConfig(**bad)


@pytest.mark.parametrize("bad, match", [(dict(epochs=0), "epochs"), (dict(lr=0.0), "lr"),
                                        (dict(batch_size=-1), "batch_size"),
                                        (dict(seed=-2), "seed")])
def test_bad_train_config(bad, match):
    with pytest.raises(ValueError, match=match):
        A.TrainConfig(**bad)


@pytest.mark.parametrize("images, match", [
    (np.zeros((2, 28, 28)), "shape"), (np.zeros((2, 8)), "shape"), (np.zeros((0, 8, 8)), "empty"),
    (np.full((2, 8, 8), 16.0), r"\[0, 1\]"), (np.full((1, 8, 8), np.nan), "NaN"),
])
def test_wrong_images_are_rejected_clearly(images, match):
    model = tiny()
    with pytest.raises(ValueError, match=match):
        model.embed(images)
    with pytest.raises(ValueError, match=match):
        A.train_autoencoder(A.AutoencoderConfig(2), images, show_progress=False)


@pytest.mark.parametrize("codes, match", [
    (np.zeros((2, 4)), r"shape \(N, 3\)"), (np.zeros((0, 3)), "empty"),
    ([[np.inf, 0, 0]], "NaN or infinite"), ([[1e6, 0, 0]], "1000"), ("abc", "numbers"),
])
def test_wrong_codes_are_rejected_clearly(codes, match):
    with pytest.raises(ValueError, match=match):
        tiny().decode(codes)


def test_other_bad_input():
    model = tiny(d=2)
    image = np.zeros((8, 8))
    with pytest.raises(ValueError, match="one 8x8 image"):
        A.interpolate_images(model, image, np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="steps"):
        A.crossfade(image, image, steps=1)
    with pytest.raises(ValueError, match="differ in size"):
        A.interpolate_codes([0, 0], [0, 0, 0], 3)
    with pytest.raises(ValueError, match="differ in shape"):
        A.reconstruction_mse(np.zeros((2, 8, 8)), np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match="latent_dim"):
        A.pca_reconstruct(np.zeros((10, 8, 8)), np.zeros((1, 8, 8)), 0)
    assert math.isfinite(A.reconstruction_mse(image[None], image[None]))
