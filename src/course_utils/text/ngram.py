r"""Character n-gram language models and small Markov chains (chapter 03).

An n-gram model of order ``n`` predicts the next character from the previous ``n - 1``
characters (the *context* ``h``). Sampling from it is walking a Markov chain whose state is
the last ``n - 1`` characters.

Counting alone gives zero probability to every continuation never seen in training, so the
counts are smoothed with **interpolated modified Kneser-Ney** (Chen & Goodman, 1998). For a
context ``h`` of length ``m - 1`` (level ``m``) and a character ``w``:

.. math::

    P_m(w \mid h) = \frac{\max\bigl(c_m(hw) - D_m(c_m(hw)),\, 0\bigr)}{c_m(h\,\cdot)}
        + \frac{\gamma_m(h)}{c_m(h\,\cdot)}\, P_{m-1}(w \mid h'),
    \qquad
    \gamma_m(h) = \sum_{w : c_m(hw) > 0} D_m(c_m(hw)),

where ``h'`` is ``h`` without its first character, ``c_m(h\,\cdot) = \sum_w c_m(hw)``, and
the recursion ends in the uniform distribution ``P_0(w) = 1 / V`` over the ``V`` characters
of the training text. If ``h`` never occurred as a context, ``P_m(w | h) = P_{m-1}(w | h')``.

- At the top level ``m = n``, ``c_n`` is the ordinary count of the n-gram ``hw``.
- At lower levels ``m < n``, ``c_m(hw) = N_{1+}(\bullet\, hw)`` is the *continuation count*:
  the number of different characters seen just before ``hw``. A string that is frequent only
  inside one longer string (``"ython"`` after ``"P"``) gets little weight as a back-off
  prediction - the Kneser-Ney idea.
- The discount ``D_m(c)`` takes three values, for ``c = 1``, ``c = 2`` and ``c >= 3``,
  estimated per level from the count-of-counts ``n_1 .. n_4`` of that level's table:
  ``Y = n_1 / (n_1 + 2 n_2)``, ``D(1) = 1 - 2Y n_2/n_1``, ``D(2) = 2 - 3Y n_3/n_2``,
  ``D(3+) = 3 - 4Y n_4/n_3`` (clipped to ``[0.05, c - 0.05]``; ``0.75`` for all three when
  a level has too few counts, e.g. on a tiny text).

Because the discounted mass ``\gamma_m(h)`` is exactly what the back-off term receives, every
``P_m(\cdot \mid h)`` sums to 1 over the alphabet and is strictly positive.

Quality is reported in **bits per character** on held-out text,
``-\frac{1}{N} \sum_i \log_2 P(x_i \mid x_{i-n+1} .. x_{i-1})`` (perplexity is ``2`` to that).
Chapter 05's tiny GPT is compared with the best order of this module on
``course_utils.data.load_text_splits().val / .test``.

Contents:

- :class:`CharNGramModel` - fit, ``prob`` / ``log_prob`` / ``next_char_distribution``,
  ``bits_per_char``, ``sample`` (with temperature); ``smoothing="add-alpha"`` is the naive
  no-back-off baseline ``(c(hw) + alpha) / (c(h .) + alpha V)``.
- :func:`fit_orders` / :func:`evaluate_orders` - many orders from one counting pass, and the
  table of held-out bits per character.
- :func:`copy_rate`, :func:`copied_windows`, :func:`longest_copy` - how much generated text is
  copied verbatim from the training text.
- :class:`MarkovChain` - a small discrete chain: path sampling, ``pi_t = pi_0 P^t``, the
  stationary distribution.
"""

from __future__ import annotations

import hashlib
import math
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from course_utils.core.validation import check_float, check_int, check_text

if TYPE_CHECKING:
    import pandas as pd

#: Largest supported order (contexts of up to 11 characters).
MAX_ORDER = 12
#: Longest text :meth:`CharNGramModel.sample` generates in one call.
MAX_SAMPLE_LENGTH = 20_000
#: Longest accepted prompt.
MAX_PROMPT_LENGTH = 10_000
_MIN_DISCOUNT = 0.05
#: Discounts used when a level has too few counts to estimate them (the classic D = 0.75).
_FALLBACK_DISCOUNTS = (0.75, 0.75, 0.75)


