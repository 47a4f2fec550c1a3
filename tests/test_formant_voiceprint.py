"""The rule-based formant voice, voice prints, and the chapter-30 sentence sets."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.audio import formant, signal, voiceprint
from course_utils.data import speech_sentences

PHONEMES = "ðə bˈɜːtʃ kənˈuː slˈɪd."


def test_segments_follow_the_rules():
    segments = formant.phoneme_segments("ˈa aː.")
    vowels = [s for s in segments if s.source == "voiced"]
    base = formant.RULES["a"].seconds
    assert vowels[0].seconds == pytest.approx(1.4 * base)  # stressed
    assert vowels[1].seconds == pytest.approx(1.5 * base)  # long
    assert segments[-1].source == "silence"  # the full stop is a pause


def test_formant_voice_is_deterministic_and_puts_energy_at_the_vowel_formants():
    a = formant.formant_speak("ˈiː", seed=0)
    assert np.array_equal(a, formant.formant_speak("ˈiː", seed=0))
    assert a.dtype == np.float32 and np.abs(a).max() == pytest.approx(0.9, abs=1e-3)
    # /i/ has F1 ~ 270 Hz and F2 ~ 2290 Hz; /ɑ/ has F1 ~ 730 Hz: compare 200-400 Hz energy
    ah = formant.formant_speak("ˈɑː", seed=0)
    def band(x, low, high):
        spectrum = np.abs(np.fft.rfft(x)) ** 2
        freqs = np.fft.rfftfreq(x.size, 1 / formant.FORMANT_RATE)
        return spectrum[(freqs >= low) & (freqs < high)].sum() / spectrum.sum()
    assert band(a, 2000, 2600) > band(ah, 2000, 2600)
    assert band(ah, 600, 900) > band(a, 600, 900)


def test_formant_duration_matches_the_segments():
    segments = formant.phoneme_segments(PHONEMES)
    wave = formant.formant_speak(PHONEMES)
    assert wave.size / formant.FORMANT_RATE == pytest.approx(
        sum(s.seconds for s in segments), abs=0.01 * len(segments))


@pytest.mark.parametrize("call, message", [
    (lambda: formant.formant_speak(""), "empty"),
    (lambda: formant.formant_speak(" . , "), "no speakable phoneme"),
    (lambda: formant.formant_speak(PHONEMES, pitch_hz=10), "pitch_hz"),
    (lambda: formant.formant_speak(PHONEMES, pitch_hz="high"), "number"),
    (lambda: formant.phoneme_segments(None), "must be text"),
])
def test_formant_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def harmonic_voice(f0: float, seconds: float = 1.0, rate: int = 16_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
    return (0.3 * wave / np.abs(wave).max()).astype(np.float32)


@pytest.mark.parametrize("f0", [90.0, 150.0, 220.0])
def test_pitch_of_a_harmonic_tone(f0):
    assert voiceprint.pitch_hz(harmonic_voice(f0), 16_000) == pytest.approx(f0, rel=0.03)


def test_voice_print_and_similarity():
    low, low2, high = (voiceprint.voice_print(harmonic_voice(f), 16_000)
                       for f in (100.0, 101.0, 200.0))
    assert low.shape == (voiceprint.N_MFCC,)
    assert low[0] == pytest.approx(np.log2(100.0), abs=0.05)
    scale = np.ones_like(low)
    assert voiceprint.similarity(low, low, scale) == 1.0
    assert voiceprint.similarity(low, low2, scale) > voiceprint.similarity(low, high, scale)


def test_threshold_accepts_the_requested_share():
    scores = np.linspace(0, 1, 101)
    threshold = voiceprint.same_voice_threshold(scores, 0.05)
    assert (scores >= threshold).mean() == pytest.approx(0.95, abs=0.011)


@pytest.mark.parametrize("call, message", [
    (lambda: voiceprint.pitch_hz(np.zeros(16_000, dtype=np.float32), 16_000), "voiced"),
    (lambda: voiceprint.pitch_hz(harmonic_voice(100, 0.02), 16_000), "too short"),
    (lambda: voiceprint.similarity(np.ones(3), np.ones(4), np.ones(3)), "equal length"),
    (lambda: voiceprint.similarity(np.ones(3), np.ones(3), np.zeros(3)), "positive"),
    (lambda: voiceprint.same_voice_threshold(np.array([0.5])), "at least two"),
    (lambda: voiceprint.same_voice_threshold(np.ones(5), 0.9), "quantile"),
])
def test_voiceprint_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_sentence_sets_are_fixed_and_distinct():
    sets = speech_sentences.speech_test_sets()
    assert list(sets) == ["plain", "names", "numbers", "homophones"]
    assert all(len(v) == 10 for v in sets.values())
    assert speech_sentences.name_sentences() == sets["names"]  # fixed seed
    all_sentences = [s for v in sets.values() for s in v]
    assert len(set(all_sentences)) == 40
    assert all(any(c.isdigit() for c in s) for s in sets["numbers"])


def test_shuffle_words_keeps_the_words_and_changes_the_order():
    sentence = speech_sentences.PLAIN[0]
    shuffled = speech_sentences.shuffle_words(sentence, seed=2)
    words = lambda s: sorted(w.strip(".").lower() for w in s.split())  # noqa: E731
    assert words(shuffled) == words(sentence)
    assert shuffled.rstrip(".") != sentence.rstrip(".")
    with pytest.raises(ValueError, match="two words"):
        speech_sentences.shuffle_words("Hello.")
    with pytest.raises(ValueError, match="count"):
        speech_sentences.name_sentences(0)
