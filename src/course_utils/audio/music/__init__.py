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

Modules (everything is re-exported here, so ``music.<name>`` works for any of them):

- :mod:`~course_utils.audio.music.melody` - the constants, :class:`Note`, :class:`Melody`;
- :mod:`~course_utils.audio.music.corpus` - extraction from music21, the corpus file, common
  key, tune families and the split;
- :mod:`~course_utils.audio.music.tokens` - :class:`MusicTokenizer`;
- :mod:`~course_utils.audio.music.synthesis` - sound;
- :mod:`~course_utils.audio.music.pianoroll` - pictures;
- :mod:`~course_utils.audio.music.statistics` - statistics;
- :mod:`~course_utils.audio.music.generators` - random, n-gram and GPT tunes;
- :mod:`~course_utils.audio.music.checkpoint` - the chapter's data and the committed model;
- :mod:`~course_utils.audio.music.cli` - the command line (``python -m course_utils.audio.music
  extract`` and ``train``).
"""

from course_utils.audio.music.checkpoint import (
    CHECKPOINT_NAME,
    SPLIT,
    MusicData,
    load_music_data,
    load_music_gpt,
    save_music_gpt,
)
from course_utils.audio.music.cli import main
from course_utils.audio.music.corpus import (
    CORPUS_FILE,
    EXTRACT_COMMAND,
    MusicSplits,
    Rejected,
    common_key_shift,
    corpus_summary,
    extract_corpus,
    key_name,
    load_corpus,
    melody_from_part,
    split_corpus,
    transpose_to_common_key,
    tune_families,
)
from course_utils.audio.music.generators import NGramSampler, generate, random_melodies, text_bits
from course_utils.audio.music.melody import (
    BAR_BEATS,
    DURATIONS,
    NOTE_NAMES,
    PITCH_RANGE,
    STYLES,
    Melody,
    Note,
    note_name,
)
from course_utils.audio.music.pianoroll import (
    bar_starts,
    note_onsets,
    piano_roll_figure,
    piano_roll_traces,
)
from course_utils.audio.music.statistics import (
    COMMON_KEYS,
    KEYS,
    KRUMHANSL_MAJOR,
    KRUMHANSL_MINOR,
    MAX_INTERVAL,
    STATISTICS,
    bar_accuracy,
    best_key,
    compare_statistics,
    duration_histogram,
    interval_histogram,
    js_divergence,
    key_consistency,
    key_correlations,
    pitch_class_histogram,
    statistics_of,
    take_notes,
    total_variation,
)
from course_utils.audio.music.synthesis import (
    INSTRUMENTS,
    ORGAN_PARTIALS,
    additive_tone,
    karplus_strong,
    midi_to_hz,
    synthesize,
)
from course_utils.audio.music.tokens import BAR, END, STYLE_CHARS, MusicTokenizer

__all__ = [
    "BAR", "BAR_BEATS", "CHECKPOINT_NAME", "COMMON_KEYS", "CORPUS_FILE", "DURATIONS", "END",
    "EXTRACT_COMMAND", "INSTRUMENTS", "KEYS", "KRUMHANSL_MAJOR", "KRUMHANSL_MINOR",
    "MAX_INTERVAL", "Melody", "MusicData", "MusicSplits", "MusicTokenizer", "NGramSampler",
    "NOTE_NAMES", "Note", "ORGAN_PARTIALS", "PITCH_RANGE", "Rejected", "SPLIT", "STATISTICS",
    "STYLES", "STYLE_CHARS", "additive_tone", "bar_accuracy", "bar_starts", "best_key",
    "common_key_shift", "compare_statistics", "corpus_summary", "duration_histogram",
    "extract_corpus", "generate", "interval_histogram", "js_divergence", "karplus_strong",
    "key_consistency", "key_correlations", "key_name", "load_corpus", "load_music_data",
    "load_music_gpt", "main", "melody_from_part", "midi_to_hz", "note_name", "note_onsets",
    "piano_roll_figure", "piano_roll_traces", "pitch_class_histogram", "random_melodies",
    "save_music_gpt", "split_corpus", "statistics_of", "synthesize", "take_notes", "text_bits",
    "total_variation", "transpose_to_common_key", "tune_families",
]


def _keep_the_course_figure_format() -> None:
    """Stop music21 from switching a notebook's matplotlib figures to "retina" PNGs.

    Imported in a notebook, music21 starts a timer (``music21.ipython21.t``) that, a second
    later and from another thread, selects the retina format; figures drawn at that moment
    lose the course's format (twice the pixels, and no recorded text size). Importing music21
    here, with the course, and cancelling that timer keeps the course's format.
    """
    import music21.ipython21

    timer = getattr(music21.ipython21, "t", None)
    if timer is not None:
        timer.cancel()


_keep_the_course_figure_format()