def _check_order(n: object) -> int:
    return check_int("n", n, low=1, high=MAX_ORDER)


def _check_corpus(name: str, text: object, min_length: int) -> str:
    text = check_text(name, text)
    if len(text) < min_length:
        raise ValueError(f"{name} is too short: {len(text)} characters, need at least "
                         f"{min_length}.")
    return text


def _ngram_counts(text: str, m: int, separator: str | None = None) -> dict[str, int]:
    """Count every substring of length ``m`` of ``text`` (of each of its pieces between
    ``separator`` characters, when given: no counted substring contains the separator)."""
    pieces = text.split(separator) if separator else [text]
    return dict(Counter(p[i:i + m] for p in pieces for i in range(len(p) - m + 1)))


def _continuation_counts(longer: Mapping[str, int]) -> dict[str, int]:
    """``N1+(. g)``: for each ``g``, how many distinct characters precede it, given the
    table of ``(len(g) + 1)``-grams ``longer``."""
    return dict(Counter(gram[1:] for gram in longer))


def estimate_discounts(counts: Iterable[int]) -> tuple[float, float, float]:
    """Modified Kneser-Ney discounts ``(D1, D2, D3+)`` from the count-of-counts (Chen & Goodman).

    Args:
        counts: the counts of one level's table (raw or continuation counts).

    Returns:
        ``(D1, D2, D3+)``, each clipped to ``[0.05, c - 0.05]``; the classic fixed
        ``(0.75, 0.75, 0.75)`` when one of ``n_1 .. n_4`` is zero (tiny texts).
    """
    coc = Counter(c for c in counts if c <= 4)
    n1, n2, n3, n4 = (coc.get(k, 0) for k in (1, 2, 3, 4))
    if min(n1, n2, n3, n4) == 0:
        return _FALLBACK_DISCOUNTS
    y = n1 / (n1 + 2 * n2)
    raw = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    d1, d2, d3 = (min(max(d, _MIN_DISCOUNT), c - _MIN_DISCOUNT) for c, d in zip((1, 2, 3), raw))
    return (d1, d2, d3)


@dataclass(frozen=True)
class _Level:
    """One level ``m`` of the interpolation: the ``m``-gram table and its context statistics."""

    counts: dict[str, int]  # m-gram hw -> c_m(hw) (raw or continuation count)
    contexts: dict[str, tuple[int, float]]  # (m-1)-gram h -> (c_m(h .), gamma_m(h))
    discounts: tuple[float, float, float, float]  # D(0)=0, D(1), D(2), D(3+)

    @classmethod
    def build(cls, counts: dict[str, int], shorter: Mapping[str, int] | None) -> _Level:
        """``shorter``: the raw ``(m-1)``-gram table, whose key strings are reused as context
        keys (saves memory); ``None`` for ``m = 1``."""
        d1, d2, d3 = estimate_discounts(counts.values())
        disc = (0.0, d1, d2, d3)
        totals: dict[str, int] = {}
        gammas: dict[str, float] = {}
        for gram, c in counts.items():
            h = gram[:-1]
            totals[h] = totals.get(h, 0) + c
            gammas[h] = gammas.get(h, 0.0) + disc[c if c < 3 else 3]
        keys = shorter if shorter is not None else totals
        contexts = {h: (totals[h], gammas[h]) for h in keys if h in totals}
        return cls(counts=counts, contexts=contexts, discounts=disc)


