r"""Symbolic music: melodies from the music21 corpus, note tokens, a synthesiser, piano rolls,
music statistics and a tiny transformer that writes tunes (chapter 31).

A **melody** is a list of bars, each a list of notes ``(pitch, duration)``: ``pitch`` is a
MIDI number (60 = middle C, +1 per semitone) or ``None`` for a rest, ``duration`` is in
quarter notes (1 = one beat). The data are the soprano lines of J. S. Bach's chorales and
German folk songs of the Essen collection, both in 4/4 time, from the corpus that ships with
music21 (Bach: public domain; Essen folk songs: encoded by Helmut Schaffrath, distributed with
music21, BSD licence). Parsing them with music21 takes minutes, so the notes are extracted
once (:func:`extract_corpus`, command in :data:`EXTRACT_COMMAND`) and stored in
``data/music_corpus.json.gz``; :func:`load_corpus` reads that file.

Sections, in order:

- melodies: :class:`Melody`, :func:`melody_from_part`, :func:`extract_corpus`,
  :func:`load_corpus`, transposition to C major / A minor (:func:`transpose_to_common_key`),
  a split that keeps every tune and its variants on one side (:func:`split_corpus`);
- tokens: :class:`MusicTokenizer` - one symbol per event (a note with its duration, a bar
  line, the end of a tune, a style), written as one *character* each, so that chapter 03's
  n-gram models and chapter 05's tiny GPT run on tunes unchanged;
- sound: :func:`midi_to_hz`, :func:`karplus_strong`, :func:`additive_tone`,
  :func:`synthesize`;
- pictures: :func:`piano_roll_figure` (matplotlib), :func:`piano_roll_traces` (Plotly);
- statistics: histograms of pitch classes, intervals (at any lag) and durations, the
  Krumhansl-Kessler key profiles, key consistency, bars of the right length,
  :func:`js_divergence` and :func:`total_variation`;
- models: :func:`random_melodies`, :class:`NGramSampler`, :func:`generate`, and the
  committed checkpoint (:func:`load_music_gpt`, trained by ``python -m course_utils.train
  music-gpt``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

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
#: Where the extracted corpus lives (inside the package).
CORPUS_FILE = Path(__file__).resolve().parent.parent / "data" / "music_corpus.json.gz"
#: The command that writes :data:`CORPUS_FILE` from the music21 corpus.
EXTRACT_COMMAND = "python -m course_utils.audio.music extract"


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


# --- extraction from music21 (offline: minutes) ---------------------------------------------

class Rejected(ValueError):
    """A score that cannot become a 4/4 melody with the kept note lengths (the reason says
    why)."""


def melody_from_part(part: Any, style: str, name: str = "", key: str = "") -> Melody:
    """Turn a music21 part (one voice) into a :class:`Melody`.

    A chord keeps its highest note; grace notes are dropped; a note tied to the same pitch
    in the same bar is merged with it (a tie across a bar line becomes two notes).

    Raises:
        Rejected: a time signature other than 4/4, a note length outside :data:`DURATIONS`,
            a bar longer than four beats, or fewer than four bars.
    """
    from music21 import stream

    signatures = list(part.recurse().getElementsByClass("TimeSignature"))
    if not signatures or any(ts.ratioString != "4/4" for ts in signatures):
        raise Rejected("not in 4/4 throughout")
    bars: list[list[Note]] = []
    for measure in part.getElementsByClass(stream.Measure):
        source = measure.voices[0] if measure.voices else measure
        bar: list[Note] = []
        tied = False
        for element in source.notesAndRests:
            length = Fraction(element.quarterLength).limit_denominator(48)
            if length == 0:
                continue  # grace note
            if element.isRest:
                pitch = None
            elif element.isChord:
                pitch = max(p.midi for p in element.pitches)
            else:
                pitch = element.pitch.midi
            if tied and bar and bar[-1].pitch == pitch:
                bar[-1] = Note(pitch, bar[-1].duration + float(length))
            else:
                bar.append(Note(pitch, float(length)))
            tie = getattr(element, "tie", None)
            tied = tie is not None and tie.type in ("start", "continue")
        if sum(n.duration for n in bar) > BAR_BEATS + 1e-9:
            raise Rejected("a bar longer than four beats")
        if bar:
            bars.append(bar)
    bars = _merge_split_bars(bars)
    lengths = {n.duration for bar in bars for n in bar}
    odd = sorted(lengths - set(DURATIONS))
    if odd:
        raise Rejected(f"note lengths {odd} (not in DURATIONS)")
    if len(bars) < 4:
        raise Rejected("fewer than four bars")
    pitches = [n.pitch for bar in bars for n in bar if n.pitch is not None]
    if not pitches or min(pitches) < PITCH_RANGE[0] or max(pitches) > PITCH_RANGE[1]:
        raise Rejected("no notes, or notes outside the pitch range")
    return Melody(tuple(tuple(bar) for bar in bars), style, name, key)


def _merge_split_bars(bars: list[list[Note]]) -> list[list[Note]]:
    """Join an inner bar that is short with the next one when together they make at most
    four beats: a repeat sign in the middle of a bar (common in the chorales) splits it into
    two measures, e.g. 3 + 1 beats."""
    def beats(bar: list[Note]) -> float:
        return sum(n.duration for n in bar)

    merged = bars[:1]
    for bar in bars[1:]:
        if len(merged) > 1 and beats(merged[-1]) < BAR_BEATS and (
                beats(merged[-1]) + beats(bar) <= BAR_BEATS + 1e-9):
            merged[-1] = merged[-1] + bar
        else:
            merged.append(bar)
    return merged


def _key_name(music21_key: Any) -> str:
    return f"{NOTE_NAMES[music21_key.tonic.pitchClass]} {music21_key.mode}"


def _chorale_melodies(show_progress: bool) -> tuple[list[Melody], Counter]:
    from music21 import corpus

    from course_utils.core.progress import progress

    paths = sorted(p for p in corpus.getComposer("bach") if p.suffix in (".mxl", ".xml"))
    melodies, reasons = [], Counter()
    for path in progress(paths, "Bach chorales", disable=not show_progress):
        score = corpus.parse(path)
        sopranos = [p for p in score.parts if "soprano" in (p.partName or "").lower()]
        if not sopranos:
            reasons["no soprano part"] += 1
            continue
        try:  # the key is analysed on all voices (more evidence than the tune alone)
            melodies.append(melody_from_part(sopranos[0], "chorale", f"bach/{path.stem}",
                                             _key_name(score.analyze("key"))))
        except Rejected as why:
            reasons[str(why)] += 1
    return melodies, reasons


def _essen_tunes(path: Path) -> list[tuple[str, str]]:
    """(id, ABC text) of every 4/4 tune in one Essen ABC file."""
    text = path.read_text(encoding="latin-1")
    tunes = []
    for record in re.split(r"(?m)^(?=X:)", text):
        fields = dict(line.split(":", 1) for line in record.splitlines()
                      if len(line) > 1 and line[1] == ":")
        if "X" in fields and fields.get("M", "").strip() == "4/4":
            tunes.append((fields.get("N", fields["X"]).strip(), record))
    return tunes


def _folk_melodies(show_progress: bool) -> tuple[list[Melody], Counter]:
    from music21 import converter, corpus

    from course_utils.core.progress import progress

    paths = sorted(p for p in corpus.getPaths(fileExtensions=("abc",))
                   if p.parent.name == "essenFolksong" and not p.stem.startswith("test"))
    tunes = [(f"essen/{path.stem}/{tune_id}", text) for path in paths
             for tune_id, text in _essen_tunes(path)]
    melodies, reasons = [], Counter()
    for name, text in progress(tunes, "Essen folk songs (4/4)", disable=not show_progress):
        try:
            score = converter.parse(text, format="abc")
            melodies.append(melody_from_part(score.parts[0], "folk", name,
                                             _key_name(score.analyze("key"))))
        except Rejected as why:
            reasons[str(why)] += 1
        except Exception as error:  # noqa: BLE001 - a malformed tune is skipped, and counted
            reasons[f"music21 could not read it ({type(error).__name__})"] += 1
    return melodies, reasons


def _bars_text(melody: Melody) -> str:
    return "|".join(" ".join(f"{'r' if n.pitch is None else n.pitch}/{_duration_text(n.duration)}"
                             for n in bar) for bar in melody.bars)


def _bars_from_text(text: str) -> tuple[tuple[Note, ...], ...]:
    bars = []
    for bar in text.split("|"):
        notes = []
        for word in bar.split():
            pitch, length = word.split("/", 1)
            notes.append(Note(None if pitch == "r" else int(pitch), float(Fraction(length))))
        bars.append(tuple(notes))
    return tuple(bars)


def extract_corpus(path: str | Path = CORPUS_FILE, show_progress: bool = True) -> dict:
    """Parse the chorales and the 4/4 Essen folk songs with music21 and write ``path``.

    A few minutes of CPU time; run by :data:`EXTRACT_COMMAND`. Melodies are stored in their
    original keys; :func:`transpose_to_common_key` moves them at load time.

    Returns:
        A summary: pieces kept per style and the reasons others were left out.
    """
    import music21

    start = time.process_time()
    chorales, chorale_reasons = _chorale_melodies(show_progress)
    folk, folk_reasons = _folk_melodies(show_progress)
    summary = {"kept": {"chorale": len(chorales), "folk": len(folk)},
               "left out": {"chorale": dict(chorale_reasons), "folk": dict(folk_reasons)},
               "music21": music21.__version__, "command": EXTRACT_COMMAND,
               "cpu_seconds": round(time.process_time() - start, 1)}
    record = {"summary": summary,
              "pieces": [{"name": m.name, "style": m.style, "key": m.key, "bars": _bars_text(m)}
                         for m in chorales + folk]}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as out:
        json.dump(record, out, separators=(",", ":"))
    return summary


def corpus_summary(path: str | Path = CORPUS_FILE) -> dict:
    """What :func:`extract_corpus` kept and left out, and the command that wrote the file."""
    return _read_corpus_file(path)["summary"]


def _read_corpus_file(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: write it with `{EXTRACT_COMMAND}`.")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def load_corpus(style: str | None = None, path: str | Path = CORPUS_FILE) -> list[Melody]:
    """The extracted melodies, in their original keys.

    Args:
        style: ``"chorale"``, ``"folk"`` or ``None`` for both.
        path: the file written by :func:`extract_corpus`.
    """
    if style is not None and style not in STYLES:
        raise ValueError(f"style must be one of {STYLES} or None, got {style!r}.")
    pieces = _read_corpus_file(path)["pieces"]
    return [Melody(_bars_from_text(p["bars"]), p["style"], p["name"], p["key"])
            for p in pieces if style is None or p["style"] == style]


def common_key_shift(key: str) -> int:
    """Semitones that move ``key`` to C major (major keys) or A minor (minor keys), in
    ``[-6, 5]`` so that a tune moves by at most a tritone and keeps its register.

    ``shift = ((target - tonic + 6) mod 12) - 6`` with target 0 (C) or 9 (A).
    """
    if not isinstance(key, str) or len(key.split()) != 2:
        raise ValueError(f"key must look like 'F major' or 'B- minor', got {key!r}.")
    tonic, mode = key.split()
    if mode not in ("major", "minor"):
        raise ValueError(f"the mode must be 'major' or 'minor', got {mode!r}.")
    target = 0 if mode == "major" else 9
    return (target - _pitch_class(tonic) + 6) % 12 - 6


def transpose_to_common_key(melodies: Sequence[Melody]) -> list[Melody]:
    """Every melody moved to C major or A minor (:func:`common_key_shift` of its key)."""
    out = []
    for melody in melodies:
        if not isinstance(melody, Melody):
            raise ValueError(f"expected Melody objects, got {type(melody).__name__}.")
        out.append(melody.transposed(common_key_shift(melody.key)))
    return out



def tune_families(melodies: Sequence[Melody], k: int = 8, threshold: float = 0.3) -> list[int]:
    """Group melodies that share a tune, so that a split keeps a tune and its variants together.

    A melody's *shingles* are its runs of ``k`` consecutive intervals (semitone steps between
    sounding notes: the same in any key, and blind to rhythm, so a re-harmonised or
    re-barred copy of a tune still matches). Two melodies are linked when either has at least
    ``threshold`` of its shingles in the other (containment, as in
    :func:`course_utils.data.curation.overlap_groups`); families are the connected components,
    found with an inverted index (shingle -> melodies) instead of comparing every pair.

    Returns:
        A family id per melody, numbered in order of first appearance.
    """
    k = check_int("k", k, 2, 64)
    threshold = check_float("threshold", threshold, 0.0, 1.0, low_inclusive=False)
    shingles = []
    for melody in melodies:
        if not isinstance(melody, Melody):
            raise ValueError(f"expected Melody objects, got {type(melody).__name__}.")
        steps = np.diff(melody.pitches)
        shingles.append({tuple(steps[i:i + k]) for i in range(max(1, len(steps) - k + 1))})
    index: dict[tuple, list[int]] = {}
    for i, windows in enumerate(shingles):
        for window in windows:
            index.setdefault(window, []).append(i)
    parent = list(range(len(melodies)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, windows in enumerate(shingles):
        shared = Counter(j for window in windows for j in index[window] if j != i)
        for j, count in shared.items():
            if count / len(windows) >= threshold:
                parent[root(j)] = root(i)
    ids: dict[int, int] = {}
    return [ids.setdefault(root(i), len(ids)) for i in range(len(melodies))]


@dataclass(frozen=True)
class MusicSplits:
    """Training, validation and test melodies; no tune family is on two sides."""

    train: list[Melody]
    val: list[Melody]
    test: list[Melody]

    def sizes(self) -> dict[str, dict[str, int]]:
        """Melodies per split and style."""
        return {name: {style: sum(m.style == style for m in part) for style in STYLES}
                for name, part in (("train", self.train), ("val", self.val),
                                   ("test", self.test))}


def split_corpus(melodies: Sequence[Melody], val: int | dict[str, int] = 20,
                 test: int | dict[str, int] = 40, seed: int = 0) -> MusicSplits:
    """Hold out whole tune families (:func:`tune_families`): for each style, families are
    visited in a random order and put into test until it has ``test`` melodies, then into
    validation until it has ``val``; the rest is training data.

    Args:
        melodies: the corpus.
        val, test: melodies wanted per style (one number, or one per style).
        seed: seed of the family order.
    """
    seed = check_int("seed", seed, 0)
    wanted = {}
    for name, value in (("val", val), ("test", test)):
        per_style = value if isinstance(value, dict) else {style: value for style in STYLES}
        wanted[name] = {style: check_int(f"{name}[{style!r}]", per_style.get(style, 0), 0)
                        for style in STYLES}
    families = tune_families(melodies)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[Melody]] = {"train": [], "val": [], "test": []}
    for style in STYLES:
        members: dict[int, list[Melody]] = {}
        for melody, family in zip(melodies, families):
            if melody.style == style:
                members.setdefault(family, []).append(melody)
        order = list(members)
        rng.shuffle(order)
        for family in order:
            group = members[family]
            for name in ("test", "val"):
                held = sum(m.style == style for m in parts[name])
                if held + len(group) <= wanted[name][style]:
                    parts[name] += group
                    break
            else:
                parts["train"] += group
        for name in ("test", "val"):
            held = sum(m.style == style for m in parts[name])
            if held < wanted[name][style]:
                raise ValueError(f"only {held} {style} melodies could be held out for {name}, "
                                 f"{wanted[name][style]} were asked for.")
    return MusicSplits(parts["train"], parts["val"], parts["test"])


# --- tokens ---------------------------------------------------------------------------------

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
        return f"MusicTokenizer({len(self.events)} note events + {self.vocab_size - len(self.events)} symbols)"

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

    def describe(self, text: str, limit: int = 16) -> str:
        """The first ``limit`` symbols of ``text`` by name, e.g. ``'<chorale> | A4 1 ...'``."""
        limit = check_int("limit", limit, 1)
        words = [self.name(c) for c in text[:limit]]
        return " ".join(words) + (" ..." if len(text) > limit else "")


# --- sound ----------------------------------------------------------------------------------

def midi_to_hz(pitch: float | np.ndarray) -> np.ndarray | float:
    """Equal temperament: ``f = 440 * 2 ** ((m - 69) / 12)`` (MIDI 69 = A4 = 440 Hz)."""
    value = np.asarray(pitch, dtype=float)
    if not np.all(np.isfinite(value)) or np.any(value < 0) or np.any(value > 135):
        raise ValueError(f"MIDI pitch must be between 0 and 135, got {pitch!r}.")
    hz = 440.0 * 2.0 ** ((value - 69.0) / 12.0)
    return float(hz) if hz.ndim == 0 else hz


def karplus_strong(frequency: float, seconds: float, rate: int = 16_000, decay: float = 0.996,
                   seed: int = 0) -> np.ndarray:
    r"""A plucked string (Karplus & Strong 1983): a burst of noise circulating in a delay line
    that averages neighbouring samples on every pass, so high harmonics die first.

    With period :math:`P = \text{rate} / f` samples, :math:`N = \lfloor P - 1/2 \rfloor` and
    :math:`a = P - 1/2 - N` (the two-point average delays by half a sample; :math:`a`
    interpolates the fractional rest):

    .. math::

        y_n = \frac{d}{2}\bigl[(1 - a)(y_{n-N} + y_{n-N-1}) + a\,(y_{n-N-1} + y_{n-N-2})\bigr],

    started from :math:`N` uniform noise samples. Every term lies at least :math:`N` samples
    back, so each block of :math:`N` samples is computed at once.

    Args:
        frequency: pitch in Hz, between 20 Hz and rate / 8.
        seconds: length, in (0, 30].
        rate: sample rate in Hz.
        decay: loss per pass, in (0, 1]; lower is a duller, shorter note.
        seed: seed of the initial noise.

    Returns:
        (round(seconds * rate),) float32 samples, peak about 1.
    """
    from course_utils.audio.signal import check_rate

    rate = check_rate(rate)
    frequency = check_float("frequency", frequency, 20.0, rate / 8)
    seconds = check_float("seconds", seconds, 0.0, 30.0, low_inclusive=False)
    decay = check_float("decay", decay, 0.0, 1.0, low_inclusive=False)
    total = max(1, round(seconds * rate))
    period = rate / frequency
    n = int(math.floor(period - 0.5))
    a = period - 0.5 - n
    rng = np.random.default_rng(check_int("seed", seed, 0))
    y = np.zeros(total + 2)  # two leading zeros stand for y_{-2}, y_{-1}
    y[2:2 + n] = rng.uniform(-1.0, 1.0, min(n, total))
    y[2:2 + n] -= y[2:2 + n].mean()  # no DC offset
    for start in range(2 + n, total + 2, n):
        stop = min(start + n, total + 2)
        back1 = y[start - n:stop - n]
        back2 = y[start - n - 1:stop - n - 1]
        back3 = y[start - n - 2:stop - n - 2]
        y[start:stop] = 0.5 * decay * ((1 - a) * (back1 + back2) + a * (back2 + back3))
    return y[2:].astype(np.float32)


#: Relative amplitudes of the harmonics of :func:`additive_tone`'s default "organ" voice.
ORGAN_PARTIALS = (1.0, 0.5, 0.3, 0.15, 0.08)


def additive_tone(frequency: float, seconds: float, rate: int = 16_000,
                  partials: Sequence[float] = ORGAN_PARTIALS, attack: float = 0.02,
                  release: float = 0.05) -> np.ndarray:
    r"""A sustained tone as a sum of harmonics, :math:`x(t) = e(t) \sum_k a_k \sin(2\pi k f t)`,
    with a linear attack and release envelope :math:`e(t)`; harmonics above the Nyquist
    frequency rate / 2 are left out (no aliasing).

    Args:
        frequency: the fundamental in Hz (20 Hz to rate / 2).
        seconds: length in (0, 30].
        rate: sample rate in Hz.
        partials: amplitude :math:`a_k` of harmonic ``k = 1, 2, ...`` (1 to 32 values >= 0).
        attack, release: envelope ramps in seconds (>= 0).

    Returns:
        (round(seconds * rate),) float32 samples, peak at most 1.
    """
    from course_utils.audio.signal import check_rate

    rate = check_rate(rate)
    frequency = check_float("frequency", frequency, 20.0, rate / 2, high_inclusive=False)
    seconds = check_float("seconds", seconds, 0.0, 30.0, low_inclusive=False)
    amplitudes = np.asarray(partials, dtype=float)
    if amplitudes.ndim != 1 or not 1 <= amplitudes.size <= 32 or not np.all(
            np.isfinite(amplitudes)) or np.any(amplitudes < 0) or amplitudes.sum() == 0:
        raise ValueError("partials must be 1 to 32 amplitudes >= 0, not all zero.")
    attack = check_float("attack", attack, 0.0, 10.0)
    release = check_float("release", release, 0.0, 10.0)
    t = np.arange(max(1, round(seconds * rate))) / rate
    wave = np.zeros_like(t)
    for k, amplitude in enumerate(amplitudes, start=1):
        if k * frequency < rate / 2:
            wave += amplitude * np.sin(2 * np.pi * k * frequency * t)
    wave /= amplitudes.sum()
    envelope = np.ones_like(t)
    if attack > 0:
        envelope = np.minimum(envelope, t / attack)
    if release > 0:
        envelope = np.minimum(envelope, (seconds - t) / release)
    return (wave * np.clip(envelope, 0.0, 1.0)).astype(np.float32)


INSTRUMENTS = ("organ", "pluck")


def synthesize(melody: Melody, rate: int = 16_000, bpm: float = 100.0,
               instrument: str = "organ", max_seconds: float = 30.0) -> np.ndarray:
    """Render a melody as a waveform: each note starts at its onset ``60 / bpm`` seconds per
    beat and is played by :func:`additive_tone` ("organ", held for the note's length) or
    :func:`karplus_strong` ("pluck", ringing on a little); the sum is scaled to a peak of 0.8.

    Args:
        melody: the tune.
        rate: sample rate in Hz.
        bpm: tempo in beats (quarter notes) per minute, 30 to 300.
        instrument: ``"organ"`` or ``"pluck"``.
        max_seconds: refuse tunes longer than this (a guard on time and notebook size).

    Returns:
        (n,) float32 samples.
    """
    from course_utils.audio.signal import check_rate

    if not isinstance(melody, Melody):
        raise ValueError(f"synthesize expects a Melody, got {type(melody).__name__}.")
    rate = check_rate(rate)
    bpm = check_float("bpm", bpm, 30.0, 300.0)
    if instrument not in INSTRUMENTS:
        raise ValueError(f"instrument must be one of {INSTRUMENTS}, got {instrument!r}.")
    max_seconds = check_float("max_seconds", max_seconds, 0.1, 600.0)
    beat = 60.0 / bpm
    seconds = melody.beats * beat
    if seconds == 0:
        raise ValueError("the melody has no notes to play.")
    if seconds > max_seconds:
        raise ValueError(f"the melody lasts {seconds:.1f} s at {bpm:g} bpm, more than "
                         f"max_seconds={max_seconds:g}; play fewer bars (first_bars).")
    tail = 0.3 if instrument == "pluck" else 0.0
    out = np.zeros(round((seconds + tail) * rate) + 1)
    onset = 0.0
    for i, note in enumerate(melody.notes):
        if note.pitch is not None:
            hz = float(midi_to_hz(note.pitch))
            if instrument == "organ":
                tone = additive_tone(hz, note.duration * beat, rate)
            else:
                tone = 0.6 * karplus_strong(hz, note.duration * beat + tail, rate, seed=i)
            start = round(onset * rate)
            out[start:start + tone.size] += tone[:out.size - start]
        onset += note.duration * beat
    peak = np.abs(out).max()
    return (0.8 * out / peak if peak > 0 else out).astype(np.float32)


# --- pictures -------------------------------------------------------------------------------

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


def note_onsets(melody: Melody) -> list[tuple[float, Note]]:
    """``(onset in beats, note)`` for every event, rests included."""
    onset, out = 0.0, []
    for note in melody.notes:
        out.append((onset, note))
        onset += note.duration
    return out


def bar_starts(melody: Melody) -> list[float]:
    """Onset in beats of every bar."""
    starts, onset = [], 0.0
    for bar in melody.bars:
        starts.append(onset)
        onset += sum(n.duration for n in bar)
    return starts


def piano_roll_figure(melodies: Melody | Sequence[Melody], titles: Sequence[str] | None = None,
                      max_beats: float | None = None):
    """Piano rolls (time across, pitch up; one bar per note, bar lines dashed) with matplotlib.

    Args:
        melodies: one melody or several (one panel each, stacked).
        titles: a title per panel.
        max_beats: show only the first beats.

    Returns:
        A matplotlib figure.
    """
    import matplotlib.pyplot as plt

    from course_utils.viz.plotting import PALETTE

    melodies = _check_melodies(melodies)
    if titles is not None and len(titles) != len(melodies):
        raise ValueError(f"{len(titles)} titles for {len(melodies)} melodies.")
    if max_beats is not None:
        max_beats = check_float("max_beats", max_beats, 0.0, 10_000.0, low_inclusive=False)
    fig, axes = plt.subplots(len(melodies), 1, figsize=(7.5, 1.9 * len(melodies) + 0.4),
                             squeeze=False)
    for k, (ax, melody) in enumerate(zip(axes[:, 0], melodies)):
        color = PALETTE[STYLES.index(melody.style) % len(PALETTE)]
        end = melody.beats if max_beats is None else min(max_beats, melody.beats)
        for onset, note in note_onsets(melody):
            if note.pitch is not None and onset < end:
                ax.broken_barh([(onset, min(note.duration, end - onset) * 0.95)],
                               (note.pitch - 0.4, 0.8), color=color)
        for start in bar_starts(melody):
            if start <= end:
                ax.axvline(start, color="0.6", linewidth=0.8, linestyle="--")
        pitches = melody.pitches
        low, high = (int(pitches.min()), int(pitches.max())) if pitches.size else (60, 72)
        ticks = [p for p in range(low - 1, high + 2) if p % 12 in (0, 7)]  # every C and G
        ax.set_yticks(ticks, [note_name(p) for p in ticks])
        ax.set_ylim(low - 1.5, high + 1.5)
        ax.set_xlim(0, max(end, 1.0))
        ax.set_ylabel("pitch")
        ax.set_title(titles[k] if titles else melody.name or melody.style, fontsize=10)
    axes[-1, 0].set_xlabel("time (beats)")
    fig.tight_layout()
    return fig


def piano_roll_traces(melody: Melody, color: str | None = None, name: str = "") -> list:
    """A piano roll as Plotly traces: one horizontal bar per note (hover: its name, onset and
    length) and the bar lines as a dotted line trace. Returns ``[notes, bar lines]``."""
    import plotly.graph_objects as go

    from course_utils.viz.plotting import PALETTE

    if not isinstance(melody, Melody):
        raise ValueError(f"expected a Melody, got {type(melody).__name__}.")
    color = color or PALETTE[STYLES.index(melody.style) % len(PALETTE)]
    events = [(onset, note) for onset, note in note_onsets(melody) if note.pitch is not None]
    notes = go.Bar(
        base=[onset for onset, _ in events], x=[0.95 * n.duration for _, n in events],
        y=[n.pitch for _, n in events], orientation="h", width=0.8, marker_color=color,
        name=name or melody.name,
        hovertext=[f"{note_name(n.pitch)}, beat {onset + 1:g}, {_duration_text(n.duration)} "
                   "beat(s)" for onset, n in events], hoverinfo="text", showlegend=False)
    pitches = melody.pitches
    low, high = (pitches.min() - 1, pitches.max() + 1) if pitches.size else (59, 73)
    xs, ys = [], []
    for start in bar_starts(melody):
        xs += [start, start, None]
        ys += [low, high, None]
    lines = go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                       line={"color": "rgba(120,120,120,0.5)", "dash": "dot", "width": 1})
    return [notes, lines]


# --- statistics -----------------------------------------------------------------------------

#: Krumhansl & Kessler (1982) probe-tone ratings, from the tonic upwards (C major, C minor).
KRUMHANSL_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29,
                            2.88])
KRUMHANSL_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34,
                            3.17])
#: The 24 keys, in the order of :func:`key_correlations`.
KEYS = tuple(f"{n} major" for n in NOTE_NAMES) + tuple(f"{n} minor" for n in NOTE_NAMES)
#: The keys every tune was moved to.
COMMON_KEYS = ("C major", "A minor")
#: Intervals are counted from -12 to +12 semitones; larger leaps fall in the end bins.
MAX_INTERVAL = 12


def _normalise(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    if total == 0:
        raise ValueError("nothing to count: the melodies have no (or too few) notes.")
    return counts / total


def pitch_class_histogram(melodies: Melody | Sequence[Melody], weighted: bool = False
                          ) -> np.ndarray:
    """Share of sounding notes on each pitch class C, C#, ..., B: shape (12,), sums to 1.
    With ``weighted``, each note counts its duration instead of 1."""
    counts = np.zeros(12)
    for m in _check_melodies(melodies):
        for note in m.notes:
            if note.pitch is not None:
                counts[note.pitch % 12] += note.duration if weighted else 1.0
    return _normalise(counts)


def interval_histogram(melodies: Melody | Sequence[Melody], lag: int = 1) -> np.ndarray:
    """Distribution of ``p[i + lag] - p[i]`` over sounding notes ``p`` of each melody (rests
    skipped), clipped to ±:data:`MAX_INTERVAL` semitones: shape (25,), index 12 = unison.
    ``lag = 1`` is the melodic interval; larger lags measure where the tune is a few notes
    later."""
    lag = check_int("lag", lag, 1, 64)
    counts = np.zeros(2 * MAX_INTERVAL + 1)
    for m in _check_melodies(melodies):
        p = m.pitches
        if p.size > lag:
            steps = np.clip(p[lag:] - p[:-lag], -MAX_INTERVAL, MAX_INTERVAL)
            counts += np.bincount(steps + MAX_INTERVAL, minlength=counts.size)
    return _normalise(counts)


def duration_histogram(melodies: Melody | Sequence[Melody]) -> np.ndarray:
    """Share of events (notes and rests) of each length in :data:`DURATIONS`: shape (8,)."""
    index = {d: i for i, d in enumerate(DURATIONS)}
    counts = np.zeros(len(DURATIONS))
    for m in _check_melodies(melodies):
        for note in m.notes:
            if note.duration in index:
                counts[index[note.duration]] += 1
    return _normalise(counts)


def key_correlations(pitch_classes: Sequence[float]) -> np.ndarray:
    """Pearson correlation of a pitch-class profile (12,) with the Krumhansl-Kessler profile
    of each of the 24 keys (:data:`KEYS`: 12 major, then 12 minor), i.e. the profile rotated
    to start on that key's tonic. The best-correlated key is the Krumhansl-Schmuckler key
    estimate (music21's ``analyze('key')`` uses the same algorithm, by default with other
    weights). Returns (24,)."""
    x = np.asarray(pitch_classes, dtype=float)
    if x.shape != (12,) or not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError(f"pitch_classes must be 12 non-negative numbers, got shape {x.shape}.")
    if np.ptp(x) == 0:
        raise ValueError("pitch_classes is flat (every class equal): no key can be read.")
    out = np.empty(24)
    for mode, profile in enumerate((KRUMHANSL_MAJOR, KRUMHANSL_MINOR)):
        for tonic in range(12):
            out[12 * mode + tonic] = np.corrcoef(x, np.roll(profile, tonic))[0, 1]
    return out


def best_key(melody: Melody) -> tuple[str, float]:
    """The Krumhansl-Schmuckler key of a melody (duration-weighted pitch classes) and its
    correlation ``r`` (close to 1: clearly in that key)."""
    r = key_correlations(pitch_class_histogram(melody, weighted=True))
    return KEYS[int(r.argmax())], float(r.max())


def key_consistency(melodies: Melody | Sequence[Melody], window: int = 2) -> float:
    """Share of windows of ``window`` consecutive bars whose Krumhansl-Schmuckler key is
    C major or A minor (:data:`COMMON_KEYS`, the key every tune was moved to). Windows with
    fewer than three distinct pitch classes are skipped. Random notes score about 2/24."""
    window = check_int("window", window, 1, 1000)
    hits = total = 0
    for m in _check_melodies(melodies):
        for start in range(0, max(1, len(m.bars) - window + 1)):
            counts = np.zeros(12)
            for bar in m.bars[start:start + window]:
                for note in bar:
                    if note.pitch is not None:
                        counts[note.pitch % 12] += note.duration
            if np.count_nonzero(counts) < 3:
                continue
            key = KEYS[int(key_correlations(counts).argmax())]
            hits += key in COMMON_KEYS
            total += 1
    if total == 0:
        raise ValueError("no window has three distinct pitch classes: nothing to analyse.")
    return hits / total


def bar_accuracy(melodies: Melody | Sequence[Melody]) -> float:
    """Share of inner bars (not the first, which may be a pick-up, nor the last) that last
    exactly four beats. Melodies with fewer than three bars have no inner bar."""
    good = total = 0
    for m in _check_melodies(melodies):
        for bar in m.bars[1:-1]:
            good += abs(sum(n.duration for n in bar) - BAR_BEATS) < 1e-9
            total += 1
    if total == 0:
        raise ValueError("no melody has an inner bar (three bars or more are needed).")
    return good / total


def _check_distributions(p: object, q: object) -> tuple[np.ndarray, np.ndarray]:
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.ndim != 1 or p.shape != q.shape or p.size < 2:
        raise ValueError(f"p and q must be 1-D of the same length >= 2, got {p.shape} and "
                         f"{q.shape}.")
    for name, x in (("p", p), ("q", q)):
        if not np.all(np.isfinite(x)) or np.any(x < 0) or not math.isclose(x.sum(), 1.0,
                                                                           abs_tol=1e-6):
            raise ValueError(f"{name} must be a probability distribution (>= 0, sums to 1).")
    return p, q


def total_variation(p: Sequence[float], q: Sequence[float]) -> float:
    """``TV(p, q) = 1/2 sum_i |p_i - q_i|``: the largest difference in probability the two
    distributions give to any event, in [0, 1]."""
    p, q = _check_distributions(p, q)
    return float(0.5 * np.abs(p - q).sum())


def js_divergence(p: Sequence[float], q: Sequence[float]) -> float:
    """Jensen-Shannon divergence in bits, in [0, 1]:
    ``JS = 1/2 KL(p || m) + 1/2 KL(q || m)`` with ``m = (p + q) / 2`` (finite even where
    one distribution is zero, unlike KL)."""
    p, q = _check_distributions(p, q)
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


#: The statistics :func:`compare_statistics` reports, by name.
STATISTICS = ("pitch classes", "intervals (lag 1)", "intervals (lag 2-4)", "durations")


def statistics_of(melodies: Sequence[Melody]) -> dict[str, np.ndarray]:
    """The distributions of :data:`STATISTICS` for a set of melodies (lags 2, 3 and 4
    concatenated and renormalised)."""
    melodies = _check_melodies(melodies)
    far = np.concatenate([interval_histogram(melodies, lag) for lag in (2, 3, 4)]) / 3
    return {"pitch classes": pitch_class_histogram(melodies),
            "intervals (lag 1)": interval_histogram(melodies, 1),
            "intervals (lag 2-4)": far, "durations": duration_histogram(melodies)}


def compare_statistics(candidate: Sequence[Melody], reference: Sequence[Melody]
                       ) -> dict[str, float]:
    """Jensen-Shannon divergence (bits) between ``candidate`` and ``reference`` for each of
    :data:`STATISTICS`, plus two structure scores of the candidate itself: ``key
    consistency`` (:func:`key_consistency`, 2-bar windows) and ``bars of 4 beats``
    (:func:`bar_accuracy`)."""
    ours, theirs = statistics_of(candidate), statistics_of(reference)
    out = {name: js_divergence(ours[name], theirs[name]) for name in STATISTICS}
    out["key consistency"] = key_consistency(candidate)
    out["bars of 4 beats"] = bar_accuracy(candidate)
    return out


def take_notes(melodies: Sequence[Melody], count: int) -> list[Melody]:
    """The first melodies, cut so that they hold exactly ``count`` events in all (the last
    one is cut after the event that completes the count): sets compared at equal size, since
    a divergence between histograms of few notes is larger by chance alone."""
    melodies = _check_melodies(melodies)
    count = check_int("count", count, 1)
    out, left = [], count
    for m in melodies:
        n = len(m.notes)
        if n <= left:
            out.append(m)
            left -= n
        else:
            bars, kept = [], 0
            for bar in m.bars:
                take = bar[:left - kept]
                bars.append(take)
                kept += len(take)
                if kept == left:
                    break
            out.append(Melody(tuple(bars), m.style, m.name, m.key))
            left = 0
        if left == 0:
            return out
    raise ValueError(f"the melodies hold only {count - left} events, {count} were asked for.")



# --- generators -----------------------------------------------------------------------------

def _check_generation(count: object, temperature: object, max_bars: object, seed: object
                      ) -> tuple[int, float, int | None, int]:
    count = check_int("count", count, 1, 1000)
    temperature = check_float("temperature", temperature, 0.0, 10.0, low_inclusive=False)
    if max_bars is not None:
        max_bars = check_int("max_bars", max_bars, 1, 200)
    return count, temperature, max_bars, check_int("seed", seed, 0)


def _check_style(style: object) -> str:
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}.")
    return style  # type: ignore[return-value]


def random_melodies(count: int, style: str = "chorale", pitch_range: tuple[int, int] = (60, 81),
                    bar_rate: float = 0.2, length: int = 64, seed: int = 0) -> list[Melody]:
    """The random baseline: every event is a bar line with probability ``bar_rate``, otherwise
    a note with a pitch uniform in ``pitch_range`` and a length uniform in :data:`DURATIONS`;
    each tune has ``length`` events. It knows the range, the note lengths, how often bar lines
    come and how long tunes are - nothing about which notes follow which.

    Returns:
        ``count`` melodies.
    """
    count, _, _, seed = _check_generation(count, 1.0, None, seed)
    style = _check_style(style)
    low, high = (check_int("pitch_range[0]", pitch_range[0], *PITCH_RANGE),
                 check_int("pitch_range[1]", pitch_range[1], *PITCH_RANGE))
    if high < low:
        raise ValueError(f"pitch_range must be (low, high) with low <= high, got {pitch_range}.")
    bar_rate = check_float("bar_rate", bar_rate, 0.0, 1.0, high_inclusive=False)
    length = check_int("length", length, 1, 10_000)
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        bars: list[list[Note]] = [[]]
        for _ in range(length):
            if rng.random() < bar_rate:
                bars.append([])
            else:
                bars[-1].append(Note(int(rng.integers(low, high + 1)),
                                     DURATIONS[int(rng.integers(len(DURATIONS)))]))
        out.append(Melody(tuple(tuple(b) for b in bars), style, f"random {k}"))
    return out


class NGramSampler:
    """Tunes from chapter 03's n-gram model over the symbols of a :class:`MusicTokenizer`.

    The model is a :class:`~course_utils.text.ngram.CharNGramModel` (interpolated Kneser-Ney)
    fitted on ``train_text``; a tune starts from the context ``END + style`` (the end of the
    tune before it and the style symbol) and is drawn symbol by symbol,
    ``P(x_t | x_{t-n+1} .. x_{t-1}) ** (1 / temperature)``, until :data:`END`. ``n = 1`` is the
    unigram baseline (symbols in their training proportions, no order), ``n = 2`` a
    first-order Markov chain.

    Args:
        n: order, 1 to 12.
        train_text: encoded training tunes (:meth:`MusicTokenizer.encode_corpus`).
        tokenizer: the tokenizer that wrote them (all its symbols are known to the model).
    """

    def __init__(self, n: int, train_text: str, tokenizer: MusicTokenizer) -> None:
        from course_utils.text.ngram import CharNGramModel

        if not isinstance(tokenizer, MusicTokenizer):
            raise ValueError("tokenizer must be a MusicTokenizer.")
        self.tokenizer = tokenizer
        self.model = CharNGramModel(n).fit(train_text, alphabet=tokenizer.alphabet)
        self.n = self.model.n
        self._alphabet = "".join(self.model.alphabet)
        self._cache: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        return f"NGramSampler(n={self.n}, {self.model.num_contexts:,} contexts)"

    def _cdf(self, state: str) -> np.ndarray:
        cdf = self._cache.get(state)
        if cdf is None:
            cdf = np.cumsum(self.model.next_char_distribution(state))
            self._cache[state] = cdf
        return cdf

    def bits(self, text: str) -> np.ndarray:
        """``-log2 P`` of every symbol of ``text`` after the first: shape (len(text) - 1,)
        (the positions a GPT scores too)."""
        return self.model.position_bits(text)[1:]

    def sample(self, style: str = "chorale", count: int = 1, temperature: float = 1.0,
               max_bars: int | None = None, max_tokens: int = 256, seed: int = 0
               ) -> list[Melody]:
        """``count`` tunes (see the class docstring); a tune also stops at ``max_tokens``
        symbols or when bar ``max_bars + 1`` would begin."""
        count, temperature, max_bars, seed = _check_generation(count, temperature, max_bars,
                                                               seed)
        style = _check_style(style)
        max_tokens = check_int("max_tokens", max_tokens, 1, 10_000)
        rng = np.random.default_rng(seed)
        k = self.n - 1
        out = []
        for index in range(count):
            text = END + STYLE_CHARS[style]
            bars = 0
            for _ in range(max_tokens):
                state = text[len(text) - k:] if k else ""
                cdf = self._cdf(state)
                if temperature != 1.0:
                    p = np.diff(cdf, prepend=0.0) ** (1.0 / temperature)
                    cdf = np.cumsum(p)
                char = self._alphabet[min(int(np.searchsorted(cdf, rng.random() * cdf[-1],
                                                              side="right")),
                                          len(self._alphabet) - 1)]
                if char == END:
                    break
                bars += char == BAR
                if max_bars is not None and bars > max_bars:
                    break
                text += char
            out.append(self.tokenizer.decode(text[1:], style, f"{self.n}-gram {index}"))
        return out


def generate(model: Any, tokenizer: MusicTokenizer, style: str = "chorale", count: int = 1,
             temperature: float = 1.0, max_bars: int | None = None, max_tokens: int = 256,
             seed: int = 0) -> list[Melody]:
    r"""Sample tunes from a tiny GPT trained on :class:`MusicTokenizer` symbols.

    All ``count`` tunes are drawn at once. The prompt is ``END + style``; each step draws
    :math:`x_t \sim \mathrm{softmax}(z_t / T)` from the logits :math:`z_t` of the last
    position, with the keys and values of earlier positions kept in the model's cache
    (``prefill`` / ``decode_step``); past ``block_size`` symbols the model re-reads the last
    ``block_size`` (a sliding window). A tune ends at :data:`END`, after ``max_tokens``
    symbols, or when bar ``max_bars + 1`` would begin.

    Args:
        model: a :class:`~course_utils.text.transformer.TinyGPT` over ``tokenizer.alphabet``.
        tokenizer: the music tokenizer.
        style: ``"chorale"`` or ``"folk"``.
        count: tunes to draw (1 to 1000).
        temperature: ``T`` in (0, 10]; below 1 safer, above 1 wilder.
        max_bars: stop after this many bars (None: the model decides).
        max_tokens: at most this many symbols per tune (1 to 2000).
        seed: seed of the sampling (same seed, same tunes on the same machine).

    Returns:
        ``count`` melodies.
    """
    import torch

    count, temperature, max_bars, seed = _check_generation(count, temperature, max_bars, seed)
    style = _check_style(style)
    max_tokens = check_int("max_tokens", max_tokens, 1, 2000)
    if not isinstance(tokenizer, MusicTokenizer):
        raise ValueError("tokenizer must be a MusicTokenizer.")
    if getattr(getattr(model, "config", None), "vocab_size", None) != tokenizer.vocab_size:
        raise ValueError("model and tokenizer disagree on the vocabulary: use the tokenizer "
                         "the model was trained with.")
    end, bar = tokenizer.ids.encode(END)[0], tokenizer.ids.encode(BAR)[0]
    block = model.config.block_size
    generator = torch.Generator().manual_seed(seed)
    ids = torch.tensor([tokenizer.ids.encode(END + STYLE_CHARS[style])] * count)  # (B, 2)
    done = torch.zeros(count, dtype=torch.bool)
    bars = torch.zeros(count, dtype=torch.long)
    lengths = torch.full((count,), max_tokens)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits, cache = model.prefill(ids)  # (B, V)
        for step in range(max_tokens):
            probs = torch.softmax(logits.float() / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator)[:, 0]  # (B,)
            bars += nxt == bar
            stop = ~done & ((nxt == end) | ((bars > max_bars) if max_bars else False))
            lengths[stop] = step
            done |= stop
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            if bool(done.all()) or step == max_tokens - 1:
                break
            t = ids.shape[1] - 1
            if t < block:
                logits = model.decode_step(nxt, t, cache)
            else:
                logits = model(ids[:, -block:])[:, -1]
    model.train(was_training)
    texts = [tokenizer.ids.decode(row[2:2 + int(n)].tolist()) for row, n in zip(ids, lengths)]
    return [tokenizer.decode(text, style, f"GPT {k}") for k, text in enumerate(texts)]


def text_bits(model: Any, tokenizer: MusicTokenizer, text: str) -> np.ndarray:
    """``-log2 p(x_t | x_<t)`` of the tiny GPT for every symbol of ``text`` after the first
    (chapter 05's :func:`~course_utils.text.scoring.position_logits`: each symbol sees at
    least half a context window): shape (len(text) - 1,)."""
    from course_utils.text.scoring import position_bits, position_logits

    logits, targets = position_logits(model, tokenizer.ids, text)
    return position_bits(logits, targets).bits


# --- the committed model --------------------------------------------------------------------

CHECKPOINT_NAME = "music_gpt.safetensors"
#: The held-out sizes of the split every model of the chapter uses (melodies per style).
SPLIT = {"val": {"chorale": 20, "folk": 60}, "test": {"chorale": 40, "folk": 120}}


@dataclass(frozen=True)
class MusicData:
    """Everything the chapter's models are trained and scored on."""

    splits: MusicSplits
    tokenizer: MusicTokenizer

    def text(self, part: str, style: str | None = None, shuffle_seed: int | None = None
             ) -> str:
        """The encoded tunes of one split (``"train"``, ``"val"``, ``"test"``), optionally of
        one style and in a shuffled order."""
        if part not in ("train", "val", "test"):
            raise ValueError(f"part must be 'train', 'val' or 'test', got {part!r}.")
        melodies = [m for m in getattr(self.splits, part) if style in (None, m.style)]
        if style is not None:
            _check_style(style)
        if shuffle_seed is not None:
            order = np.random.default_rng(shuffle_seed).permutation(len(melodies))
            melodies = [melodies[i] for i in order]
        return self.tokenizer.encode_corpus(melodies)


def load_music_data(path: str | Path = CORPUS_FILE) -> MusicData:
    """The corpus moved to C major / A minor, split by tune family (:data:`SPLIT`, seed 0),
    and a tokenizer over all its note events."""
    melodies = transpose_to_common_key(load_corpus(path=path))
    splits = split_corpus(melodies, SPLIT["val"], SPLIT["test"], seed=0)
    return MusicData(splits, MusicTokenizer(melodies))


def save_music_gpt(path: str | Path, model: Any, tokenizer: MusicTokenizer,
                   record: dict | None = None) -> Path:
    """Weights, config, vocabulary and training record in one safetensors file."""
    from course_utils.core.checkpoints import write_checkpoint

    events = [[n.pitch, n.duration] for n in tokenizer.events]
    return write_checkpoint(path, model, {"config": model.config.to_json(),
                                          "events": json.dumps(events),
                                          "record": record or {}})


def load_music_gpt(path: str | Path | None = None) -> tuple[Any, MusicTokenizer, dict]:
    """The committed music GPT: ``(model in eval mode, tokenizer, training record)``."""
    from safetensors.torch import load_model

    from course_utils.core.checkpoints import CHECKPOINT_DIR, read_checkpoint, train_command
    from course_utils.text.transformer import GPTConfig, TinyGPT

    path = Path(path) if path is not None else CHECKPOINT_DIR / CHECKPOINT_NAME
    _, metadata = read_checkpoint(path, "music-GPT", train_command("music-gpt"),
                                  required=("config", "events"))
    tokenizer = MusicTokenizer(events=[Note(p, d) for p, d in json.loads(metadata["events"])])
    model = TinyGPT(GPTConfig.from_json(metadata["config"]))
    load_model(model, str(path))
    model.eval()
    return model, tokenizer, json.loads(metadata.get("record", "{}"))


def _train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    import torch

    from course_utils.core.environment import setup
    from course_utils.text.gpt_training import TrainConfig, train_gpt
    from course_utils.text.transformer import GPTConfig, TinyGPT
    from course_utils.train import public_command

    setup(seed=args.seed, threads=args.threads, quiet=True)
    data = load_music_data()
    train_text = data.text("train", shuffle_seed=args.seed)
    val_text = data.text("val", shuffle_seed=0)
    model = TinyGPT(GPTConfig(vocab_size=data.tokenizer.vocab_size, block_size=args.block_size,
                              n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd,
                              dropout=args.dropout))
    recipe = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                         warmup_steps=min(100, args.steps // 10), eval_every=args.eval_every,
                         eval_chars=len(val_text), seed=args.seed)
    print(f"{model.num_parameters():,} parameters; {len(train_text):,} training symbols",
          flush=True)
    start = time.perf_counter()
    history = train_gpt(model, data.tokenizer.ids, train_text, val_text, recipe,
                        show_progress=not args.quiet,
                        on_eval=lambda h: print(f"step {h.val_steps[-1]:5d} "
                                                f"{h.val_seconds[-1]:7.1f} s  val "
                                                f"{h.val_bits[-1]:.3f} bits/symbol",
                                                flush=True))
    test_bits = {style: round(float(text_bits(model, data.tokenizer,
                                              data.text("test", style)).mean()), 4)
                 for style in STYLES}
    record = {"command": public_command(__name__, argv),
              "train_seconds": round(time.perf_counter() - start, 1),
              "threads": torch.get_num_threads(), "steps": len(history.train_loss),
              "train_symbols": len(train_text),
              "val_bits": round(history.val_bits[-1], 4), "test_bits": test_bits,
              "curve": {"steps": history.val_steps,
                        "val_bits": [round(v, 4) for v in history.val_bits]}}
    save_music_gpt(args.out, model, data.tokenizer, record)
    print(json.dumps({k: v for k, v in record.items() if k != "curve"}, indent=1))
    return 0


# --- command line ------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """``extract``: write the corpus file; ``train``: train the committed music GPT."""
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m course_utils.audio.music")
    sub = parser.add_subparsers(dest="command", required=True)
    extract = sub.add_parser("extract", help="parse the music21 corpus into CORPUS_FILE")
    extract.add_argument("--out", default=str(CORPUS_FILE))
    extract.add_argument("--quiet", action="store_true")
    from course_utils.core.checkpoints import CHECKPOINT_DIR

    train = sub.add_parser("train", help="train the committed music GPT")
    train.add_argument("--out", default=str(CHECKPOINT_DIR / CHECKPOINT_NAME))
    train.add_argument("--steps", type=int, default=3000)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--lr", type=float, default=2e-3)
    train.add_argument("--block-size", type=int, default=128)
    train.add_argument("--n-layer", type=int, default=3)
    train.add_argument("--n-head", type=int, default=4)
    train.add_argument("--n-embd", type=int, default=96)
    train.add_argument("--dropout", type=float, default=0.15)
    train.add_argument("--eval-every", type=int, default=250)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=None)
    train.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "extract":
        print(json.dumps(extract_corpus(args.out, show_progress=not args.quiet), indent=1))
        return 0
    return _train(args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
