"""Unit and property tests for course_utils.text.bpe, the from-scratch byte-level BPE."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.text.bpe import MAX_VOCAB_SIZE, BPETokenizer

TEXT = ("The naive cafe serves crème brûlée and café au lait. The model writes the text; "
        "the tokenizer splits the text into tokens. 日本語のテキスト 🤖🤖 1234 + 5678 = 6912\n"
        "def tokenize(text):\n    return text.split()\n") * 4


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return BPETokenizer.train(TEXT, vocab_size=360)  # saturates at 380


# -- training: fixed values on toy texts ---------------------------------------------------------

def test_classic_toy_merge_sequence():
    # "aaabdaaabac": aa (4 times) -> 256; then ab and (aa, a) tie at 2: the smaller pair
    # (97, 98) wins -> 257; then (aa, ab) -> 258 = "aaab"; every pair left occurs once.
    bpe = BPETokenizer.train("aaabdaaabac", vocab_size=1000)
    assert bpe.merges == [(97, 97), (97, 98), (256, 257)]
    assert bpe.vocab[256:] == [b"aa", b"ab", b"aaab"]
    assert bpe.vocab_size == 259
    assert bpe.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert bpe.tokens("aaabdaaabac") == ["aaab", "d", "aaab", "a", "c"]
    # min_count=1 keeps merging pairs seen once, until every pre-token is a single token
    full = BPETokenizer.train("aaabdaaabac", vocab_size=1000, min_count=1)
    assert full.encode("aaabdaaabac") == [full.vocab_size - 1]


def test_merges_never_cross_a_pre_token_boundary():
    # pre-tokens: "ab", " ab", " ab" -> merges "ab" then " ab"; never "b " or "b a"
    bpe = BPETokenizer.train("ab ab ab", vocab_size=300)
    assert bpe.vocab[256:] == [b"ab", b" ab"]
    assert bpe.tokens("ab ab") == ["ab", " ab"]
    assert bpe.tokens("abab") == ["ab", "ab"]  # one pre-token: two "ab" tokens


def test_vocab_size_256_is_plain_bytes():
    bpe = BPETokenizer.train("hello world", vocab_size=256)
    assert bpe.merges == [] and bpe.vocab_size == 256
    assert bpe.encode("héllo") == list("héllo".encode("utf-8"))


def test_training_is_deterministic_and_truncation_equals_smaller_training(bpe):
    again = BPETokenizer.train(TEXT, vocab_size=360)
    assert again.merges == bpe.merges
    small = BPETokenizer.train(TEXT, vocab_size=300)
    assert bpe.truncated(300).merges == small.merges
    assert bpe.truncated(300).encode(TEXT) == small.encode(TEXT)


def test_bigger_vocabulary_compresses_more(bpe):
    lengths = [len(bpe.truncated(v).encode(TEXT)) for v in (256, 280, 320, 360)]
    assert lengths[0] == len(TEXT.encode("utf-8"))
    assert all(b < a for a, b in zip(lengths, lengths[1:])), lengths


def test_every_learned_token_is_the_concatenation_of_its_pair(bpe):
    for k, (a, b) in enumerate(bpe.merges):
        assert bpe.vocab[256 + k] == bpe.vocab[a] + bpe.vocab[b]
        assert a < 256 + k and b < 256 + k


def test_tokens_show_partial_characters_as_escapes(bpe):
    assert bpe.tokens("🤖x") == ["🤖", "x"]  # seen 8 times in training: merged into one token
    assert bpe.tokens("👍x") == ["\\xf0", "\\x9f", "\\x91", "\\x8d", "x"]  # never seen: bytes
    assert bpe.token_bytes("👍x")[:2] == [b"\xf0", b"\x9f"]
    assert b"".join(bpe.token_bytes("👍x")) == "👍x".encode("utf-8")


def test_decode_of_a_cut_character(bpe):
    ids = list("é".encode("utf-8"))[:1]  # half of a two-byte character
    assert bpe.decode(ids) == "\ufffd"
    with pytest.raises(UnicodeDecodeError):
        bpe.decode(ids, errors="strict")
    assert bpe.decode_bytes(ids) == b"\xc3"


# -- round trips ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", " ", "\n\n  \t", "naïve", "e\u0301", "👨‍👩‍👧 family",
                                  "日本語", "x" * 500, "   leading and trailing   ", "\x00\x7f"])
def test_round_trip_examples(bpe, text):
    assert bpe.decode(bpe.encode(text)) == text


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_round_trip_any_unicode_text(text):
    bpe = _small()
    ids = bpe.encode(text)
    assert bpe.decode(ids) == text
    assert all(0 <= i < bpe.vocab_size for i in ids)
    assert len(ids) <= len(text.encode("utf-8"))  # never longer than the bytes


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab c\n1é🤖"), max_size=60))
def test_round_trip_for_every_truncation(text):
    bpe = _small()
    for size in (256, 270, 300, bpe.vocab_size):
        assert bpe.truncated(size).decode(bpe.truncated(size).encode(text)) == text


_SMALL: list[BPETokenizer] = []


def _small() -> BPETokenizer:
    """A small tokenizer shared by the hypothesis tests (fixtures do not mix with @given)."""
    if not _SMALL:
        _SMALL.append(BPETokenizer.train(TEXT, vocab_size=320))
    return _SMALL[0]


# -- save / load ---------------------------------------------------------------------------------

def test_save_and_load_round_trip(bpe, tmp_path):
    path = bpe.save(tmp_path / "sub" / "bpe.json")
    loaded = BPETokenizer.load(path)
    assert loaded.merges == bpe.merges and loaded.pattern == bpe.pattern
    assert loaded.encode(TEXT) == bpe.encode(TEXT)
    state = json.loads(path.read_text())
    assert state["format"] == "course-utils-bpe" and len(state["merges"]) == 104


def test_load_rejects_bad_files(tmp_path):
    with pytest.raises(ValueError, match="no tokenizer file"):
        BPETokenizer.load(tmp_path / "missing.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        BPETokenizer.load(tmp_path / "junk.json")
    with pytest.raises(ValueError, match="not a saved BPETokenizer"):
        BPETokenizer.from_dict({"merges": []})
    with pytest.raises(ValueError, match="merge 0 id must be <= 255, got 999"):
        BPETokenizer.from_dict({"format": "course-utils-bpe", "version": 1,
                                "pattern": " ?\\w+", "merges": [[999, 1]]})
    with pytest.raises(ValueError, match="must be a pair of ids"):
        BPETokenizer([(1, 2, 3)])
    with pytest.raises(ValueError, match="must be a pair of ids"):
        BPETokenizer([7])
    with pytest.raises(ValueError, match="not a valid regular expression"):
        BPETokenizer(pattern="(")


# -- bad input -----------------------------------------------------------------------------------

def test_bad_training_input():
    with pytest.raises(ValueError, match="text must be a str, got bytes"):
        BPETokenizer.train(b"abc", 300)
    with pytest.raises(ValueError, match="text is empty"):
        BPETokenizer.train("", 300)
    with pytest.raises(ValueError, match="vocab_size must be >= 256, got 100"):
        BPETokenizer.train("abc", 100)
    with pytest.raises(ValueError, match=f"vocab_size must be <= {MAX_VOCAB_SIZE}"):
        BPETokenizer.train("abc", 10**9)
    with pytest.raises(ValueError, match="vocab_size must be an integer"):
        BPETokenizer.train("abc", 300.0)
    with pytest.raises(ValueError, match="min_count must be >= 1"):
        BPETokenizer.train("abc", 300, min_count=0)
    with pytest.raises(ValueError, match="lone surrogate"):
        BPETokenizer.train("ab\ud800", 300)


def test_bad_encode_and_decode_input(bpe):
    with pytest.raises(ValueError, match="text must be a str, got NoneType"):
        bpe.encode(None)
    with pytest.raises(ValueError, match=r"lone surrogate '\\ud800' \(U\+D800\) at index 2"):
        bpe.encode("ab\ud800cd")
    with pytest.raises(ValueError, match="token id must be >= 0, got -1"):
        bpe.decode([-1])
    with pytest.raises(ValueError, match="token id must be <= 359, got 400"):
        bpe.decode([400])
    with pytest.raises(ValueError, match="ids must be a sequence of integers, got str"):
        bpe.decode("abc")
    with pytest.raises(ValueError, match="vocab_size must be <= 360"):
        bpe.truncated(500)
