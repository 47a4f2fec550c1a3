"""Tests for course_utils.image.prompts: the one prompt encoder of chapters 22 and 24."""

import pytest

from course_utils.image.prompts import LabelPromptEncoder

COLOURS = LabelPromptEncoder(names=("red", "green", "blue"), filler_words=("a", "bright"),
                             aliases=(("1", 1),), thing="colour", plurals=True,
                             max_chars=30, number_hint="Only 1 is a number here, not {word}.")


@pytest.mark.parametrize("prompt, label", [("red", 0), ("A bright GREEN!", 1), ("blues", 2),
                                           ("1", 1), ("bright-blue", 2), ("red, red", 0)])
def test_reads_names_aliases_plurals_and_fillers(prompt, label):
    assert COLOURS.encode(prompt) == label


@pytest.mark.parametrize("prompt, match", [
    ("", "empty"), ("!!", "no words"), ("a cat", "Unknown word 'cat'.*red, green, blue"),
    ("red or blue", "2 different colours.*'or'"), ("a bright", "names no colour"),
    ("7", "Only 1 is a number here, not 7"), ("-1", "negative number"),
    ("1.5", "decimal number"), ("red \u00e9", "cannot read"), ("x" * 31, "too long"),
    (None, "must be text"), (["red"], "must be text"),
])
def test_bad_prompts_get_a_message(prompt, match):
    with pytest.raises(ValueError, match=match):
        COLOURS.encode(prompt)


def test_encode_many_and_bad_encoders():
    assert COLOURS.encode_many(["red", "blue"]).tolist() == [0, 2]
    with pytest.raises(ValueError, match="non-empty list"):
        COLOURS.encode_many("red")
    with pytest.raises(ValueError, match="distinct"):
        LabelPromptEncoder(names=("red", "red"))
    with pytest.raises(ValueError, match="distinct"):
        LabelPromptEncoder(names=())
    with pytest.raises(ValueError, match="outside"):
        LabelPromptEncoder(names=("red",), aliases=(("2", 2),))
