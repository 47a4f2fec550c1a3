import numpy as np
import pytest

from course_utils.metrics.two_sample import classifier_two_sample_auc, moment_gaps


def _gaussian(n, shift=0.0, scale=1.0, seed=0):
    return np.random.default_rng(seed).normal(shift, scale, size=(n, 2))


def test_same_distribution_is_indistinguishable():
    auc = classifier_two_sample_auc(_gaussian(1000, seed=1), _gaussian(1000, seed=2))
    assert 0.4 < auc < 0.6
    gaps = moment_gaps(_gaussian(4000, seed=1), _gaussian(4000, seed=2))
    assert gaps.mean_gap < 0.05 and gaps.cov_gap < 0.08


def test_shifted_or_squeezed_samples_are_detected():
    real = _gaussian(1000, seed=1)
    assert classifier_two_sample_auc(real, _gaussian(1000, shift=3.0, seed=2)) > 0.97
    assert classifier_two_sample_auc(real, _gaussian(1000, scale=0.3, seed=2)) > 0.8
    gaps = moment_gaps(real, _gaussian(1000, shift=1.0, scale=0.5, seed=2))
    assert gaps.mean_gap > 0.5 and gaps.cov_gap > 0.5


def test_auc_is_reproducible_with_a_seed():
    real, fake = _gaussian(300, seed=1), _gaussian(300, shift=0.5, seed=2)
    assert classifier_two_sample_auc(real, fake, seed=4) == classifier_two_sample_auc(real, fake, seed=4)


def test_bad_inputs():
    with pytest.raises(ValueError, match="different dimensions"):
        moment_gaps(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="at least 20 rows"):
        classifier_two_sample_auc(np.zeros((5, 2)), np.zeros((50, 2)))
    with pytest.raises(ValueError, match="test_fraction must be < 1"):
        classifier_two_sample_auc(_gaussian(50), _gaussian(50), test_fraction=1.0)
