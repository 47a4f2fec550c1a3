r"""A byte-level BPE tokenizer written from scratch (chapter 04).

**Byte-pair encoding** (Sennrich et al., 2016; byte-level as in GPT-2, Radford et al., 2019)
learns a vocabulary of sub-word tokens by compressing a training text:

1. *Bytes.* Encode the text as UTF-8. The first 256 token ids are the 256 byte values, so any
   string can be represented - there is no "unknown" token.
2. *Pre-tokenise.* Split the text with the GPT-2 regular expression :data:`GPT2_PATTERN` into
   pre-tokens: words with their leading space (``" model"``), runs of digits, runs of
   punctuation, runs of white space. Merges never cross a pre-token boundary, so a token is
   never half a word plus half the next one.
3. *Count.* Count each distinct pre-token once with its frequency ``f(w)``, so training costs
   time in the number of *distinct* pre-tokens (about 5,300 in the course's training text),
   not in the length of the text.
4. *Merge.* Repeat until the vocabulary has ``vocab_size`` tokens: find the adjacent pair of
   tokens ``(a, b)`` with the largest count ``c(a, b) = sum_w f(w) * #(a, b in w)``, give the
   new token ``ab`` the next id ``256 + k``, and replace ``a, b`` by ``ab`` in every pre-token.
   Ties go to the pair with the smaller ids ``(a, b)``, so training is deterministic. Pair
   counts are updated only for the pre-tokens that contain the merged pair.

Training stops early when no pair occurs at least ``min_count`` times. The merges are
ordered, and training to a smaller size gives exactly the first merges of a larger run
(:meth:`BPETokenizer.truncated`).

**Encoding** pre-tokenises the same way, then, inside each pre-token, repeatedly applies the
learned merge with the lowest rank (earliest learned) among the adjacent pairs, until none
applies. **Decoding** concatenates the tokens' bytes and decodes them as UTF-8, so
``decode(encode(s)) == s`` for every valid Unicode string: emoji, combining marks, any script.

Lone surrogates (``"\ud800"``) are the one kind of Python ``str`` that is not valid Unicode
text: they have no UTF-8 encoding, and neither the Hugging Face ``tokenizers`` library nor
any model can represent them. :meth:`BPETokenizer.encode` rejects them with a ``ValueError``
saying where they are, instead of silently changing the text.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import regex

from course_utils.core.validation import check_int

#: GPT-2's pre-tokenisation pattern: contractions, words with an optional leading space,
#: digit runs, punctuation runs, and white space (trailing spaces stay apart from the next word).
GPT2_PATTERN = (r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+"""
                r"""|\s+(?!\S)|\s+""")
#: Largest vocabulary this from-scratch implementation accepts.
MAX_VOCAB_SIZE = 100_000
#: Largest text :meth:`BPETokenizer.train` accepts, in characters.
MAX_TRAIN_CHARS = 20_000_000
_FORMAT = "course-utils-bpe"
_CACHE_LIMIT = 200_000  # pre-tokens remembered by encode()


def _check_str(name: str, text: object) -> str:
    if not isinstance(text, str):
        raise ValueError(f"{name} must be a str, got {type(text).__name__}.")
    return text


