"""Dataset curation: normalise, filter with named rules, remove exact duplicates - and count it.

A curation pipeline turns raw, scraped records into training data::

    raw --normalise--> tidy text --rules--> plausible records --exact dedup--> curated

and returns a :class:`CurationReport` saying how many records each stage removed and why,
with a few examples per reason, so that the effect of every rule can be inspected (and its
false positives noticed).

Used by chapter 02 (curating a scraped list of first names) and chapter 53 (duplicates and
memorisation). :func:`simulate_scraped_names` builds the realistic "scraped" version of a clean
name list that chapter 02 trains on.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from course_utils.core.validation import check_int

_SPACES = re.compile(r"\s+")

#: Reason recorded for records that are empty after normalisation.
EMPTY = "empty"
#: Reason recorded for exact duplicates (after normalisation) of an earlier record.
DUPLICATE = "duplicate"


def normalise(text: str) -> str:
    """Canonical form of a record: Unicode NFKC, case-folded, trimmed, single spaces.

    ``"  MARY "`` -> ``"mary"``, ``"Anne\\tMarie"`` -> ``"anne marie"``. Normalising first
    lets exact deduplication catch records that differ only in case or spacing.

    Raises:
        ValueError: if ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise ValueError(f"normalise expects text, got {type(text).__name__}.")
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def dedup_exact(items: Iterable[str]) -> tuple[list[str], int]:
    """Drop exact repeats, keeping the first occurrence of each item, in the original order.

    Returns:
        ``(kept, n_removed)``.
    """
    all_items = _check_items(items)
    seen: set[str] = set()
    kept: list[str] = []
    for item in all_items:
        if item not in seen:
            seen.add(item)
            kept.append(item)
    return kept, len(all_items) - len(kept)


def duplicate_counts(items: Iterable[str], top: int | None = None) -> list[tuple[str, int]]:
    """Items that occur more than once, with their counts, most repeated first.

    Args:
        items: the records (compare them after :func:`normalise` to catch case variants).
        top: keep only the ``top`` most repeated (all when ``None``).
    """
    counts = Counter(_check_items(items))
    repeated = [(item, c) for item, c in counts.most_common() if c > 1]
    if top is not None:
        check_int("top", top, low=1)
        repeated = repeated[:top]
    return repeated


@dataclass(frozen=True)
class Rule:
    """A named filter: records for which ``keep(record)`` is ``False`` are removed."""

    name: str  # short reason shown in the report, e.g. "non_letters"
    description: str  # one sentence a reader understands
    keep: Callable[[str], bool]  # True = the record passes this rule

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[a-z0-9_]+", self.name):
            raise ValueError(f"Rule name must be lower-case letters, digits or '_', "
                             f"got {self.name!r}.")
        if self.name in (EMPTY, DUPLICATE):
            raise ValueError(f"Rule name {self.name!r} is reserved for the pipeline itself.")
        if not callable(self.keep):
            raise ValueError(f"Rule {self.name!r}: keep must be a function str -> bool.")


def name_rules(min_length: int = 2, max_length: int = 15, max_consonant_run: int = 4,
               max_repeat: int = 2) -> list[Rule]:
    """Rules for a list of first names (applied after :func:`normalise`), in this order.

    Args:
        min_length, max_length: allowed name length in letters.
        max_consonant_run: longest run of consonants allowed (``y`` counts as a vowel);
            English first names in the census list have runs of at most 4 ("ellsworth").
        max_repeat: longest run of one repeated letter allowed ("aaaa" is keyboard noise).

    Returns:
        ``letters_only``, ``too_short``, ``too_long``, ``no_vowel``, ``consonant_run``,
        ``repeated_letter``.
    """
    check_int("min_length", min_length, low=1)
    check_int("max_length", max_length, low=min_length)
    check_int("max_consonant_run", max_consonant_run, low=1)
    check_int("max_repeat", max_repeat, low=1)
    run = re.compile(f"[^aeiouy]{{{max_consonant_run + 1},}}")
    repeat = re.compile(f"(.)\\1{{{max_repeat},}}")
    return [
        Rule("letters_only", "only the letters a-z (no digits, spaces, punctuation, markup)",
             lambda s: re.fullmatch(r"[a-z]+", s) is not None),
        Rule("too_short", f"at least {min_length} letters", lambda s: len(s) >= min_length),
        Rule("too_long", f"at most {max_length} letters", lambda s: len(s) <= max_length),
        Rule("no_vowel", "contains a vowel (a, e, i, o, u or y)",
             lambda s: re.search(r"[aeiouy]", s) is not None),
        Rule("consonant_run", f"no run of more than {max_consonant_run} consonants",
             lambda s: run.search(s) is None),
        Rule("repeated_letter", f"no letter repeated more than {max_repeat} times in a row",
             lambda s: repeat.search(s) is None),
    ]


