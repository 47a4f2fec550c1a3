"""Block bootstrap intervals of a paired mean difference."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.metrics.bootstrap import Interval, block_bootstrap, seed_spread


def test_a_clear_difference_excludes_zero_and_noise_does_not():
    rng = np.random.default_rng(0)
    a = rng.normal(size=5000)
    clear = block_bootstrap(a - 0.5, a + rng.normal(scale=0.1, size=5000), block=100)
    assert clear.excludes_zero and clear.high < 0 and clear.low < clear.estimate < clear.high
    noise = block_bootstrap(rng.normal(size=5000), rng.normal(size=5000), block=100)
    assert not noise.excludes_zero


def test_blocks_widen_the_interval_of_correlated_scores():
    # a slowly varying difference: neighbours agree, so single positions overstate certainty
    rng = np.random.default_rng(1)
    d = np.repeat(rng.normal(size=50), 100)  # (5000,) in runs of 100
    single = block_bootstrap(d, block=1)
    blocks = block_bootstrap(d, block=200)
    assert (blocks.high - blocks.low) > 3 * (single.high - single.low)


def test_the_interval_covers_the_true_mean_most_of_the_time():
    rng = np.random.default_rng(2)
    covered = sum(
        (lambda i: i.low <= 0.3 <= i.high)(block_bootstrap(rng.normal(0.3, 1, 400), block=1,
                                                            n_boot=500, seed=s))
        for s in range(60))
    assert covered >= 50  # 95 % nominal; 60 tries


def test_interval_prints_its_level():
    assert "95% interval" in str(Interval(0.1, -0.1, 0.2, 0.95))


@pytest.mark.parametrize("a, b, kwargs, match", [
    ([1.0], None, {}, "at least two"),
    ([1.0, 2.0], [1.0], {}, "same length"),
    ([[1.0, 2.0]], None, {}, "1-D"),
    ([1.0, float("nan")], None, {}, "finite"),
    ([1.0, 2.0, 3.0], None, {"block": 4}, "block"),
    ([1.0, 2.0, 3.0], None, {"block": 0}, "block"),
    ([1.0, 2.0, 3.0], None, {"block": 1, "level": 1.0}, "level"),
    ([1.0, 2.0, 3.0], None, {"block": 1, "n_boot": 2}, "n_boot"),
])
def test_bad_input_is_a_clear_error(a, b, kwargs, match):
    with pytest.raises(ValueError, match=match):
        block_bootstrap(np.array(a), None if b is None else np.array(b), **kwargs)


def test_seed_spread():
    mean, sd = seed_spread([1.0, 2.0, 3.0])
    assert mean == 2.0 and sd == pytest.approx(1.0)
    with pytest.raises(ValueError, match="two seeds"):
        seed_spread([1.0])
