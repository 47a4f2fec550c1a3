r"""Procedural sound effects: a bell, drums, a laser "zap" and a whoosh (chapter 31).

Each effect is a few lines of signal processing - no recording, no network - and each shows
one idea that a spectrogram makes visible:

- :func:`bell` - *additive synthesis* of inharmonic partials, each decaying at its own rate
  (horizontal lines that fade, the high ones first);
- :func:`kick_drum` - a sine whose pitch falls quickly (a curve sweeping down at the bottom);
- :func:`snare_drum` - a short burst of band-passed noise plus a tone (a vertical smear);
- :func:`laser` - an exponential *chirp* with vibrato (a wavy line diving from high to low);
- :func:`whoosh` - white noise through a band-pass filter whose centre sweeps up and down
  (a moving band of energy).

All return float32 waveforms in [-1, 1] at ``rate`` Hz (default 16 kHz, the rate the course
stores sound at), and :func:`effect` builds any of them by name.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as scipy_signal

from course_utils.audio.signal import check_rate
from course_utils.core.validation import check_float, check_int

#: Frequency ratios and relative amplitudes of a church-bell-like sound (after Risset's bell,
#: in the spirit of his 1969 catalogue): the partials are not multiples of the fundamental,
#: which is what makes a bell sound like a bell and not like an organ pipe.
BELL_PARTIALS = ((0.56, 1.0), (0.92, 0.67), (1.19, 1.0), (1.71, 1.8), (2.0, 2.67),
                 (2.74, 1.67), (3.0, 1.46), (3.76, 1.33), (4.07, 1.33))


def _times(seconds: float, rate: int, high: float = 10.0) -> tuple[np.ndarray, float, int]:
    rate = check_rate(rate)
    seconds = check_float("seconds", seconds, 0.0, high, low_inclusive=False)
    return np.arange(max(1, round(seconds * rate))) / rate, seconds, rate


def _peak(wave: np.ndarray, level: float = 0.8) -> np.ndarray:
    peak = np.abs(wave).max()
    return (level * wave / peak if peak > 0 else wave).astype(np.float32)


def bell(frequency: float = 440.0, seconds: float = 3.0, rate: int = 16_000) -> np.ndarray:
    r"""A struck bell: :math:`x(t) = \sum_k a_k e^{-t / \tau_k} \sin(2 \pi r_k f t)` over the
    :data:`BELL_PARTIALS` :math:`(r_k, a_k)`, with decay times
    :math:`\tau_k = \tau_0 / r_k` (:math:`\tau_0 = 0.3 \times` ``seconds``), so that higher
    partials die sooner. Partials above the Nyquist frequency are left out.

    Args:
        frequency: the nominal pitch in Hz (50 to 2000).
        seconds: length (0 to 10].
        rate: sample rate in Hz.

    Returns:
        (round(seconds * rate),) float32 samples, peak 0.8.
    """
    t, seconds, rate = _times(seconds, rate)
    frequency = check_float("frequency", frequency, 50.0, 2000.0)
    tau0 = 0.3 * seconds
    wave = np.zeros_like(t)
    for ratio, amplitude in BELL_PARTIALS:
        if ratio * frequency < rate / 2:
            wave += amplitude * np.exp(-t * ratio / tau0) * np.sin(2 * np.pi * ratio *
                                                                   frequency * t)
    return _peak(wave)


def kick_drum(seconds: float = 0.5, rate: int = 16_000, start_hz: float = 150.0,
              end_hz: float = 45.0) -> np.ndarray:
    r"""A bass drum: a sine whose frequency falls exponentially from ``start_hz`` to
    ``end_hz``, :math:`f(t) = f_1 + (f_0 - f_1) e^{-t / 0.04}`, under an amplitude decay
    :math:`e^{-t / 0.15}`. The phase is the running integral of :math:`2 \pi f(t)`.

    Args:
        seconds: length (0 to 10].
        rate: sample rate in Hz.
        start_hz, end_hz: the pitch sweep, 20 to 1000 Hz, start above end.

    Returns:
        float32 samples, peak 0.8.
    """
    t, _, rate = _times(seconds, rate)
    start_hz = check_float("start_hz", start_hz, 20.0, 1000.0)
    end_hz = check_float("end_hz", end_hz, 20.0, start_hz)
    frequency = end_hz + (start_hz - end_hz) * np.exp(-t / 0.04)
    phase = 2 * np.pi * np.cumsum(frequency) / rate
    return _peak(np.sin(phase) * np.exp(-t / 0.15))


def snare_drum(seconds: float = 0.4, rate: int = 16_000, seed: int = 0) -> np.ndarray:
    r"""A snare: white noise band-passed to 1-6 kHz (a 4th-order Butterworth filter, the
    rattle of the snares) with decay :math:`e^{-t / 0.06}`, plus a 190 Hz tone (the drum
    head) with decay :math:`e^{-t / 0.03}`.

    Args:
        seconds: length (0 to 10].
        rate: sample rate in Hz (at least 16 kHz, so that 6 kHz is below Nyquist).
        seed: seed of the noise.

    Returns:
        float32 samples, peak 0.8.
    """
    t, _, rate = _times(seconds, rate)
    if rate < 16_000:
        raise ValueError(f"snare_drum needs rate >= 16000 Hz (noise up to 6 kHz), got {rate}.")
    noise = np.random.default_rng(check_int("seed", seed, 0)).standard_normal(t.size)
    sos = scipy_signal.butter(4, [1000, 6000], btype="bandpass", fs=rate, output="sos")
    rattle = scipy_signal.sosfilt(sos, noise) * np.exp(-t / 0.06)
    head = 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.03)
    return _peak(rattle / (np.abs(rattle).max() or 1.0) + head)


def laser(seconds: float = 0.6, rate: int = 16_000, start_hz: float = 2400.0,
          end_hz: float = 150.0, vibrato_hz: float = 30.0) -> np.ndarray:
    r"""A "zap": an exponential chirp :math:`f(t) = f_0 (f_1 / f_0)^{t / T}` from
    ``start_hz`` down to ``end_hz`` over :math:`T` = ``seconds``, with a vibrato of
    ``vibrato_hz`` (±8% in frequency), a little of its third harmonic, and a fade-out.

    Args:
        seconds: length (0 to 10].
        rate: sample rate in Hz.
        start_hz, end_hz: the sweep (20 Hz to rate / 6, so the third harmonic stays below
            Nyquist).
        vibrato_hz: wobble rate, 0 to 200 Hz.

    Returns:
        float32 samples, peak 0.8.
    """
    t, seconds, rate = _times(seconds, rate)
    start_hz = check_float("start_hz", start_hz, 20.0, rate / 6)
    end_hz = check_float("end_hz", end_hz, 20.0, rate / 6)
    vibrato_hz = check_float("vibrato_hz", vibrato_hz, 0.0, 200.0)
    frequency = start_hz * (end_hz / start_hz) ** (t / seconds)
    frequency = frequency * (1 + 0.08 * np.sin(2 * np.pi * vibrato_hz * t))
    phase = 2 * np.pi * np.cumsum(frequency) / rate
    fade = np.minimum(1.0, (seconds - t) / (0.3 * seconds)) * np.minimum(1.0, t / 0.005)
    return _peak((np.sin(phase) + 0.3 * np.sin(3 * phase)) * fade)


def whoosh(seconds: float = 1.2, rate: int = 16_000, low_hz: float = 300.0,
           high_hz: float = 3000.0, seed: int = 0) -> np.ndarray:
    r"""Wind passing by: white noise through a band-pass filter whose centre moves from
    ``low_hz`` up to ``high_hz`` and back (a raised-cosine path on a log scale), louder in
    the middle. The filter is a 2nd-order resonator updated every 10 ms (each block filtered
    with the state carried over, so there are no clicks).

    Args:
        seconds: length (0 to 10].
        rate: sample rate in Hz.
        low_hz, high_hz: the sweep's ends, 50 Hz to rate / 2.5, low below high.
        seed: seed of the noise.

    Returns:
        float32 samples, peak 0.8.
    """
    t, seconds, rate = _times(seconds, rate)
    low_hz = check_float("low_hz", low_hz, 50.0, rate / 2.5)
    high_hz = check_float("high_hz", high_hz, low_hz, rate / 2.5, low_inclusive=False)
    noise = np.random.default_rng(check_int("seed", seed, 0)).standard_normal(t.size)
    shape = 0.5 - 0.5 * np.cos(2 * np.pi * t / seconds)  # 0 -> 1 -> 0
    centre = low_hz * (high_hz / low_hz) ** shape
    block = max(1, rate // 100)
    out = np.zeros_like(noise)
    state = np.zeros(2)
    for start in range(0, noise.size, block):
        stop = min(start + block, noise.size)
        b, a = scipy_signal.iirpeak(centre[start], Q=4.0, fs=rate)
        out[start:stop], state = scipy_signal.lfilter(b, a, noise[start:stop],
                                                      zi=state * 1.0)
    return _peak(out * (0.2 + 0.8 * shape))


#: Every effect by name, with its default settings.
EFFECTS = {"bell": bell, "kick drum": kick_drum, "snare drum": snare_drum, "laser": laser,
           "whoosh": whoosh}


def effect(name: str, rate: int = 16_000, **settings: float) -> np.ndarray:
    """Build the effect called ``name`` (a key of :data:`EFFECTS`) with its settings."""
    import inspect

    if name not in EFFECTS:
        raise ValueError(f"unknown effect {name!r}; choose one of {sorted(EFFECTS)}.")
    known = set(inspect.signature(EFFECTS[name]).parameters) - {"rate"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"{name} has no setting {', '.join(unknown)}; its settings are "
                         f"{', '.join(sorted(known))}.")
    return EFFECTS[name](rate=rate, **settings)
