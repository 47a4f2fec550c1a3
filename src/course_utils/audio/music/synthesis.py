"""Sound: MIDI pitch to frequency, a plucked string (Karplus-Strong), an additive "organ"
tone, and :func:`synthesize`, which plays a whole melody."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from course_utils.audio.music.melody import Melody
from course_utils.core.validation import check_float, check_int

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
