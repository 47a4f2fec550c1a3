"""Note tokens: :class:`MusicTokenizer` writes every event (a note with its duration, a bar
line, the end of a tune, a style) as one character, so that chapter 03's n-gram models and
chapter 05's tiny GPT run on tunes unchanged."""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction

from course_utils.audio.music.melody import (
    DURATIONS,
    STYLES,
    Melody,
    Note,
    _check_note,
    _duration_text,
    _pitch_class,
    note_name,
)
from course_utils.core.validation import check_int

#: Special symbols: the end of a tune, a bar line, and one symbol per style.
END, BAR = "\n", "|"
STYLE_CHARS = {"chorale": "C", "folk": "F"}
_FIRST_NOTE_CHAR = 0x100  # notes are written as characters from U+0100 on (Latin Extended)


class MusicTokenizer:
    """Events <-> one character each.

    The vocabulary is :data:`END`, :data:`BAR`, the style symbols and every ``(pitch,
    duration)`` note event of the ``melodies`` it is built from (a rest is ``pitch = None``).
    A tune is written ``style | notes of bar 1 | notes of bar 2 ... END``, so a corpus is a
    string with one character per event and one tune per line: chapter 03's
    :class:`~course_utils.text.ngram.CharNGramModel` and chapter 05's
    :class:`~course_utils.text.transformer.CharTokenizer` / ``TinyGPT`` work on it as they
    do on text.

    Args:
        melodies: melodies whose note events make the vocabulary (usually the whole corpus,
            so that held-out tunes can be written too), or
        events: the note events themselves (to rebuild a saved tokenizer).
    """

    def __init__(self, melodies: Sequence[Melody] = (), events: Sequence[Note] | None = None
                 ) -> None:
        if events is None:
            found = {note for melody in melodies for note in melody.notes}
            events = sorted(found, key=lambda n: (-1 if n.pitch is None else n.pitch,
                                                  n.duration))
        events = [_check_note(tuple(e), "event") for e in events]
        if not events:
            raise ValueError("the vocabulary has no notes: give at least one melody.")
        if len(set(events)) != len(events):
            raise ValueError("events contains repeated notes.")
        self.events = events
        self._char_of = {e: chr(_FIRST_NOTE_CHAR + i) for i, e in enumerate(events)}
        self._event_of = {c: e for e, c in self._char_of.items()}
        self._style_of = {c: s for s, c in STYLE_CHARS.items()}
        from course_utils.text.transformer import CharTokenizer

        self.alphabet = END + BAR + "".join(STYLE_CHARS.values()) + "".join(
            self._char_of.values())
        #: ids for the tiny GPT (chapter 05's tokenizer over this alphabet)
        self.ids = CharTokenizer(self.alphabet)

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet)

    def __repr__(self) -> str:
        return (f"MusicTokenizer({len(self.events)} note events + "
                f"{self.vocab_size - len(self.events)} symbols)")

    def name(self, char: str) -> str:
        """Readable name of one symbol: ``'C5 1/2'``, ``'rest 1'``, ``'|'``, ``'<end>'``,
        ``'<chorale>'``."""
        if char == END:
            return "<end>"
        if char == BAR:
            return "|"
        if char in self._style_of:
            return f"<{self._style_of[char]}>"
        if char not in self._event_of:
            raise ValueError(f"{char!r} is not a symbol of this vocabulary.")
        note = self._event_of[char]
        return f"{note_name(note.pitch)} {_duration_text(note.duration)}"

    def event(self, char: str) -> Note | None:
        """The note a symbol stands for (``None`` for the special symbols)."""
        return self._event_of.get(char)

    def encode(self, melody: Melody) -> str:
        """``style | bar 1 | bar 2 ... END`` as characters.

        Raises:
            ValueError: a note event outside the vocabulary (it names the note).
        """
        if not isinstance(melody, Melody):
            raise ValueError(f"encode expects a Melody, got {type(melody).__name__}.")
        out = [STYLE_CHARS[melody.style]]
        for bar in melody.bars:
            out.append(BAR)
            for note in bar:
                if note not in self._char_of:
                    raise ValueError(f"the note {note_name(note.pitch)} lasting "
                                     f"{_duration_text(note.duration)} beats is not in the "
                                     "vocabulary.")
                out.append(self._char_of[note])
        return "".join(out) + END

    def encode_corpus(self, melodies: Sequence[Melody]) -> str:
        """Every melody encoded, one after another (one per line)."""
        return "".join(self.encode(m) for m in melodies)

    def decode(self, text: str, style: str = "chorale", name: str = "generated") -> Melody:
        """Characters -> :class:`Melody`, up to the first :data:`END`.

        A leading style symbol sets the style (otherwise ``style`` is used); notes before the
        first bar line open a bar; a style symbol inside a tune is ignored.

        Raises:
            ValueError: a character outside the vocabulary.
        """
        if not isinstance(text, str):
            raise ValueError(f"decode expects text, got {type(text).__name__}.")
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, got {style!r}.")
        bars: list[list[Note]] = []
        for position, char in enumerate(text):
            if char == END:
                break
            if char in self._style_of:
                if position == 0:
                    style = self._style_of[char]
                continue
            if char == BAR:
                bars.append([])
                continue
            if char not in self._event_of:
                raise ValueError(f"{char!r} (position {position}) is not a symbol of this "
                                 "vocabulary.")
            if not bars:
                bars.append([])
            bars[-1].append(self._event_of[char])
        return Melody(tuple(tuple(bar) for bar in bars), style, name, "")

    def encode_prompt(self, text: str) -> str:
        """Typed notes -> symbols, for a model to continue.

        Words are separated by spaces: ``|`` is a bar line; a note is a name and an octave
        (``C4`` is middle C; sharps ``F#5``, flats ``Bb4`` or ``Eb4``) with an optional length
        in beats after a colon (``E4:1/2``, ``G4:1.5``; default one beat); ``rest:2`` is a rest.
        A bar line is added in front if the text does not start with one.

        Example: ``"| E4 E4 F4 G4 | G4 F4 E4 D4"`` (the start of the *Ode to Joy*).

        Raises:
            ValueError: a word that is not a note, a length not in :data:`DURATIONS`, or a
                note the model has never seen (the message names it).
        """
        from course_utils.core.validation import check_text

        text = check_text("notes", text, max_length=400, allow_empty=True)
        out = []
        for word in text.split():
            if word == BAR:
                out.append(BAR)
                continue
            name, _, length_text = word.partition(":")
            try:
                length = float(Fraction(length_text)) if length_text else 1.0
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"{word!r}: the length after ':' must be a number of beats "
                                 "such as 1, 1/2 or 1.5.") from None
            if length not in DURATIONS:
                raise ValueError(f"{word!r}: the length must be one of "
                                 f"{', '.join(_duration_text(d) for d in DURATIONS)} beats.")
            if name.lower() in ("r", "rest"):
                pitch = None
            else:
                match = re.fullmatch(r"([A-Ga-g])([#b]?)(-?\d)", name)
                if not match:
                    raise ValueError(f"{word!r} is not a note: write a name and an octave such "
                                     "as C4, F#5 or Bb4 (optionally :length), or | for a bar "
                                     "line.")
                pitch = 12 * (int(match.group(3)) + 1) + _pitch_class(
                    match.group(1).upper() + match.group(2))
            note = Note(pitch, length)
            if note not in self._char_of:
                known = sorted({n.pitch for n in self.events if n.pitch is not None})
                raise ValueError(f"{word!r}: the model has never seen {note_name(pitch)} "
                                 f"lasting {_duration_text(length)} beats (its notes go from "
                                 f"{note_name(known[0])} to {note_name(known[-1])}, in C major "
                                 "or A minor).")
            out.append(self._char_of[note])
        if not out or out[0] != BAR:
            out.insert(0, BAR)
        return "".join(out)

    def describe(self, text: str, limit: int = 16) -> str:
        """The first ``limit`` symbols of ``text`` by name, e.g. ``'<chorale> | A4 1 ...'``."""
        limit = check_int("limit", limit, 1)
        words = [self.name(c) for c in text[:limit]]
        return " ".join(words) + (" ..." if len(text) > limit else "")
