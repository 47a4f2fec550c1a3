"""Unit tests for course_utils.audio.sound_effects (and signal.audio_widget)."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.audio import signal, sound_effects as sfx

RATE = 16_000


def _band_energy(wave: np.ndarray, low: float, high: float, rate: int = RATE) -> float:
    """Share of the energy of ``wave`` between ``low`` and ``high`` Hz."""
    power = np.abs(np.fft.rfft(wave)) ** 2
    freqs = np.fft.rfftfreq(wave.size, 1 / rate)
    return float(power[(freqs >= low) & (freqs < high)].sum() / power.sum())


@pytest.mark.parametrize("name", sorted(sfx.EFFECTS))
def test_every_effect_is_a_clean_waveform(name):
    wave = sfx.effect(name, rate=RATE)
    assert wave.dtype == np.float32 and wave.ndim == 1 and wave.size > RATE // 10
    assert np.all(np.isfinite(wave)) and np.abs(wave).max() == pytest.approx(0.8, abs=1e-3)
    signal.check_wave(wave)  # a valid course waveform
    assert np.array_equal(wave, sfx.effect(name, rate=RATE))  # deterministic


def test_bell_partials_are_inharmonic_and_high_ones_fade_first():
    wave = sfx.bell(400.0, 2.0, RATE)
    assert wave.size == 2 * RATE
    power = np.abs(np.fft.rfft(wave[:RATE // 2])) ** 2
    freqs = np.fft.rfftfreq(RATE // 2, 1 / RATE)
    peak = freqs[power.argmax()]
    assert any(abs(peak - r * 400.0) < 10 for r, _ in sfx.BELL_PARTIALS)
    # the hum partial (0.56 f) is present, which a harmonic tone would not have
    assert _band_energy(wave, 0.5 * 400, 0.62 * 400) > 0.01
    early = _band_energy(wave[:RATE // 4], 1200, 2000)
    late = _band_energy(wave[-RATE // 4:], 1200, 2000)
    assert late < early


def test_kick_sweeps_down_and_snare_is_noisy():
    kick = sfx.kick_drum(0.5, RATE)
    assert _band_energy(kick, 20, 200) > 0.9
    first, last = kick[:800], kick[4000:6400]
    zero_rate = [np.mean(np.abs(np.diff(np.sign(x))) > 0) for x in (first, last)]
    assert zero_rate[0] > zero_rate[1]  # pitch falls: fewer zero crossings later
    snare = sfx.snare_drum(0.4, RATE, seed=1)
    assert _band_energy(snare, 1000, 6000) > 0.4
    assert not np.array_equal(snare, sfx.snare_drum(0.4, RATE, seed=2))


def test_laser_chirps_from_high_to_low():
    zap = sfx.laser(0.6, RATE, start_hz=2000, end_hz=200, vibrato_hz=0)
    n = zap.size // 6
    assert _band_energy(zap[:n], 1500, 2600) > 0.5
    assert _band_energy(zap[-2 * n:-n], 150, 500) > 0.5


def test_whoosh_band_moves_up_in_the_middle():
    wind = sfx.whoosh(1.2, RATE, low_hz=300, high_hz=3000, seed=0)
    n = wind.size // 8
    edge = _band_energy(wind[:n], 1500, 4000)
    middle = _band_energy(wind[3 * n:5 * n], 1500, 4000)
    assert middle > 2 * edge


@pytest.mark.parametrize("call", [
    lambda: sfx.bell(10.0), lambda: sfx.bell(440, seconds=0), lambda: sfx.bell(440, rate=500),
    lambda: sfx.kick_drum(start_hz=40, end_hz=100), lambda: sfx.kick_drum(seconds=20),
    lambda: sfx.snare_drum(rate=8000), lambda: sfx.snare_drum(seed=-1),
    lambda: sfx.laser(start_hz=5000), lambda: sfx.laser(vibrato_hz=-1),
    lambda: sfx.whoosh(low_hz=3000, high_hz=300), lambda: sfx.whoosh(seconds=-1.0),
    lambda: sfx.effect("explosion"), lambda: sfx.effect("bell", volume=2)])
def test_effects_reject_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_audio_widget_holds_a_wav_at_the_stored_rate():
    wave = sfx.bell(440.0, 1.0, RATE)
    player = signal.audio_widget(wave, RATE, store_rate=8000)
    assert player.format == "wav" and not player.autoplay
    assert player.value[:4] == b"RIFF"
    assert len(player.value) == 44 + 2 * 8000  # header + 16-bit samples at 8 kHz
    for bad in (dict(wave=[]), dict(rate=10), dict(max_seconds=0.5),
                dict(wave=np.full(100, np.nan)), dict(wave=np.zeros((2, 100)))):
        with pytest.raises(ValueError):
            signal.audio_widget(**{"wave": wave, "rate": RATE, **bad})