@dataclass
class CurationReport:
    """What a :func:`curate` run did."""

    n_input: int = 0  # records given
    n_output: int = 0  # records kept
    n_changed_by_normalisation: int = 0  # records whose text normalisation changed
    removed: dict[str, int] = field(default_factory=dict)  # reason -> records removed
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> a few raw records

    @property
    def n_removed(self) -> int:
        """Records removed for any reason (``n_input - n_output``)."""
        return sum(self.removed.values())

    def lines(self) -> list[str]:
        """The report as aligned text lines (what ``str(report)`` prints)."""
        width = max([len(r) + 2 for r in self.removed] + [13])  # "- reason" column
        out = [f"{'input records':<{width}}  {self.n_input:>7,}",
               f"{'normalised':<{width}}  {self.n_changed_by_normalisation:>7,}  "
               "(text changed; not a removal)"]
        for reason, count in self.removed.items():
            shown = ", ".join(repr(e) for e in self.examples.get(reason, []))
            out.append(f"{'- ' + reason:<{width}}  {count:>7,}  e.g. {shown}" if count else
                       f"{'- ' + reason:<{width}}  {count:>7,}")
        out.append(f"{'kept':<{width}}  {self.n_output:>7,}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def curate(records: Sequence[str], rules: Sequence[Rule] | None = None,
           normaliser: Callable[[str], str] | None = normalise, deduplicate: bool = True,
           max_examples: int = 3) -> tuple[list[str], CurationReport]:
    """Normalise, filter and de-duplicate ``records``, counting every removal by reason.

    Order: each record is normalised; an empty result is removed as ``"empty"``; then the
    first rule it fails removes it under that rule's name; then exact repeats of an earlier
    kept record are removed as ``"duplicate"``. Kept records keep their first-seen order.

    Args:
        records: raw text records.
        rules: filters (default :func:`name_rules`); pass ``[]`` for none.
        normaliser: text -> canonical text (default :func:`normalise`; ``None`` to skip).
        deduplicate: remove exact duplicates.
        max_examples: raw examples stored per reason in the report.

    Returns:
        ``(curated, report)``.

    Raises:
        ValueError: for records that are not strings, or duplicate rule names.
    """
    records = _check_items(records)
    rules = name_rules() if rules is None else list(rules)
    if any(not isinstance(rule, Rule) for rule in rules):
        raise ValueError("rules must be Rule objects (see name_rules()).")
    names = [rule.name for rule in rules]
    if len(set(names)) != len(names):
        raise ValueError(f"Rule names must be unique, got {names}.")
    check_int("max_examples", max_examples, low=0)
    report = CurationReport(n_input=len(records))
    report.removed = {EMPTY: 0, **{name: 0 for name in names}}
    if deduplicate:
        report.removed[DUPLICATE] = 0
    report.examples = {reason: [] for reason in report.removed}

    def drop(reason: str, raw: str) -> None:
        report.removed[reason] += 1
        if len(report.examples[reason]) < max_examples and raw not in report.examples[reason]:
            report.examples[reason].append(raw)

    kept: list[str] = []
    seen: set[str] = set()
    for raw in records:
        text = normaliser(raw) if normaliser is not None else raw
        report.n_changed_by_normalisation += text != raw
        if not text:
            drop(EMPTY, raw)
            continue
        failed = next((rule.name for rule in rules if not rule.keep(text)), None)
        if failed is not None:
            drop(failed, raw)
            continue
        if deduplicate and text in seen:
            drop(DUPLICATE, raw)
            continue
        seen.add(text)
        kept.append(text)
    report.n_output = len(kept)
    return kept, report


