import numpy as np
import pytest

from course_utils.data import make_2d_mixture, make_two_moons
from course_utils.toy import density


@pytest.fixture(scope="module")
def four_blobs():
    x, modes = make_2d_mixture(1200, n_modes=4, radius=3.0, spread=0.2, seed=0)
    return x[:800], x[800:], modes[:800]


def test_mixture_beats_single_gaussian_on_held_out_data(four_blobs):
    train, val, _ = four_blobs
    one = density.fit_mixture(train, 1)
    four = density.fit_mixture(train, 4)
    assert density.mean_log_likelihood(four, val) > density.mean_log_likelihood(one, val) + 1.0


def test_choose_components_finds_the_true_number_of_blobs(four_blobs):
    train, val, _ = four_blobs
    search = density.choose_components(train, val, [1, 2, 3, 4, 6, 8])
    assert search.best == 4
    assert len(search.val_ll) == 6 and search.train_ll[-1] >= search.train_ll[0]


def test_samples_are_shuffled_reproducible_and_near_the_blobs(four_blobs):
    train, _, _ = four_blobs
    model = density.fit_mixture(train, 4)
    a, b = density.sample_mixture(model, 400, seed=1), density.sample_mixture(model, 400, seed=1)
    assert a.shape == (400, 2) and np.array_equal(a, b)
    radii = np.linalg.norm(a, axis=1)
    assert abs(np.median(radii) - 3.0) < 0.2
    first_half_centre = a[:200].mean(0)  # shuffled: both halves look alike
    assert np.linalg.norm(first_half_centre) < 0.6


def test_class_conditional_mixture_classifies_and_generates():
    x, y = make_two_moons(1500, noise=0.1, seed=3)
    model = density.ClassConditionalMixture(n_components=6).fit(x[:1000], y[:1000])
    accuracy = (model.predict(x[1000:]) == y[1000:]).mean()
    assert accuracy > 0.97
    probs = model.predict_proba(x[1000:1010])
    assert probs.shape == (10, 2) and np.allclose(probs.sum(1), 1)
    ones = model.sample(300, label=1, seed=0)
    assert (model.predict(ones) == 1).mean() > 0.95
    with pytest.raises(ValueError, match="Unknown class 7"):
        model.sample(5, label=7)


@pytest.mark.parametrize("bad, message", [
    (np.zeros(5), r"must be a 2-D array"),
    (np.full((5, 2), np.nan), "NaN or infinite"),
    (np.zeros((2, 2)), "at least 3 rows"),
])
def test_bad_inputs_are_rejected(bad, message):
    with pytest.raises(ValueError, match=message):
        density.fit_mixture(bad, 3)


def test_bad_component_count_is_rejected(four_blobs):
    with pytest.raises(ValueError, match="n_components must be >= 1"):
        density.fit_mixture(four_blobs[0], 0)
    with pytest.raises(ValueError, match="at least one candidate"):
        density.choose_components(four_blobs[0], four_blobs[1], [])


def test_sampling_leaves_the_model_alone_and_refit_resets_classes(four_blobs):
    train, val, modes = four_blobs
    model = density.fit_mixture(train, 4)
    before = model.random_state
    density.sample_mixture(model, 10, seed=5)
    assert model.random_state == before
    with pytest.raises(ValueError, match="x has 3 columns but the model was fitted on 2"):
        density.mean_log_likelihood(model, np.zeros((5, 3)))
    clf = density.ClassConditionalMixture(n_components=2).fit(train, modes)
    assert clf.classes == [0, 1, 2, 3]
    clf.fit(train[modes < 2], modes[modes < 2])
    assert clf.classes == [0, 1]
