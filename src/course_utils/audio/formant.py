"""A rule-based formant synthesiser: the pre-neural baseline of chapter 30.

It receives exactly what Piper's network receives - the eSpeak phoneme string of the text -
and turns it into sound with a table of rules instead of a trained model, the way speech
synthesisers worked from the 1960s to the 1990s (Klatt 1980, in a much simplified form):

1. every phoneme gets a fixed duration, a source (voiced pulses, noise, both, or silence) and
   target frequencies F1-F3 of the vocal tract's resonances (formants);
2. the targets are smoothed over ~20 ms so that formants glide between phonemes;
3. a glottal pulse train at a falling pitch F0 (or white noise for /s/, /f/, ...) is passed
   through three second-order resonators in cascade, y[n] = b x[n] + a1 y[n-1] + a2 y[n-2]
   with a1 = 2 r cos(2 pi F / fs), a2 = -r^2 and r = exp(-pi B / fs) for bandwidth B.

Whatever the network adds over this table - natural durations, coarticulation, a real
voice's spectrum - shows up as the difference in word error rate between the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as scipy_signal

from course_utils.core.validation import check_float, check_text

#: Output sample rate of the formant voice.
FORMANT_RATE = 16_000
_FRAME = 80  # samples per control frame (5 ms at 16 kHz)


@dataclass(frozen=True)
class Segment:
    """Rules for one phoneme: duration (s), source, formant targets (Hz) and loudness."""

    seconds: float
    source: str  # "voiced", "noise", "mixed", "burst" or "silence"
    formants: tuple[float, float, float]
    gain: float = 1.0


def _vowel(f1: float, f2: float, f3: float, seconds: float = 0.11) -> Segment:
    return Segment(seconds, "voiced", (f1, f2, f3))


#: eSpeak IPA symbol -> rule. Vowel formants are averages for adult male American English
#: (Peterson & Barney 1952; Hillenbrand et al. 1995); consonants use rough loci.
RULES: dict[str, Segment] = {
    "i": _vowel(270, 2290, 3010), "ɪ": _vowel(390, 1990, 2550, 0.08),
    "e": _vowel(480, 2000, 2600), "ɛ": _vowel(530, 1840, 2480, 0.09),
    "æ": _vowel(660, 1720, 2410, 0.12), "a": _vowel(750, 1300, 2500),
    "ɑ": _vowel(730, 1090, 2440, 0.12), "ɒ": _vowel(650, 1000, 2400),
    "ɔ": _vowel(570, 840, 2410, 0.12), "o": _vowel(500, 900, 2400),
    "ʊ": _vowel(440, 1020, 2240, 0.08), "u": _vowel(300, 870, 2240),
    "ʌ": _vowel(640, 1190, 2390, 0.08), "ə": _vowel(500, 1500, 2500, 0.06),
    "ɚ": _vowel(490, 1350, 1690, 0.09), "ɜ": _vowel(490, 1350, 1690),
    "ᵻ": _vowel(400, 1800, 2500, 0.06), "ɐ": _vowel(600, 1300, 2500, 0.07),
    "m": Segment(0.07, "voiced", (280, 900, 2200), 0.35),
    "n": Segment(0.06, "voiced", (280, 1700, 2600), 0.35),
    "ŋ": Segment(0.07, "voiced", (280, 2300, 2750), 0.35),
    "l": Segment(0.06, "voiced", (360, 1000, 2700), 0.6),
    "ɫ": Segment(0.06, "voiced", (360, 900, 2700), 0.6),
    "ɹ": Segment(0.06, "voiced", (420, 1300, 1600), 0.6),
    "w": Segment(0.05, "voiced", (300, 650, 2200), 0.6),
    "j": Segment(0.05, "voiced", (260, 2200, 3000), 0.6),
    "ɾ": Segment(0.03, "voiced", (400, 1700, 2600), 0.5),
    "h": Segment(0.06, "noise", (600, 1500, 2500), 0.25),
    "f": Segment(0.09, "noise", (1500, 4000, 6500), 0.15),
    "θ": Segment(0.09, "noise", (1500, 4500, 6500), 0.12),
    "s": Segment(0.10, "noise", (4500, 6000, 7200), 0.4),
    "ʃ": Segment(0.10, "noise", (2300, 3500, 5500), 0.45),
    "v": Segment(0.07, "mixed", (300, 1500, 4000), 0.35),
    "ð": Segment(0.05, "mixed", (300, 1600, 4500), 0.3),
    "z": Segment(0.08, "mixed", (300, 4500, 6500), 0.35),
    "ʒ": Segment(0.08, "mixed", (300, 2300, 4500), 0.35),
    "p": Segment(0.08, "burst", (400, 900, 2200), 0.4),
    "b": Segment(0.06, "burst", (300, 900, 2200), 0.4),
    "t": Segment(0.08, "burst", (400, 1800, 4500), 0.4),
    "d": Segment(0.06, "burst", (300, 1700, 2600), 0.4),
    "k": Segment(0.08, "burst", (400, 2000, 2800), 0.4),
    "ɡ": Segment(0.06, "burst", (300, 1900, 2700), 0.4),
    "ʔ": Segment(0.04, "silence", (500, 1500, 2500), 0.0),
}
#: Symbols that are not sounds: pauses (seconds) and length marks.
PAUSES = {" ": 0.04, ",": 0.2, ".": 0.35, "?": 0.35, "!": 0.35, ";": 0.25, ":": 0.25}
_AFFRICATES = {"ʧ": "tʃ", "ʤ": "dʒ"}
_BANDWIDTHS = (70.0, 100.0, 140.0)


def phoneme_segments(phonemes: str) -> list[Segment]:
    """The rule sequence for an eSpeak IPA string.

    ``ˈ`` (primary stress) lengthens the next vowel by 40 %, ``ˌ`` by 15 %; ``ː`` lengthens
    the previous one by 50 %; symbols without a rule (rare diacritics) are skipped.
    """
    phonemes = check_text("phonemes", phonemes)
    for symbol, pair in _AFFRICATES.items():
        phonemes = phonemes.replace(symbol, pair)
    segments: list[Segment] = []
    stretch = 1.0
    for symbol in phonemes:
        if symbol == "ˈ":
            stretch = 1.4
        elif symbol == "ˌ":
            stretch = 1.15
        elif symbol == "ː" and segments:
            last = segments[-1]
            segments[-1] = Segment(last.seconds * 1.5, last.source, last.formants, last.gain)
        elif symbol in PAUSES:
            segments.append(Segment(PAUSES[symbol], "silence", (500, 1500, 2500), 0.0))
        elif symbol in RULES:
            rule = RULES[symbol]
            if rule.source == "voiced" and rule.gain == 1.0:  # a vowel takes the stress
                rule = Segment(rule.seconds * stretch, rule.source, rule.formants, rule.gain)
                stretch = 1.0
            segments.append(rule)
    if not any(s.source != "silence" for s in segments):
        raise ValueError(f"no speakable phoneme in {phonemes!r}.")
    return segments


def _resonate(x: np.ndarray, freqs: np.ndarray, bandwidth: float, rate: int) -> np.ndarray:
    """A second-order resonator whose centre frequency changes every control frame.

    Args:
        x: (n,) input samples.
        freqs: (n_frames,) centre frequency per frame of ``_FRAME`` samples.

    Returns:
        (n,) output with unit gain at the centre frequency.
    """
    y = np.zeros_like(x)
    state = np.zeros(2)
    r = np.exp(-np.pi * bandwidth / rate)
    for k, freq in enumerate(freqs):
        a1 = 2 * r * np.cos(2 * np.pi * freq / rate)
        a2 = -r * r
        b = 1 - a1 - a2  # unit gain at DC keeps the levels of the cascade comparable
        block = slice(k * _FRAME, (k + 1) * _FRAME)
        y[block], state = scipy_signal.lfilter([b], [1, -a1, -a2], x[block], zi=state)
    return y


def formant_speak(phonemes: str, pitch_hz: float = 120.0, seed: int = 0) -> np.ndarray:
    """Synthesise an eSpeak phoneme string with the rules in :data:`RULES`.

    Args:
        phonemes: IPA as returned by ``PiperSpeaker.phonemes`` (one or more sentences).
        pitch_hz: starting F0 in [60, 300]; it falls by 25 % over the utterance.
        seed: seed of the noise source.

    Returns:
        (n,) float32 samples at :data:`FORMANT_RATE`, peak-normalised to 0.9.
    """
    pitch_hz = check_float("pitch_hz", pitch_hz, 60.0, 300.0)
    segments = phoneme_segments(phonemes)
    frames = [max(1, round(s.seconds * FORMANT_RATE / _FRAME)) for s in segments]
    n_frames = sum(frames)
    targets = np.repeat([s.formants for s in segments], frames, axis=0)  # (n_frames, 3)
    kernel = np.ones(5) / 5  # 25 ms moving average: formants glide between phonemes
    padded = np.pad(targets, ((2, 2), (0, 0)), mode="edge")
    tracks = np.stack([np.convolve(padded[:, j], kernel, mode="valid") for j in range(3)], 1)
    voicing = np.repeat([1.0 if s.source in ("voiced", "mixed") else 0.0 for s in segments],
                        frames)
    noise_gain = np.repeat([{"noise": 1.0, "mixed": 0.5, "burst": 0.0}.get(s.source, 0.0)
                            for s in segments], frames)
    gain = np.repeat([s.gain for s in segments], frames)
    n = n_frames * _FRAME
    rng = np.random.default_rng(seed)
    # glottal source: one pulse per pitch period, F0 falling linearly (declination)
    f0 = np.linspace(pitch_hz, 0.75 * pitch_hz, n)
    phase = np.cumsum(f0 / FORMANT_RATE)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    glottal = scipy_signal.lfilter([1.0], [1.0, -0.97], pulses)  # -6 dB/octave tilt
    per_sample = lambda v: np.repeat(v, _FRAME)  # noqa: E731 - frame value -> samples
    source = per_sample(voicing) * glottal + per_sample(noise_gain) * rng.normal(0, 0.3, n)
    # a plosive: silence (closure) for 70 % of the segment, then a short noise burst
    start = 0
    for segment, count in zip(segments, frames):
        if segment.source == "burst":
            closure = start * _FRAME + int(0.7 * count * _FRAME)
            source[closure:(start + count) * _FRAME] += rng.normal(0, 0.6, (start + count)
                                                                   * _FRAME - closure)
        start += count
    out = source
    for j, bandwidth in enumerate(_BANDWIDTHS):
        out = _resonate(out, tracks[:, j], bandwidth, FORMANT_RATE)
    envelope = np.convolve(per_sample(gain), np.ones(80) / 80, mode="same")  # 5 ms ramps
    out = out * envelope
    peak = np.max(np.abs(out))
    return (0.9 * out / peak).astype(np.float32) if peak > 0 else out.astype(np.float32)
