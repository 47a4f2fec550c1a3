"""Prompt -> class label: the one prompt encoder of the course's conditional generators.

Chapters 22 (digits) and 24 (3-D shapes) condition a diffusion model on a class label; the
"text encoder" in front of it reads a short prompt ("a seven", "Draw me a cone!") and returns
that label. It is the tiny stand-in for the text encoder of a real text-to-image model (CLIP
or T5 there): text in, the row of the model's label-embedding table out.

:class:`LabelPromptEncoder` is the whole mechanism: a prompt must name exactly one class - by
its name, an alias (e.g. the character ``"7"``) or, if allowed, a plural - and may add filler
words; case and punctuation are ignored. Anything else gets a message that says what the
encoder knows, instead of being dropped silently: unknown words, two classes, no class, a
negative or decimal number (when the encoder reads numbers), characters no known word contains
(emoji, other scripts). The digit encoder is
:class:`course_utils.image.diffusion.guidance.PromptEncoder`; the shape encoder is
:data:`course_utils.image.pointcloud.point_denoiser.SHAPE_PROMPTS`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from course_utils.core.validation import check_text

_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")  # letters and digits, hyphenated runs kept ("3-d")


@dataclass(frozen=True)
class LabelPromptEncoder:
    """Reads the one class a short prompt names.

    Attributes:
        names: ``names[i]`` is the word for label ``i``.
        filler_words: words that may appear but carry no meaning for the model.
        aliases: more words per label, as ``(word, label)`` pairs, e.g. ``("7", 7)``.
        thing: what a label is, for messages ("digit", "shape").
        plurals: accept a name with a trailing "s" ("cubes").
        max_chars: longest prompt accepted.
        number_hint: added to the message for an unknown number, e.g. "Only single digits
            0-9 exist here, not {word}." (``{word}`` is replaced).
        example: example prompts for messages, e.g. "'a three' or 'digit 3'".
    """

    names: tuple[str, ...]
    filler_words: tuple[str, ...] = ()
    aliases: tuple[tuple[str, int], ...] = ()
    thing: str = "class"
    plurals: bool = False
    max_chars: int = 100
    number_hint: str = ""
    example: str = ""

    def __post_init__(self) -> None:
        if not self.names or len(set(self.names)) != len(self.names):
            raise ValueError("names must be a non-empty list of distinct words.")
        for word, label in self.aliases:
            if not 0 <= label < len(self.names):
                raise ValueError(f"alias {word!r} points at label {label}, outside "
                                 f"0..{len(self.names) - 1}.")

    @property
    def vocabulary(self) -> list[str]:
        """Every word the encoder knows: names, aliases, filler words."""
        return [*self.names, *(word for word, _ in self.aliases), *self.filler_words]

    @property
    def _reads_numbers(self) -> bool:
        return any(word.isdigit() for word, _ in self.aliases)

    def _example(self) -> str:
        return f", e.g. {self.example}" if self.example else ""

    def words(self, prompt: str) -> list[str]:
        """Lower-case words of the prompt, punctuation removed.

        Raises:
            ValueError: not text, empty or too long; a negative or decimal number (when the
                encoder reads numbers); characters that no known word contains.
        """
        check_text("prompt", prompt, max_length=self.max_chars)
        if self._reads_numbers:
            if re.search(r"(?<![\w.])-\s*\d", prompt):
                raise ValueError(f"The prompt {prompt!r} has a negative number: this model "
                                 f"draws one {self.thing}{self._example()}.")
            if re.search(r"\d[.,]\d", prompt):
                raise ValueError(f"The prompt {prompt!r} has a decimal number: ask for one "
                                 f"whole {self.thing}{self._example()}.")
        known = set("".join(self.vocabulary))
        unreadable = sorted({ch for ch in prompt.lower() if not ch.isascii() and ch not in known})
        if unreadable:
            raise ValueError(f"The prompt has characters this encoder cannot read: "
                             f"{', '.join(repr(ch) for ch in unreadable[:10])}. Use the words "
                             f"it knows (see the error for an unknown word).")
        known_words = set(self.vocabulary)
        out: list[str] = []
        for word in _WORD.findall(prompt.lower()):
            # "digit-3" is two words; "3-d" is one (a filler word of the shape encoder)
            out.extend([word] if word in known_words or "-" not in word else word.split("-"))
        return out

    def _label_of(self, word: str) -> int | None:
        if word in self.names:
            return self.names.index(word)
        for alias, label in self.aliases:
            if word == alias:
                return label
        if self.plurals and word.endswith("s") and word[:-1] in self.names:
            return self.names.index(word[:-1])
        return None

    def encode(self, prompt: str) -> int:
        """The label the prompt asks for.

        Raises:
            ValueError: empty or too long prompt, no words, two different classes, unknown
                words (the message lists the known ones), or no class at all.
        """
        words = self.words(prompt)
        if not words:
            raise ValueError(f"The prompt {prompt!r} has no words: ask for a "
                             f"{self.thing}{self._example()}.")
        labels, unknown = [], []
        for word in words:
            label = self._label_of(word)
            if label is not None:
                labels.append(label)
            elif word not in self.filler_words:
                unknown.append(word)
        unknown = list(dict.fromkeys(unknown))  # each unknown word once, in order
        named = list(dict.fromkeys(labels))
        if len(named) > 1:
            extra = (f" (It does not know {', '.join(repr(w) for w in unknown)} either.)"
                     if unknown else "")
            raise ValueError(f"The prompt names {len(named)} different {self.thing}s "
                             f"({', '.join(self.names[k] for k in named)}): this model draws "
                             f"one {self.thing} per prompt.{extra}")
        if unknown:
            numbers = [w for w in unknown if w.isdigit()]
            hint = (" " + self.number_hint.format(word=numbers[0])
                    if numbers and self.number_hint else "")
            aliases = (f", the {self.thing}s {', '.join(w for w, _ in self.aliases)}"
                       if self.aliases else "")
            fillers = (f", and the filler words {', '.join(self.filler_words)}"
                       if self.filler_words else "")
            raise ValueError(
                f"Unknown word{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(w) for w in unknown)}.{hint} This model knows only the "
                f"{self.thing} words {', '.join(self.names)}{aliases}{fillers}.")
        if not named:
            raise ValueError(f"The prompt {prompt!r} names no {self.thing}: add one of "
                             f"{', '.join(self.names)}.")
        return named[0]

    def encode_many(self, prompts: Sequence[str]) -> torch.Tensor:
        """Labels (N,) int64 for a list of prompts."""
        if isinstance(prompts, str) or len(prompts) == 0:
            raise ValueError("encode_many needs a non-empty list of prompts.")
        return torch.tensor([self.encode(p) for p in prompts], dtype=torch.long)
