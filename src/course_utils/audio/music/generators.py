"""Tune generators: the random baseline (:func:`random_melodies`), n-gram models
(:class:`NGramSampler`), sampling from a tiny GPT (:func:`generate`) and its per-symbol bits
(:func:`text_bits`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.audio.music.melody import DURATIONS, PITCH_RANGE, Melody, Note, _check_style
from course_utils.audio.music.tokens import BAR, END, STYLE_CHARS, MusicTokenizer
from course_utils.core.validation import check_float, check_int

def _check_generation(count: object, temperature: object, max_bars: object, seed: object
                      ) -> tuple[int, float, int | None, int]:
    count = check_int("count", count, 1, 1000)
    temperature = check_float("temperature", temperature, 0.0, 10.0, low_inclusive=False)
    if max_bars is not None:
        max_bars = check_int("max_bars", max_bars, 1, 200)
    return count, temperature, max_bars, check_int("seed", seed, 0)



def random_melodies(count: int, style: str = "chorale", pitch_range: tuple[int, int] = (60, 81),
                    bar_rate: float = 0.2, length: int = 64, seed: int = 0) -> list[Melody]:
    """The random baseline: every event is a bar line with probability ``bar_rate``, otherwise
    a note with a pitch uniform in ``pitch_range`` and a length uniform in :data:`DURATIONS`;
    each tune has ``length`` events. It knows the range, the note lengths, how often bar lines
    come and how long tunes are - nothing about which notes follow which.

    Returns:
        ``count`` melodies.
    """
    count, _, _, seed = _check_generation(count, 1.0, None, seed)
    style = _check_style(style)
    low, high = (check_int("pitch_range[0]", pitch_range[0], *PITCH_RANGE),
                 check_int("pitch_range[1]", pitch_range[1], *PITCH_RANGE))
    if high < low:
        raise ValueError(f"pitch_range must be (low, high) with low <= high, got {pitch_range}.")
    bar_rate = check_float("bar_rate", bar_rate, 0.0, 1.0, high_inclusive=False)
    length = check_int("length", length, 1, 10_000)
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        bars: list[list[Note]] = [[]]
        for _ in range(length):
            if rng.random() < bar_rate:
                bars.append([])
            else:
                bars[-1].append(Note(int(rng.integers(low, high + 1)),
                                     DURATIONS[int(rng.integers(len(DURATIONS)))]))
        out.append(Melody(tuple(tuple(b) for b in bars), style, f"random {k}"))
    return out


class NGramSampler:
    """Tunes from chapter 03's n-gram model over the symbols of a :class:`MusicTokenizer`.

    The model is a :class:`~course_utils.text.ngram.CharNGramModel` (interpolated Kneser-Ney)
    fitted on ``train_text``; a tune starts from the ``n - 1`` symbols that precede a random
    training tune of the style (the end of the tune before it, :data:`END`, the style
    symbol) and is drawn symbol by symbol,
    ``P(x_t | x_{t-n+1} .. x_{t-1}) ** (1 / temperature)``, until :data:`END`. ``n = 1`` is the
    unigram baseline (symbols in their training proportions, no order), ``n = 2`` a
    first-order Markov chain.

    Args:
        n: order, 1 to 12.
        train_text: encoded training tunes (:meth:`MusicTokenizer.encode_corpus`).
        tokenizer: the tokenizer that wrote them (all its symbols are known to the model).
    """

    def __init__(self, n: int, train_text: str, tokenizer: MusicTokenizer) -> None:
        from course_utils.text.ngram import CharNGramModel

        if not isinstance(tokenizer, MusicTokenizer):
            raise ValueError("tokenizer must be a MusicTokenizer.")
        self.tokenizer = tokenizer
        self.model = CharNGramModel(n).fit(train_text, alphabet=tokenizer.alphabet)
        self.n = self.model.n
        self._alphabet = "".join(self.model.alphabet)
        self._cache: dict[str, np.ndarray] = {}
        # the n - 1 symbols before each tune of each style in the training text: a sampled
        # tune starts from one of them, as if it followed a training tune (a context shorter
        # than n - 1 would be scored with Kneser-Ney's lower-order continuation counts)
        k = self.n - 1
        self._starts = {style: [train_text[max(0, i - k + 1):i + 1]
                                for i in range(1, len(train_text))
                                if train_text[i] == char and train_text[i - 1] == END]
                        for style, char in STYLE_CHARS.items()}

    def __repr__(self) -> str:
        return f"NGramSampler(n={self.n}, {self.model.num_contexts:,} contexts)"

    def _cdf(self, state: str) -> np.ndarray:
        cdf = self._cache.get(state)
        if cdf is None:
            cdf = np.cumsum(self.model.next_char_distribution(state))
            self._cache[state] = cdf
        return cdf

    def bits(self, text: str) -> np.ndarray:
        """``-log2 P`` of every symbol of ``text`` after the first: shape (len(text) - 1,)
        (the positions a GPT scores too)."""
        return self.model.position_bits(text)[1:]

    def sample(self, style: str = "chorale", count: int = 1, temperature: float = 1.0,
               max_bars: int | None = None, max_tokens: int = 256, seed: int = 0
               ) -> list[Melody]:
        """``count`` tunes (see the class docstring); a tune also stops at ``max_tokens``
        symbols or when bar ``max_bars + 1`` would begin."""
        count, temperature, max_bars, seed = _check_generation(count, temperature, max_bars,
                                                               seed)
        style = _check_style(style)
        max_tokens = check_int("max_tokens", max_tokens, 1, 10_000)
        rng = np.random.default_rng(seed)
        k = self.n - 1
        out = []
        starts = self._starts[style] or [END + STYLE_CHARS[style]]
        for index in range(count):
            text = starts[int(rng.integers(len(starts)))]
            prompt = len(text)
            bars = 0
            for _ in range(max_tokens):
                state = text[len(text) - k:] if k else ""
                cdf = self._cdf(state)
                if temperature != 1.0:
                    p = np.diff(cdf, prepend=0.0) ** (1.0 / temperature)
                    cdf = np.cumsum(p)
                char = self._alphabet[min(int(np.searchsorted(cdf, rng.random() * cdf[-1],
                                                              side="right")),
                                          len(self._alphabet) - 1)]
                if char == END:
                    break
                bars += char == BAR
                if max_bars is not None and bars > max_bars:
                    break
                text += char
            out.append(self.tokenizer.decode(text[prompt:], style, f"{self.n}-gram {index}"))
        return out


def generate(model: Any, tokenizer: MusicTokenizer, style: str = "chorale", count: int = 1,
             temperature: float = 1.0, max_bars: int | None = None, max_tokens: int = 256,
             seed: int = 0, prompt: str = "") -> list[Melody]:
    r"""Sample tunes from a tiny GPT trained on :class:`MusicTokenizer` symbols.

    All ``count`` tunes are drawn at once. The context starts as ``END + style + prompt``;
    each step draws
    :math:`x_t \sim \mathrm{softmax}(z_t / T)` from the logits :math:`z_t` of the last
    position, with the keys and values of earlier positions kept in the model's cache
    (``prefill`` / ``decode_step``); past ``block_size`` symbols the model re-reads the last
    ``block_size`` (a sliding window). A tune ends at :data:`END`, after ``max_tokens``
    symbols, or when bar ``max_bars + 1`` would begin.

    Args:
        model: a :class:`~course_utils.text.transformer.TinyGPT` over ``tokenizer.alphabet``.
        tokenizer: the music tokenizer.
        style: ``"chorale"`` or ``"folk"``.
        count: tunes to draw (1 to 1000).
        temperature: ``T`` in (0, 10]; below 1 safer, above 1 wilder.
        max_bars: stop after this many bars (None: the model decides).
        max_tokens: at most this many symbols per tune (1 to 2000).
        seed: seed of the sampling (same seed, same tunes on the same machine).
        prompt: symbols the tunes start with (:meth:`MusicTokenizer.encode_prompt`); they are
            part of the returned melodies.

    Returns:
        ``count`` melodies.
    """
    import torch

    count, temperature, max_bars, seed = _check_generation(count, temperature, max_bars, seed)
    style = _check_style(style)
    max_tokens = check_int("max_tokens", max_tokens, 1, 2000)
    if not isinstance(tokenizer, MusicTokenizer):
        raise ValueError("tokenizer must be a MusicTokenizer.")
    if getattr(getattr(model, "config", None), "vocab_size", None) != tokenizer.vocab_size:
        raise ValueError("model and tokenizer disagree on the vocabulary: use the tokenizer "
                         "the model was trained with.")
    if not isinstance(prompt, str) or END in prompt or any(
            c in STYLE_CHARS.values() for c in prompt):
        raise ValueError("prompt must be note symbols and bar lines "
                         "(MusicTokenizer.encode_prompt writes them).")
    end, bar = tokenizer.ids.encode(END)[0], tokenizer.ids.encode(BAR)[0]
    block = model.config.block_size
    start = tokenizer.ids.encode(END + STYLE_CHARS[style] + prompt)
    if len(start) >= block:
        raise ValueError(f"the prompt has {len(prompt)} symbols; this model reads at most "
                         f"{block - 3}.")
    generator = torch.Generator().manual_seed(seed)
    ids = torch.tensor([start] * count)  # (B, 2 + len(prompt))
    done = torch.zeros(count, dtype=torch.bool)
    bars = torch.full((count,), prompt.count(BAR), dtype=torch.long)
    lengths = torch.full((count,), max_tokens)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits, cache = model.prefill(ids)  # (B, V)
        for step in range(max_tokens):
            probs = torch.softmax(logits.float() / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator)[:, 0]  # (B,)
            bars += nxt == bar
            stop = ~done & ((nxt == end) | ((bars > max_bars) if max_bars else False))
            lengths[stop] = step
            done |= stop
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            if bool(done.all()) or step == max_tokens - 1:
                break
            t = ids.shape[1] - 1
            if t < block:
                logits = model.decode_step(nxt, t, cache)
            else:
                logits = model(ids[:, -block:])[:, -1]
    model.train(was_training)
    skip = len(start)
    texts = [tokenizer.ids.decode(row[skip:skip + int(n)].tolist()) for row, n in zip(ids, lengths)]
    texts = [prompt + text for text in texts]
    return [tokenizer.decode(text, style, f"GPT {k}") for k, text in enumerate(texts)]


def text_bits(model: Any, tokenizer: MusicTokenizer, text: str) -> np.ndarray:
    """``-log2 p(x_t | x_<t)`` of the tiny GPT for every symbol of ``text`` after the first
    (chapter 05's :func:`~course_utils.text.scoring.position_logits`: each symbol sees at
    least half a context window): shape (len(text) - 1,)."""
    from course_utils.text.scoring import position_bits, position_logits

    logits, targets = position_logits(model, tokenizer.ids, text)
    return position_bits(logits, targets).bits