class _CountTables:
    """Raw and continuation counts of every length up to ``max_order`` for one text, shared
    by all models fitted on that text (see :func:`_count_tables`)."""

    def __init__(self, text: str, max_order: int, extra_chars: str = "",
                 separator: str | None = None) -> None:
        self.text_sha1 = _digest(text)
        self.text_length = len(text)
        self.alphabet = tuple(sorted((set(text) | set(extra_chars)) - {separator}))
        self.max_order = max_order
        self.raw = {m: _ngram_counts(text, m, separator) for m in range(1, max_order + 1)}
        self._levels: dict[tuple[int, bool], _Level] = {}

    def level(self, m: int, top: bool) -> _Level:
        """Level ``m``: raw counts if ``top``, else continuation counts (built once, cached)."""
        key = (m, top)
        if key not in self._levels:
            counts = self.raw[m] if top else _continuation_counts(self.raw[m + 1])
            self._levels[key] = _Level.build(counts, self.raw.get(m - 1))
        return self._levels[key]


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


# Count tables still used by some model, by (sha1 of text, alphabet): fitting again on the same
# text reuses them instead of counting again. The most recent tables are also kept alive.
_LIVE_TABLES: weakref.WeakValueDictionary[tuple, _CountTables] = \
    weakref.WeakValueDictionary()
_LAST_TABLES: list[_CountTables] = []


def _count_tables(text: str, max_order: int, alphabet: str = "",
                  separator: str | None = None) -> _CountTables:
    """Count tables of ``text`` up to ``max_order``, shared by every model (any order or
    smoothing) fitted on the same text with the same alphabet while one of them is alive.
    ``alphabet``: extra characters to know besides those of ``text``; ``separator``: see
    :meth:`CharNGramModel.fit`."""
    key = (_digest(text), tuple(sorted(set(text) | set(alphabet))), separator)
    tables = _LIVE_TABLES.get(key)
    if tables is None or tables.max_order < max_order:
        tables = _CountTables(text, max_order, alphabet, separator)
        _LIVE_TABLES[key] = tables
    _LAST_TABLES[:] = [tables]
    return tables


#: Smoothing methods of :class:`CharNGramModel`.
SMOOTHINGS = ("kneser-ney", "add-alpha")


