"""Tests for course_utils.image.pointcloud.shapes and .pointcloud_training: procedural shapes (uniform on the
surface, normalised, seeded), the Chamfer distance on hand-made examples, set metrics, the
PointNet judge and the point denoiser (permutation symmetry), training, generation, the
committed checkpoints' quality, and bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils.image.diffusion import guidance as G
from course_utils.image.diffusion.ddpm import make_schedule
from course_utils.image.diffusion.denoiser import TrainConfig
from course_utils.image.pointcloud import point_denoiser as PT
from course_utils.image.pointcloud import shapes as P

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --- procedural shapes -----------------------------------------------------------------------

@pytest.mark.parametrize("shape", P.SHAPES)
def test_shapes_are_normalised_seeded_and_varied(shape):
    x = P.sample_shapes(shape, 6, 128, seed=3)
    assert x.shape == (6, 128, 3) and x.dtype == torch.float32
    torch.testing.assert_close(x.mean(dim=1), torch.zeros(6, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(x.norm(dim=-1).amax(dim=1), torch.ones(6))
    assert torch.equal(x, P.sample_shapes(shape, 6, 128, seed=3))
    assert not torch.equal(x, P.sample_shapes(shape, 6, 128, seed=4))
    assert P.sample_shapes(shape.upper(), 1, 16).shape == (1, 16, 3)  # names: any case


def test_sphere_is_uniform_on_the_surface():
    # Archimedes: on a sphere, the height z of a uniform point is uniform on [-1, 1]
    x = P._sphere(4, 4096, torch.Generator().manual_seed(0))
    torch.testing.assert_close(x.norm(dim=-1), torch.ones(4, 4096))
    hist = torch.histc(x[..., 2].flatten(), bins=4, min=-1, max=1) / x[..., 2].numel()
    assert torch.allclose(hist, torch.full((4,), 0.25), atol=0.02)


def test_cube_faces_get_points_in_proportion_to_their_area():
    x = P._cube(8, 4096, torch.Generator().manual_seed(1))           # axis-aligned boxes
    half = x.abs().amax(dim=1)                                       # (B, 3) half sides
    on_z = (x[..., 2].abs() - half[:, None, 2]).abs() < 1e-6         # (B, N)
    a, b, c = half.unbind(1)
    expected = a * b / (a * b + a * c + b * c)
    assert torch.allclose(on_z.float().mean(1), expected, atol=0.03)
    # every point lies on the surface: one coordinate at +-half
    on_surface = ((x.abs() - half[:, None]).abs() < 1e-6).any(-1)
    assert bool(on_surface.all())


def test_cone_and_cylinder_split_points_by_area():
    g = torch.Generator().manual_seed(2)
    cone = P._cone(8, 4096, g)
    height = cone[..., 2].amax(1)
    on_base = (cone[..., 2].abs() < 1e-6).float().mean(1)
    assert torch.allclose(on_base, 1 / (1 + (1 + height ** 2).sqrt()), atol=0.03)
    cyl = P._cylinder(8, 4096, g)
    h = cyl[..., 2].amax(1)
    on_caps = (cyl[..., 2].abs() > h[:, None] - 1e-6).float().mean(1)
    assert torch.allclose(on_caps, 1 / (1 + 2 * h), atol=0.03)       # 2 pi r^2 / (.. + 4 pi r h)


def test_torus_is_uniform_by_area_not_by_angle():
    x = P._torus(6, 4096, torch.Generator().manual_seed(3))
    rho = x[..., :2].norm(dim=-1)
    r = x[..., 2].abs().amax(1)                                      # tube radius
    tube = ((rho - 1) ** 2 + x[..., 2] ** 2).sqrt()
    assert torch.allclose(tube, r[:, None].expand_as(tube), atol=1e-4)
    outer = (rho > 1).float().mean(1)            # area of the outer half: (pi R + 2 r) / 2 pi R
    assert torch.allclose(outer, 0.5 + r / math.pi, atol=0.03)


def test_rotation_about_z_keeps_heights_and_distances():
    x = P._cube(2, 64, torch.Generator().manual_seed(0))
    turned = P.rotate_about_z(x, torch.tensor([math.pi / 2, 0.3]))
    torch.testing.assert_close(turned[0, :, :2], torch.stack([-x[0, :, 1], x[0, :, 0]], -1))
    torch.testing.assert_close(turned[..., 2], x[..., 2])
    torch.testing.assert_close(turned.norm(dim=-1), x.norm(dim=-1))


def test_make_dataset_groups_labels_and_baselines():
    clouds, labels = P.make_dataset(3, 32, seed=0)
    assert clouds.shape == (15, 32, 3) and labels.tolist() == [0] * 3 + [1] * 3 + [2] * 3 + \
        [3] * 3 + [4] * 3
    blobs = P.gaussian_blobs(4, 32)
    noise = P.not_a_shape(6, 32, torch.Generator().manual_seed(0))
    for x in (blobs, noise):
        torch.testing.assert_close(x.norm(dim=-1).amax(1), torch.ones(len(x)))


@pytest.mark.parametrize("call, match", [
    (lambda: P.sample_shapes("pyramid"), "Unknown shape 'pyramid'"),
    (lambda: P.sample_shapes(3), "Unknown shape"),
    (lambda: P.sample_shapes("torus", n_points=0), "points per cloud"),
    (lambda: P.sample_shapes("torus", n_points=10_000), "points per cloud"),
    (lambda: P.sample_shapes("torus", n_points=2.5), "must be an integer"),
    (lambda: P.sample_shapes("cube", count=0), "number of clouds"),
    (lambda: P.sample_shapes("cube", seed=-1), "seed"),
    (lambda: P.make_dataset(2, shapes=()), "at least one shape"),
    (lambda: P.chamfer_distance(torch.zeros(4, 2), torch.zeros(4, 3)), r"\(B, N, 3\)"),
    (lambda: P.chamfer_distance(torch.zeros(2, 4, 3), torch.zeros(3, 4, 3)), "same number"),
    (lambda: P.chamfer_distance(torch.full((4, 3), float("nan")), torch.zeros(4, 3)), "NaN"),
    (lambda: P.check_clouds(torch.zeros(0, 3)), r"\(B, N, 3\)"),
    (lambda: P.cloud_gallery(torch.zeros(2, 4, 3), titles=["one"]), "1 titles for 2"),
    (lambda: P.plot_cloud(torch.zeros(4, 3), elevation=120), "elevation"),
])
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- Chamfer distance and set metrics ------------------------------------------------------

def test_chamfer_on_hand_made_examples():
    a = torch.tensor([[0.0, 0, 0], [1, 0, 0]])
    b = torch.tensor([[0.0, 0, 0]])
    # a -> b: (0 + 1) / 2 ; b -> a: 0
    assert float(P.chamfer_distance(a, b)) == pytest.approx(0.5)
    assert float(P.chamfer_distance(b, a)) == pytest.approx(0.5)     # symmetric
    assert float(P.chamfer_distance(a, a)) == 0.0                    # identical -> 0
    grid = torch.stack(torch.meshgrid(*[torch.arange(3.0)] * 3, indexing="ij"), -1).view(-1, 3)
    shift = torch.tensor([0.1, -0.2, 0.05])
    # a shift smaller than half the spacing: every nearest neighbour is the shifted copy
    assert float(P.chamfer_distance(grid, grid + shift)) == pytest.approx(
        2 * float(shift.square().sum()), rel=1e-5)


def test_chamfer_ignores_point_order_and_broadcasts():
    x = P.sample_shapes("cone", 3, 64, seed=0)
    y = P.sample_shapes("torus", 3, 80, seed=0)                       # different N is fine
    perm = torch.randperm(64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(P.chamfer_distance(x, y), P.chamfer_distance(x[:, perm], y))
    torch.testing.assert_close(P.chamfer_distance(x, y), P.chamfer_distance(y, x))
    one = P.chamfer_distance(x[0], y)                                 # one cloud vs three
    assert one.shape == (3,) and float(one[0]) == pytest.approx(float(P.chamfer_distance(x, y)[0]))


def test_pairwise_nearest_and_coverage():
    ref = P.sample_shapes("cube", 5, 32, seed=1)
    gen = P.sample_shapes("cone", 3, 32, seed=2)
    d = P.pairwise_chamfer(gen, ref)
    assert d.shape == (3, 5)
    torch.testing.assert_close(d[1], P.chamfer_distance(gen[1], ref))
    values, index = P.nearest_real(ref[[4, 1]], ref)
    assert index.tolist() == [4, 1] and float(values.max()) < 1e-6
    assert P.coverage(ref, ref) == 1.0
    assert P.coverage(ref[[2, 2, 2]], ref) == pytest.approx(1 / 5)   # one object, repeated


# --- networks --------------------------------------------------------------------------------

def test_classifier_is_permutation_invariant():
    torch.manual_seed(0)
    judge = P.PointNetClassifier(P.ClassifierConfig(widths=(8, 16), hidden=8))
    x = torch.randn(2, 20, 3)
    perm = torch.randperm(20)
    torch.testing.assert_close(judge(x), judge(x[:, perm]))
    assert judge(x).shape == (2, len(P.CLASS_NAMES))


def test_point_denoiser_is_permutation_equivariant_and_guidable():
    torch.manual_seed(0)
    net = PT.PointDenoiser(PT.PointDenoiserConfig(width=16, blocks=2))
    for p in net.parameters():                       # leave the zero-initialised identity
        torch.nn.init.normal_(p, std=0.2)
    x, t, y = torch.randn(3, 10, 3), torch.tensor([0, 50, 199]), torch.tensor([0, 4, 2])
    perm = torch.randperm(10)
    out = net(x, t, y)
    assert out.shape == (3, 10, 3)
    torch.testing.assert_close(net(x[:, perm], t, y), out[:, perm], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(net(x, t), net(x, t, torch.full((3,), net.null_label)))
    assert not torch.allclose(net(x, t), out)                        # the label matters
    w = 3.0
    eps = G.guided_eps(net, y, w)(x, t)
    null = net(x, t)
    torch.testing.assert_close(eps, null + w * (out - null), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match=r"\(B, N, 3\)"):
        net(torch.zeros(3, 10, 2), t, y)


def test_training_reduces_the_loss_and_generation_is_seeded():
    clouds = P.sample_shapes("sphere", 64, 32, seed=0)
    schedule = make_schedule(50)
    net = PT.PointDenoiser(PT.PointDenoiserConfig(width=32, blocks=2, max_steps=50))
    model, history = PT.train_point_denoiser(
        net, clouds, schedule, TrainConfig(steps=150, batch_size=16, lr=3e-3, warmup_steps=10,
                                           ema_decay=0.9), show_progress=False)
    assert np.mean(history.loss[-30:]) < 0.6 * np.mean(history.loss[:30])
    shapes = PT.ShapeDiffusion(model, schedule, {})
    a = shapes.generate("sphere", count=2, guidance=0.0, steps=10, seed=1, n_points=32)
    assert a.shape == (2, 32, 3) and torch.isfinite(a).all()
    assert torch.equal(a, shapes.generate("sphere", count=2, guidance=0.0, steps=10, seed=1,
                                          n_points=32))
    traj = shapes.trajectory("sphere", keep=[25], guidance=0.0, steps=10, n_points=32)
    assert traj.steps[0] == 50 and traj.steps[-1] == -1 and traj.x[-1].shape == (1, 32, 3)
    with pytest.raises(ValueError, match="labels must be"):
        PT.train_point_denoiser(net, clouds, schedule, labels=torch.zeros(3, dtype=torch.long))


@pytest.mark.parametrize("kwargs, match", [
    ({"shapes": "pyramid", "count": 2}, "Unknown shape"),
    ({"shapes": "torus", "count": 0}, "count"),
    ({"shapes": [7], "count": None}, "shape label"),
    ({"shapes": [], "count": None}, "at least one shape"),
    ({"shapes": "torus", "count": 1, "steps": 0}, "steps must be >= 1"),
    ({"shapes": "torus", "count": 1, "steps": 500}, "steps must be <= 200"),
    ({"shapes": "torus", "count": 1, "guidance": -1.0}, "guidance scale"),
    ({"shapes": "torus", "count": 1, "guidance": 50.0}, "guidance scale"),
    ({"shapes": "torus", "count": 1, "seed": -2}, "seed"),
    ({"shapes": "torus", "count": 1, "n_points": 2}, "points per cloud"),
])
def test_bad_generation_settings_are_rejected(kwargs, match):
    shapes = PT.ShapeDiffusion(PT.PointDenoiser(PT.PointDenoiserConfig(width=8, blocks=1)),
                               make_schedule(200), {})
    with pytest.raises(ValueError, match=match):
        shapes.generate(**kwargs)


# --- the committed checkpoints -------------------------------------------------------------

def test_committed_shape_classifier_quality():
    judge = P.load_shape_classifier()
    assert judge.record["command"].startswith("python -m course_utils.train shape-judge")
    assert P.CLASSIFIER_CHECKPOINT.stat().st_size < 1e6
    clouds, labels = P.make_dataset(30, seed=4242)                  # fresh, never trained on
    verdict = P.classify(clouds, judge)
    assert verdict.accuracy(labels.numpy()) >= 0.97 and verdict.confidence.mean() >= 0.9
    noise = P.not_a_shape(60, 256, torch.Generator().manual_seed(4243))
    assert P.classify(noise, judge).shape_rate <= 0.05
    assert P.classify(P.gaussian_blobs(60, seed=4244), judge).shape_rate <= 0.05


def test_committed_shape_diffusion_quality():
    shapes = PT.load_shape_diffusion()
    record = shapes.record
    assert record["command"].startswith("python -m course_utils.train shape-diffusion")
    assert PT.CHECKPOINT.stat().st_size < 5e6
    labels = torch.arange(len(P.SHAPES)).repeat_interleave(8)
    clouds = shapes.generate(labels.tolist(), guidance=1.0, steps=50, seed=31)
    assert P.classify(clouds).accuracy(labels.numpy()) >= 0.8
    reference, ref_labels = P.make_dataset(20, seed=4245)
    blobs = P.gaussian_blobs(8, seed=4246)
    for k in range(len(P.SHAPES)):
        ref = reference[ref_labels == k]
        generated = float(P.nearest_real(clouds[labels == k], ref)[0].mean())
        blob = float(P.nearest_real(blobs, ref)[0].mean())
        assert generated < 0.5 * blob, P.SHAPES[k]
    assert record["quality"]["shape_accuracy"] >= 0.8


@pytest.mark.parametrize("prompt, label", [("torus", 4), ("a Cube", 1), ("Draw me a cone!", 3),
                                           ("3-D cylinders", 2), ("the sphere shape", 0)])
def test_shape_prompts(prompt, label):
    assert PT.shape_from_prompt(prompt) == label


@pytest.mark.parametrize("prompt, match", [
    ("a pyramid", "Unknown word 'pyramid'"), ("", "empty"), ("a shape", "names no shape"),
    ("a cube and a cone", "2 different shapes.*'and'"), ("cube cone", "2 different shapes"),
    ("a pyramid \U0001F600", "cannot read"), (None, "must be text"),
    ("x" * 100, "too long")])
def test_bad_shape_prompts_are_explained(prompt, match):
    with pytest.raises(ValueError, match=match):
        PT.shape_from_prompt(prompt)


def test_views_draw_every_point():
    clouds = P.sample_shapes("cone", 3, 40, seed=0)
    fig = P.cloud_gallery(clouds, titles=["a", "b", "c"], ncols=2)
    assert len(fig.data) == 3 and all(len(trace.x) == 40 for trace in fig.data)
    assert "scene2" not in fig.layout  # one WebGL scene for the whole gallery
    centres = np.array([[np.mean(trace.x), np.mean(trace.z)] for trace in fig.data])
    spacing = P.GALLERY_SPACING
    assert np.allclose(centres - centres[0], [[0, 0], [spacing, 0], [0, -spacing]], atol=0.3)
    assert [a.text for a in fig.layout.scene.annotations] == ["a", "b", "c"]
    import matplotlib.pyplot as plt

    still = P.plot_cloud(clouds[0], azimuth=90)
    assert len(still.axes) == 1 and still.axes[0].collections[0].get_offsets().shape == (40, 2)
    plt.close(still)
