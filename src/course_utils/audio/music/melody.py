"""Melodies: the constants every other module uses (styles, note lengths, beats per bar, pitch
range, note names), :class:`Note`, :class:`Melody`, :func:`note_name`, and the small shared
helpers (note lengths as text, pitch classes of note names, checks of notes, melody lists and
styles)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from course_utils.core.validation import check_float, check_int

#: Styles, in the order of their tokens.
STYLES = ("chorale", "folk")
#: Note lengths kept, in quarter notes (a tune with any other length is left out).
DURATIONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
#: Beats in a bar (every tune is in 4/4).
BAR_BEATS = 4.0
#: Lowest and highest MIDI pitch a melody may use (G2 to C7): a guard against bad input.
PITCH_RANGE = (43, 96)
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


class Note(NamedTuple):
    """One event of a melody: a MIDI ``pitch`` (``None`` = rest) held for ``duration`` beats."""

    pitch: int | None
    duration: float


def note_name(pitch: int | None) -> str:
    """``60 -> 'C4'``, ``69 -> 'A4'``, ``None -> 'rest'`` (scientific pitch notation)."""
    if pitch is None:
        return "rest"
    pitch = check_int("pitch", pitch, 0, 127)
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def _check_note(note: object, where: str) -> Note:
    if not isinstance(note, (tuple, list)) or len(note) != 2:
        raise ValueError(f"{where} must be a (pitch, duration) pair, got {note!r}.")
    pitch, length = note
    if pitch is not None:
        pitch = check_int(f"{where} pitch", pitch, *PITCH_RANGE)
    length = check_float(f"{where} duration", length, 0.0, 16.0, low_inclusive=False)
    return Note(pitch, length)


@dataclass(frozen=True)
class Melody:
    """A tune: ``bars`` is a tuple of bars, each a tuple of :class:`Note`.

    Args:
        bars: the notes bar by bar (the first bar may be a short pick-up).
        style: one of :data:`STYLES`.
        name: where it comes from (e.g. ``"bach/bwv269"``) or how it was made.
        key: the key it is written in, e.g. ``"F major"`` (as analysed by music21).
    """

    bars: tuple[tuple[Note, ...], ...]
    style: str = "chorale"
    name: str = ""
    key: str = ""

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, got {self.style!r}.")
        if not isinstance(self.bars, (tuple, list)):
            raise ValueError("bars must be a sequence of bars, each a sequence of notes.")
        bars = []
        for b, bar in enumerate(self.bars):
            if not isinstance(bar, (tuple, list)):
                raise ValueError(f"bar {b} must be a sequence of (pitch, duration) notes.")
            bars.append(tuple(_check_note(n, f"bar {b} note {i}") for i, n in enumerate(bar)))
        object.__setattr__(self, "bars", tuple(bars))

    @property
    def notes(self) -> list[Note]:
        """Every event in order, rests included."""
        return [note for bar in self.bars for note in bar]

    @property
    def pitches(self) -> np.ndarray:
        """(n_sounding,) MIDI pitches of the sounding notes (rests left out)."""
        return np.array([n.pitch for n in self.notes if n.pitch is not None], dtype=int)

    @property
    def beats(self) -> float:
        """Total length in beats."""
        return float(sum(n.duration for n in self.notes))

    def transposed(self, semitones: int) -> Melody:
        """The same tune ``semitones`` higher (negative: lower); rests stay rests."""
        semitones = check_int("semitones", semitones, -24, 24)
        bars = tuple(tuple(Note(None if n.pitch is None else n.pitch + semitones, n.duration)
                           for n in bar) for bar in self.bars)
        return Melody(bars, self.style, self.name, _shift_key_name(self.key, semitones))

    def first_bars(self, count: int) -> Melody:
        """The first ``count`` bars (a pick-up bar counts as one)."""
        count = check_int("count", count, 1)
        return Melody(self.bars[:count], self.style, self.name, self.key)

    def describe(self, max_notes: int = 12) -> str:
        """The first notes in words, e.g. ``'| C5 1 D5 1/2 ...'``."""
        max_notes = check_int("max_notes", max_notes, 1)
        words, shown = [], 0
        for bar in self.bars:
            words.append("|")
            for note in bar:
                if shown == max_notes:
                    return " ".join(words + ["..."])
                words.append(f"{note_name(note.pitch)} {_duration_text(note.duration)}")
                shown += 1
        return " ".join(words)


def _duration_text(length: float) -> str:
    return str(Fraction(length).limit_denominator(16))


def _shift_key_name(key: str, semitones: int) -> str:
    if not key:
        return key
    tonic, _, mode = key.partition(" ")
    return f"{NOTE_NAMES[(_pitch_class(tonic) + semitones) % 12]} {mode}"


def _pitch_class(name: str) -> int:
    """``'F#' -> 6``, ``'B-' -> 10`` (music21 writes flats as '-'), ``'Eb' -> 3``."""
    if not name or name[0].upper() not in "CDEFGAB":
        raise ValueError(f"not a note name: {name!r}.")
    base = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}[name[0].upper()]
    for sign in name[1:]:
        if sign == "#":
            base += 1
        elif sign in "-b":
            base -= 1
        else:
            raise ValueError(f"not a note name: {name!r}.")
    return base % 12


def _check_melodies(melodies: object, name: str = "melodies", allow_empty: bool = False
                    ) -> list[Melody]:
    if isinstance(melodies, Melody):
        melodies = [melodies]
    if not isinstance(melodies, (list, tuple)):
        raise ValueError(f"{name} must be a list of Melody objects, got "
                         f"{type(melodies).__name__}.")
    if not melodies and not allow_empty:
        raise ValueError(f"{name} is empty: give at least one melody.")
    for m in melodies:
        if not isinstance(m, Melody):
            raise ValueError(f"{name} must contain Melody objects, got {type(m).__name__}.")
    return list(melodies)


def _check_style(style: object) -> str:
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}.")
    return style  # type: ignore[return-value]
