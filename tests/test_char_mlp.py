"""Unit tests for course_utils.text.char_mlp (tiny data, fixed seeds)."""

import math

import pytest
import torch

from course_utils.text import char_mlp as cm
from course_utils.text.char_mlp import (
    BOUNDARY,
    CharMLP,
    CharMLPConfig,
    CharVocab,
    bigram_nll,
    build_context_dataset,
    embedding_2d,
    evaluate_nll,
    sample_words,
    split_words,
    train_char_model,
    unigram_nll,
)

WORDS = ["ann", "bob", "eve"]


def tiny_config(**overrides) -> CharMLPConfig:
    settings = dict(block_size=3, embed_dim=4, hidden_dim=32, steps=300, batch_size=16,
                    lr=0.03, weight_decay=0.0, eval_every=100, seed=0)
    settings.update(overrides)
    return CharMLPConfig(**settings)


def test_vocab_has_boundary_first_and_round_trips():
    vocab = CharVocab.from_words(WORDS)
    assert vocab.chars == (BOUNDARY, "a", "b", "e", "n", "o", "v")
    assert vocab.size == 7 and vocab.letters == "abenov"
    assert vocab.decode(vocab.encode("bob")) == "bob"
    with pytest.raises(ValueError, match="never seen these characters: 'z'"):
        vocab.encode("zoe")
    with pytest.raises(ValueError, match="boundary token"):
        CharVocab.from_words(["a.b"])
    with pytest.raises(ValueError, match="empty"):
        CharVocab.from_words([])


def test_context_dataset_shapes_and_pairs():
    vocab = CharVocab.from_words(WORDS)
    X, Y = build_context_dataset(["ann"], vocab, block_size=3)
    assert X.shape == (4, 3) and Y.shape == (4,) and X.dtype == torch.long
    contexts = [vocab.decode(row.tolist()) for row in X]
    targets = vocab.decode(Y.tolist())
    assert contexts == ["...", "..a", ".an", "ann"] and targets == "ann."
    X, Y = build_context_dataset(WORDS, vocab, block_size=2)
    assert X.shape == (sum(len(w) + 1 for w in WORDS), 2)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        build_context_dataset(WORDS, vocab, block_size=0)
    with pytest.raises(ValueError, match="list of words"):
        build_context_dataset("ann", vocab, block_size=2)


def test_split_is_deterministic_and_disjoint():
    words = [f"w{chr(97 + i)}{chr(97 + j)}" for i in range(10) for j in range(10)]
    a = split_words(words, seed=3)
    assert a == split_words(words, seed=3) and a != split_words(words, seed=4)
    train, val, test = a
    assert (len(train), len(val), len(test)) == (80, 10, 10)
    assert sorted(train + val + test) == sorted(words)
    with pytest.raises(ValueError, match="val_fraction must be <= 0.5"):
        split_words(words, val_fraction=0.7)


def test_config_and_model_validate():
    with pytest.raises(ValueError, match="lr must be > 0"):
        CharMLPConfig(lr=0)
    with pytest.raises(ValueError, match="hidden_dim must be >= 1"):
        CharMLPConfig(hidden_dim=0)
    model = CharMLP(7, tiny_config())
    assert model(torch.zeros((5, 3), dtype=torch.long)).shape == (5, 7)
    with pytest.raises(ValueError, match=r"shape \(B, 3\)"):
        model(torch.zeros((5, 2), dtype=torch.long))


def test_initial_loss_is_close_to_uniform_guess():
    vocab = CharVocab.from_words(WORDS)
    X, Y = build_context_dataset(WORDS, vocab, 3)
    model = CharMLP(vocab.size, tiny_config())
    assert evaluate_nll(model, X, Y) == pytest.approx(math.log(vocab.size), abs=0.05)


def test_model_memorises_three_words():
    vocab = CharVocab.from_words(WORDS)
    X, Y = build_context_dataset(WORDS, vocab, 3)
    model = CharMLP(vocab.size, tiny_config())
    before = evaluate_nll(model, X, Y)
    history = train_char_model(model, X, Y, X, Y, show_progress=False)
    assert len(history.train_loss) == 300 and history.val_steps == [100, 200, 300]
    # the only irreducible uncertainty is the first letter (1 of 3 words): 3 * ln(3) over the
    # 12 (context, next) pairs = 0.275 nats; the model must get within 0.03 of that floor
    floor = 3 * math.log(3) / 12
    assert before > floor + 1.0  # it did have something to learn
    assert history.val_loss[-1] < floor + 0.03
    assert evaluate_nll(model, X, Y) == pytest.approx(history.val_loss[-1])
    samples = sample_words(model, vocab, n=30, temperature=0.5, seed=0)
    assert set(samples) <= set(WORDS) and len(set(samples)) >= 2
    assert sample_words(model, vocab, n=5, temperature=0.5, seed=0, prefix="ev") == ["eve"] * 5


