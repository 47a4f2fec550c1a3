"""Compare tokenizers on the same text (chapter 04).

Every tokenizer of the chapter - characters, raw UTF-8 bytes, the course's own
:class:`course_utils.text.bpe.BPETokenizer`, and Hugging Face ``tokenizers`` models (a BPE trained
here, SmolLM2's real tokenizer) - is wrapped in a :class:`TokenizerView` with the same four
things: ``encode(text) -> ids``, ``decode(ids) -> text``, ``piece(id) -> bytes`` and
``vocab_size``. On top of that:

- :func:`chars_per_token` - compression, ``len(text) / len(encode(text))`` (higher: fewer
  tokens for the same text, so more text fits into a context window);
- :func:`compare` - a table of token counts, chars/token and round-trip exactness;
- :func:`tokens_html` - a text coloured token by token, with the ids, for widgets;
- :func:`train_hf_bpe` - the ``tokenizers`` library's BPE trainer set up like ours (GPT-2
  byte-level pre-tokenisation, all 256 bytes in the alphabet);
- :func:`missing_bytes` - byte values a vocabulary cannot represent (then round trips fail);
- :func:`shared_merges` - how many of the first merges two BPE tokenizers learned alike.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from course_utils.core.validation import check_int
from course_utils.text.bpe import BPETokenizer, check_unicode_text

if TYPE_CHECKING:
    import pandas as pd

#: Unicode code points: the vocabulary of a character tokenizer that can read any text.
NUM_CODE_POINTS = 0x110000
#: Background colours cycled over the tokens in :func:`tokens_html`.
TOKEN_COLOURS = ("#cfe3f5", "#fbe3b8", "#c8ebdc", "#f6d0c0", "#eed3e6", "#d6ecf8")


@lru_cache(maxsize=1)
def byte_to_unicode() -> dict[int, str]:
    """GPT-2's map from the 256 bytes to printable characters, used by byte-level BPE
    vocabularies in ``tokenizers`` (a space byte is written ``'Ġ'``, a newline ``'Ċ'``)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    mapping, extra = {}, 0
    for b in range(256):
        if b in printable:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


@lru_cache(maxsize=1)
def _unicode_to_byte() -> dict[str, int]:
    return {ch: b for b, ch in byte_to_unicode().items()}


@dataclass(frozen=True)
class TokenizerView:
    """One tokenizer behind a common interface.

    Attributes:
        name: label for tables and plots.
        vocab_size: number of distinct token ids.
        encode_fn: text -> token ids (called after the text is checked).
        decode_fn: token ids -> text.
        piece_fn: token id -> its bytes (UTF-8 of the text it stands for).
    """

    name: str
    vocab_size: int
    encode_fn: Callable[[str], list[int]]
    decode_fn: Callable[[list[int]], str]
    piece_fn: Callable[[int], bytes]

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (a ``ValueError`` for non-str text or lone surrogates)."""
        return list(self.encode_fn(check_unicode_text(text)))

    def decode(self, ids: Sequence[int]) -> str:
        """Text of the token ids."""
        return self.decode_fn(list(ids))

    def piece(self, token_id: int) -> bytes:
        """Bytes of one token."""
        return self.piece_fn(check_int("token id", token_id, low=0, high=self.vocab_size - 1))


def character_view() -> TokenizerView:
    """Characters as tokens: the id of a character is its Unicode code point."""
    return TokenizerView("characters", NUM_CODE_POINTS, lambda t: [ord(c) for c in t],
                         lambda ids: "".join(map(chr, ids)),
                         lambda i: chr(i).encode("utf-8", "surrogatepass"))


def byte_view() -> TokenizerView:
    """UTF-8 bytes as tokens: 256 ids, 1 to 4 tokens per character."""
    return TokenizerView("bytes", 256, lambda t: list(t.encode("utf-8")),
                         lambda ids: bytes(ids).decode("utf-8", errors="replace"),
                         lambda i: bytes([i]))


def bpe_view(tokenizer: BPETokenizer, name: str | None = None) -> TokenizerView:
    """The course's :class:`~course_utils.text.bpe.BPETokenizer`."""
    if not isinstance(tokenizer, BPETokenizer):
        raise ValueError(f"tokenizer must be a BPETokenizer, got {type(tokenizer).__name__}.")
    return TokenizerView(name or f"our BPE ({tokenizer.vocab_size:,})", tokenizer.vocab_size,
                         tokenizer.encode, tokenizer.decode, lambda i: tokenizer.vocab[i])


