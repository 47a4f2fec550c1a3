"""Tests for course_utils.image.diffusion.ddpm, .diffusion_training and .guidance: the from-scratch DDPM
checked against diffusers' DDPMScheduler, the network, inpainting/SDEdit hooks, the prompt encoder,
classifier-free guidance, the committed digit model's quality, and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.image.diffusion import ddpm as D
from course_utils.image.diffusion import denoiser as DT
from course_utils.image.diffusion import guidance as G

diffusers = pytest.importorskip("diffusers")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def scheduler(T: int, kind: str = "linear", **kwargs):
    """diffusers' DDPMScheduler configured like make_schedule(T, kind)."""
    if kind == "cosine":
        return diffusers.DDPMScheduler(num_train_timesteps=T, beta_schedule="squaredcos_cap_v2",
                                       **kwargs)
    ours = D.make_schedule(T)
    return diffusers.DDPMScheduler(num_train_timesteps=T, beta_start=float(ours.betas[0]),
                                   beta_end=float(ours.betas[-1]), beta_schedule="linear",
                                   **kwargs)


def fake_eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A deterministic stand-in for a trained network."""
    return 0.3 * torch.tanh(x) + 0.01 * t.float().view(-1, *([1] * (x.ndim - 1)))


# --- the schedule and the forward process, against diffusers --------------------------------

@pytest.mark.parametrize("T, kind", [(200, "linear"), (1000, "linear"), (50, "cosine"),
                                     (200, "cosine")])
def test_schedule_matches_diffusers(T, kind):
    ours, theirs = D.make_schedule(T, kind), scheduler(T, kind)
    torch.testing.assert_close(ours.betas, theirs.betas, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(ours.alphas, theirs.alphas, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(ours.alpha_bars, theirs.alphas_cumprod, rtol=1e-5, atol=1e-7)


def test_default_linear_schedule_golden_values():
    s = D.make_schedule(200)
    assert float(s.betas[0]) == pytest.approx(5e-4) and float(s.betas[-1]) == pytest.approx(0.1)
    assert float(s.alpha_bars[-1]) < 1e-4  # the signal is gone at the last step
    assert float(s.alpha_bar(-1)) == 1.0 and float(s.alpha_bar(0)) == pytest.approx(1 - 5e-4)
    assert torch.all(s.snr()[1:] < s.snr()[:-1])


def test_q_sample_matches_add_noise_and_is_exact_at_the_ends():
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.rand(6, 1, 8, 8, generator=g) * 2 - 1, torch.randn(6, 1, 8, 8, generator=g)
    t = torch.tensor([0, 1, 50, 100, 150, 199])
    s = D.make_schedule(200)
    torch.testing.assert_close(D.q_sample(x0, t, s, eps), scheduler(200).add_noise(x0, eps, t))
    # abar_t x0 + ... : at t = 0 almost clean, at t = T-1 almost pure noise
    xt = D.q_sample(x0, t, s, eps)
    assert (xt[0] - x0[0]).abs().max() < 0.15 and (xt[-1] - eps[-1]).abs().max() < 0.05


def test_q_sample_statistics_follow_eq_4():
    s = D.make_schedule(200)
    x0 = torch.full((20_000, 2), 0.8)
    xt = D.q_sample(x0, 60, s, generator=torch.Generator().manual_seed(1))
    ab = float(s.alpha_bars[60])
    assert float(xt.mean()) == pytest.approx(ab ** 0.5 * 0.8, abs=0.02)
    assert float(xt.var()) == pytest.approx(1 - ab, abs=0.02)


# --- the reverse step, against diffusers -------------------------------------------------

@pytest.mark.parametrize("t", [199, 120, 37, 1, 0])
def test_reverse_step_matches_diffusers_step(t):
    s, sched = D.make_schedule(200), scheduler(200, clip_sample=True)
    g = torch.Generator().manual_seed(t)
    x_t, eps = torch.randn(4, 1, 8, 8, generator=g), torch.randn(4, 1, 8, 8, generator=g)
    ours = D.ddpm_step(x_t, t, eps, s, generator=torch.Generator().manual_seed(7))
    theirs = sched.step(eps, t, x_t, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(ours.x0_hat, theirs.pred_original_sample)
    torch.testing.assert_close(ours.x_prev, theirs.prev_sample, rtol=1e-5, atol=1e-5)
    # the posterior variance beta_tilde of eq. 7, and its mean
    torch.testing.assert_close(ours.variance.flatten()[0], sched._get_variance(t))
    noise = torch.randn(x_t.shape, generator=torch.Generator().manual_seed(7))
    mean = theirs.prev_sample - (sched._get_variance(t) ** 0.5 * noise if t > 0 else 0)
    torch.testing.assert_close(ours.mean, mean, rtol=1e-5, atol=1e-5)


def test_posterior_mean_interpolates_and_variance_is_beta_tilde():
    s = D.make_schedule(200)
    t, prev = torch.tensor([80]), torch.tensor([79])
    x0, xt = torch.ones(1, 3), torch.zeros(1, 3)
    mean, var = D.posterior_mean_variance(x0, xt, t, prev, s)
    ab, ab_prev, beta = s.alpha_bars[80], s.alpha_bars[79], s.betas[80]
    assert float(mean[0, 0]) == pytest.approx(float(ab_prev.sqrt() * beta / (1 - ab)), rel=1e-5)
    assert float(var.flatten()[0]) == pytest.approx(float((1 - ab_prev) / (1 - ab) * beta),
                                                    rel=1e-5)


@pytest.mark.parametrize("steps", [200, 50, 7])
def test_full_sampler_matches_a_diffusers_loop(steps):
    s, sched = D.make_schedule(200), scheduler(200, clip_sample=True)
    sched.set_timesteps(steps)
    assert D.sampling_timesteps(s, steps) == sched.timesteps.tolist()
    ours = D.sample(fake_eps, (3, 1, 8, 8), s, steps=steps,
                    generator=torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, 1, 8, 8, generator=g)
    for t in sched.timesteps:
        x = sched.step(fake_eps(x, t.repeat(3)), int(t), x, generator=g).prev_sample
    torch.testing.assert_close(ours, x, rtol=1e-4, atol=1e-4)


def ddim_scheduler(T: int, steps: int):
    """diffusers' DDIMScheduler configured like make_schedule(T), with ``steps`` set."""
    ours = D.make_schedule(T)
    sched = diffusers.DDIMScheduler(num_train_timesteps=T, beta_start=float(ours.betas[0]),
                                    beta_end=float(ours.betas[-1]), beta_schedule="linear",
                                    clip_sample=True, set_alpha_to_one=True)
    sched.set_timesteps(steps)
    return sched


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("t, prev_t", [(199, 179), (100, 80), (20, 0), (0, -1)])
def test_ddim_step_matches_diffusers(t, prev_t, eta):
    s, sched = D.make_schedule(200), ddim_scheduler(200, 10)
    g = torch.Generator().manual_seed(t)
    x_t, eps = torch.randn(4, 1, 8, 8, generator=g), torch.randn(4, 1, 8, 8, generator=g)
    ours = D.ddim_step(x_t, t, eps, s, prev_t=prev_t, eta=eta,
                       generator=torch.Generator().manual_seed(7))
    theirs = sched.step(eps, t, x_t, eta=eta, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(ours.x0_hat, theirs.pred_original_sample)
    torch.testing.assert_close(ours.x_prev, theirs.prev_sample, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("steps", [200, 20, 5])
def test_ddim_sampler_matches_a_diffusers_loop_and_is_deterministic(steps):
    s, sched = D.make_schedule(200), ddim_scheduler(200, steps)
    assert D.sampling_timesteps(s, steps) == sched.timesteps.tolist()
    ours = D.sample(fake_eps, (3, 1, 8, 8), s, steps=steps, sampler="ddim",
                    generator=torch.Generator().manual_seed(3))
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    for t in sched.timesteps:
        x = sched.step(fake_eps(x, t.repeat(3)), int(t), x, eta=0.0).prev_sample
    torch.testing.assert_close(ours, x, rtol=1e-4, atol=1e-4)
    # eta = 0: the initial noise alone fixes the image (another generator state, same image)
    start = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    again = D.sample(fake_eps, (3, 1, 8, 8), s, steps=steps, sampler="ddim",
                     x_start=start, start_t=D.sampling_timesteps(s, steps)[0])
    torch.testing.assert_close(again, ours)


def test_ddim_rejects_bad_settings():
    s = D.make_schedule(20)
    x = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="eta"):
        D.ddim_step(x, 5, x, s, eta=1.5)
    with pytest.raises(ValueError, match="eta"):
        D.ddim_step(x, 5, x, s, eta=-0.1)
    with pytest.raises(ValueError, match="prev_t"):
        D.ddim_step(x, 5, x, s, prev_t=5)
    with pytest.raises(ValueError, match="sampler"):
        D.sample(fake_eps, (2, 2), s, sampler="euler")
    with pytest.raises(ValueError, match="shape of x_t"):
        D.ddim_step(x, 5, torch.zeros(3, 2), s)


def test_callback_trajectory_and_reproducibility():
    s = D.make_schedule(20)
    seen = []
    a = D.sample(fake_eps, (2, 2), s, generator=torch.Generator().manual_seed(0), clip=None,
                 callback=lambda r: seen.append((r.t, r.prev_t)))
    b = D.sample(fake_eps, (2, 2), s, generator=torch.Generator().manual_seed(0), clip=None)
    assert torch.equal(a, b) and seen[0] == (19, 18) and seen[-1] == (0, -1) and len(seen) == 20
    traj = D.sample_trajectory(fake_eps, (2, 2), s, keep=[10, 5], clip=None,
                               generator=torch.Generator().manual_seed(0))
    assert traj.steps == [20, 10, 5, -1] and torch.equal(traj.x[-1], a)
    torch.testing.assert_close(traj.x[0], torch.randn(2, 2, generator=torch.Generator()
                                                      .manual_seed(0)))


def test_inpainting_keeps_known_values_and_sdedit_starts_late():
    s = D.make_schedule(30)
    known = torch.linspace(-1, 1, 2 * 64).view(2, 1, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :4] = 1  # left half known
    out = D.sample(fake_eps, known.shape, s, known=known, known_mask=mask,
                   generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[..., :4], known[..., :4])
    assert not torch.allclose(out[..., 4:], known[..., 4:])
    visited = []
    x_start = D.q_sample(known, 9, s, generator=torch.Generator().manual_seed(1))
    D.sample(fake_eps, known.shape, s, x_start=x_start, start_t=9,
             callback=lambda r: visited.append(r.t))
    assert visited == list(range(9, -1, -1))
    visited.clear()  # with fewer steps: start_t first, then the strided steps below it
    s200 = D.make_schedule(200)
    D.sample(fake_eps, (1, 2), s200, steps=50, x_start=torch.zeros(1, 2), start_t=30, clip=None,
             callback=lambda r: visited.append((r.t, r.prev_t)))
    assert visited[:3] == [(30, 28), (28, 24), (24, 20)] and visited[-1] == (0, -1)
    with pytest.raises(ValueError, match="does not fit"):
        D.sample(fake_eps, known.shape, s, known=known, known_mask=torch.ones(3, 8, 8))


# --- the network and training --------------------------------------------------------------

def test_denoiser_shapes_null_label_and_embedding():
    torch.manual_seed(0)
    net = DT.Denoiser(DT.DenoiserConfig(width=32, blocks=2))
    x, t = torch.randn(5, 1, 8, 8), torch.tensor([0, 1, 2, 3, 199])
    assert net(x, t, torch.tensor([0, 1, 2, 3, 10])).shape == (5, 1, 8, 8)
    torch.testing.assert_close(net(x, t), net(x, t, torch.full((5,), 10)))
    point_net = DT.Denoiser(DT.DenoiserConfig(dim=2, width=16, blocks=1, num_classes=0))
    assert point_net(torch.randn(3, 2), torch.zeros(3, dtype=torch.long)).shape == (3, 2)
    emb = DT.timestep_embedding(torch.tensor([0, 5]), 8)
    assert emb.shape == (2, 8) and torch.equal(emb[0], torch.tensor([1.0] * 4 + [0.0] * 4))


def test_training_learns_a_two_point_distribution():
    """400 steps on points at (+1, +1) and (-1, -1): samples land near one of the two."""
    torch.manual_seed(0)
    data = torch.tensor([[1.0, 1.0], [-1.0, -1.0]]).repeat(64, 1)
    s = D.make_schedule(50)
    net = DT.Denoiser(DT.DenoiserConfig(dim=2, width=64, blocks=2, num_classes=0, max_steps=50))
    model, history = DT.train_denoiser(net, data, s, DT.TrainConfig(steps=400, batch_size=128,
                                                                  ema_decay=0.0),
                                      show_progress=False)
    assert np.mean(history.loss[-50:]) < 0.6 * np.mean(history.loss[:50])
    out = D.sample(lambda x, t: model(x, t), (200, 2), s, clip=None,
                   generator=torch.Generator().manual_seed(0))
    distance = torch.minimum((out - 1).norm(dim=1), (out + 1).norm(dim=1))
    assert float((distance < 0.5).float().mean()) > 0.8
    assert 0.2 < float((out[:, 0] > 0).float().mean()) < 0.8  # both points, not one


def test_image_scaling():
    images = np.random.default_rng(0).random((3, 8, 8)).astype(np.float32)
    x = D.images_to_x(images)
    assert x.shape == (3, 1, 8, 8) and float(x.min()) >= -1
    np.testing.assert_allclose(D.x_to_images(x), images, atol=1e-6)


# --- prompts and guidance ---------------------------------------------------------------

@pytest.mark.parametrize("prompt, label", [("seven", 7), ("a 3", 3), ("Digit four.", 4),
                                           ("zero", 0), ("  NINE  ", 9), ("a seven, 7!", 7)])
def test_prompt_encoder(prompt, label):
    assert G.PromptEncoder().encode(prompt) == label


@pytest.mark.parametrize("prompt, match", [
    ("", "empty"), ("   ", "no words"), ("a cat", "Unknown word 'cat'.*zero, one"),
    ("the digit", "names no digit"), ("three or seven", "2 different digits.*'or'"),
    ("a cat and a dog", "Unknown words 'cat', 'and', 'dog'"),
    ("three seven", "2 different digits"), ("12", "single digits"), ("x" * 200, "too long"),
    ("-3", "negative number"), ("digit - 3", "negative number"), ("3.5", "decimal number"),
    ("a seven \U0001F600", "cannot read: '\U0001F600'"), ("sieben \u00fc", "cannot read"),
    (None, "must be text"), (7, "must be text"),
])
def test_bad_prompts_are_explained(prompt, match):
    with pytest.raises(ValueError, match=match):
        G.PromptEncoder().encode(prompt)


def test_an_encoder_reads_the_letters_of_its_own_words():
    fuenf = G.PromptEncoder(filler_words=("eine",), number_words=("null", "eins", "zwei", "drei", "vier", "f\u00fcnf",
                                          "sechs", "sieben", "acht", "neun"))
    assert fuenf.words("F\u00fcnf!") == ["f\u00fcnf"] and fuenf.encode("eine f\u00fcnf") == 5


def test_guidance_combines_the_two_predictions():
    torch.manual_seed(0)
    net = DT.Denoiser(DT.DenoiserConfig(width=16, blocks=1)).eval()
    x, t, y = torch.randn(3, 1, 8, 8), torch.full((3,), 50), torch.tensor([1, 2, 3])
    with torch.no_grad():
        cond, null = net(x, t, y), net(x, t, torch.full((3,), 10))
        torch.testing.assert_close(G.guided_eps(net, y, 0)(x, t), null)
        torch.testing.assert_close(G.guided_eps(net, y, 1)(x, t), cond)
        torch.testing.assert_close(G.guided_eps(net, y, 3)(x, t), null + 3 * (cond - null),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"guidance": -1}, "guidance scale w must be >= 0"), ({"guidance": 11}, "<= 10"),
    ({"guidance": float("nan")}, "finite"), ({"steps": 0}, "steps must be >= 1"),
    ({"steps": 500}, "steps must be <= 200"), ({"n": 0}, "number of images"),
    ({"prompt": "a dog"}, "Unknown word 'dog'"),
])
def test_bad_generation_settings_are_rejected(kwargs, match):
    settings = {"prompt": "seven", "n": 2, "guidance": 2.0, "steps": 5} | kwargs
    with pytest.raises(ValueError, match=match):
        G.generate_from_prompt(**settings)


