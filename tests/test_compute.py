"""Chapter 55: FLOP counts, power-law fits, footprints and the training-cost calculator."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.text.transformer import GPTConfig, TinyGPT
from course_utils.trust import compute as cp


@pytest.mark.parametrize("n_layer, d, context, vocab", [(1, 16, 8, 11), (2, 32, 24, 40)])
def test_layer_by_layer_count_matches_pytorch(n_layer, d, context, vocab):
    model = TinyGPT(GPTConfig(vocab_size=vocab, block_size=context, n_layer=n_layer,
                              n_head=4, n_embd=d, dropout=0.0))
    counted = cp.gpt_forward_flops(model.config)["total"] * 3 * 2 * context
    measured = cp.measured_step_flops(model, batch=2)
    assert measured["total"] == pytest.approx(counted, rel=1e-9)
    assert measured["backward"] == pytest.approx(2 * measured["forward"], rel=1e-9)


def test_forward_terms_follow_the_formula():
    t = cp.forward_flops_per_token(4, 128, 128, 94)
    assert t["total"] == 4 * (24 * 128**2 + 4 * 128 * 128) + 2 * 128 * 94
    assert t["total"] == sum(v for k, v in t.items() if k != "total")


def test_power_law_fit_recovers_exponent():
    n = np.array([1e3, 1e4, 1e5, 1e6])
    fit = cp.fit_power_law(n, 7.0 * n ** -0.2)
    assert fit.alpha == pytest.approx(0.2) and fit.a == pytest.approx(7.0)
    assert fit(1e7) == pytest.approx(7.0 * 1e7 ** -0.2)
    with pytest.raises(ValueError, match="positive"):
        cp.fit_power_law([1, 2], [1, -1])
    with pytest.raises(ValueError, match="at least two"):
        cp.fit_power_law([1], [1])


def test_footprint_and_training_cost():
    f = cp.footprint(3600, watts=(10, 40), grams_per_kwh=(100, 500))
    assert f.kwh == pytest.approx((0.01, 0.04)) and f.grams_co2 == pytest.approx((1, 20))
    c = cp.training_cost(175e9, 300e9, 1e14, utilisation=0.5, watts=500,
                         grams_per_kwh=400, devices=100)
    assert c.flops == pytest.approx(3.15e23)
    assert c.seconds == pytest.approx(3.15e23 / (100 * 1e14 * 0.5))
    assert c.kwh == pytest.approx(c.seconds * 100 * 500 / 3.6e6)
    assert c.kg_co2 == pytest.approx(c.kwh * 0.4)


@pytest.mark.parametrize("kwargs, message", [
    ({"params": -1}, "parameters"), ({"tokens": 0}, "tokens"),
    ({"utilisation": 1.5}, "utilisation"), ({"devices": 0}, "devices"),
    ({"flops_per_second": 0}, "FLOP/s"),
])
def test_training_cost_rejects_bad_input(kwargs, message):
    args = {"params": 1e9, "tokens": 1e10, "flops_per_second": 1e12} | kwargs
    with pytest.raises(ValueError, match=message):
        cp.training_cost(**args)


def test_footprint_rejects_reversed_ranges():
    with pytest.raises(ValueError, match="low <= high"):
        cp.footprint(10, watts=(40, 10))