def utf8_bytes(text: str) -> bytes:
    """``text`` encoded as UTF-8; a lone surrogate raises a ``ValueError`` saying where it is."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = text[error.start]
        raise ValueError(f"text contains a lone surrogate {bad!r} (U+{ord(bad):04X}) at index "
                         f"{error.start}: it is not valid Unicode and has no UTF-8 bytes. Clean "
                         f"the text first, e.g. text.encode('utf-8', 'replace').decode()."
                         ) from None


def check_unicode_text(text: object, name: str = "text") -> str:
    """``text`` if it is a ``str`` of valid Unicode (no lone surrogates); else ``ValueError``."""
    text = _check_str(name, text)
    utf8_bytes(text)
    return text


def _merge(ids: Sequence[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every non-overlapping occurrence of ``pair`` in ``ids`` (left to right)."""
    out: list[int] = []
    i, n = 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class BPETokenizer:
    """Byte-level BPE: 256 byte tokens plus learned merges.

    Create one with :meth:`train` (or :meth:`load`); ``BPETokenizer(merges)`` rebuilds one
    from an ordered list of merges, merge ``k`` being the pair of ids that forms id ``256 + k``.

    Example::

        bpe = BPETokenizer.train(text, vocab_size=2048)
        ids = bpe.encode("The model writes.")   # list[int], each in [0, 2048)
        bpe.decode(ids)                         # 'The model writes.'
        bpe.tokens("The model")                 # ['The', ' model']
    """

    def __init__(self, merges: Iterable[tuple[int, int]] = (), pattern: str = GPT2_PATTERN) -> None:
        self.merges: list[tuple[int, int]] = []
        self.vocab: list[bytes] = [bytes([b]) for b in range(256)]  # id -> bytes
        for k, pair in enumerate(merges):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"merge {k} must be a pair of ids, got {pair!r}.")
            a, b = (check_int(f"merge {k} id", i, low=0, high=len(self.vocab) - 1)
                    for i in pair)
            self.merges.append((a, b))
            self.vocab.append(self.vocab[a] + self.vocab[b])
        if len(self.vocab) > MAX_VOCAB_SIZE:
            raise ValueError(f"{len(self.vocab)} tokens is more than MAX_VOCAB_SIZE = "
                             f"{MAX_VOCAB_SIZE}.")
        try:
            self._regex = regex.compile(pattern)
        except (regex.error, TypeError) as error:
            raise ValueError(f"pattern is not a valid regular expression: {error}") from None
        self.pattern = pattern
        self.ranks = {pair: k for k, pair in enumerate(self.merges)}  # pair -> merge rank
        self._cache: dict[str, tuple[int, ...]] = {}

    # -- training ----------------------------------------------------------------------------

    @classmethod
    def train(cls, text: str, vocab_size: int, min_count: int = 2,
              pattern: str = GPT2_PATTERN) -> BPETokenizer:
        """Learn ``vocab_size - 256`` merges from ``text`` (algorithm in the module docstring).

        Args:
            text: training text (non-empty, at most :data:`MAX_TRAIN_CHARS` characters).
            vocab_size: target number of tokens, in ``[256, MAX_VOCAB_SIZE]``; 256 means
                bytes only. Fewer tokens result when no pair is left with ``min_count``.
            min_count: a pair must occur at least this often to be merged (>= 1).
            pattern: pre-tokenisation regular expression (default GPT-2's).

        Returns:
            The trained tokenizer.
        """
        text = _check_str("text", text)
        if not text:
            raise ValueError("text is empty: BPE needs a training text to count pairs in.")
        if len(text) > MAX_TRAIN_CHARS:
            raise ValueError(f"text is too long: {len(text):,} characters, the limit is "
                             f"{MAX_TRAIN_CHARS:,}.")
        vocab_size = check_int("vocab_size", vocab_size, low=256, high=MAX_VOCAB_SIZE)
        min_count = check_int("min_count", min_count, low=1)
        tokenizer = cls(pattern=pattern)
        counts = Counter(tokenizer._regex.findall(text))
        words = [list(utf8_bytes(w)) for w in counts]  # distinct pre-tokens as byte ids
        freqs = list(counts.values())

        pair_counts: dict[tuple[int, int], int] = defaultdict(int)
        where: dict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> words (may be stale)
        for w, (ids, f) in enumerate(zip(words, freqs)):
            for pair in zip(ids, ids[1:]):
                pair_counts[pair] += f
                where[pair].add(w)
        heap = [(-c, pair) for pair, c in pair_counts.items()]  # max count, then smallest pair
        heapq.heapify(heap)

        merges: list[tuple[int, int]] = []
        while 256 + len(merges) < vocab_size and heap:
            neg, pair = heapq.heappop(heap)
            if pair_counts.get(pair, 0) != -neg:
                continue  # stale entry: the count changed since it was pushed
            if -neg < min_count:
                break
            new_id = 256 + len(merges)
            merges.append(pair)
            changed: set[tuple[int, int]] = set()
            for w in where.pop(pair):
                ids = words[w]
                merged = _merge(ids, pair, new_id)
                if len(merged) == len(ids):
                    continue  # stale: an earlier merge already consumed this pair here
                f = freqs[w]
                for p in zip(ids, ids[1:]):
                    pair_counts[p] -= f
                    changed.add(p)
                for p in zip(merged, merged[1:]):
                    pair_counts[p] += f
                    where[p].add(w)
                    changed.add(p)
                words[w] = merged
            for p in changed:
                if pair_counts[p] > 0:
                    heapq.heappush(heap, (-pair_counts[p], p))
                else:
                    pair_counts.pop(p, None)
        return cls(merges, pattern=pattern)

    def truncated(self, vocab_size: int) -> BPETokenizer:
        """The tokenizer with only the first ``vocab_size - 256`` merges - identical to
        training on the same text to ``vocab_size`` (merges are learned in order)."""
        check_int("vocab_size", vocab_size, low=256, high=self.vocab_size)
        return BPETokenizer(self.merges[:vocab_size - 256], pattern=self.pattern)

    # -- encoding and decoding ---------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Number of tokens: ``256 + len(merges)``."""
        return len(self.vocab)

    def _encode_piece(self, piece: str) -> tuple[int, ...]:
        """Token ids of one pre-token: apply the lowest-rank merge until none applies."""
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        ids = list(utf8_bytes(piece))
        ranks = self.ranks
        while len(ids) >= 2:
            best = min(zip(ids, ids[1:]), key=lambda p: ranks.get(p, len(ranks)))
            if best not in ranks:
                break
            ids = _merge(ids, best, 256 + ranks[best])
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[piece] = result = tuple(ids)
        return result

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (any valid Unicode string; ``""`` gives ``[]``).

        Raises:
            ValueError: ``text`` is not a ``str`` or contains a lone surrogate.
        """
        text = check_unicode_text(text)  # lone surrogates get a clear message, before any work
        ids: list[int] = []
        for piece in self._regex.findall(text):
            ids.extend(self._encode_piece(piece))
        return ids

    def _check_ids(self, ids: object) -> list[int]:
        if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
            raise ValueError(f"ids must be a sequence of integers, got {type(ids).__name__}.")
        return [check_int("token id", i, low=0, high=self.vocab_size - 1) for i in ids]

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of the tokens ``ids``, concatenated."""
        return b"".join(self.vocab[i] for i in self._check_ids(ids))

    def decode(self, ids: Iterable[int], errors: str = "replace") -> str:
        """Text of the token ids: their bytes decoded as UTF-8.

        ``decode(encode(s)) == s`` exactly. An arbitrary id sequence can cut a multi-byte
        character in half; ``errors="replace"`` (default) shows U+FFFD there, as GPT-2 and the
        Hugging Face tokenizers do, and ``errors="strict"`` raises ``UnicodeDecodeError``.
        """
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    def token_bytes(self, text: str) -> list[bytes]:
        """The bytes of each token of ``text``."""
        return [self.vocab[i] for i in self.encode(text)]

    def tokens(self, text: str) -> list[str]:
        """Each token of ``text`` as a display string; bytes that are not complete UTF-8
        characters (a piece of an emoji, say) are shown as escapes such as ``'\\xf0\\x9f'``."""
        return [b.decode("utf-8", errors="backslashreplace") for b in self.token_bytes(text)]

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)})"

    # -- saving and loading ------------------------------------------------------------------

    def to_dict(self) -> dict:
        """A JSON-ready description: format tag, pattern and the ordered merges."""
        return {"format": _FORMAT, "version": 1, "pattern": self.pattern,
                "merges": [list(pair) for pair in self.merges]}

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON to ``path`` (folders are created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict()), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, state: object) -> BPETokenizer:
        """Rebuild a tokenizer from :meth:`to_dict`'s output (checked)."""
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(f"not a saved BPETokenizer (expected format {_FORMAT!r}).")
        if state.get("version") != 1:
            raise ValueError(f"unsupported BPETokenizer file version {state.get('version')!r}.")
        merges, pattern = state.get("merges"), state.get("pattern")
        if not isinstance(merges, list) or not isinstance(pattern, str):
            raise ValueError("a saved BPETokenizer needs a 'merges' list and a 'pattern' string.")
        return cls([tuple(pair) if isinstance(pair, list) else pair for pair in merges],
                   pattern=pattern)

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Read a tokenizer written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"no tokenizer file at {path}.")
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
        return cls.from_dict(state)