def test_training_is_reproducible():
    vocab = CharVocab.from_words(WORDS)
    X, Y = build_context_dataset(WORDS, vocab, 3)
    runs = []
    for _ in range(2):
        model = CharMLP(vocab.size, tiny_config(steps=20))
        runs.append(train_char_model(model, X, Y, show_progress=False).train_loss)
    assert runs[0] == runs[1]
    with pytest.raises(ValueError, match="both X_val and Y_val"):
        train_char_model(CharMLP(vocab.size, tiny_config()), X, Y, X_val=X, show_progress=False)
    with pytest.raises(ValueError, match="block_size=2"):
        train_char_model(CharMLP(vocab.size, tiny_config(block_size=2)), X, Y,
                         show_progress=False)


def test_sampling_is_reproducible_and_validates_inputs():
    vocab = CharVocab.from_words(WORDS)
    model = CharMLP(vocab.size, tiny_config())
    first = sample_words(model, vocab, n=8, temperature=1.0, seed=7, max_length=6)
    assert first == sample_words(model, vocab, n=8, temperature=1.0, seed=7, max_length=6)
    assert first != sample_words(model, vocab, n=8, temperature=1.0, seed=8, max_length=6)
    assert all(len(w) <= 6 and BOUNDARY not in w for w in first)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        sample_words(model, vocab, n=2, temperature=0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        sample_words(model, vocab, n=0)
    with pytest.raises(ValueError, match="prefix contains characters the model has never seen"):
        sample_words(model, vocab, n=2, prefix="b0b")
    other = CharVocab.from_words(["xyz"])
    with pytest.raises(ValueError, match="use the vocabulary the model was trained with"):
        sample_words(model, other, n=2)


def test_count_baselines():
    vocab = CharVocab.from_words(["ab"])
    # targets of "ab": a, b, '.' -> uniform over 3 symbols -> entropy ln 3
    assert unigram_nll(["ab"], ["ab"], vocab, alpha=0) == pytest.approx(math.log(3))
    # bigram: every transition is certain -> zero loss without smoothing
    assert bigram_nll(["ab"], ["ab"], vocab, alpha=0) == pytest.approx(0.0)
    words = ["anna", "bob", "abba", "nab"]
    vocab = CharVocab.from_words(words)
    assert bigram_nll(words, words, vocab) < unigram_nll(words, words, vocab)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        unigram_nll(words, words, vocab, alpha=-1)


def test_embedding_projection_shape():
    coords = embedding_2d(CharMLP(7, tiny_config()))
    assert coords.shape == (7, 2)
    assert embedding_2d(CharMLP(7, tiny_config(embed_dim=1))).shape == (7, 2)


# --- the counting baseline with the same context -------------------------------------------------

def test_an_add_one_2_gram_is_exactly_the_bigram_baseline():
    train, test = ["anna", "bob", "abba", "nan"], ["ab", "bobby"[:3]]
    vocab = cm.CharVocab.from_words(train)
    assert cm.ngram_nll(train, test, vocab, order=2, smoothing="add-alpha", alpha=1.0) == \
        pytest.approx(cm.bigram_nll(train, test, vocab, alpha=1.0))


def test_longer_counted_contexts_fit_names_better():
    names = ["anna", "hanna", "joanna", "johanna", "susanna", "diana", "dana", "hannah"] * 3
    vocab = cm.CharVocab.from_words(names)
    losses = [cm.ngram_nll(names, names, vocab, order=n) for n in (1, 2, 3, 5)]
    assert losses == sorted(losses, reverse=True)
    model = cm.fit_ngram(names, vocab, order=5)
    assert model.n == 5 and model.num_counts > 0


def test_ngram_baseline_rejects_unknown_characters_and_bad_orders():
    vocab = cm.CharVocab.from_words(["anna"])
    with pytest.raises(ValueError):
        cm.ngram_nll(["anna"], ["zed"], vocab)
    with pytest.raises(ValueError, match="order"):
        cm.ngram_nll(["anna"], ["anna"], vocab, order=0)
