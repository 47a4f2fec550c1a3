"""Waveform helpers: checks, resampling, noise at an SNR, spectrograms, players."""

from __future__ import annotations

import io
import wave as wave_module

import numpy as np
import pytest

from course_utils.audio import signal

RATE = 16_000


def tone(freq: float = 440.0, seconds: float = 1.0, rate: int = RATE,
         amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_resample_keeps_duration_and_frequency():
    x = tone(440.0, 1.0, 22_050)
    y = signal.resample(x, 22_050, RATE)
    assert y.size == RATE
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * RATE / y.size - 440.0) <= 1.0


@pytest.mark.parametrize("snr", [20.0, 5.0, 0.0, -5.0])
def test_add_noise_hits_the_requested_snr(snr):
    x = tone(amplitude=0.1)  # quiet, so that clipping does not change the noise
    noisy = signal.add_noise(x, snr, seed=3)
    assert abs(signal.measured_snr_db(x, noisy) - snr) < 0.2
    assert np.array_equal(noisy, signal.add_noise(x, snr, seed=3))
    assert not np.array_equal(noisy, signal.add_noise(x, snr, seed=4))


def test_spectrogram_peaks_at_the_tone_and_is_in_db_below_max():
    db, times, freqs = signal.spectrogram(tone(1000.0), RATE, n_mels=64)
    assert db.shape == (64, times.size) and freqs.shape == (64,)
    assert db.max() == 0.0 and db.min() >= -80.0
    peak_band = freqs[np.argmax(db[:, db.shape[1] // 2])]
    assert 850 < peak_band < 1200
    linear, _, lin_freqs = signal.spectrogram(tone(1000.0), RATE, n_mels=None)
    assert linear.shape[0] == 512 // 2 + 1
    assert abs(lin_freqs[np.argmax(linear[:, 5])] - 1000.0) < RATE / 512


def test_mel_scale_round_trip_and_filterbank_shape():
    hz = np.array([0.0, 440.0, 1000.0, 8000.0])
    assert np.allclose(signal.mel_to_hz(signal.hz_to_mel(hz)), hz)
    assert abs(float(signal.hz_to_mel(1000.0)) - 1000.0) < 1.0  # 1000 Hz ~ 1000 mel
    bank = signal.mel_filterbank(RATE, 512, 40)
    assert bank.shape == (40, 257) and (bank >= 0).all() and bank.max() <= 1.0
    assert (bank.sum(axis=1) > 0).all()  # no empty filter


def test_wav_bytes_is_a_readable_16_bit_file():
    x = tone(seconds=0.25)
    data = signal.wav_bytes(x, RATE)
    with wave_module.open(io.BytesIO(data)) as f:
        assert (f.getnchannels(), f.getsampwidth(), f.getframerate()) == (1, 2, RATE)
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    assert pcm.size == x.size
    assert np.allclose(pcm / 32767, x, atol=1e-4)


def test_audio_player_stores_at_the_lower_rate():
    player = signal.audio_player(tone(rate=44_100), 44_100, store_rate=16_000)
    with wave_module.open(io.BytesIO(player.data)) as f:
        assert f.getframerate() == 16_000
    kept = signal.audio_player(tone(), RATE, store_rate=None)
    with wave_module.open(io.BytesIO(kept.data)) as f:
        assert f.getframerate() == RATE


def test_join_puts_gaps_between_clips():
    joined = signal.join([tone(seconds=0.5), tone(seconds=0.25)], RATE, gap_seconds=0.1)
    assert joined.size == int(0.5 * RATE) + int(0.1 * RATE) + int(0.25 * RATE)
    gap = joined[int(0.5 * RATE):int(0.6 * RATE)]
    assert np.all(gap == 0)


def test_int16_input_is_scaled():
    x = (tone() * 32767).astype(np.int16)
    assert np.allclose(signal.check_wave(x), tone(), atol=1e-4)


@pytest.mark.parametrize("bad, message", [
    ([], "empty"),
    (np.zeros((2, 10)), "1-D"),
    (np.array([0.1, np.nan]), "NaN"),
    (np.array(["a", "b"]), "array of numbers"),
    (np.zeros(signal.MAX_SAMPLES + 1, dtype=np.float32), "10 minutes"),
])
def test_check_wave_rejects_bad_waves(bad, message):
    with pytest.raises(ValueError, match=message):
        signal.check_wave(bad)


@pytest.mark.parametrize("call, message", [
    (lambda: signal.resample(tone(), 16_000, 0), "rate_out"),
    (lambda: signal.resample(tone(), 16_000.5, 8_000), "integer"),
    (lambda: signal.add_noise(tone(), 90.0), "snr_db"),
    (lambda: signal.add_noise(np.zeros(100), 10.0), "silent"),
    (lambda: signal.add_noise(tone(), float("nan")), "finite"),
    (lambda: signal.spectrogram(tone(), RATE, hop=0), "hop"),
    (lambda: signal.spectrogram(tone(), RATE, n_fft=1 << 20), "n_fft"),
    (lambda: signal.audio_player(tone(seconds=3.0), RATE, max_seconds=1.0), "limited"),
    (lambda: signal.measured_snr_db(tone(), tone(seconds=0.5)), "differ in length"),
    (lambda: signal.join([], RATE), "at least one"),
])
def test_helpers_reject_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_sound_figure_and_heatmap():
    import matplotlib.pyplot as plt

    from course_utils.audio import figures

    fig = figures.sound_figure(tone(), RATE, "a tone")
    assert len(fig.axes) == 3 and fig.axes[0].get_title() == "a tone"
    plt.close(fig)
    heatmap = figures.spectrogram_heatmap(tone(seconds=2.0), RATE)
    assert heatmap.z.dtype == np.int8 and heatmap.z.shape[0] == 64
    assert heatmap.z.max() == 0 and heatmap.z.min() >= -80
    assert heatmap.x[-1] == pytest.approx(2.0, abs=0.05)
    with pytest.raises(ValueError, match="hop_seconds"):
        figures.spectrogram_heatmap(tone(), RATE, hop_seconds=5)


def test_audio_widget_holds_a_wav_at_the_stored_rate():
    widget = signal.audio_widget(tone(rate=22_050), 22_050, store_rate=16_000)
    with wave_module.open(io.BytesIO(widget.value)) as f:
        assert f.getframerate() == 16_000
    with pytest.raises(ValueError, match="limited"):
        signal.audio_widget(tone(seconds=3.0), RATE, max_seconds=1.0)
