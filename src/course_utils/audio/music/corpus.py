"""The melody corpus: extraction from music21 (offline, minutes), the corpus file
(:data:`CORPUS_FILE`) and its reading, transposition to C major / A minor, tune families and a
split that keeps every tune and its variants on one side."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.audio.music.melody import (
    BAR_BEATS,
    DURATIONS,
    NOTE_NAMES,
    PITCH_RANGE,
    STYLES,
    Melody,
    Note,
    _check_melodies,
    _duration_text,
    _pitch_class,
)
from course_utils.core.validation import check_float, check_int

#: Where the extracted corpus lives (inside the package).
#: (this file is in course_utils/audio/music/, the data folder in course_utils/)
CORPUS_FILE = Path(__file__).resolve().parents[2] / "data" / "music_corpus.json.gz"
#: The command that writes :data:`CORPUS_FILE` from the music21 corpus.
EXTRACT_COMMAND = "python -m course_utils.audio.music extract"



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


def key_name(music21_key: Any) -> str:
    """A music21 key as this module writes keys, e.g. ``'F major'``, ``'Bb minor'``."""
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
                                             key_name(score.analyze("key"))))
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
                                             key_name(score.analyze("key"))))
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
    """Training, validation and test melodies; no tune family is on two sides. ``set_aside``
    holds the other members of held-out families (validation and test keep one tune per
    family, so that a model never reads one copy of a tune while predicting the next)."""

    train: list[Melody]
    val: list[Melody]
    test: list[Melody]
    set_aside: tuple[Melody, ...] = ()

    def sizes(self) -> dict[str, dict[str, int]]:
        """Melodies per split and style."""
        return {name: {style: sum(m.style == style for m in part) for style in STYLES}
                for name, part in (("train", self.train), ("val", self.val),
                                   ("test", self.test))}


def split_corpus(melodies: Sequence[Melody], val: int | dict[str, int] = 20,
                 test: int | dict[str, int] = 40, seed: int = 0) -> MusicSplits:
    """Hold out whole tune families (:func:`tune_families`; a family may hold tunes of both
    styles - a chorale melody also sung as a folk song). Families are visited in a random
    order; a family goes to test while its first tune's style still has room there (``test``
    tunes per style), else to validation (``val``), else to training. A held-out family
    contributes its first tune; its other members are set aside (used nowhere).

    Args:
        melodies: the corpus.
        val, test: melodies wanted per style (one number, or one per style).
        seed: seed of the family order.

    Raises:
        ValueError: bad sizes, or too few melodies of a style to hold out that many.
    """
    seed = check_int("seed", seed, 0)
    melodies = _check_melodies(melodies)
    wanted: dict[str, dict[str, int]] = {}
    for name, value in (("val", val), ("test", test)):
        per_style = value if isinstance(value, dict) else {style: value for style in STYLES}
        wanted[name] = {style: check_int(f"{name}[{style!r}]", per_style.get(style, 0), 0)
                        for style in STYLES}
    members: dict[int, list[Melody]] = {}
    for melody, family in zip(melodies, tune_families(melodies)):
        members.setdefault(family, []).append(melody)
    order = list(members)
    np.random.default_rng(seed).shuffle(order)
    parts: dict[str, list[Melody]] = {"train": [], "val": [], "test": []}
    held = {name: Counter() for name in ("val", "test")}
    set_aside: list[Melody] = []
    for family in order:
        first, *others = members[family]
        for name in ("test", "val"):
            if held[name][first.style] < wanted[name][first.style]:
                parts[name].append(first)
                held[name][first.style] += 1
                set_aside += others
                break
        else:
            parts["train"] += [first, *others]
    for name in ("test", "val"):
        for style in STYLES:
            if held[name][style] < wanted[name][style]:
                raise ValueError(f"only {held[name][style]} {style} melodies could be held out "
                                 f"for {name}, {wanted[name][style]} were asked for.")
    return MusicSplits(parts["train"], parts["val"], parts["test"], tuple(set_aside))