class CharNGramModel:
    """Character n-gram language model, smoothed with interpolated modified Kneser-Ney.

    Args:
        n: order, in ``[1, 12]``; the model conditions on the previous ``n - 1`` characters
            (``n = 1``: no context, a smoothed character-frequency model).
        smoothing: ``"kneser-ney"`` (default; the formula in the module docstring) or
            ``"add-alpha"``, the naive baseline without back-off,
            ``P(w | h) = (c(hw) + alpha) / (c(h .) + alpha V)`` - an unseen context gives
            the uniform distribution.
        alpha: pseudo-count of ``"add-alpha"`` (> 0); ignored by Kneser-Ney.

    Example::

        model = CharNGramModel(5).fit(train_text)
        model.bits_per_char(val_text)          # about 1.89 on the course corpus
        model.sample(200, prompt="The ", temperature=0.8, seed=0)

    The alphabet is the set of characters of the training text; any other character in an
    evaluated text, a context or a prompt raises ``ValueError`` listing it.
    """

    def __init__(self, n: int, smoothing: str = "kneser-ney", alpha: float = 0.01) -> None:
        self.n = _check_order(n)
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}.")
        self.smoothing = smoothing
        self.alpha = check_float("alpha", alpha, low=0, low_inclusive=False)
        self._tables: _CountTables | None = None
        self._levels: list[_Level] = []

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, text: str, alphabet: str = "", separator: str | None = None
            ) -> CharNGramModel:
        """Count every substring of length ``1 .. n`` of ``text`` and precompute the smoothing.

        Args:
            text: the training text, at least ``n + 1`` characters.
            alphabet: characters to know besides those of ``text`` (never seen, they get
                probability only from the uniform floor ``1 / V``); useful when fitting on a
                part of a corpus and scoring text that uses the whole corpus's alphabet.
            separator: one character that splits ``text`` into independent pieces (e.g. one
                word per line): no n-gram is counted across it, and it is not part of the
                alphabet.

        Returns:
            ``self`` (so ``CharNGramModel(3).fit(text)`` works).
        """
        _check_corpus("text", text, self.n + 1)
        alphabet = check_text("alphabet", alphabet, allow_empty=True)
        if separator is not None and (not isinstance(separator, str) or len(separator) != 1):
            raise ValueError(f"separator must be one character, got {separator!r}")
        return self._attach(_count_tables(text, self.n, alphabet, separator))

    def _attach(self, tables: _CountTables) -> CharNGramModel:
        kn = self.smoothing == "kneser-ney"
        self._tables = tables
        # Kneser-Ney: raw counts at the top level, continuation counts below.
        # add-alpha: raw counts at every level (shorter levels serve the start of a text).
        self._levels = [tables.level(m, top=(m == self.n or not kn))
                        for m in range(1, self.n + 1)]
        self._alphabet = tables.alphabet
        self._index = {ch: i for i, ch in enumerate(self._alphabet)}
        return self

    def _fitted(self) -> _CountTables:
        if self._tables is None:
            raise ValueError("The model is not fitted yet: call .fit(text) first.")
        return self._tables

    @property
    def alphabet(self) -> tuple[str, ...]:
        """The ``V`` characters the model knows (sorted), i.e. those of the training text."""
        return self._fitted().alphabet

    @property
    def vocab_size(self) -> int:
        """``V``, the number of characters in the alphabet."""
        return len(self.alphabet)

    @property
    def num_contexts(self) -> int:
        """Distinct full contexts (``n - 1`` characters) seen in training."""
        self._fitted()
        return len(self._levels[-1].contexts)

    @property
    def num_counts(self) -> int:
        """Distinct substrings of length ``1 .. n`` in the count tables: the numbers the model
        stores (compare with a network's parameter count)."""
        tables = self._fitted()
        return sum(len(tables.raw[m]) for m in range(1, self.n + 1))

    @property
    def discounts(self) -> list[tuple[float, float, float]]:
        """Kneser-Ney ``(D1, D2, D3+)`` of each level ``m = 1 .. n``."""
        self._fitted()
        return [lvl.discounts[1:] for lvl in self._levels]  # type: ignore[misc]

    def __repr__(self) -> str:
        extra = f", alpha={self.alpha:g}" if self.smoothing == "add-alpha" else ""
        state = (f"fitted on {self._tables.text_length:,} chars, V={len(self._alphabet)}"
                 if self._tables else "not fitted")
        return f"CharNGramModel(n={self.n}, {self.smoothing}{extra}, {state})"

    # -- probabilities -----------------------------------------------------------------------

    def _check_chars(self, name: str, text: str, max_length: int | None = None) -> str:
        return check_text(name, text, max_length=max_length, allowed=self._index,
                          allow_empty=True)

    def _state(self, context: str) -> str:
        """The last ``n - 1`` characters of ``context`` (all of it when shorter)."""
        return context[len(context) - self.n + 1:] if self.n > 1 else ""

    def _prob(self, w: str, context: str) -> float:
        """``P(w | context)`` for a known ``w``; ``context`` has at most ``n - 1`` known chars."""
        k = len(context)
        if self.smoothing == "add-alpha":
            lvl = self._levels[k]
            total = lvl.contexts.get(context, (0, 0.0))[0]
            return (lvl.counts.get(context + w, 0) + self.alpha) / (
                total + self.alpha * len(self._alphabet))
        p = 1.0 / len(self._alphabet)
        for m, lvl in enumerate(self._levels[:k + 1], start=1):  # shorter near a text's start
            h = context[k - m + 1:] if m > 1 else ""
            stats = lvl.contexts.get(h)
            if stats is None:
                # h unseen => every longer context is unseen too (it contains h), so stop.
                break
            c = lvl.counts.get(h + w, 0)
            total, gamma = stats
            p = (c - lvl.discounts[c if c < 3 else 3] + gamma * p) / total
        return p

    def _distribution(self, context: str) -> np.ndarray:
        """Vectorised :meth:`_prob` over the whole alphabet: shape ``(V,)``."""
        alphabet = self._alphabet
        k = len(context)
        if self.smoothing == "add-alpha":
            lvl = self._levels[k]
            get = lvl.counts.get
            c = np.array([get(context + w, 0) for w in alphabet], dtype=float)
            return (c + self.alpha) / (c.sum() + self.alpha * len(alphabet))
        p = np.full(len(alphabet), 1.0 / len(alphabet))
        for m, lvl in enumerate(self._levels[:k + 1], start=1):
            h = context[k - m + 1:] if m > 1 else ""
            stats = lvl.contexts.get(h)
            if stats is None:
                break
            get = lvl.counts.get
            c = np.array([get(h + w, 0) for w in alphabet], dtype=np.int64)
            d = np.asarray(lvl.discounts)[np.minimum(c, 3)]
            total, gamma = stats
            p = (c - d + gamma * p) / total
        return p

    def prob(self, char: str, context: str = "") -> float:
        """``P(char | context)``: only the last ``n - 1`` characters of ``context`` matter.

        Raises:
            ValueError: ``char`` is not one known character, or ``context`` has unknown ones.
        """
        self._fitted()
        if not isinstance(char, str) or len(char) != 1:
            raise ValueError(f"char must be a single character, got {char!r}.")
        self._check_chars("char", char)
        self._check_chars("context", context)
        return self._prob(char, self._state(context))

    def log_prob(self, char: str, context: str = "") -> float:
        """``log2 P(char | context)`` in bits (always finite: smoothing keeps it > 0)."""
        return math.log2(self.prob(char, context))

    def next_char_distribution(self, context: str = "") -> np.ndarray:
        """The whole next-character distribution for ``context``.

        Returns:
            Array of shape ``(V,)``, in the order of :attr:`alphabet`; sums to 1.
        """
        self._fitted()
        self._check_chars("context", context)
        return self._distribution(self._state(context))

    def position_bits(self, text: str) -> np.ndarray:
        """``-log2 P(x_i | previous n - 1 characters)`` for every character of ``text``: shape
        ``(N,)``. The first ``n - 1`` characters are scored with the shorter context available.

        Raises:
            ValueError: empty text or characters outside the alphabet (listed).
        """
        self._fitted()
        check_text("text", text)
        self._check_chars("text", text)
        ctx_len = self.n - 1
        prob, log2 = self._prob, math.log2
        return np.array([-log2(prob(w, text[max(0, i - ctx_len):i]))
                         for i, w in enumerate(text)])

    def bits_per_char(self, text: str) -> float:
        """Average of :meth:`position_bits` over every character of ``text``."""
        return float(self.position_bits(text).mean())

    def unseen_context_rate(self, text: str) -> float:
        """Fraction of positions of ``text`` whose full ``n - 1``-character context never
        appeared (as a context) in training - a direct measure of data sparsity.

        Returns 0.0 for ``n = 1`` (the empty context is always seen).
        """
        self._fitted()
        check_text("text", text)
        self._check_chars("text", text)
        k = self.n - 1
        if k == 0:
            return 0.0
        if len(text) <= k:
            raise ValueError(f"text is too short: {len(text)} characters, need more than {k}.")
        seen = self._levels[-1].contexts
        unseen = sum(text[i - k:i] not in seen for i in range(k, len(text)))
        return unseen / (len(text) - k)

    # -- generation --------------------------------------------------------------------------

    def sample(self, length: int = 200, prompt: str = "", temperature: float = 1.0,
               seed: int = 0) -> str:
        """Generate ``length`` characters by walking the order-``(n - 1)`` Markov chain.

        At each step the state is the last ``n - 1`` characters of ``prompt + generated``;
        the next character is drawn from ``P(. | state) ** (1 / temperature)``, renormalised.

        Args:
            length: characters to generate, in ``[1, 20000]``.
            prompt: text to continue, at most 10 000 characters. May be empty: the first
                characters are then drawn with the shorter contexts available (the very first
                from the order-1 distribution).
            temperature: in ``(0, 100]``. Below 1 sharpens towards the most likely
                characters, above 1 flattens towards uniform.
            seed: seed of the random generator; the same arguments give the same text.

        Returns:
            The generated characters only (without the prompt).

        Raises:
            ValueError: for a bad length, temperature or seed, or a prompt with characters
                outside the alphabet (the message lists them).
        """
        self._fitted()
        check_int("length", length, low=1, high=MAX_SAMPLE_LENGTH)
        temperature = check_float("temperature", temperature, low=0, high=100,
                                  low_inclusive=False)
        check_int("seed", seed, low=0)
        self._check_chars("prompt", prompt, max_length=MAX_PROMPT_LENGTH)
        rng = np.random.default_rng(seed)
        k = self.n - 1
        state = self._state(prompt)
        out: list[str] = []
        for u in rng.random(length):
            p = self._distribution(state)
            if temperature != 1.0:
                logits = np.log(p) / temperature
                p = np.exp(logits - logits.max())
            cdf = np.cumsum(p)
            i = int(np.searchsorted(cdf, u * cdf[-1], side="right"))
            ch = self._alphabet[min(i, len(self._alphabet) - 1)]
            out.append(ch)
            if k:
                state = (state + ch)[-k:]
        return "".join(out)


