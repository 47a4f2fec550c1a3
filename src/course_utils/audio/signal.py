"""Waveforms: checks, resampling, noise at a chosen SNR, spectrograms and audio players.

Part IV (chapters 30-31) shares these. A waveform is a 1-D float array in [-1, 1] with its
sample rate in Hz; every function here checks both and says what is wrong.
"""

from __future__ import annotations

import io
import wave as wave_module
from math import gcd

import numpy as np
from scipy import signal as scipy_signal

from course_utils.core.validation import check_float, check_int

#: Whisper (chapter 30) listens at 16 kHz.
ASR_RATE = 16_000
#: Longest waveform a helper accepts (10 minutes at 48 kHz): a guard against absurd input.
MAX_SAMPLES = 48_000 * 600


def check_wave(wave: object, name: str = "wave") -> np.ndarray:
    """Return ``wave`` as a float32 1-D array, or raise ValueError saying what is wrong.

    Args:
        wave: a 1-D sequence of finite samples (float in [-1, 1], or int16 which is scaled).
        name: the argument's name, used in the message.

    Returns:
        (n,) float32 array.
    """
    array = np.asarray(wave)
    if array.dtype == np.int16:
        array = array.astype(np.float32) / 32768.0
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be an array of numbers, got dtype {array.dtype}.")
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (mono samples), got shape {array.shape}.")
    if array.size == 0:
        raise ValueError(f"{name} is empty: there is no sound to process.")
    if array.size > MAX_SAMPLES:
        raise ValueError(f"{name} has {array.size:,} samples, more than the "
                         f"{MAX_SAMPLES:,} (10 minutes at 48 kHz) the course handles.")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite samples.")
    return array


def check_rate(rate: object, name: str = "rate") -> int:
    """A sample rate in Hz between 1 kHz and 192 kHz."""
    return check_int(name, rate, 1_000, 192_000)


def duration(wave: np.ndarray, rate: int) -> float:
    """Length of ``wave`` in seconds."""
    return check_wave(wave).size / check_rate(rate)


def resample(wave: object, rate_in: int, rate_out: int) -> np.ndarray:
    """Change the sample rate with a polyphase filter (anti-aliased).

    Args:
        wave: (n,) samples at ``rate_in``.
        rate_in, rate_out: sample rates in Hz.

    Returns:
        (round(n * rate_out / rate_in),) float32 samples at ``rate_out``.
    """
    array = check_wave(wave)
    rate_in, rate_out = check_rate(rate_in, "rate_in"), check_rate(rate_out, "rate_out")
    if rate_in == rate_out:
        return array
    common = gcd(rate_in, rate_out)
    up, down = rate_out // common, rate_in // common
    return scipy_signal.resample_poly(array, up, down).astype(np.float32)


def rms(wave: object) -> float:
    """Root-mean-square amplitude, sqrt(mean(x^2))."""
    array = check_wave(wave)
    return float(np.sqrt(np.mean(array.astype(np.float64) ** 2)))


def add_noise(wave: object, snr_db: float, seed: int = 0) -> np.ndarray:
    """Add white Gaussian noise so that the signal-to-noise ratio is ``snr_db``.

    SNR = 10 log10(P_signal / P_noise) with P the mean power, so the noise has standard
    deviation sigma = rms(x) / 10^(SNR/20). 0 dB means noise as loud as the speech.

    Args:
        wave: (n,) samples.
        snr_db: the target ratio in decibels, from -20 (noise 10x louder) to 60.
        seed: seed of the noise generator (the same seed gives the same noise).

    Returns:
        (n,) float32 samples, clipped to [-1, 1].
    """
    array = check_wave(wave)
    snr_db = check_float("snr_db", snr_db, -20.0, 60.0)
    power = rms(array)
    if power == 0.0:
        raise ValueError("wave is silent (all zeros): a signal-to-noise ratio is undefined.")
    sigma = power / 10 ** (snr_db / 20)
    noise = np.random.default_rng(seed).normal(0.0, sigma, array.size)
    return np.clip(array + noise, -1.0, 1.0).astype(np.float32)