def simulate_scraped_names(names: Sequence[str], popular: Sequence[str] | None = None,
                           popular_copies: int = 300, n_variants: int = 300,
                           n_noisy: int = 300, n_junk: int = 300,
                           seed: int = 0) -> list[str]:
    """A "scraped" version of a clean name list, with the problems real scraped data has.

    Starting from ``names`` (each once), it adds, then shuffles (seeded):

    - **popular duplicates**: the k-th name of ``popular`` repeated about
      ``popular_copies / k`` times (a Zipf-like head, as on web pages and forms);
    - **case / spacing variants** of random names: ``"MARY"``, ``" Mary "``, ``"mary\\t"``;
    - **noisy entries**: digits (``"john123"``), markup (``"<b>anna</b>"``), punctuation
      (``"anna!"``, ``"o'brien"``), two names in one field (``"mary ann"``), ``"n/a"``;
    - **junk**: single letters, empty strings, keyboard mashes and random letter strings.

    Args:
        names: clean names (lower-case letters).
        popular: the over-represented names (default: the first 10 of ``names``).
        popular_copies: copies of the most popular name (>= 1).
        n_variants, n_noisy, n_junk: how many records of each kind to add (>= 0).
        seed: random seed; the same arguments give the same list.

    Returns:
        The raw records, a list of strings.
    """
    names = _check_items(names)
    if not names:
        raise ValueError("names is empty: give at least one name.")
    popular = list(names[:10]) if popular is None else _check_items(popular)
    check_int("popular_copies", popular_copies, low=1)
    for label, value in [("n_variants", n_variants), ("n_noisy", n_noisy), ("n_junk", n_junk)]:
        check_int(label, value, low=0)
    check_int("seed", seed, low=0)
    rng = random.Random(seed)
    raw = list(names)
    for k, name in enumerate(popular, start=1):
        raw.extend([name] * (max(1, round(popular_copies / k)) - 1))
    case_forms = [str.upper, str.title, lambda s: f" {s.title()} ", lambda s: f"{s}\t",
                  lambda s: s.upper() + " "]
    raw.extend(rng.choice(case_forms)(rng.choice(names)) for _ in range(n_variants))
    noisy_forms = [lambda s: f"{s}{rng.randint(1, 999)}", lambda s: f"{s}_{rng.randint(70, 99)}",
                   lambda s: f"<b>{s}</b>", lambda s: f"{s}!", lambda s: f"{s}?",
                   lambda s: f"{s[0]}'{s[1:]}", lambda s: f"{s} {rng.choice(names)}",
                   lambda s: f"{s}@mail", lambda s: "n/a", lambda s: "unknown"]
    raw.extend(rng.choice(noisy_forms)(rng.choice(names)) for _ in range(n_noisy))
    letters = "abcdefghijklmnopqrstuvwxyz"
    mashes = ["asdf", "asdfgh", "qwerty", "qwertz", "zxcv", "jkl", "hjkl", "sdfsdf", "aaaa",
              "xxxxx", "zzz", "test", "abc", "xyz", "lol", "null", "none"]
    junk_forms = [lambda: rng.choice(letters), lambda: "", lambda: " ",
                  lambda: rng.choice(mashes),
                  lambda: "".join(rng.choice(letters) for _ in range(rng.randint(4, 12)))]
    raw.extend(rng.choice(junk_forms)() for _ in range(n_junk))
    rng.shuffle(raw)
    return raw


