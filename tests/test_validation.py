import math

import numpy as np
import pytest

from course_utils.core.validation import check_float, check_int, check_text


def test_check_int_accepts_numpy_and_rejects_floats_bools_and_range():
    assert check_int("k", np.int64(3), low=1) == 3
    with pytest.raises(ValueError, match="k must be an integer, got 3.0"):
        check_int("k", 3.0)
    with pytest.raises(ValueError, match="must be an integer"):
        check_int("k", True)
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        check_int("k", 0, low=1)
    with pytest.raises(ValueError, match="k must be <= 5, got 6"):
        check_int("k", 6, high=5)


@pytest.mark.parametrize("value", [math.nan, math.inf, "hot", None])
def test_check_float_rejects_non_finite_and_non_numbers(value):
    with pytest.raises(ValueError, match="temperature must be"):
        check_float("temperature", value)


def test_check_float_exclusive_bounds():
    assert check_float("p", 1.0, low=0, high=1, low_inclusive=False) == 1.0
    with pytest.raises(ValueError, match=r"p must be > 0, got 0"):
        check_float("p", 0.0, low=0, low_inclusive=False)
    with pytest.raises(ValueError, match=r"temperature must be > 0, got -1"):
        check_float("temperature", -1, low=0, low_inclusive=False)


def test_check_text_messages():
    assert check_text("prompt", "abc", allowed="abc") == "abc"
    with pytest.raises(ValueError, match="prompt is empty"):
        check_text("prompt", "")
    assert check_text("prompt", "", allow_empty=True) == ""
    with pytest.raises(ValueError, match="too long: 4 characters, the limit is 3"):
        check_text("prompt", "abcd", max_length=3)
    with pytest.raises(ValueError, match=r"never seen: 'z', 'é'"):
        check_text("prompt", "zaé", allowed="abc")
    with pytest.raises(ValueError, match="must be text"):
        check_text("prompt", 42)


@pytest.mark.parametrize("value, hint", [("3", "without quotes"), ("3.5", "without quotes"),
                                         (3.5, "a float"), (float("nan"), "a float"),
                                         (None, "None"), ([3], r"\[3\]")])
def test_check_int_says_what_to_pass(value, hint):
    with pytest.raises(ValueError, match=f"count must be an integer, got .*{hint}"):
        check_int("count", value)
