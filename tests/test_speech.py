"""The Piper voice and the Whisper recogniser (real models), and the voice shift."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.audio import speech, word_errors

SENTENCE = "The weather today is cold and windy."


@pytest.fixture(scope="module")
def voice():
    return speech.load_speaker(1)


@pytest.fixture(scope="module")
def listener():
    return speech.load_listener(1)


def test_phonemes_are_espeak_ipa(voice):
    assert voice.phonemes("Hello world.") == ["həlˈoʊ wˈɜːld."]
    assert len(voice.phonemes("One. Two.")) == 2  # one string per sentence


def test_speech_is_deterministic_by_default_and_varies_when_expressive(voice):
    a, b = voice.speak(SENTENCE), voice.speak(SENTENCE)
    assert a.rate == 22_050 and a.wave.dtype == np.float32
    assert np.array_equal(a.wave, b.wave)
    assert 1.0 < a.duration < 5.0 and np.abs(a.wave).max() <= 1.0
    expressive = [voice.speak(SENTENCE, expressive=True).wave for _ in range(3)]
    assert not all(np.array_equal(expressive[0], e) for e in expressive[1:])


def test_speed_changes_duration(voice):
    slow, fast = voice.speak(SENTENCE, speed=0.5), voice.speak(SENTENCE, speed=2.0)
    assert slow.duration > 2.5 * fast.duration


def test_round_trip_recognises_a_plain_sentence(voice, listener):
    spoken = voice.speak(SENTENCE)
    heard = listener.transcribe(spoken.wave, spoken.rate)
    assert word_errors.word_error_rate([SENTENCE], [heard.text]) <= 0.15
    assert heard.audio_seconds == pytest.approx(spoken.duration)


def test_recogniser_hears_little_in_silence(listener):
    heard = listener.transcribe(np.zeros(16_000 * 2, dtype=np.float32), 16_000)
    assert len(heard.text.split()) <= 3


def test_shift_voice_moves_pitch_and_duration(voice):
    from course_utils.audio import voiceprint

    spoken = voice.speak(SENTENCE)
    up = speech.shift_voice(spoken.wave, spoken.rate, 12)
    assert up.size == pytest.approx(spoken.wave.size / 2, rel=0.01)
    f0 = voiceprint.pitch_hz(spoken.wave, spoken.rate)
    assert voiceprint.pitch_hz(up, spoken.rate) == pytest.approx(2 * f0, rel=0.08)
    assert speech.shift_voice(spoken.wave, spoken.rate, 0) is not None


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   ", "no letters"),
    ("привет", "cannot read"),
    ("你好", "cannot read"),
    ("x" * (speech.MAX_TEXT_CHARS + 1), "too long"),
    (None, "must be text"),
    (42, "must be text"),
    ("?!...", "no letters"),
])
def test_bad_text_is_refused_clearly(voice, text, message):
    with pytest.raises(ValueError, match=message):
        voice.speak(text)


def test_accented_latin_text_is_accepted():
    assert speech.check_english_text("  Café déjà vu, naïve.  ") == "Café déjà vu, naïve."


@pytest.mark.parametrize("kwargs, message", [
    ({"speed": 0.1}, "speed"),
    ({"speed": 5}, "speed"),
    ({"speed": float("nan")}, "finite"),
    ({"speed": "fast"}, "number"),
])
def test_bad_speed_is_refused(voice, kwargs, message):
    with pytest.raises(ValueError, match=message):
        voice.speak(SENTENCE, **kwargs)


@pytest.mark.parametrize("wave, rate, message", [
    (np.zeros(16_000 * 31, dtype=np.float32), 16_000, "30 s"),
    (np.array([]), 16_000, "empty"),
    (np.zeros(100), 10, "rate"),
    (np.zeros((2, 100)), 16_000, "1-D"),
])
def test_transcribe_rejects_bad_audio(listener, wave, rate, message):
    with pytest.raises(ValueError, match=message):
        listener.transcribe(wave, rate)


@pytest.mark.parametrize("semitones", [13, -13, float("inf")])
def test_shift_voice_rejects_absurd_shifts(semitones):
    with pytest.raises(ValueError):
        speech.shift_voice(np.zeros(1000, dtype=np.float32) + 0.1, 16_000, semitones)