def measured_snr_db(clean: object, noisy: object) -> float:
    """10 log10(P_clean / P_(noisy - clean)): the SNR actually present in ``noisy``."""
    clean, noisy = check_wave(clean, "clean"), check_wave(noisy, "noisy")
    if clean.shape != noisy.shape:
        raise ValueError(f"clean and noisy differ in length: {clean.size} vs {noisy.size}.")
    residual = rms(noisy - clean) if np.any(noisy != clean) else 0.0
    if residual == 0.0:
        return float("inf")
    return float(20 * np.log10(rms(clean) / residual))


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Mel scale (O'Shaughnessy): m = 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`: f = 700 (10^(m / 2595) - 1)."""
    return 700.0 * (10 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular filters equally spaced on the mel scale.

    Returns:
        (n_mels, n_fft // 2 + 1) weights; row k peaks at the k-th mel centre frequency.
    """
    rate = check_rate(rate)
    n_fft = check_int("n_fft", n_fft, 16, 16_384)
    n_mels = check_int("n_mels", n_mels, 1, 256)
    fmax = rate / 2 if fmax is None else check_float("fmax", fmax, 1.0, rate / 2)
    fmin = check_float("fmin", fmin, 0.0, fmax, high_inclusive=False)
    bins = np.linspace(0, rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def spectrogram(wave: object, rate: int, n_fft: int = 512, hop: int = 128,
                n_mels: int | None = 64, floor_db: float = -80.0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Short-time Fourier transform magnitude in decibels (optionally on the mel scale).

    Each column is |FFT| of a Hann-windowed frame of ``n_fft`` samples, frames ``hop`` apart;
    power is 10 log10(|X|^2), relative to the loudest cell and floored at ``floor_db``.

    Args:
        wave: (n,) samples.
        rate: sample rate in Hz.
        n_fft: frame length in samples.
        hop: samples between frame starts.
        n_mels: number of mel bands, or None for linear frequency bins.
        floor_db: the quietest level kept (dB below the maximum).

    Returns:
        (db, times, freqs): db is (n_bands, n_frames) with values in [floor_db, 0]; times
        (n_frames,) in seconds; freqs (n_bands,) in Hz (the bands' centres for mel).
    """
    array = check_wave(wave)
    rate = check_rate(rate)
    n_fft = check_int("n_fft", n_fft, 16, 16_384)
    hop = check_int("hop", hop, 1, n_fft)
    floor_db = check_float("floor_db", floor_db, -200.0, -1.0)
    if array.size < n_fft:
        array = np.pad(array, (0, n_fft - array.size))
    freqs, times, stft = scipy_signal.stft(array, fs=rate, window="hann", nperseg=n_fft,
                                           noverlap=n_fft - hop, boundary=None, padded=False)
    power = np.abs(stft) ** 2  # (n_fft//2 + 1, n_frames)
    if n_mels is not None:
        bank = mel_filterbank(rate, n_fft, n_mels)
        power = bank @ power  # (n_mels, n_frames)
        freqs = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(rate / 2), n_mels + 2))[1:-1]
    db = 10 * np.log10(np.maximum(power, 1e-12))
    db = np.maximum(db - db.max(), floor_db)
    return db.astype(np.float32), times, np.asarray(freqs, dtype=np.float64)


def wav_bytes(wave: object, rate: int) -> bytes:
    """A 16-bit mono WAV file holding ``wave`` (clipped to [-1, 1])."""
    array = check_wave(wave)
    rate = check_rate(rate)
    pcm = (np.clip(array, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave_module.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _stored_wav(wave: object, rate: int, store_rate: int | None,
                max_seconds: float) -> tuple[bytes, int]:
    """The WAV bytes a player stores, and their rate: checked, length-guarded, resampled down
    to ``store_rate`` when that is lower (shared by :func:`audio_player` and
    :func:`audio_widget`)."""
    array = check_wave(wave)
    rate = check_rate(rate)
    max_seconds = check_float("max_seconds", max_seconds, 0.1, 600.0)
    if array.size / rate > max_seconds:
        raise ValueError(f"the sound lasts {array.size / rate:.1f} s; players are limited to "
                         f"{max_seconds:g} s to keep the notebook small.")
    if store_rate is not None and store_rate < rate:
        array, rate = resample(array, rate, store_rate), store_rate
    return wav_bytes(array, rate), rate


def audio_player(wave: object, rate: int, store_rate: int | None = 16_000,
                 max_seconds: float = 20.0):
    """An audio player (``IPython.display.Audio``) that plays in JupyterLab and in the book.

    The sound is embedded in the notebook as a WAV file, so the built book plays it offline.
    To keep notebooks small it is stored at ``store_rate`` (16 kHz keeps speech and melody
    intact; pass None to keep ``rate``).

    Args:
        wave: (n,) samples.
        rate: their sample rate in Hz.
        store_rate: the rate stored in the notebook, or None.
        max_seconds: longer sounds are refused (a notebook-size guard).
    """
    from IPython.display import Audio

    data, rate = _stored_wav(wave, rate, store_rate, max_seconds)
    # normalize=False: the player plays the samples as they are, so a quiet clip sounds quiet
    return Audio(data=data, rate=rate, normalize=False)


def audio_widget(wave: object, rate: int, store_rate: int | None = 8_000,
                 max_seconds: float = 20.0):
    """The same sound as :func:`audio_player`, as an ``ipywidgets.Audio`` widget.

    Use it for sound shown *inside* a widget panel (``SafePanel``): the WAV travels as a
    binary widget buffer. (An ``IPython.display.Audio`` of more than 64 KiB inside an
    ``Output`` widget stalls ``nbclient`` when the notebook is executed, so stored panels
    could not hold a clip of more than about 3 s.)

    Args:
        wave: (n,) samples.
        rate: their sample rate in Hz.
        store_rate: the rate stored (default 8 kHz: enough for a melody), or None.
        max_seconds: longer sounds are refused (a notebook-size guard).
    """
    import ipywidgets

    data, _ = _stored_wav(wave, rate, store_rate, max_seconds)
    return ipywidgets.Audio(value=data, format="wav", autoplay=False, loop=False)


def join(waves: list, rate: int, gap_seconds: float = 0.5) -> np.ndarray:
    """Concatenate clips with ``gap_seconds`` of silence between them.

    One long clip instead of many short ones: a recogniser that pads every input to a fixed
    window (Whisper: 30 s) then does its fixed work once.

    Returns:
        (sum of lengths + gaps,) float32 samples.
    """
    if not waves:
        raise ValueError("join needs at least one clip.")
    rate = check_rate(rate)
    gap_seconds = check_float("gap_seconds", gap_seconds, 0.0, 10.0)
    gap = np.zeros(int(round(gap_seconds * rate)), dtype=np.float32)
    pieces = []
    for i, w in enumerate(waves):
        pieces += [gap] if i else []
        pieces.append(check_wave(w, f"waves[{i}]"))
    return np.concatenate(pieces)
