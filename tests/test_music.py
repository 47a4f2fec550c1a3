"""Unit tests for course_utils.audio.music: melodies, tokens, synthesis, statistics, models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.audio import music
from course_utils.audio.music import Melody, MusicTokenizer, Note

# C major scale up and down in quarter notes, with a one-beat pick-up and a final half note
SCALE = Melody(((Note(67, 1.0),),
                (Note(60, 1.0), Note(62, 1.0), Note(64, 1.0), Note(65, 1.0)),
                (Note(67, 1.0), Note(69, 1.0), Note(71, 1.0), Note(72, 1.0)),
                (Note(71, 0.5), Note(69, 0.5), Note(67, 1.0), Note(None, 1.0), Note(64, 1.0)),
                (Note(60, 2.0),)), "chorale", "scale", "C major")
FOLK = Melody(((Note(64, 0.5), Note(65, 0.5), Note(67, 1.5), Note(64, 0.5), Note(60, 1.0)),
               (Note(62, 2.0), Note(59, 2.0)), (Note(60, 4.0),)), "folk", "folk", "C major")


@pytest.fixture(scope="module")
def data() -> music.MusicData:
    return music.load_music_data()


# -- melodies ------------------------------------------------------------------------------

def test_melody_properties_and_transposition():
    assert SCALE.beats == 1 + 4 + 4 + 4 + 2
    assert SCALE.pitches.tolist()[:3] == [67, 60, 62]
    assert len(SCALE.notes) == 15 and len(SCALE.pitches) == 14  # one rest
    up = SCALE.transposed(3)
    assert up.pitches.tolist() == (SCALE.pitches + 3).tolist()
    assert up.key == "Eb major" and up.notes[12].pitch is None
    assert SCALE.first_bars(2).beats == 5
    assert SCALE.describe(3) == "| G4 1 | C4 1 D4 1 ..."
    assert music.note_name(60) == "C4" and music.note_name(69) == "A4"


@pytest.mark.parametrize("key, shift", [("C major", 0), ("A minor", 0), ("F major", -5),
                                        ("G major", 5), ("B- major", 2), ("F# major", 6 - 12),
                                        ("E minor", 5), ("C minor", -3), ("Eb major", -3)])
def test_common_key_shift_moves_the_tonic_to_c_or_a(key, shift):
    assert music.common_key_shift(key) == shift
    assert -6 <= shift <= 5


@pytest.mark.parametrize("bad", [dict(bars=((Note(60, 0.0),),)), dict(bars=((Note(200, 1.0),),)),
                                 dict(bars=((Note(60.5, 1.0),),)), dict(bars="C D E"),
                                 dict(bars=(((60, 1.0, 3),),)), dict(bars=((Note(60, 1),),),
                                                                      style="jazz"),
                                 dict(bars=((Note(60, float("nan")),),))])
def test_melody_rejects_bad_notes(bad):
    with pytest.raises(ValueError):
        Melody(**bad)


@pytest.mark.parametrize("bad", ["F", "H major", "C dorian", "", 3, "C major minor"])
def test_common_key_shift_rejects_bad_keys(bad):
    with pytest.raises(ValueError):
        music.common_key_shift(bad)


def test_transpose_and_families_reject_non_melodies():
    with pytest.raises(ValueError):
        music.transpose_to_common_key(["C D E"])
    with pytest.raises(ValueError):
        music.tune_families([SCALE, "C D E"])
    with pytest.raises(ValueError):
        music.tune_families([SCALE], k=1)
    with pytest.raises(ValueError):
        music.tune_families([SCALE], threshold=0.0)
    with pytest.raises(ValueError):
        SCALE.transposed(2.5)


def test_tune_families_link_transposed_and_rebarred_copies():
    copy = SCALE.transposed(5)
    rhythm = Melody(tuple(tuple(Note(n.pitch, 0.5) for n in bar) for bar in SCALE.bars))
    families = music.tune_families([SCALE, FOLK, copy, rhythm], k=4)
    assert families[0] == families[2] == families[3]
    assert families[1] != families[0]


def test_corpus_file_matches_a_fresh_music21_parse():
    pytest.importorskip("music21")
    from music21 import corpus

    stored = {m.name: m for m in music.load_corpus("chorale")}
    score = corpus.parse("bach/bwv1.6")
    soprano = [p for p in score.parts if "soprano" in p.partName.lower()][0]
    fresh = music.melody_from_part(soprano, "chorale", "bach/bwv1.6",
                                   music.key_name(score.analyze("key")))
    assert stored["bach/bwv1.6"] == fresh
    summary = music.corpus_summary()
    assert summary["kept"]["chorale"] >= 300 and summary["kept"]["folk"] >= 1500


def test_melody_from_part_rejects_other_metres():
    pytest.importorskip("music21")
    from music21 import converter

    waltz = converter.parse("tinyNotation: 3/4 c4 d e f g a b c' d'")
    with pytest.raises(music.Rejected):
        music.melody_from_part(waltz, "folk")
    triplets = converter.parse("tinyNotation: 4/4 trip{c8 d e} f4 g a b c' d' e' f' g' a' b'")
    with pytest.raises(music.Rejected):
        music.melody_from_part(triplets, "folk")


def test_split_keeps_families_apart_and_has_the_asked_sizes(data):
    sizes = data.splits.sizes()
    assert sizes["test"] == music.SPLIT["test"] and sizes["val"] == music.SPLIT["val"]
    parts = {"train": data.splits.train, "val": data.splits.val, "test": data.splits.test,
             "set aside": list(data.splits.set_aside)}
    everything = [m for tunes in parts.values() for m in tunes]
    labels = [name for name, tunes in parts.items() for _ in tunes]
    families = music.tune_families(everything)
    side, held_per_family = {}, {}
    for label, family in zip(labels, families):
        side.setdefault(family, set()).add(label)
        if label in ("val", "test"):
            held_per_family[family] = held_per_family.get(family, 0) + 1
    assert all(len(p - {"set aside"}) == 1 for p in side.values())  # one side per family
    assert all("train" not in p for p in side.values() if "set aside" in p)
    assert max(held_per_family.values()) == 1  # one tune per held-out family
    keys = {music.best_key(m)[0] for m in data.splits.test[:20]}
    assert keys & set(music.COMMON_KEYS)


@pytest.mark.parametrize("bad", [dict(val=-1), dict(test=10_000), dict(seed=-1),
                                 dict(val={"chorale": 1.5}), dict(test="all")])
def test_split_rejects_bad_sizes(bad):
    with pytest.raises(ValueError):
        music.split_corpus([SCALE, FOLK] * 3, **bad)


# -- tokens -----------------------------------------------------------------------------------

def test_tokenizer_round_trip_and_names():
    tokenizer = MusicTokenizer([SCALE, FOLK])
    text = tokenizer.encode(SCALE)
    assert text[0] == music.STYLE_CHARS["chorale"] and text[-1] == music.END
    assert text.count(music.BAR) == len(SCALE.bars)
    assert len(text) == 2 + len(SCALE.bars) + len(SCALE.notes)
    back = tokenizer.decode(text)
    assert back.bars == SCALE.bars and back.style == "chorale"
    assert tokenizer.decode(tokenizer.encode(FOLK)).style == "folk"
    assert tokenizer.describe(text, 3) == "<chorale> | G4 1 ..."
    assert tokenizer.name(music.END) == "<end>"
    corpus = tokenizer.encode_corpus([SCALE, FOLK])
    assert corpus.count(music.END) == 2
    rebuilt = MusicTokenizer(events=tokenizer.events)
    assert rebuilt.alphabet == tokenizer.alphabet
    assert tokenizer.ids.vocab_size == tokenizer.vocab_size


def test_tokenizer_rejects_unknown_symbols_and_notes():
    tokenizer = MusicTokenizer([SCALE])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tokenizer.encode(FOLK)
    with pytest.raises(ValueError):
        tokenizer.decode("C|xyz")
    with pytest.raises(ValueError):
        tokenizer.decode(42)
    with pytest.raises(ValueError):
        tokenizer.decode("C|", style="jazz")
    with pytest.raises(ValueError):
        tokenizer.name("?")
    with pytest.raises(ValueError):
        MusicTokenizer([])
    with pytest.raises(ValueError):
        MusicTokenizer(events=[Note(60, 1.0), Note(60, 1.0)])
    with pytest.raises(ValueError):
        tokenizer.encode("C D E")


# -- sound ------------------------------------------------------------------------------------

def _pitch_hz(wave: np.ndarray, rate: int, low: float = 50.0) -> float:
    """Pitch from the autocorrelation's highest peak beyond the zero lag (parabolic
    interpolation between samples)."""
    x = wave - wave.mean()
    ac = np.fft.irfft(np.abs(np.fft.rfft(x, 2 * x.size)) ** 2)[:x.size]
    first = int(np.argmax(ac < 0))  # past the central lobe
    window = ac[first:int(rate / low)]
    peaks = [i for i in range(1, window.size - 1) if window[i - 1] < window[i] >= window[i + 1]
             and window[i] >= 0.8 * window.max()]
    lag = first + peaks[0]  # the first strong peak: one period (later ones are multiples)
    a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
    return rate / (lag + 0.5 * (a - c) / (a - 2 * b + c))


def test_midi_to_hz():
    assert music.midi_to_hz(69) == pytest.approx(440.0)
    assert music.midi_to_hz(81) == pytest.approx(880.0)
    np.testing.assert_allclose(music.midi_to_hz(np.array([57, 60])), [220.0, 261.6256], rtol=1e-5)


@pytest.mark.parametrize("hz", [110.0, 261.63, 880.0, 1500.0])
def test_karplus_strong_is_in_tune_and_decays(hz):
    rate = 16_000
    wave = music.karplus_strong(hz, 1.0, rate, seed=1)
    assert wave.dtype == np.float32 and wave.size == rate
    cents = 1200 * np.log2(_pitch_hz(wave[:4000], rate) / hz)
    assert abs(cents) < 10  # the fractional delay keeps high notes in tune
    assert np.abs(wave[-2000:]).max() < 0.5 * np.abs(wave[:2000]).max()


def test_additive_tone_pitch_and_envelope():
    rate = 16_000
    tone = music.additive_tone(440.0, 0.5, rate)
    assert tone.size == 8000 and np.abs(tone).max() <= 1.0
    assert _pitch_hz(tone, rate) == pytest.approx(440.0, abs=2.0)
    assert abs(tone[0]) < 1e-6 and abs(tone[-1]) < 0.05  # ramps in and out: no clicks


def test_synthesize_lengths_and_instruments():
    organ = music.synthesize(SCALE, 8000, bpm=120)
    assert organ.size == round(SCALE.beats * 0.5 * 8000) + 1
    assert np.abs(organ).max() == pytest.approx(0.8, abs=1e-3)
    pluck = music.synthesize(FOLK, 8000, bpm=120, instrument="pluck")
    assert pluck.size > round(FOLK.beats * 0.5 * 8000)


@pytest.mark.parametrize("call", [
    lambda: music.karplus_strong(5.0, 1.0), lambda: music.karplus_strong(440, 0.0),
    lambda: music.karplus_strong(440, 1.0, decay=1.5), lambda: music.additive_tone(440, 1, partials=[]),
    lambda: music.additive_tone(440, 1, partials=[1, -1]), lambda: music.additive_tone(9000, 1),
    lambda: music.synthesize("C D E"), lambda: music.synthesize(SCALE, bpm=0),
    lambda: music.synthesize(SCALE, instrument="kazoo"),
    lambda: music.synthesize(SCALE, bpm=30, max_seconds=5), lambda: music.midi_to_hz(-1),
    lambda: music.midi_to_hz(float("nan"))])
def test_sound_helpers_reject_bad_input(call):
    with pytest.raises(ValueError):
        call()


# -- pictures ---------------------------------------------------------------------------------

def test_piano_rolls():
    import matplotlib.pyplot as plt

    fig = music.piano_roll_figure([SCALE, FOLK], titles=["a", "b"], max_beats=8)
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "a"
    plt.close(fig)
    notes, lines = music.piano_roll_traces(SCALE)
    assert len(notes.y) == 14 and notes.base[1] == 1.0
    assert lines.x[:2] == (0.0, 0.0)
    for bad in (lambda: music.piano_roll_figure([]), lambda: music.piano_roll_figure(["x"]),
                lambda: music.piano_roll_figure(SCALE, titles=["a", "b"]),
                lambda: music.piano_roll_figure(SCALE, max_beats=-1),
                lambda: music.piano_roll_traces("x")):
        with pytest.raises(ValueError):
            bad()


# -- statistics -------------------------------------------------------------------------------

def test_histograms_count_what_they_say():
    pcs = music.pitch_class_histogram(SCALE)
    assert pcs.sum() == pytest.approx(1.0) and pcs[1] == 0 and pcs[0] == pytest.approx(3 / 14)
    steps = music.interval_histogram(SCALE)
    assert steps[music.MAX_INTERVAL + 2] == pytest.approx(5 / 13)  # up a whole tone
    assert steps[music.MAX_INTERVAL - 7] == pytest.approx(1 / 13)  # G4 -> C4
    lag2 = music.interval_histogram(SCALE, lag=2)
    assert lag2.sum() == pytest.approx(1.0) and lag2[music.MAX_INTERVAL + 4] > 0
    durations = music.duration_histogram(SCALE)
    assert durations[music.DURATIONS.index(1.0)] == pytest.approx(12 / 15)


def test_key_finding_and_structure_scores():
    assert music.best_key(SCALE)[0] == "C major"
    assert music.best_key(SCALE.transposed(7))[0] == "G major"
    r = music.key_correlations(np.roll(music.KRUMHANSL_MINOR, 9))
    assert music.KEYS[int(r.argmax())] == "A minor" and r.max() == pytest.approx(1.0)
    assert music.key_consistency(SCALE, window=4) == 1.0
    assert music.key_consistency(SCALE.transposed(6), window=4) == 0.0
    assert music.bar_accuracy(SCALE) == 1.0
    short = Melody(SCALE.bars[:2] + ((Note(60, 1.0),),) + SCALE.bars[2:])
    assert music.bar_accuracy(short) == pytest.approx(3 / 4)


def test_divergences():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.5, 0.5])
    assert music.total_variation(p, q) == pytest.approx(0.5)
    assert music.js_divergence(p, q) == pytest.approx(0.5)
    assert music.js_divergence(p, p) == 0.0
    assert music.js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)


def test_compare_statistics_and_take_notes():
    stats = music.compare_statistics([SCALE], [SCALE])
    assert all(stats[name] == 0.0 for name in music.STATISTICS)
    assert stats["bars of 4 beats"] == 1.0
    cut = music.take_notes([SCALE, FOLK], 20)
    assert sum(len(m.notes) for m in cut) == 20 and cut[0] == SCALE


@pytest.mark.parametrize("call", [
    lambda: music.pitch_class_histogram([]), lambda: music.pitch_class_histogram("abc"),
    lambda: music.interval_histogram(SCALE, lag=0),
    lambda: music.interval_histogram(Melody(((Note(60, 1.0),),)), lag=1),
    lambda: music.key_correlations(np.ones(12)), lambda: music.key_correlations([1, 2, 3]),
    lambda: music.key_consistency(SCALE, window=0),
    lambda: music.bar_accuracy(Melody(((Note(60, 1.0),),))),
    lambda: music.js_divergence([0.5, 0.5], [0.2, 0.2]),
    lambda: music.total_variation([1.0], [1.0]), lambda: music.js_divergence([1, 0], [1, 0, 0]),
    lambda: music.take_notes([SCALE], 100), lambda: music.take_notes([SCALE], 0)])
def test_statistics_reject_bad_input(call):
    with pytest.raises(ValueError):
        call()


# -- models -----------------------------------------------------------------------------------

def test_random_baseline():
    tunes = music.random_melodies(5, pitch_range=(60, 62), bar_rate=0.25, length=40, seed=3)
    assert len(tunes) == 5
    pitches = np.concatenate([t.pitches for t in tunes])
    assert set(pitches.tolist()) <= {60, 61, 62}
    assert all(len(t.notes) + len(t.bars) - 1 == 40 for t in tunes)
    assert tunes[0] == music.random_melodies(1, pitch_range=(60, 62), bar_rate=0.25,
                                             length=40, seed=3)[0]
    for bad in (dict(count=0), dict(pitch_range=(70, 60)), dict(bar_rate=1.0),
                dict(length=0), dict(style="jazz"), dict(seed=-2)):
        with pytest.raises(ValueError):
            music.random_melodies(**{"count": 1, **bad})


def test_ngram_sampler_learns_a_repeated_tune():
    tokenizer = MusicTokenizer([SCALE, FOLK])
    text = tokenizer.encode_corpus([SCALE] * 20)
    sampler = music.NGramSampler(8, text, tokenizer)
    tunes = sampler.sample("chorale", count=3, temperature=0.5, seed=0)
    assert all(t.bars == SCALE.bars for t in tunes)  # a high-order chain repeats the one tune
    assert sampler.bits(tokenizer.encode(SCALE)).mean() < 0.5
    assert len(sampler.sample("chorale", max_bars=2, seed=1)[0].bars) <= 2
    for bad in (dict(count=0), dict(temperature=0), dict(style="jazz"), dict(max_bars=0),
                dict(max_tokens=0)):
        with pytest.raises(ValueError):
            sampler.sample(**bad)
    with pytest.raises(ValueError):
        music.NGramSampler(2, text, tokenizer="not a tokenizer")


def _tiny_gpt(tokenizer: MusicTokenizer, block_size: int = 16):
    from course_utils.text.transformer import GPTConfig, TinyGPT

    torch.manual_seed(0)
    return TinyGPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=block_size,
                             n_layer=1, n_head=2, n_embd=16, dropout=0.0))


def test_generate_with_and_past_the_cache():
    tokenizer = MusicTokenizer([SCALE, FOLK])
    model = _tiny_gpt(tokenizer)
    tunes = music.generate(model, tokenizer, "folk", count=4, max_tokens=40, seed=0)
    assert len(tunes) == 4 and all(t.style == "folk" for t in tunes)
    assert all(len(tokenizer.encode(t)) - 2 <= 40 for t in tunes)
    again = music.generate(model, tokenizer, "folk", count=4, max_tokens=40, seed=0)
    assert [t.bars for t in again] == [t.bars for t in tunes]
    capped = music.generate(model, tokenizer, "folk", count=2, max_bars=1, max_tokens=40)
    assert all(len(t.bars) <= 1 for t in capped)
    bits = music.text_bits(model, tokenizer, tokenizer.encode(SCALE))
    assert bits.shape == (len(tokenizer.encode(SCALE)) - 1,) and np.all(bits > 0)


def test_generate_learns_after_a_little_training():
    from course_utils.text.gpt_training import TrainConfig, train_gpt

    tokenizer = MusicTokenizer([SCALE, FOLK])
    text = tokenizer.encode_corpus([SCALE, FOLK] * 10)
    model = _tiny_gpt(tokenizer, block_size=24)
    before = music.text_bits(model, tokenizer, text[:60]).mean()
    train_gpt(model, tokenizer.ids, text, text[:60],
              TrainConfig(steps=150, batch_size=8, lr=1e-2, warmup_steps=10, eval_every=150),
              show_progress=False)
    after = music.text_bits(model, tokenizer, text[:60]).mean()
    assert after < 0.5 * before
    tunes = music.generate(model, tokenizer, "chorale", count=4, temperature=0.3, seed=0)
    assert np.mean([music.bar_accuracy(t) for t in tunes if len(t.bars) > 2]) > 0.5


@pytest.mark.parametrize("bad", [dict(count=0), dict(temperature=-1.0), dict(style="rock"),
                                 dict(max_tokens=0), dict(max_bars=-3), dict(seed=1.5)])
def test_generate_rejects_bad_settings(bad):
    tokenizer = MusicTokenizer([SCALE, FOLK])
    with pytest.raises(ValueError):
        music.generate(_tiny_gpt(tokenizer), tokenizer, **{"style": "chorale", **bad})


def test_generate_rejects_a_mismatched_tokenizer():
    model = _tiny_gpt(MusicTokenizer([SCALE, FOLK]))
    with pytest.raises(ValueError, match="disagree"):
        music.generate(model, MusicTokenizer([SCALE]), "chorale")
    with pytest.raises(ValueError):
        music.generate(model, "tokenizer", "chorale")


def test_music_data_text():
    tokenizer = MusicTokenizer([SCALE, FOLK])
    data = music.MusicData(music.MusicSplits([SCALE, FOLK], [FOLK], [SCALE]), tokenizer)
    assert data.text("train", "folk") == tokenizer.encode(FOLK)
    assert data.text("train", shuffle_seed=1).count(music.END) == 2
    for bad in (("dev", None), ("train", "jazz")):
        with pytest.raises(ValueError):
            data.text(*bad)


def test_committed_checkpoint_beats_the_best_ngram_on_held_out_tunes(data):
    model, tokenizer, record = music.load_music_gpt()
    assert tokenizer.alphabet == data.tokenizer.alphabet
    assert record["command"].startswith("python -m course_utils.train music-gpt")
    train = data.text("train")
    for style in music.STYLES:
        test = data.text("test", style)
        gpt = music.text_bits(model, tokenizer, test).mean()
        ngram = music.NGramSampler(6, train, tokenizer).bits(test).mean()
        assert gpt < ngram - 0.05, (style, gpt, ngram)
        assert gpt == pytest.approx(record["test_bits"][style], abs=0.01)


def test_missing_files_name_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="course_utils.audio.music extract"):
        music.load_corpus(path=tmp_path / "none.json.gz")
    with pytest.raises(FileNotFoundError, match="music-gpt"):
        music.load_music_gpt(tmp_path / "none.safetensors")
    with pytest.raises(ValueError):
        music.load_corpus(style="jazz")
