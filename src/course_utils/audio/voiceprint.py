"""What a voice "is", in numbers: pitch and timbre features and a similarity score (chapter 30).

A voice print here is two things a listener also uses:

- **pitch**: the median fundamental frequency F0 of the voiced frames, found by
  autocorrelation (the lag tau in 2.5-12.5 ms that maximises sum x[n] x[n + tau]);
- **timbre**: the mean mel-frequency cepstral coefficients (MFCC 1-19) of the voiced frames:
  the DCT of the log mel spectrum, c_k = sum_m log S_m cos(pi k (m + 1/2) / M), which
  summarises the spectral envelope shaped by the vocal tract, not the words.

Real speaker-verification systems learn an embedding from thousands of speakers (x-vectors,
ECAPA-TDNN); these hand-made features are far weaker, but they show the idea and what a
transformation must change to pass for someone else.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct

from course_utils.audio.signal import check_rate, check_wave, resample, spectrogram
from course_utils.core.validation import check_float

_RATE = 16_000
N_MFCC = 20


def voiced_frames(db: np.ndarray, within_db: float = 30.0) -> np.ndarray:
    """Boolean mask of frames whose loudest band is within ``within_db`` of the maximum."""
    loud = db.max(axis=0)
    return loud >= loud.max() - within_db


def mfcc(wave: object, rate: int, n_mfcc: int = N_MFCC) -> np.ndarray:
    """MFCCs of every 32 ms frame (hop 10 ms) from a 40-band mel spectrogram at 16 kHz.

    Returns:
        (n_mfcc, n_frames) coefficients; row 0 is overall loudness.
    """
    audio = resample(check_wave(wave), check_rate(rate), _RATE)
    db, _, _ = spectrogram(audio, _RATE, n_fft=512, hop=160, n_mels=40, floor_db=-80.0)
    return dct(db, type=2, axis=0, norm="ortho")[:n_mfcc]


def pitch_hz(wave: object, rate: int) -> float:
    """Median F0 (Hz) of the voiced 40 ms frames, by autocorrelation, searched in 60-400 Hz.

    The autocorrelation of every frame comes from one FFT, r = IFFT(|FFT(x)|^2) (zero-padded
    to twice the frame, so it is not circular). A frame counts as voiced when its normalised
    peak r[tau] / r[0] exceeds 0.5.
    """
    audio = resample(check_wave(wave), check_rate(rate), _RATE)
    size, hop = 640, 160
    low, high = _RATE // 400, _RATE // 60  # lags for 400 Hz .. 60 Hz
    if audio.size < size + hop:
        raise ValueError(f"the clip is too short for a pitch estimate ({audio.size} samples "
                         f"at 16 kHz, need {size + hop}).")
    starts = np.arange(0, audio.size - size, hop)
    frames = audio[starts[:, None] + np.arange(size)]  # (n_frames, size)
    frames = frames - frames.mean(axis=1, keepdims=True)
    corr = np.fft.irfft(np.abs(np.fft.rfft(frames, n=2 * size, axis=1)) ** 2, axis=1)
    energy = corr[:, 0]
    lags = low + np.argmax(corr[:, low:high], axis=1)
    peak = corr[np.arange(len(lags)), lags]
    voiced = (energy > 1e-4) & (peak > 0.5 * np.maximum(energy, 1e-12))
    if not voiced.any():
        raise ValueError("no voiced frames found: is this speech?")
    return float(np.median(_RATE / lags[voiced]))


def voice_print(wave: object, rate: int) -> np.ndarray:
    """The feature vector of a clip: [log2 F0, mean MFCC 1..19 of voiced frames].

    Returns:
        (20,) float64 vector. F0 is in octaves (log2 Hz) so that a shift of one semitone
        moves it by 1/12 whatever the starting pitch.
    """
    coefficients = mfcc(wave, rate)
    audio = resample(check_wave(wave), check_rate(rate), _RATE)
    db, _, _ = spectrogram(audio, _RATE, n_fft=512, hop=160, n_mels=40)
    mask = voiced_frames(db)[: coefficients.shape[1]]
    timbre = coefficients[1:, mask].mean(axis=1)
    return np.concatenate([[np.log2(pitch_hz(wave, rate))], timbre])


def similarity(print_a: np.ndarray, print_b: np.ndarray, scale: np.ndarray) -> float:
    """exp(-||(a - b) / scale|| / sqrt(d)): 1 for identical prints, towards 0 as they differ.

    Args:
        print_a, print_b: (d,) voice prints.
        scale: (d,) typical spread of each feature (e.g. its standard deviation over a
            reference set of clips), so that no feature dominates by its units.
    """
    a, b, s = (np.asarray(v, dtype=np.float64) for v in (print_a, print_b, scale))
    if a.shape != b.shape or a.shape != s.shape or a.ndim != 1:
        raise ValueError(f"voice prints and scale must be 1-D of equal length, got "
                         f"{a.shape}, {b.shape}, {s.shape}.")
    if np.any(s <= 0) or not np.all(np.isfinite(s)):
        raise ValueError("scale must be positive and finite in every feature.")
    return float(np.exp(-np.linalg.norm((a - b) / s) / np.sqrt(a.size)))


def same_voice_threshold(scores: np.ndarray, quantile: float = 0.05) -> float:
    """A verification threshold that accepts (1 - quantile) of genuine same-voice pairs."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1 or scores.size < 2:
        raise ValueError("need at least two same-voice scores.")
    return float(np.quantile(scores, check_float("quantile", quantile, 0.0, 0.5)))