def fit_orders(train: str, orders: Iterable[int], smoothing: str = "kneser-ney",
               alpha: float = 0.01, alphabet: str = "") -> dict[int, CharNGramModel]:
    """Fit one model per order, all sharing one set of count tables (one counting pass).

    Args:
        train: training text.
        orders: orders to fit, each in ``[1, 12]``.
        smoothing, alpha: as in :class:`CharNGramModel`.
        alphabet: extra characters to know, as in :meth:`CharNGramModel.fit`.

    Returns:
        ``{n: fitted CharNGramModel(n)}`` in increasing ``n``.
    """
    orders = sorted({_check_order(n) for n in orders})
    if not orders:
        raise ValueError("orders is empty: give at least one order, e.g. range(1, 9).")
    _check_corpus("train", train, max(orders) + 1)
    alphabet = check_text("alphabet", alphabet, allow_empty=True)
    tables = _count_tables(train, max(orders), alphabet)
    return {n: CharNGramModel(n, smoothing, alpha)._attach(tables) for n in orders}


def evaluate_orders(train: str, val: str, orders: Iterable[int] = range(1, 11),
                    models: Mapping[int, CharNGramModel] | None = None,
                    smoothing: str = "kneser-ney", alpha: float = 0.01) -> pd.DataFrame:
    """Bits per character on ``val`` for each order (the model-selection table).

    Args:
        train: training text.
        val: held-out text (only characters of ``train``).
        orders: orders to evaluate, each in ``[1, 12]``.
        models: optional ``{n: model}`` already fitted on ``train`` (from :func:`fit_orders`),
            to avoid fitting twice; must contain every order.
        smoothing, alpha: as in :class:`CharNGramModel` (used when ``models`` is ``None``).

    Returns:
        A ``pandas.DataFrame`` indexed by ``n`` with columns ``val_bpc`` (bits/char),
        ``val_perplexity`` (``2 ** val_bpc``), ``contexts`` (distinct ``n - 1``-character
        contexts in training) and ``unseen_context`` (fraction of ``val`` positions whose
        full context never occurred in training).
    """
    import pandas as pd

    orders = sorted({_check_order(n) for n in orders})
    if not orders:
        raise ValueError("orders is empty: give at least one order, e.g. range(1, 9).")
    if models is None:
        models = fit_orders(train, orders, smoothing, alpha)
    else:
        digest = _digest(train)
        for n in orders:
            if n not in models:
                raise ValueError(f"models has no order {n}; fit it with fit_orders().")
            if models[n]._fitted().text_sha1 != digest:
                raise ValueError(f"models[{n}] was not fitted on this training text.")
    rows = []
    for n in orders:
        model = models[n]
        bpc = model.bits_per_char(val)
        rows.append({"n": n, "val_bpc": bpc, "val_perplexity": 2 ** bpc,
                     "contexts": model.num_contexts,
                     "unseen_context": model.unseen_context_rate(val)})
    return pd.DataFrame(rows).set_index("n")


