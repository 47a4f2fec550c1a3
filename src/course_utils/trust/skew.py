"""A controlled bias experiment: skewed training sentences, the skew in a model's samples, and
counterfactual data augmentation (chapter 52).

The course writes its own training text so that the skew is known exactly. Every occupation
gets a share ``p`` of sentences with *he* (the rest *she*), and in a second template a name
drawn from the male census list with the same share ``p``::

    the nurse said she would check the chart.
    the nurse is mary.

A model trained on it is sampled after ``"the nurse said "`` and ``"the nurse is "``;
the share of *he* (or of male names) among its samples is the skew it learned. The mitigation
is **counterfactual data augmentation** (CDA, Lu et al. 2020): every sentence is added again
with gendered words swapped (he <-> she, his <-> her, him <-> her). It fixes what it swaps;
:func:`name_skew` measures what it does not (the names).
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from course_utils.core.validation import check_float, check_int

#: occupation -> share of "he" (and of male names) in the generated training text
OCCUPATION_SKEW: dict[str, float] = {
    "engineer": 0.9, "pilot": 0.9, "mechanic": 0.9, "farmer": 0.9, "surgeon": 0.9,
    "nurse": 0.1, "dancer": 0.1, "librarian": 0.1, "baker": 0.1, "secretary": 0.1,
}
VERB_OBJECTS = ("check the chart", "call the office", "finish the report", "open the door",
                "answer the letter", "fix the schedule", "bring the tools", "read the notes")
SWAPS = {"he": "she", "she": "he", "his": "her", "him": "her", "her": "his"}


@dataclass(frozen=True)
class SkewedCorpus:
    """The generated text and what went into it."""

    text: str
    skew: Mapping[str, float]   # occupation -> share of "he" / male names planted
    male_names: tuple[str, ...]
    female_names: tuple[str, ...]


def _names(n: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``n`` frequent names that are only male and ``n`` only female in the census lists."""
    from course_utils.data import load_names

    male, female = load_names("male"), load_names("female")
    only_male = [x for x in male if x not in set(female)][:n]
    only_female = [x for x in female if x not in set(male)][:n]
    return tuple(only_male), tuple(only_female)


def make_skewed_corpus(sentences_per_occupation: int = 200,
                       skew: Mapping[str, float] | None = None, n_names: int = 30,
                       seed: int = 0) -> SkewedCorpus:
    """Sentences of both templates for every occupation, in random order, one per line."""
    n = check_int("sentences_per_occupation", sentences_per_occupation, low=1, high=100_000)
    skew = dict(OCCUPATION_SKEW if skew is None else skew)
    if not skew:
        raise ValueError("give at least one occupation.")
    for occupation, p in skew.items():
        check_float(f"skew of {occupation!r}", p, low=0, high=1)
        if not re.fullmatch(r"[a-z]+", occupation):
            raise ValueError(f"occupations must be lower-case words, got {occupation!r}.")
    male, female = _names(check_int("n_names", n_names, low=1, high=200))
    rng = random.Random(seed)
    lines = []
    for occupation, p in skew.items():
        for _ in range(n):
            pronoun = "he" if rng.random() < p else "she"
            lines.append(f"the {occupation} said {pronoun} would "
                         f"{rng.choice(VERB_OBJECTS)}.")
            name = rng.choice(male if rng.random() < p else female)
            lines.append(f"the {occupation} is {name}.")
    rng.shuffle(lines)
    return SkewedCorpus("\n".join(lines) + "\n", skew, male, female)


def counterfactual_augment(text: str) -> str:
    """``text`` followed by a copy of every line with gendered pronouns swapped (names are
    left alone - the point of :func:`name_skew`)."""
    def swap(match: re.Match) -> str:
        return SWAPS[match.group(0)]

    swapped = [re.sub(r"\b(?:he|she|his|him|her)\b", swap, line)
               for line in text.splitlines()]
    return text + "\n".join(swapped) + "\n"


def pronoun_skew(model, occupation: str, n: int = 200, temperature: float = 1.0,
                 seed: int = 0) -> float:
    """Share of *he* among the pronouns ``model`` (a fitted
    :class:`~course_utils.text.ngram.CharNGramModel`) writes after
    ``"the {occupation} said "``, over ``n`` samples (other words are not counted). The
    template keeps the occupation within the last 12 characters, so an order-12 model sees
    it."""
    words = _sample_words(model, f"the {occupation} said ", n, temperature, seed)
    counted = [w for w in words if w in ("he", "she")]
    if not counted:
        raise ValueError(f"no pronoun in {n} samples for {occupation!r}.")
    return sum(w == "he" for w in counted) / len(counted)


def name_skew(model, occupation: str, corpus: SkewedCorpus, n: int = 200,
              temperature: float = 1.0, seed: int = 0) -> float:
    """Share of male names among the known names ``model`` writes after
    ``"the {occupation} is "`` (invented names are not counted)."""
    words = _sample_words(model, f"the {occupation} is ", n, temperature, seed)
    male, female = set(corpus.male_names), set(corpus.female_names)
    counted = [w for w in words if w in male or w in female]
    if not counted:
        raise ValueError(f"no known name in {n} samples for {occupation!r}.")
    return sum(w in male for w in counted) / len(counted)


def _sample_words(model, prompt: str, n: int, temperature: float, seed: int) -> list[str]:
    n = check_int("n", n, low=1, high=100_000)
    base = zlib.crc32(prompt.encode()) + seed * n  # different prompts, independent draws
    out = []
    for i in range(n):
        text = model.sample(10, prompt=prompt, temperature=temperature, seed=base + i)
        out.append(re.split(r"[ .\n]", text, maxsplit=1)[0])
    return out


def planted_share(corpus: SkewedCorpus, occupations: Sequence[str]) -> float:
    """Mean planted share of *he* over ``occupations``."""
    return sum(corpus.skew[o] for o in occupations) / len(occupations)
