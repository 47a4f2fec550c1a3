"""Tests for course_utils.video.model: the frame denoiser (shapes, what each conditioning input
does, guidance through FrameContext), training on tiny clips, frame-by-frame generation
(seeds, the independent-frames baseline, continuation, bad inputs), the Gaussian baseline,
checkpoints (round trip, the command line, and the committed model's quality)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.image.diffusion.ddpm import make_schedule
from course_utils.image.diffusion.denoiser import TrainConfig, save_denoiser
from course_utils.image.diffusion.guidance import guided_eps
from course_utils.video import clips as C
from course_utils.video import judge as J
from course_utils.video import model as M

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = M.FrameDenoiserConfig(channels=8, max_steps=20)


def _randomised(config: M.FrameDenoiserConfig = TINY, seed: int = 0) -> M.FrameDenoiser:
    torch.manual_seed(seed)
    net = M.FrameDenoiser(config)
    for p in net.parameters():            # a fresh net predicts 0: give it random weights
        torch.nn.init.normal_(p, std=0.2)
    return net.eval()


def _video(seed: int = 0) -> M.VideoDiffusion:
    return M.VideoDiffusion(_randomised(TINY, seed), make_schedule(20, "cosine"), {})


def _inputs(b: int = 3) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(b, 3, 16, 16, generator=g)
    previous = torch.rand(b, 3, 16, 16, generator=g) * 2 - 1
    return x, torch.tensor([0, 7, 19])[:b], previous


# --- the network ---------------------------------------------------------------------------

def test_denoiser_shapes_and_conditioning():
    x, t, previous = _inputs()
    y = torch.tensor([0, 1, 44])
    frame = torch.tensor([0, 3, 7])
    assert torch.equal(M.FrameDenoiser(TINY)(x, t, y, previous, None, frame),
                       torch.zeros_like(x))                                  # zero init
    net = _randomised()
    assert net.null_label == 45
    with torch.inference_mode():
        out = net(x, t, y, previous, None, frame)
        assert out.shape == (3, 3, 16, 16) and torch.isfinite(out).all()

        def differs(other: torch.Tensor) -> bool:    # every sample's prediction changed
            return bool((other - out).flatten(1).abs().amax(dim=1).gt(1e-4).all())

        assert differs(net(x, t, torch.tensor([5, 22, 40]), previous, None, frame))  # prompt
        assert differs(net(x, t, y, previous, None, torch.tensor([1, 4, 6])))       # frame
        assert differs(net(x, t, y, -previous, None, frame))              # previous frame
        assert differs(net(x, t, y, previous, torch.zeros(3, dtype=torch.bool), frame))  # given
        assert differs(net(x, t + 1, y, previous, None, frame))           # the step
        # given defaults to all when a previous frame is passed
        torch.testing.assert_close(net(x, t, y, previous, torch.ones(3, dtype=torch.bool),
                                       frame), out)
        # a withheld previous frame is no previous frame, whatever its pixels
        withheld = torch.tensor([False, True, False])
        mixed = net(x, t, y, previous, withheld, frame)
        alone = net(x, t, y, None, None, frame)
        torch.testing.assert_close(mixed[[0, 2]], alone[[0, 2]])
        torch.testing.assert_close(mixed[1], out[1])
        # defaults: no label = the null label, no frame index = frame 0
        torch.testing.assert_close(net(x, t), net(x, t, torch.full((3,), 45), None, None,
                                                  torch.zeros(3, dtype=torch.long)))
        # samples do not see each other
        torch.testing.assert_close(net(x[:1], t[:1], y[:1], previous[:1], None, frame[:1]),
                                   out[:1])
    with pytest.raises(ValueError, match="x must be frames"):
        net(torch.zeros(2, 8, 3, 16, 16), t[:2])
    with pytest.raises(ValueError, match="previous must have the shape of x"):
        net(x, t, y, previous[:, :, :8, :8])
    with pytest.raises(ValueError, match="frame indices must lie in 0..7"):
        net(x, t, y, previous, None, torch.tensor([0, 1, 8]))


def test_guidance_works_unchanged_through_the_frame_context():
    net = _randomised()
    x, t, previous = _inputs()
    given = torch.tensor([True, False, True])
    frame = torch.tensor([2, 0, 5])
    y = torch.tensor([4, 9, 30])
    context = M.FrameContext(net, previous, given, frame)
    assert context.null_label == 45 and context.config == TINY
    with torch.inference_mode():
        cond = net(x, t, y, previous, given, frame)
        null = net(x, t, None, previous, given, frame)
        torch.testing.assert_close(context(x, t, y), cond)
        torch.testing.assert_close(guided_eps(context, y, 1.0)(x, t), cond)
        torch.testing.assert_close(guided_eps(context, y, 0.0)(x, t), null)
        # w = 3: one batched call on 2B inputs, the context repeated
        torch.testing.assert_close(guided_eps(context, y, 3.0)(x, t), null + 3 * (cond - null),
                                   rtol=1e-4, atol=1e-4)


# --- training ------------------------------------------------------------------------------

def test_training_lowers_the_loss():
    clips, labels = C.make_dataset(2, seed=1)
    x = C.clips_to_x(clips)
    schedule = make_schedule(50, "cosine")
    recipe = TrainConfig(steps=40, batch_size=16, lr=1e-2, warmup_steps=5, ema_decay=0.9,
                         seed=0)
    torch.manual_seed(0)
    net = M.FrameDenoiser(M.FrameDenoiserConfig(channels=8, max_steps=50))
    ema, history = M.train_frame_denoiser(net, x, labels, schedule, recipe,
                                          show_progress=False)
    assert len(history.loss) == 40
    assert np.mean(history.loss[:5]) > 0.8                     # eps = 0 at the start: ~1
    assert np.mean(history.loss[-10:]) < 0.5 * np.mean(history.loss[:5])
    assert not ema.training and not any(p.requires_grad for p in ema.parameters())
    # seeded: the same recipe from the same weights gives the same losses
    short = TrainConfig(steps=3, batch_size=8, seed=4)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        fresh = M.FrameDenoiser(TINY)
        runs.append(M.train_frame_denoiser(fresh, x, labels, make_schedule(20), short,
                                           show_progress=False)[1].loss)
    assert runs[0] == runs[1]
    with pytest.raises(ValueError, match="clips_x must be"):
        M.train_frame_denoiser(net, torch.zeros(1, 8, 3, 16, 16), [0], schedule)
    with pytest.raises(ValueError, match="knows 4 frame indices"):
        M.train_frame_denoiser(M.FrameDenoiser(M.FrameDenoiserConfig(channels=8, frames=4)),
                               x, labels, schedule, recipe)
    with pytest.raises(ValueError, match="one label per clip"):
        M.train_frame_denoiser(net, x, labels[:5], schedule, recipe)
    with pytest.raises(ValueError, match="context_dropout"):
        M.train_frame_denoiser(net, x, labels, schedule, recipe, context_dropout=1.5)


# --- generating ----------------------------------------------------------------------------

def test_frame_labels():
    assert M.frame_labels("a blue square bouncing", 8).tolist() == [[C.label_of(
        "blue", "square", "bouncing")] * 8]
    assert M.frame_labels([0, "a red circle moving right"], 3).tolist() == [[0] * 3, [1] * 3]
    per_frame = np.array([[1] * 4 + [2] * 4])
    assert torch.equal(M.frame_labels(per_frame, 8), torch.from_numpy(per_frame))
    with pytest.raises(ValueError, match=r"per-frame labels must be \(B, 8\)"):
        M.frame_labels(np.zeros((2, 5), dtype=int), 8)


def test_generation_is_seeded_and_checked():
    video = _video()
    assert video.frames == 8
    a = video.generate(["a red circle moving left", 44], steps=3, seed=1)
    assert a.shape == (2, 8, 3, 16, 16) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    assert np.array_equal(a, video.generate([0, 44], steps=3, seed=1))
    assert np.array_equal(a, video.generate(np.array([[0] * 8, [44] * 8]), steps=3, seed=1))
    b = video.generate([0, 44], steps=3, seed=2)
    assert not np.allclose(a, b)
    assert not np.allclose(a[:, 1:], a[:, :1])                 # frames are not copies
    # the independent-frames baseline: the same noise, only the previous frame withheld
    alone = video.generate([0, 44], steps=3, seed=1, independent=True)
    assert np.array_equal(alone[:, 0], a[:, 0])                # frame 0 never has one
    assert not np.allclose(alone[:, 1:], a[:, 1:])
    # the prompt may change mid-clip, and the model hears it
    turning = video.generate(np.array([[0] * 4 + [21] * 4, [44] * 8]), steps=3, seed=1)
    assert np.array_equal(turning[:, :4], a[:, :4]) and np.array_equal(turning[1], a[1])
    assert not np.allclose(turning[0, 4:], a[0, 4:])
    ddpm = video.generate([0, 44], steps=3, seed=1, sampler="ddpm")
    assert np.array_equal(ddpm, video.generate([0, 44], steps=3, seed=1, sampler="ddpm"))
    assert not np.allclose(ddpm, a)
    for bad, message in [({"labels": "a purple circle moving left"}, "Unknown word 'purple'"),
                         ({"guidance": -1.0}, "guidance scale w must be >= 0"),
                         ({"guidance": 50.0}, "guidance scale w must be <="),
                         ({"steps": 0}, "steps must be >= 1"),
                         ({"steps": 21}, "steps must be <= 20"),
                         ({"seed": -1}, "seed must be >= 0"),
                         ({"sampler": "euler"}, "sampler must be one of ddim, ddpm"),
                         ({"labels": [45]}, r"labels must lie in 0..44"),
                         ({"labels": []}, "at least one clip"),
                         ({"labels": [0] * 2000}, "number of clips must be <= 1024")]:
        kwargs = {"labels": [0], **bad}
        with pytest.raises(ValueError, match=message):
            video.generate(**kwargs)


def test_continuation_keeps_the_known_frames():
    video = _video()
    real = C.make_clips([1, 22], seed=3)
    out = video.generate([1, 22], start=real[:, :3], steps=3, seed=0)
    assert out.shape == real.shape and np.array_equal(out[:, :3], real[:, :3])
    assert not np.allclose(out[:, 3:], real[:, 3:])
    # the new frames follow from the known ones
    other = video.generate([1, 22], start=real[::-1, :3], steps=3, seed=0)
    assert not np.allclose(other[:, 3:], out[:, 3:])
    # one still, many prompts (animate a still); one prompt, many starts
    still = video.generate([2, 3, 4], start=real[:1, :1], steps=3, seed=0)
    assert still.shape == (3, 8, 3, 16, 16)
    assert all(np.array_equal(clip[0], real[0, 0]) for clip in still)
    both = video.generate("a red circle moving up", start=real[:, :2], steps=3)
    assert both.shape == (2, 8, 3, 16, 16) and np.array_equal(both[:, :2], real[:, :2])
    with pytest.raises(ValueError, match="start must hold 1..7 frames, got 8"):
        video.generate([1, 22], start=real)
    with pytest.raises(ValueError, match=r"clips must be \(N, F, 3, 16, 16\)"):
        video.generate([1, 22], start=real[:, :3, :, :8, :8])
    with pytest.raises(ValueError, match=r"clips must be \(N, F, 3, 16, 16\)"):
        video.generate([1, 22], start=real[0, :3])               # one clip without its axis
    with pytest.raises(ValueError, match="one label per clip"):
        video.generate([1, 2, 3], start=real[:, :2])
    with pytest.raises(ValueError, match="independent-frames baseline cannot continue"):
        video.generate([1, 22], start=real[:, :2], independent=True)


# --- the trivial baseline ------------------------------------------------------------------

def test_prompt_gaussian_has_the_data_mean_and_no_objects():
    clips, labels = C.make_dataset(30, seed=2)
    gauss = M.PromptGaussian(clips, labels)
    means = clips.reshape(45, 30, *clips.shape[1:]).mean(axis=1)           # label order
    np.testing.assert_allclose(gauss.mean_clips(np.arange(45)), means, atol=1e-6)
    np.testing.assert_allclose(gauss.mean_clips("a red square moving up")[0], means[7],
                               atol=1e-6)
    samples = gauss.generate(np.repeat(np.arange(45), 20), seed=0)
    assert samples.shape == (900, 8, 3, 16, 16) and samples.min() >= 0 and samples.max() <= 1
    assert np.abs(samples.reshape(45, 20, -1).mean(1) - means.reshape(45, -1)).mean() < 0.03
    # the judge: superpositions, not clean objects
    labels45 = np.arange(45)
    drawn = gauss.generate(labels45, seed=0)
    scores = J.score_table(J.clip_scores(drawn, labels45))
    failures = J.persistence_failures(J.read_clips(drawn))
    assert scores["shape error"] > 0.2                       # real clips: 0
    assert failures["a frame without an object"] >= 0.3     # real clips: 0
    assert scores["prompt"] <= 0.6
    assert np.array_equal(gauss.generate([7, 8], seed=4), gauss.generate([7, 8], seed=4))
    assert not np.array_equal(gauss.generate([7], seed=4), gauss.generate([7], seed=5))
    with pytest.raises(ValueError, match="no training clips"):
        M.PromptGaussian(clips[labels == 7], labels[labels == 7]).generate([8])
    with pytest.raises(ValueError, match="at least 2"):
        M.PromptGaussian(clips[:1], labels[:1])
    with pytest.raises(ValueError, match="one label per clip"):
        M.PromptGaussian(clips, labels[:5])
    with pytest.raises(ValueError, match="seed must be >= 0"):
        gauss.generate([7], seed=-1)


# --- checkpoints ---------------------------------------------------------------------------

def test_config_and_checkpoint_round_trip(tmp_path):
    with pytest.raises(ValueError, match="multiple of 8"):
        M.FrameDenoiserConfig(channels=12)
    with pytest.raises(ValueError, match="channels must be >= 8"):
        M.FrameDenoiserConfig(channels=0)
    with pytest.raises(ValueError, match="divide by heads"):
        M.FrameDenoiserConfig(channels=8, heads=3)
    with pytest.raises(ValueError, match="num_classes"):
        M.FrameDenoiserConfig(num_classes=10)
    with pytest.raises(ValueError, match="frames must be >= 1"):
        M.FrameDenoiserConfig(frames=0)
    assert M.FrameDenoiserConfig.from_json(TINY.to_json()) == TINY
    net = _randomised()
    schedule = make_schedule(20, "cosine")
    path = save_denoiser(tmp_path / "v.safetensors", net, schedule, {"command": "x"})
    loaded = M.load_video_diffusion(path)
    assert loaded.model.config == TINY and not loaded.model.training
    x, t, previous = _inputs()
    args = (torch.tensor([2, 3, 4]), previous, None, torch.tensor([0, 5, 7]))
    with torch.inference_mode():
        torch.testing.assert_close(loaded.model(x, t, *args), net(x, t, *args))
    assert loaded.schedule.kind == "cosine" and loaded.schedule.num_steps == 20
    assert loaded.record == {"command": "x"}
    assert np.array_equal(loaded.generate([3], steps=2), _video().generate([3], steps=2))
    with pytest.raises(FileNotFoundError, match="video-diffusion"):
        M.load_video_diffusion(tmp_path / "missing.safetensors")


def test_training_command_line(tmp_path):
    out = tmp_path / "cli.safetensors"
    argv = ["train", "--steps", "5", "--batch-size", "8", "--channels", "8", "--num-steps",
            "20", "--per-label", "2", "--out", str(out), "--quiet"]
    assert M.main(argv) == 0
    made = M.load_video_diffusion(out)
    assert made.model.config == M.FrameDenoiserConfig(channels=8, max_steps=20)
    assert made.record["command"].startswith(
        "python -m course_utils.train video-diffusion --steps 5 --batch-size 8")
    assert made.record["steps"] == 5 and made.record["train_clips"] == 90
    assert made.record["weights"] == "float16" and made.schedule.num_steps == 20
    assert next(made.model.parameters()).dtype == torch.float32
    quality = made.record["quality"]
    assert quality["clips"] == 90 and set(quality["video"]) == set(quality["independent"])
    with pytest.raises(SystemExit):
        M.main(["train", "--steps", "many"])


def test_training_clips_and_evaluation_are_what_they_say():
    clips, labels = M.training_clips(2, seed=0)
    made, made_labels = C.make_dataset(2, seed=1)
    assert np.array_equal(clips, made) and np.array_equal(labels, made_labels)
    video = _video()
    result = M.evaluate_model(video, per_label=1, steps=2, seed=3)
    assert result["clips"] == 45 and result["steps"] == 2 and result["seed"] == 3
    labels45 = np.arange(45)
    for name, independent in (("video", False), ("independent", True)):
        clips = video.generate(labels45, steps=2, seed=3, independent=independent)
        expected = J.score_table(J.clip_scores(clips, labels45))
        assert result[name] == {k: round(v, 4) for k, v in expected.items()}
    with pytest.raises(ValueError, match="per_label"):
        M.evaluate_model(video, per_label=0)


# --- the committed model -------------------------------------------------------------------

def test_committed_model_follows_prompts_and_keeps_its_object():
    video = M.load_video_diffusion()
    record = video.record
    assert M.CHECKPOINT.name == "video_diffusion.safetensors"
    assert M.CHECKPOINT.stat().st_size < 1.5e6
    assert record["command"].startswith("python -m course_utils.train video-diffusion")
    assert video.model.config == M.FrameDenoiserConfig() and video.frames == 8
    assert record["train_clips"] == len(M.training_clips()[0])
    assert record["quality"]["video"]["prompt"] >= 0.8          # stored: 0.88
    assert record["quality"]["independent"]["motion"] <= 0.1    # stored: 0.00
    # one clip per prompt, seed 0 (measured: prompt 0.89, object in 0.97 of the frames,
    # path error 0.47 px; independent frames: colour and shape 1.00, motion 0.00, path
    # error 3.5 px)
    labels = np.arange(C.NUM_LABELS)
    clips = video.generate(labels, seed=0)
    reading = J.read_clips(clips)
    ours = J.score_table(J.clip_scores(clips, labels, reading))
    assert ours["prompt"] >= 0.8
    assert ours["colour"] >= 0.9 and ours["shape"] >= 0.9 and ours["motion"] >= 0.8
    assert reading.present.mean() >= 0.9                        # an object in the frame
    same = ((reading.frame_colour == reading.colour[:, None])
            & (reading.frame_shape == reading.shape[:, None]))
    assert same.mean() >= 0.9                                   # and the same object (0.95)
    assert ours["path error"] < 1.0
    alone = J.score_table(J.clip_scores(video.generate(labels, seed=0, independent=True),
                                        labels))
    assert alone["colour"] >= 0.9 and alone["shape"] >= 0.9     # each frame is on prompt
    assert alone["motion"] <= 0.1 and alone["path error"] > 2.0  # but nothing moves right
    # continuing real clips from 4 frames (measured: motion 1.00, prompt 1.00)
    tails = C.make_clips(labels[::4], seed=900)
    continued = video.generate(labels[::4], start=tails[:, :4], seed=0)
    assert np.array_equal(continued[:, :4], tails[:, :4])
    assert J.score_table(J.clip_scores(continued, labels[::4]))["motion"] >= 0.85