def hf_view(tokenizer: Any, name: str) -> TokenizerView:
    """A Hugging Face ``tokenizers.Tokenizer`` (byte-level BPE such as SmolLM2's).

    Special tokens are neither added nor skipped, so ``decode(encode(s))`` compares the text
    itself. A token written in GPT-2's byte alphabet is turned back into its bytes; any other
    token (a special token such as ``<|im_start|>``) gives the UTF-8 of its string.
    """
    inverse = _unicode_to_byte()

    def piece(i: int) -> bytes:
        token = tokenizer.id_to_token(i) or ""
        if token and all(ch in inverse for ch in token):
            return bytes(inverse[ch] for ch in token)
        return token.encode("utf-8")

    return TokenizerView(name, tokenizer.get_vocab_size(),
                         lambda t: tokenizer.encode(t, add_special_tokens=False).ids,
                         lambda ids: tokenizer.decode(ids, skip_special_tokens=False), piece)


def train_hf_bpe(text: str, vocab_size: int, min_frequency: int = 2) -> Any:
    """Train the ``tokenizers`` library's BPE on ``text`` with our settings: GPT-2 byte-level
    pre-tokenisation (no prefix space), all 256 bytes in the initial alphabet, no special
    tokens, pairs seen at least ``min_frequency`` times.

    Returns:
        A ``tokenizers.Tokenizer`` with at most ``vocab_size`` tokens.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    text = check_unicode_text(text)
    if not text:
        raise ValueError("text is empty: BPE needs a training text to count pairs in.")
    check_int("vocab_size", vocab_size, low=256, high=1_000_000)
    check_int("min_frequency", min_frequency, low=1)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[], show_progress=False)
    tokenizer.train_from_iterator([text], trainer=trainer)
    return tokenizer


def chars_per_token(view: TokenizerView, text: str) -> float:
    """Compression of ``text``: characters divided by tokens (text must be non-empty)."""
    if not check_unicode_text(text):
        raise ValueError("text is empty: there is nothing to count.")
    return len(text) / len(view.encode(text))


def compare(views: Sequence[TokenizerView], texts: Mapping[str, str]) -> pd.DataFrame:
    """Token counts, chars/token and round-trip exactness of each tokenizer on each text.

    Args:
        views: the tokenizers (distinct names).
        texts: label -> non-empty text.

    Returns:
        A DataFrame indexed by tokenizer name with ``vocab size`` and, per text label,
        ``tokens (label)``, ``chars/token (label)`` and ``round trip (label)`` (bool).
    """
    import pandas as pd

    if not views or not texts:
        raise ValueError("compare needs at least one tokenizer and one text.")
    rows = {}
    for view in views:
        row: dict[str, Any] = {"vocab size": view.vocab_size}
        for label, text in texts.items():
            if not check_unicode_text(text):
                raise ValueError(f"text {label!r} is empty.")
            ids = view.encode(text)
            row[f"tokens ({label})"] = len(ids)
            row[f"chars/token ({label})"] = len(text) / len(ids)
            row[f"round trip ({label})"] = view.decode(ids) == text
        rows[view.name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def display_piece(piece: bytes) -> str:
    """A token's bytes as readable text: complete UTF-8 characters as text, bytes that are
    only part of a character in hex, e.g. ``b" \xf0\x9f"`` -> ``" <f0 9f>"``."""
    out = []
    while piece:
        try:
            out.append(piece.decode("utf-8"))
            break
        except UnicodeDecodeError as error:
            out.append(piece[:error.start].decode("utf-8"))
            out.append("<" + " ".join(f"{b:02x}" for b in piece[error.start:error.end]) + ">")
            piece = piece[error.end:]
    return "".join(out)


def tokens_html(view: TokenizerView, text: str, show_ids: bool = True,
                max_tokens: int = 400) -> str:
    """``text`` as coloured token boxes (HTML), with each token's id below it.

    Spaces stay visible (``·``), a newline shows as ``↵`` (the line breaks after its token), a
    tab as ``→``, and a token that is only part of a character's UTF-8 bytes shows its bytes
    in hex.

    Args:
        view: the tokenizer.
        text: non-empty text.
        show_ids: print each token's id under it (always in the hover title).
        max_tokens: show at most this many tokens (the count says how many there are).
    """
    if not check_unicode_text(text):
        raise ValueError("text is empty: type something to tokenize.")
    check_int("max_tokens", max_tokens, low=1)
    ids = view.encode(text)
    spans = []
    for k, i in enumerate(ids[:max_tokens]):
        shown = display_piece(view.piece(i))
        label = html.escape(shown).replace(" ", "·").replace("\n", "↵").replace("\t", "→")
        colour = TOKEN_COLOURS[k % len(TOKEN_COLOURS)]
        sub = f"<sub style='color:#555;font-size:70%'>{i}</sub>" if show_ids else ""
        spans.append(f"<span title='id {i}' style='background:{colour};padding:1px 2px;"
                     f"margin:1px;border-radius:3px;display:inline-block'>{label}{sub}</span>"
                     + ("<br>" if "\n" in shown else ""))  # a token with a newline ends the line
    more = f" &hellip; (+{len(ids) - max_tokens} tokens)" if len(ids) > max_tokens else ""
    exact = "" if view.decode(ids) == text else (
        " <span style='color:#b00020'>&#9888; decode(encode(text)) differs from the text</span>")
    rate = f"{len(text) / len(ids):.2f} chars/token" if ids else "no tokens at all"
    header = f"<b>{html.escape(view.name)}</b>: {len(ids)} tokens, {rate}{exact}"
    return (f"<div style='margin-bottom:8px'>{header}<div style='font-family:monospace;"
            f"line-height:2.1'>{''.join(spans)}{more}</div></div>")


def missing_bytes(view: TokenizerView) -> list[int]:
    """Byte values that no single token of ``view`` stands for. A byte-level BPE whose
    vocabulary lacks one cannot encode text containing it (``tokenizers`` drops it silently).
    Scans the whole vocabulary (about 0.1 s for 50,000 tokens); not for character views."""
    if view.vocab_size > 1_000_000:
        raise ValueError(f"{view.name}: too many tokens ({view.vocab_size:,}) to scan.")
    singles = {piece[0] for piece in map(view.piece_fn, range(view.vocab_size))
               if len(piece) == 1}
    return [b for b in range(256) if b not in singles]


def shared_merges(ours: BPETokenizer, hf_tokenizer: Any) -> int:
    """Number of leading merges that ``ours`` and a byte-level ``tokenizers`` BPE learned in
    the same order (compared as byte strings: the two libraries number tokens differently)."""
    import json

    inverse = _unicode_to_byte()
    merges = json.loads(hf_tokenizer.to_str())["model"]["merges"]
    same = 0
    for (a, b), theirs in zip(ours.merges, merges):
        left, right = theirs.split(" ") if isinstance(theirs, str) else theirs
        if (ours.vocab[a], ours.vocab[b]) != (bytes(inverse[c] for c in left),
                                              bytes(inverse[c] for c in right)):
            break
        same += 1
    return same