_WINDOW_CACHE: dict[tuple[str, int], frozenset[str]] = {}  # (sha1 of text, k) -> windows
_WINDOW_CACHE_SIZE = 3


def _train_windows(train_text: str, k: int) -> frozenset[str]:
    """Every ``k``-character window of ``train_text`` (the last 3 ``(text, k)`` are cached)."""
    key = (_digest(train_text), k)
    windows = _WINDOW_CACHE.pop(key, None)
    if windows is None:
        windows = frozenset(train_text[i:i + k] for i in range(len(train_text) - k + 1))
    _WINDOW_CACHE[key] = windows  # most recent last
    while len(_WINDOW_CACHE) > _WINDOW_CACHE_SIZE:
        del _WINDOW_CACHE[next(iter(_WINDOW_CACHE))]
    return windows


def copied_windows(generated: str, train_text: str, k: int = 12) -> np.ndarray:
    """For each ``k``-character window of ``generated``, whether it occurs in ``train_text``.

    Args:
        generated: the text to check, at least ``k`` characters.
        train_text: the training text.
        k: window length in ``[1, 1000]``.

    Returns:
        Boolean array of shape ``(len(generated) - k + 1,)``; entry ``i`` is
        ``generated[i:i+k] in train_text``.
    """
    check_int("k", k, low=1, high=1000)
    check_text("generated", generated)
    check_text("train_text", train_text)
    if len(generated) < k:
        raise ValueError(f"generated is too short: {len(generated)} characters, need at "
                         f"least k={k}.")
    windows = _train_windows(train_text, k)
    return np.array([generated[i:i + k] in windows for i in range(len(generated) - k + 1)],
                    dtype=bool)


