"""Pictures: piano rolls of melodies with matplotlib (:func:`piano_roll_figure`) and as Plotly
traces (:func:`piano_roll_traces`), and the note and bar onsets they are drawn from."""

from __future__ import annotations

from collections.abc import Sequence

from course_utils.audio.music.melody import (
    STYLES,
    Melody,
    Note,
    _check_melodies,
    _duration_text,
    note_name,
)
from course_utils.core.validation import check_float

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
        ax.set_title(titles[k] if titles else melody.name or melody.style)
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
