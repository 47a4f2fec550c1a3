"""Music statistics: histograms of pitch classes, intervals (at any lag) and durations, the
Krumhansl-Kessler key profiles and key estimates, key consistency, bars of the right length,
Jensen-Shannon divergence and total variation, and the comparison of two sets of melodies."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from course_utils.audio.music.melody import (
    BAR_BEATS,
    DURATIONS,
    NOTE_NAMES,
    Melody,
    _check_melodies,
)
from course_utils.core.validation import check_int

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


def _key_profiles() -> np.ndarray:
    """(24, 12) Krumhansl-Kessler profiles of the 24 keys, each standardised (mean 0, norm 1)."""
    profiles = np.array([np.roll(profile, tonic) for profile in (KRUMHANSL_MAJOR,
                                                                 KRUMHANSL_MINOR)
                         for tonic in range(12)])
    profiles = profiles - profiles.mean(axis=1, keepdims=True)
    return profiles / np.linalg.norm(profiles, axis=1, keepdims=True)


_PROFILES = _key_profiles()


def _correlations(counts: np.ndarray) -> np.ndarray:
    """Pearson correlations (..., 24) of pitch-class weights (..., 12) with the key profiles:
    ``r = <x - mean(x), k - mean(k)> / (|x - mean(x)| |k - mean(k)|)``."""
    centred = counts - counts.mean(axis=-1, keepdims=True)
    norms = np.linalg.norm(centred, axis=-1, keepdims=True)
    return (centred / np.where(norms == 0, 1.0, norms)) @ _PROFILES.T


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
    return _correlations(x)


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
    rows = []
    for m in _check_melodies(melodies):
        per_bar = np.zeros((max(1, len(m.bars)), 12))
        for b, bar in enumerate(m.bars):
            for note in bar:
                if note.pitch is not None:
                    per_bar[b, note.pitch % 12] += note.duration
        cumulative = np.vstack([np.zeros(12), np.cumsum(per_bar, axis=0)])
        stop = np.arange(min(window, len(per_bar)), len(per_bar) + 1)
        rows.append(cumulative[stop] - cumulative[stop - min(window, len(per_bar))])
    counts = np.vstack(rows)  # (windows, 12)
    counts = counts[np.count_nonzero(counts, axis=1) >= 3]
    if len(counts) == 0:
        raise ValueError("no window has three distinct pitch classes: nothing to analyse.")
    found = _correlations(counts).argmax(axis=1)
    return float(np.isin(found, [KEYS.index(k) for k in COMMON_KEYS]).mean())


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