def copy_rate(generated: str, train_text: str, k: int = 12) -> float:
    """Fraction of the ``k``-character windows of ``generated`` found verbatim in
    ``train_text``: a simple memorisation score (0 = nothing copied, 1 = all copied).

    ``copy_rate = #{i : generated[i:i+k] in train_text} / (len(generated) - k + 1)``.
    See :func:`copied_windows` for the arguments.
    """
    return float(copied_windows(generated, train_text, k).mean())


def longest_copy(generated: str, train_text: str) -> str:
    """The longest substring of ``generated`` that occurs verbatim in ``train_text``.

    Two pointers: if ``generated[i:j]`` occurs in the training text, so does
    ``generated[i+1:j]``, so the end ``j`` never moves back - about ``2 len(generated)``
    substring searches in all.
    """
    check_text("generated", generated)
    check_text("train_text", train_text)
    best_start, best_len, j = 0, 0, 0
    for i in range(len(generated)):
        j = max(j, i)
        while j < len(generated) and generated[i:j + 1] in train_text:
            j += 1
        if j - i > best_len:
            best_start, best_len = i, j - i
    return generated[best_start:best_start + best_len]


class MarkovChain:
    """A finite Markov chain: ``P(X_{t+1} = j | X_t = i) = transition[i, j]``.

    Args:
        transition: ``(S, S)`` row-stochastic matrix: non-negative, each row sums to 1.
        states: ``S`` distinct state names (default ``"0" .. "S-1"``).

    Raises:
        ValueError: non-square, negative, non-finite entries, rows not summing to 1 (within
            ``1e-8``), or a wrong number of state names.
    """

    def __init__(self, transition: Sequence[Sequence[float]] | np.ndarray,
                 states: Sequence[str] | None = None) -> None:
        matrix = np.asarray(transition, dtype=float)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
            raise ValueError(f"transition must be a square (S, S) matrix, got shape "
                             f"{matrix.shape}.")
        if not np.all(np.isfinite(matrix)):
            raise ValueError("transition must contain finite numbers only.")
        if np.any(matrix < 0):
            raise ValueError("transition must be non-negative: probabilities cannot be < 0.")
        sums = matrix.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1) > 1e-8)
        if bad.size:
            raise ValueError(f"each row of transition must sum to 1; row {int(bad[0])} sums "
                             f"to {sums[bad[0]]:.6g}.")
        size = matrix.shape[0]
        names = [str(i) for i in range(size)] if states is None else [str(s) for s in states]
        if len(names) != size or len(set(names)) != size:
            raise ValueError(f"states must be {size} distinct names, got {list(names)!r}.")
        self.transition = matrix
        self.states = names

    @property
    def num_states(self) -> int:
        """``S``."""
        return len(self.states)

    def _state_index(self, state: str | int) -> int:
        if isinstance(state, str):
            if state not in self.states:
                raise ValueError(f"unknown state {state!r}; states are {self.states}.")
            return self.states.index(state)
        return check_int("state", state, low=0, high=self.num_states - 1)

    def sample_path(self, length: int, start: str | int = 0, seed: int = 0) -> list[str]:
        """A random path ``x_0 = start, x_1, ..., x_{length-1}`` (state names).

        Args:
            length: number of states in the path, in ``[1, 10_000_000]``.
            start: first state (name or index).
            seed: random seed.
        """
        check_int("length", length, low=1, high=10_000_000)
        check_int("seed", seed, low=0)
        i = self._state_index(start)
        rng = np.random.default_rng(seed)
        cdf = np.cumsum(self.transition, axis=1)
        path = np.empty(length, dtype=np.int64)
        path[0] = i
        for t, u in enumerate(rng.random(length - 1), start=1):
            i = min(int(np.searchsorted(cdf[i], u, side="right")), self.num_states - 1)
            path[t] = i
        return [self.states[j] for j in path]

    def distribution_after(self, steps: int, initial: Sequence[float] | np.ndarray | None = None
                           ) -> np.ndarray:
        """Distributions ``pi_t = pi_0 P^t`` for ``t = 0 .. steps``.

        Args:
            steps: number of steps (>= 0).
            initial: ``pi_0``, shape ``(S,)`` (default: all mass on state 0).

        Returns:
            Array of shape ``(steps + 1, S)``.
        """
        check_int("steps", steps, low=0, high=1_000_000)
        pi = self._check_distribution(initial)
        out = np.empty((steps + 1, self.num_states))
        out[0] = pi
        for t in range(1, steps + 1):
            out[t] = out[t - 1] @ self.transition
        return out

    def _check_distribution(self, initial: Sequence[float] | np.ndarray | None) -> np.ndarray:
        if initial is None:
            pi = np.zeros(self.num_states)
            pi[0] = 1.0
            return pi
        pi = np.asarray(initial, dtype=float)
        if pi.shape != (self.num_states,) or np.any(pi < 0) or abs(pi.sum() - 1) > 1e-8:
            raise ValueError(f"initial must be a probability vector of length "
                             f"{self.num_states} (non-negative, sums to 1).")
        return pi

    def stationary_distribution(self, tol: float = 1e-12, max_iter: int = 100_000) -> np.ndarray:
        """The distribution ``pi`` with ``pi P = pi``, by power iteration.

        Iterates ``pi <- pi (P + I) / 2`` from the uniform distribution. The "lazy" chain
        ``(P + I) / 2`` has the same stationary distribution as ``P`` and converges even when
        ``P`` is periodic (e.g. a chain that alternates between two states). For a chain with
        several closed classes the answer depends on the start (it is not unique).

        Returns:
            Array of shape ``(S,)`` summing to 1.

        Raises:
            ValueError: if it has not converged to ``tol`` (max-abs change) in ``max_iter``.
        """
        check_float("tol", tol, low=0, low_inclusive=False)
        check_int("max_iter", max_iter, low=1)
        lazy = 0.5 * (self.transition + np.eye(self.num_states))
        pi = np.full(self.num_states, 1.0 / self.num_states)
        for _ in range(max_iter):
            new = pi @ lazy
            if np.max(np.abs(new - pi)) < tol:
                return new / new.sum()
            pi = new
        raise ValueError(f"power iteration did not converge in {max_iter} iterations.")