def _check_items(items: Iterable[str]) -> list[str]:
    """Return ``items`` as a list of strings, or raise a clear ``ValueError``."""
    if isinstance(items, str):
        raise ValueError("Expected a list of strings, got a single string.")
    try:
        out = list(items)
    except TypeError:
        raise ValueError(f"Expected a list of strings, got {type(items).__name__}.") from None
    for item in out:
        if not isinstance(item, str):
            raise ValueError(f"Every record must be a string, got {item!r} "
                             f"({type(item).__name__}).")
    return out


def fraction_matching(items: Sequence[str], targets: Iterable[str]) -> float:
    """Share of ``items`` that are exactly one of ``targets`` (0 for an empty ``items``).

    Handy for "what share of generated samples copy an over-represented record?".
    """
    items = _check_items(items)
    target_set = set(_check_items(targets))
    return sum(item in target_set for item in items) / len(items) if items else 0.0


# --- near-duplicate documents -------------------------------------------------------------
#
# Exact deduplication misses a page that repeats another page's paragraphs inside a longer
# text. Comparing sets of k-character windows ("shingles") catches it: the *containment* of A
# in B is the share of A's windows that also occur in B,
#
#     containment(A, B) = |W_k(A) ∩ W_k(B)| / |W_k(A)|.


def shingles(text: str, k: int = 50) -> set[int]:
    """Hashes of every ``k``-character window of ``text`` (the whole text if shorter).

    Hashes (not the strings) keep memory small; they are only compared within one process.
    """
    check_int("k", k, low=1)
    if not isinstance(text, str):
        raise ValueError(f"shingles expects text, got {type(text).__name__}.")
    if len(text) <= k:
        return {hash(text)}
    return {hash(text[i:i + k]) for i in range(len(text) - k + 1)}


def containment(a: set[int], b: set[int]) -> float:
    """Share of the windows of ``a`` that also occur in ``b`` (0 for an empty ``a``)."""
    return len(a & b) / len(a) if a else 0.0


@dataclass(frozen=True)
class DroppedDocument:
    """A document removed as a near-duplicate of text kept before it."""

    title: str
    chars: int
    contained: float  # share of its windows already present in kept documents


def drop_contained_documents(documents: Sequence[tuple[str, str]], k: int = 50,
                             threshold: float = 0.5
                             ) -> tuple[list[tuple[str, str]], list[DroppedDocument]]:
    """Remove documents whose text mostly repeats other documents.

    Documents are visited longest first; one is dropped when at least ``threshold`` of its
    ``k``-character windows already occur in the documents kept so far (so of two copies, the
    longer, more complete one stays).

    Args:
        documents: ``(title, text)`` pairs.
        k: window length in characters.
        threshold: containment in ``(0, 1]`` at which a document counts as a duplicate.

    Returns:
        ``(kept, dropped)``: kept documents in their original order, and what was dropped.
    """
    from course_utils.core.validation import check_float

    check_float("threshold", threshold, low=0, high=1, low_inclusive=False)
    windows = [shingles(text, k) for _, text in documents]
    order = sorted(range(len(documents)), key=lambda i: -len(documents[i][1]))
    seen: set[int] = set()
    keep: set[int] = set()
    dropped: list[DroppedDocument] = []
    for i in order:
        share = containment(windows[i], seen)
        if share >= threshold:
            dropped.append(DroppedDocument(documents[i][0], len(documents[i][1]), share))
        else:
            keep.add(i)
            seen |= windows[i]
    return [documents[i] for i in sorted(keep)], dropped


def overlap_groups(texts: Sequence[str], k: int = 50, threshold: float = 0.05) -> list[int]:
    """Group documents that share text, so a data split can keep each group together.

    Two documents are linked when either contains at least ``threshold`` of the other's
    ``k``-character windows; groups are the connected components.

    Returns:
        A group id per document, numbered in order of first appearance.
    """
    windows = [shingles(text, k) for text in texts]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if max(containment(windows[i], windows[j]),
                   containment(windows[j], windows[i])) >= threshold:
                parent[root(j)] = root(i)
    ids: dict[int, int] = {}
    return [ids.setdefault(root(i), len(ids)) for i in range(len(texts))]