def test_within_class_diversity():
    same = np.zeros((4, 8, 8))
    assert G.within_class_diversity(same, [1, 1, 2, 2]) == 0.0
    two = np.stack([np.zeros((8, 8)), np.ones((8, 8))])
    assert G.within_class_diversity(two, [3, 3]) == pytest.approx(8.0)
    with pytest.raises(ValueError, match="one label per image"):
        G.within_class_diversity(two, [3])


def test_guidance_sweep_table_and_images():
    table, images = G.guidance_sweep([0.0, 2.0], per_digit=2, steps=4, show_progress=False)
    assert list(table.index) == [0.0, 2.0] and images[2.0].shape == (20, 8, 8)
    assert {"prompt accuracy", "FD to real", "diversity"} <= set(table.columns)
    with pytest.raises(ValueError, match="guidance scale"):
        G.guidance_sweep([20.0], per_digit=2, steps=4, show_progress=False)


@pytest.mark.parametrize("call, match", [
    (lambda: D.make_schedule(200, "quadratic"), "Unknown schedule"),
    (lambda: D.make_schedule(1), "num_steps must be >= 2"),
    (lambda: D.q_sample(torch.zeros(2, 2), 200, D.make_schedule(200)), "0..199"),
    (lambda: D.ddpm_step(torch.zeros(2, 2), 5, torch.zeros(2, 3), D.make_schedule(10)),
     "shape of x_t"),
    (lambda: D.sample(fake_eps, (2, 2), D.make_schedule(10), steps=11), "steps must be <= 10"),
    (lambda: D.sample(fake_eps, (2, 2), D.make_schedule(10), start_t=3), "both x_start"),
    (lambda: DT.TrainConfig(label_dropout=1.5), "label_dropout"),
])
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- the committed checkpoint ----------------------------------------------------------

def test_committed_digit_model_quality():
    """The claims chapters 21-23 rely on: unconditional samples are recognisable digits of every
    class, and conditional samples are the digit asked for."""
    from course_utils.metrics.image_quality import digit_fd, judge_digits

    digits = DT.load_digit_diffusion()
    record = digits.record
    assert record["command"].startswith("python -m course_utils.train digit-diffusion")
    assert digits.model.num_parameters() < 1_000_000 and DT.CHECKPOINT.stat().st_size < 4e6
    images = digits.generate(200, seed=11, steps=100)
    report = judge_digits(images)
    assert report.digit_rate >= 0.9 and report.classes_covered == 10
    assert digit_fd(images) < 200  # uniform noise ~3000, real digits 7.4
    labels = torch.arange(100) % 10
    guided = digits.generate(100, seed=12, steps=100,
                             eps_fn=G.guided_eps(digits.model, labels, 2.0))
    assert judge_digits(guided, labels.numpy()).accuracy >= 0.9
    assert record["unconditional_digit_rate"] >= 0.9 and record["conditional_accuracy"] >= 0.9
