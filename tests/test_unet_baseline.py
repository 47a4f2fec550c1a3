"""Tests for course_utils.image.diffusion.unet_baseline: diffusers' UNet behind the course's
denoiser interface trains with the course's loop and samples with its guidance."""

import pytest
import torch

pytest.importorskip("diffusers")

from course_utils.image.diffusion import ddpm  # noqa: E402
from course_utils.image.diffusion.denoiser import TrainConfig, train_denoiser  # noqa: E402
from course_utils.image.diffusion.guidance import guided_eps  # noqa: E402
from course_utils.image.diffusion.unet_baseline import UNetDenoiser  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_unet_denoiser_speaks_the_denoiser_interface():
    torch.manual_seed(0)
    net = UNetDenoiser(channels=(8, 16))
    x, t = torch.randn(3, 1, 8, 8), torch.tensor([0, 50, 199])
    assert net(x, t).shape == (3, 1, 8, 8) and net.null_label == 10
    with torch.no_grad():  # no label = the null label
        torch.testing.assert_close(net(x, t), net(x, t, torch.full((3,), 10)))
    data, labels = torch.rand(16, 1, 8, 8) * 2 - 1, torch.arange(16) % 10
    model, history = train_denoiser(net, data, ddpm.make_schedule(20),
                                    TrainConfig(steps=3, batch_size=8, warmup_steps=0),
                                    labels=labels, show_progress=False)
    assert len(history.loss) == 3
    out = ddpm.sample(guided_eps(model, torch.arange(2), 2.0), (2, 1, 8, 8),
                      ddpm.make_schedule(20), generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 1, 8, 8) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="labels must lie"):
        train_denoiser(net, data, ddpm.make_schedule(20), TrainConfig(steps=1, batch_size=4),
                       labels=labels + 5, show_progress=False)


def test_latent_contender_spends_its_budget_and_decodes_digit_images():
    import numpy as np

    from course_utils.image.diffusion.unet_baseline import LATENT_DIM, evaluate, train_latent
    from course_utils.metrics.image_quality import digit_splits

    splits = digit_splits()
    images, labels = splits.train_images[:200], torch.from_numpy(splits.train_labels[:200])
    digits, history, network = train_latent(images, labels, seconds=3.0, seed=0)
    assert network.config.dim == LATENT_DIM and len(history.loss) >= 30
    assert history.cpu_seconds >= 2.0  # the autoencoder's time is counted in the budget
    out = digits.generate(4, seed=1)
    assert out.shape == (4, 8, 8) and np.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(out, digits.generate(4, seed=1))  # seeded
    scores = evaluate(digits, seed=0)
    assert 0 <= scores["class accuracy"] <= 1 and scores["FD no label"] > 0
