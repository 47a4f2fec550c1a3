"""Sentences for measuring how intelligible synthetic speech is (chapter 30).

Four sets of ten, written so that each stresses one thing a text-to-speech voice and a
recogniser must get right:

- ``plain``: Harvard sentences (IEEE Recommended Practice for Speech Quality Measurements,
  1969; public domain), the standard material of listening tests: common words, balanced
  English sounds.
- ``names``: first and last names from the 1990 US census lists (the ``names`` package), in
  fixed frames, drawn with a fixed seed: words with several spellings, or none a model knows.
- ``numbers``: clock times, money, years, ordinals, decimals and percentages, which must be
  read out (text normalisation) before they can be spoken.
- ``homophones``: words that sound alike and are spelt differently ("pair" / "pear"), where
  only the context tells a listener which was meant.

No sentence was used to tune the voice or the recogniser; they are the held-out test set.
"""

from __future__ import annotations

import random

from course_utils.core.validation import check_int

PLAIN = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
)

NUMBERS = (
    "The train leaves at 7:45 from platform 9.",
    "She paid $12.50 for 3 used books.",
    "The bridge was finished in 1987 after 6 years.",
    "About 40% of the 250 guests stayed for dinner.",
    "He finished 3rd out of 18 runners.",
    "The recipe needs 2.5 cups of flour and 4 eggs.",
    "Room 314 is on the 21st floor.",
    "The town had 12,000 people in 1950.",
    "Call us between 8:15 and 9:30 on Friday.",
    "The package weighs 17 pounds and costs $64.",
)

HOMOPHONES = (
    "The knight rode through the night to reach the castle.",
    "She bought a pair of pears at the market.",
    "They're putting their coats over there.",
    "We need to buy two tickets too.",
    "The flower shop sells flour as well.",
    "He threw the ball through the open window.",
    "I would like to cut the wood myself.",
    "The weather decides whether we sail.",
    "Please write the right answer on the board.",
    "The sun rose as her son woke up.",
)

_NAME_FRAMES = (
    "{first} {last} will arrive on Monday.",
    "Please ask {first} {last} to call back.",
    "The letter was signed by {first} {last}.",
    "{first} {last} won the chess match.",
    "I met {first} {last} at the station.",
)


def name_sentences(count: int = 10, seed: int = 30) -> tuple[str, ...]:
    """``count`` sentences naming a census first and last name, drawn with ``seed``.

    Names are drawn from ranks 200-2000 of each list: real and common enough to be a name,
    rare enough that their spelling is not obvious from the sound.
    """
    from course_utils.data.sources import load_names

    count = check_int("count", count, 1, 100)
    seed = check_int("seed", seed)
    rng = random.Random(seed)
    firsts = load_names("female")[200:2000] + load_names("male")[200:2000]
    lasts = load_names("last")[200:2000]
    return tuple(rng.choice(_NAME_FRAMES).format(first=rng.choice(firsts).title(),
                                                 last=rng.choice(lasts).title())
                 for _ in range(count))


def speech_test_sets() -> dict[str, tuple[str, ...]]:
    """The four held-out sets, by name: plain, names, numbers, homophones (ten each)."""
    return {"plain": PLAIN, "names": name_sentences(), "numbers": NUMBERS,
            "homophones": HOMOPHONES}


def shuffle_words(sentence: str, seed: int = 0) -> str:
    """The sentence's words in a random order (punctuation dropped, a full stop added).

    A control: a recogniser that *listens* writes the shuffled words in the order spoken; one
    that leans on its language model drifts back towards a sentence it finds likely.
    """
    words = [w.strip(".,;:!?") for w in sentence.split()]
    words = [w for w in words if w]
    if len(words) < 2:
        raise ValueError(f"need at least two words to shuffle, got {sentence!r}.")
    rng = random.Random(check_int("seed", seed))
    original = list(words)
    for _ in range(20):  # an order different from the original
        rng.shuffle(words)
        if words != original:
            break
    return " ".join(words) + "."
