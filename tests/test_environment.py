import os
import random

import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils.core.environment import OFFLINE_FLAGS


def _draws():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_setup_makes_runs_reproducible():
    cu.setup(seed=123)
    first = _draws()
    cu.setup(seed=123)
    assert _draws() == first
    cu.setup(seed=124)
    assert _draws() != first


def test_setup_sets_threads_offline_flags_and_plotly_renderer():
    import plotly.io as pio

    env = cu.setup(seed=0, threads=1)
    assert torch.get_num_threads() == 1
    assert env.threads == 1 and env.device.type in {"cpu", "cuda", "mps"}
    for name in OFFLINE_FLAGS:
        assert name in os.environ  # setdefault: a value the user chose is kept
    assert pio.renderers.default == "plotly_mimetype+course_html"
    assert "seed=0" in str(env)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_bad_seed_is_rejected(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        cu.setup(seed=seed)


@pytest.mark.parametrize("threads", [0, -2, 2.0])
def test_bad_thread_count_is_rejected(threads):
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        cu.setup(threads=threads)


def test_pick_device_defaults_and_errors(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    assert cu.pick_device("cpu") == torch.device("cpu")
    assert cu.pick_device().type in {"cpu", "cuda", "mps"}
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert cu.pick_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        cu.pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU is available"):
            cu.pick_device("cuda")


def test_progress_yields_every_item(monkeypatch):
    monkeypatch.setenv("COURSE_PROGRESS", "0")
    assert list(cu.progress(range(5), "count")) == [0, 1, 2, 3, 4]
