"""Writing with a small LLM: prompt templates, length control, summaries, translation (chapter 12).

Four jobs that people give a language model every day, each with a way to *measure* how well a
model does it:

- **Content from a template** - :class:`PromptTemplate` is an instruction with named fields
  (``{product}``, ``{audience}``...) that :meth:`PromptTemplate.fill` fills and checks: a
  missing, empty or unknown field is a clear ``ValueError``, never a prompt with a hole in it.
  :func:`writing_request` adds a tone and a target length.
- **Length control** - :func:`count_words` and :func:`length_report` compare the number of words
  asked for with the number produced (correlation, error, ratio).
- **Summarisation** - :data:`PASSAGES` are short passages adapted from the course's own pages,
  each with a one-sentence reference summary written for the course. :func:`rouge` scores
  summaries against them (ROUGE-1/2/L from the ``rouge-score`` package); :func:`lead_k` and
  :func:`random_k` are the two extractive baselines a model has to beat.
- **Translation** - :data:`TRANSLATIONS` are simple English sentences with French and Spanish
  references, scored with :func:`chrf` (character n-gram F-score, written here from its
  definition).

The functions that run a model (:func:`write`, :func:`summarise`, :func:`translate`) take any
object with the ``chat`` method of :class:`course_utils.llm.smollm2.SmolLM2`.
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from course_utils.core.validation import check_float, check_int, check_text

MAX_FIELD_CHARS = 400  # longest accepted field value (a template is a short brief, not a file)

# --- prompt templates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptTemplate:
    """A reusable instruction with named fields, filled and checked by :meth:`fill`.

    Example::

        t = PromptTemplate("thank-you note", "Write a thank-you note to {name} for {gift}.",
                           {"name": "Ana", "gift": "the book"})
        t.fill(name="Sam", gift="the flowers")   # -> "Write a thank-you note to Sam for ..."
        t.fill(name="Sam")                       # ValueError: missing field 'gift'
    """

    name: str  # label shown in tables and the widget's template picker
    instruction: str  # the request, with {field} placeholders (str.format syntax, no formats)
    examples: Mapping[str, str]  # one example value per field (widget defaults, tests)
    descriptions: Mapping[str, str] = field(default_factory=dict)  # optional field -> help text

    def __post_init__(self) -> None:
        check_text("template name", self.name)
        check_text("instruction", self.instruction)
        names = []
        try:
            parsed = list(string.Formatter().parse(self.instruction))
        except ValueError as exc:
            raise ValueError(f"template {self.name!r}: bad braces in the instruction ({exc}). "
                             "Write a literal brace as '{{' or '}}'.") from None
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if not name.isidentifier() or spec or conversion:
                shown = (name + (f"!{conversion}" if conversion else "")
                         + (f":{spec}" if spec else ""))
                raise ValueError(f"template {self.name!r}: placeholders must be plain names "
                                 f"like {{product}}, got {{{shown}}}.")
            if name not in names:
                names.append(name)
        if not names:
            raise ValueError(f"template {self.name!r} has no {{field}} placeholders.")
        if set(self.examples) != set(names):
            raise ValueError(f"template {self.name!r}: examples must give exactly the fields "
                             f"{names}, got {sorted(self.examples)}.")
        unknown = set(self.descriptions) - set(names)
        if unknown:
            raise ValueError(f"template {self.name!r}: descriptions for unknown fields "
                             f"{sorted(unknown)}.")
        object.__setattr__(self, "_fields", tuple(names))

    @property
    def fields(self) -> tuple[str, ...]:
        """The placeholder names, in order of first appearance."""
        return self._fields  # type: ignore[attr-defined]

    def fill(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """The instruction with every field filled in.

        Args:
            values: field -> value (a dict), and/or the same as keyword arguments.

        Returns:
            The filled instruction; values are stripped of surrounding whitespace.

        Raises:
            ValueError: a field is missing, empty, not text, longer than
                :data:`MAX_FIELD_CHARS`, or not a field of this template.
        """
        given = {**(values or {}), **kwargs}
        unknown = sorted(set(given) - set(self.fields))
        if unknown:
            raise ValueError(f"template {self.name!r} has no field(s) {unknown}; its fields are "
                             f"{list(self.fields)}.")
        missing = [name for name in self.fields if name not in given]
        if missing:
            raise ValueError(f"template {self.name!r} is missing field(s) {missing} "
                             f"(e.g. {missing[0]}={self.examples[missing[0]]!r}).")
        clean = {}
        for name in self.fields:
            value = given[name]
            if not isinstance(value, str):
                raise ValueError(f"field {name!r} must be text, got {type(value).__name__}.")
            if not value.strip():
                raise ValueError(f"field {name!r} is empty: fill it in "
                                 f"(e.g. {self.examples[name]!r}).")
            clean[name] = check_text(f"field {name!r}", value.strip(), max_length=MAX_FIELD_CHARS)
        return self.instruction.format(**clean)


#: The content-creation templates of chapter 12.
TEMPLATES: dict[str, PromptTemplate] = {t.name: t for t in (
    PromptTemplate(
        "business email",
        "Write an email to {recipient} about {subject}. Mention these points: {points}. "
        "Sign it as {sender}.",
        {"recipient": "a customer, Ms. Lee", "subject": "her order arriving two days late",
         "points": "we apologise; the new delivery date is Friday; shipping is refunded",
         "sender": "Sam from the Green Mug shop"},
        {"recipient": "who the email is for", "subject": "what it is about",
         "points": "facts it must contain", "sender": "who signs it"}),
    PromptTemplate(
        "product description",
        "Write a product description of {product} for {audience}. Its features: {features}.",
        {"product": "a stainless steel water bottle", "audience": "hikers",
         "features": "keeps drinks cold for 24 hours, weighs 300 g, fits in a cup holder"},
        {"product": "what is sold", "audience": "who should buy it",
         "features": "facts to mention"}),
)}

#: Tones offered by :func:`writing_request` ("neutral" adds nothing to the prompt).
TONES = ("neutral", "formal", "friendly", "enthusiastic", "apologetic")


#: The briefs of the length-control experiment: (template name, field values), two of each kind.
LENGTH_BRIEFS: tuple[tuple[str, Mapping[str, str]], ...] = (
    ("business email", TEMPLATES["business email"].examples),
    ("business email",
     {"recipient": "the whole team", "subject": "the office closing on Friday for maintenance",
      "points": "everyone works from home; the building reopens on Monday; the servers are off "
                "from 6 pm", "sender": "Priya, office manager"}),
    ("product description", TEMPLATES["product description"].examples),
    ("product description",
     {"product": "a pair of waterproof hiking boots", "audience": "people who walk in the rain",
      "features": "a breathable waterproof lining, 900 g per pair, a two-year guarantee"}),
)

#: Word counts asked for in the length-control experiment (doubling each time).
LENGTH_TARGETS = (15, 30, 60, 120)


def writing_request(template: PromptTemplate, values: Mapping[str, Any], tone: str = "neutral",
                    words: int | None = None) -> str:
    """The user message for a content-creation request.

    ``template.fill(values)``, then ``" The tone should be {tone}."`` unless the tone is
    neutral, then ``" Use about {words} words."`` when a length is asked for.

    Raises:
        ValueError: bad fields (see :meth:`PromptTemplate.fill`), an unknown tone, or ``words``
            outside 5-400.
    """
    if not isinstance(template, PromptTemplate):
        raise ValueError(f"template must be a PromptTemplate, got {type(template).__name__}.")
    request = template.fill(values)
    if tone not in TONES:
        raise ValueError(f"tone must be one of {TONES}, got {tone!r}.")
    if tone != "neutral":
        request += f" The tone should be {tone}."
    if words is not None:
        check_int("words", words, low=5, high=400)
        request += f" Use about {words} words."
    return request


# --- length control -----------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]", re.UNICODE)  # a letter or a digit


def count_words(text: str) -> int:
    """Words in ``text``: whitespace-separated pieces that contain a letter or a digit.

    Markdown bullets, dashes and emoji alone are not words; "24-hour" and "don't" are one word.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}.")
    return sum(bool(_WORD.search(piece)) for piece in text.split())


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (as Spearman's rho needs)."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    for value in np.unique(x):  # average the ranks of tied values
        tied = x == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else float("nan")


@dataclass(frozen=True)
class LengthReport:
    """How well produced lengths follow asked lengths (all in words)."""

    n: int  # number of requests
    pearson: float  # Pearson correlation of asked and produced
    spearman: float  # Spearman rank correlation (Pearson of the ranks)
    mean_abs_error: float  # mean |produced - asked|, in words
    median_ratio: float  # median of produced / asked (1 = on target)
    within_25pct: float  # fraction of requests with |produced - asked| <= 0.25 * asked
    slope: float  # b in log(produced) = a + b log(asked), least squares: 1 = proportional,
    #               0 = the same length whatever is asked (produced counts below 1 count as 1)


def length_report(asked: Sequence[int], produced: Sequence[int]) -> LengthReport:
    """Compare asked and produced lengths.

    Args:
        asked: (N,) target word counts, all > 0, at least two different values.
        produced: (N,) measured word counts (:func:`count_words`), all >= 0.

    Raises:
        ValueError: different lengths, fewer than 3 requests, non-positive targets, negative
            counts, or all targets equal (no correlation can be computed).
    """
    a = np.asarray(asked, dtype=float)
    p = np.asarray(produced, dtype=float)
    if a.ndim != 1 or a.shape != p.shape:
        raise ValueError(f"asked and produced must be 1-D and the same length, got shapes "
                         f"{a.shape} and {p.shape}.")
    if len(a) < 3:
        raise ValueError(f"need at least 3 requests to compare lengths, got {len(a)}.")
    if not (np.isfinite(a).all() and np.isfinite(p).all()):
        raise ValueError("lengths must be finite numbers.")
    if (a <= 0).any() or (p < 0).any():
        raise ValueError("asked lengths must be > 0 and produced lengths >= 0.")
    if len(np.unique(a)) < 2:
        raise ValueError("ask for at least two different lengths to measure length control.")
    log_a, log_p = np.log(a), np.log(np.maximum(p, 1.0))
    slope = float(np.polyfit(log_a, log_p, 1)[0])
    return LengthReport(n=len(a), pearson=_pearson(a, p), spearman=_pearson(_ranks(a), _ranks(p)),
                        mean_abs_error=float(np.abs(p - a).mean()),
                        median_ratio=float(np.median(p / a)),
                        within_25pct=float((np.abs(p - a) <= 0.25 * a).mean()), slope=slope)


# --- summarisation: data, baselines, ROUGE -------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    """A short text from the course with a reference summary written for it."""

    title: str  # topic, for tables
    chapter: str  # where the course teaches it
    text: str  # the passage: 5-7 sentences of plain prose (no math, no markup)
    summary: str  # one-sentence reference summary (abstractive: not copied from the text)


#: Ten passages adapted from the course's chapters (01-06, 10 and 50), with reference summaries.
PASSAGES: tuple[Passage, ...] = (
    Passage(
        "generative vs discriminative", "01 What is generative AI?",
        "A spam filter, a face detector or a credit scorer answers a question about an input. "
        "A generative model does something different: it learns how the data is distributed "
        "well enough to produce new examples that look as if they came from the same source. "
        "The difference shows even on points in a plane. A classifier learns the probability "
        "of a label given a point and draws a boundary between the classes, but asked for a "
        "new point it has nothing to offer. A Gaussian mixture learns where points occur at "
        "all, so it can sample new ones. Its log-likelihood on held-out points tells us how "
        "well it generalises.",
        "Unlike a classifier, which only learns a boundary between classes, a generative model "
        "learns how the data is distributed and can therefore sample new examples."),
    Passage(
        "self-supervised learning", "02 Learning patterns from data",
        "Nobody labels anything when a language model is pre-trained. The text supplies its own "
        "answers: every position in a sentence asks what comes next, and the next character or "
        "word is the answer. A small network that spells first names can be trained this way "
        "on a list of names from the census, with no human effort beyond collecting the list. "
        "After a few seconds of training it beats simple counting and invents names that sound "
        "plausible. Every modern language model is pre-trained in the same way, on word pieces "
        "instead of letters and with much longer contexts.",
        "In self-supervised learning the text provides its own labels, because the next "
        "character or word is the answer to predict, and this is how language models are "
        "pre-trained."),
    Passage(
        "dataset curation", "02 Learning patterns from data",
        "Data scraped from the web is messy. It contains exact and near duplicates, typos, "
        "boilerplate and junk that nobody would choose to learn from. Dataset curation cleans "
        "it: the text is normalised, duplicates are removed and low-quality documents are "
        "filtered out. This is not a cosmetic step. A model trained on duplicated data spends "
        "its capacity on the repeated examples and is more likely to copy them word for word, "
        "and junk in the data turns into junk in the output. Measuring a model before and after "
        "curation shows how much the choice of data matters.",
        "Curating training data by normalising it, removing duplicates and filtering junk "
        "changes what a model learns and reduces how much it copies."),
    Passage(
        "n-gram models", "03 Markov chains and n-grams",
        "The oldest generative model of text is a table of counts. For each short context, such "
        "as the last three characters, it records how often every character came next in a "
        "training text. Turning the counts into probabilities gives a model that can write: "
        "draw the next character, append it, and repeat. This loop is a walk on a Markov chain, "
        "and it is still how every language model generates text. Longer contexts give more "
        "fluent text, but they also make the model copy long passages of its training text, "
        "because most long contexts were seen only once.",
        "An n-gram model writes by sampling each next character from counts of what followed "
        "the same short context; longer contexts read better but copy more training text."),
    Passage(
        "tokenization", "04 Tokenization",
        "A language model never sees letters. It reads and writes a sequence of integers, token "
        "ids from a fixed vocabulary. Whole words make short sequences but the vocabulary is "
        "never complete, while characters or bytes can spell anything at the price of long "
        "sequences. Byte-pair encoding finds a middle ground: starting from the 256 byte "
        "values, it repeatedly merges the most frequent pair of adjacent tokens into a new "
        "token. Frequent words become single tokens and rare words are spelled from smaller "
        "pieces. Every current language model uses such sub-word tokens.",
        "Models read text as token ids, and byte-pair encoding builds a sub-word vocabulary by "
        "merging frequent pairs, so common words get one token and rare words are spelled from "
        "pieces."),
    Passage(
        "self-attention", "05 Transformers and attention",
        "An n-gram model can only look a fixed number of characters back. A transformer reads "
        "the whole context at once. At every position it asks which earlier positions matter: "
        "it compares a query vector with the key vector of each earlier position, turns the "
        "scores into weights with a softmax, and takes the weighted average of their value "
        "vectors. This is self-attention. A causal mask hides the future, so that the model "
        "cannot peek at the token it must predict. Layers of attention and small feed-forward "
        "networks, stacked, make the architecture behind modern language models.",
        "A transformer reads its whole context with self-attention, a weighted average over "
        "earlier positions whose weights come from matching queries with keys."),
    Passage(
        "temperature and truncation", "06 Sampling strategies",
        "A language model does not write text: at every step it gives a probability "
        "distribution over the next token. A decoding rule turns those distributions into "
        "text. Sampling with a temperature divides the scores before the softmax; a low "
        "temperature makes likely tokens even likelier, and a high one flattens the "
        "distribution. Top-k and top-p sampling cut off the unlikely tail of the distribution "
        "before a token is drawn. Every setting trades diversity against likelihood: more "
        "varied text is less likely under the model.",
        "Temperature, top-k and top-p reshape the next-token distribution before sampling, "
        "trading more diverse text against text the model finds more likely."),
    Passage(
        "greedy loops", "06 Sampling strategies",
        "The simplest decoding rule always takes the most likely next token. It is deterministic "
        "and easy to reproduce, but it often falls into loops: the model repeats a phrase, and "
        "each repetition makes the next one more likely. Beam search, which keeps several "
        "candidate continuations, finds text with a higher probability but is just as "
        "repetitive for open-ended writing. A repetition penalty breaks the loop by lowering "
        "the score of tokens that were already generated. It is a crude fix, because it also "
        "punishes words that should repeat, such as names.",
        "Greedy decoding and beam search fall into repetitive loops, which a repetition penalty "
        "breaks at the cost of also penalising words that should repeat."),
    Passage(
        "foundation models", "10 Foundation models",
        "Training a language model from scratch takes enormous amounts of text and compute. A "
        "foundation model is trained once, on broad data and with self-supervision, and then "
        "adapted to many tasks. It can be adapted by prompting, by instruction tuning on "
        "examples of requests and good answers, or by fine-tuning on a specific data set. "
        "SmolLM2-135M-Instruct, the model this course runs offline, is such a model after "
        "instruction tuning. With 135 million parameters it is tiny by today's standards, small "
        "enough to run on a laptop, and its answers show both what such models can do and "
        "where they fail.",
        "A foundation model is pre-trained once on broad data and then adapted to many tasks by "
        "prompting or fine-tuning; the course runs a tiny one, SmolLM2, on a laptop."),
    Passage(
        "hallucination", "50 Hallucination and RAG",
        "Language models write fluent text whether or not it is true. When a model states "
        "something false or unsupported with confidence, we call it a hallucination. It "
        "happens because the model was trained to produce likely text, not to check facts, and "
        "a small model knows fewer facts to begin with. Retrieval-augmented generation reduces "
        "the problem: before answering, the system searches a collection of trusted documents "
        "and puts the most relevant passages into the prompt. The model then only has to read "
        "the answer off the page instead of recalling it.",
        "Models hallucinate because they are trained to write likely rather than true text, and "
        "retrieval-augmented generation helps by putting relevant trusted documents into the "
        "prompt."),
)

_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split plain prose into sentences at ``.``, ``!`` or ``?`` followed by space and a capital
    letter or digit. (Good enough for the course's passages; abbreviations like "e.g. Paris"
    would be split.)"""
    check_text("text", text.strip() if isinstance(text, str) else text)
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def lead_k(text: str, k: int = 1) -> str:
    """The first ``k`` sentences: the classic extractive baseline (news puts the gist first)."""
    check_int("k", k, low=1)
    return " ".join(split_sentences(text)[:k])


def random_k(text: str, k: int = 1, seed: int = 0) -> str:
    """``k`` sentences drawn at random without replacement (kept in text order).

    The floor a summariser must clear: it knows nothing about which sentence matters.
    """
    check_int("k", k, low=1)
    check_int("seed", seed, low=0)
    sentences = split_sentences(text)
    chosen = np.random.default_rng(seed).choice(len(sentences), size=min(k, len(sentences)),
                                                replace=False)
    return " ".join(sentences[i] for i in sorted(chosen))


def truncate_words(text: str, n: int) -> str:
    """The first ``n`` whitespace-separated pieces of ``text`` (all of it when shorter)."""
    check_int("n", n, low=1)
    return " ".join(text.split()[:n])


def lead_words(text: str, n: int) -> str:
    """The passage's first ``n`` words: lead-k with the *same output length* as a summary of
    ``n`` words, so that ROUGE (which rewards length through recall) compares like with like."""
    return truncate_words(check_text("text", text), n)


def random_words(text: str, n: int, seed: int = 0) -> str:
    """Whole sentences in a random order, cut after ``n`` words: the length-matched version of
    :func:`random_k`."""
    check_int("seed", seed, low=0)
    sentences = split_sentences(text)
    order = np.random.default_rng(seed).permutation(len(sentences))
    return truncate_words(" ".join(sentences[i] for i in order), n)


def copied_fraction(summary: str, source: str, n: int = 2) -> float:
    """Fraction of the summary's word n-grams that also occur in the source (0-1).

    Near 1: the summary is stitched from the source's own phrases (extractive); a summary in
    its own words scores lower. Words are lower-cased runs of letters and digits.

    Raises:
        ValueError: empty texts, ``n < 1``, or a summary shorter than ``n`` words.
    """
    check_int("n", n, low=1)
    words = [re.findall(r"[^\W_]+", check_text(name, text).lower())
             for name, text in (("summary", summary), ("source", source))]
    grams = [[tuple(w[i:i + n]) for i in range(len(w) - n + 1)] for w in words]
    if not grams[0]:
        raise ValueError(f"the summary has fewer than n={n} words.")
    in_source = set(grams[1])
    return sum(g in in_source for g in grams[0]) / len(grams[0])


ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def rouge(predictions: Sequence[str], references: Sequence[str],
          types: Sequence[str] = ROUGE_TYPES) -> dict[str, np.ndarray]:
    """ROUGE F1 of each prediction against its reference (``rouge-score``, Porter stemmer on).

    ROUGE-n counts the n-grams the two texts share: precision = shared / n-grams of the
    prediction, recall = shared / n-grams of the reference, F1 = 2PR / (P + R). ROUGE-L uses the
    longest common subsequence of words instead of n-grams, so word order counts but gaps are
    allowed. Words are lower-cased and stemmed ("models" = "model").

    Args:
        predictions: (N,) summaries to score.
        references: (N,) reference summaries.
        types: any of ``"rouge1"``, ``"rouge2"``, ``"rougeL"``.

    Returns:
        ``{type: (N,) array of F1 scores in [0, 1]}``.

    Raises:
        ValueError: different lengths, no pairs, empty or non-text items, unknown types.
    """
    from rouge_score import rouge_scorer

    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references) or not predictions:
        raise ValueError(f"need the same positive number of predictions and references, got "
                         f"{len(predictions)} and {len(references)}.")
    for i, (p, r) in enumerate(zip(predictions, references)):
        if not isinstance(p, str) or not isinstance(r, str):
            raise ValueError(f"pair {i}: predictions and references must be strings.")
        if not r.strip():
            raise ValueError(f"reference {i} is empty.")
    types = list(types)
    bad = sorted(set(types) - set(ROUGE_TYPES))
    if bad or not types:
        raise ValueError(f"types must be among {ROUGE_TYPES}, got {types}.")
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=True)
    scores = [scorer.score(r, p) for p, r in zip(predictions, references)]  # (target, prediction)
    return {t: np.array([s[t].fmeasure for s in scores]) for t in types}


# --- translation: data and chrF ------------------------------------------------------------------


@dataclass(frozen=True)
class TranslationPair:
    """An English sentence with a reference translation into French and Spanish, and a second,
    equally correct translation of each (to show what a *right* answer scores against a single
    reference)."""

    english: str
    french: str  # the reference
    spanish: str  # the reference
    french_alt: str  # another correct French translation
    spanish_alt: str  # another correct Spanish translation


#: Ten simple sentences, each with a reference and an alternative translation per language.
TRANSLATIONS: tuple[TranslationPair, ...] = (
    TranslationPair("The cat is sleeping on the chair.", "Le chat dort sur la chaise.",
                    "El gato duerme en la silla.",
                    "Le chat est en train de dormir sur la chaise.",
                    "El gato está durmiendo en la silla."),
    TranslationPair("I would like a cup of coffee, please.",
                    "Je voudrais une tasse de café, s'il vous plaît.",
                    "Quisiera una taza de café, por favor.",
                    "J'aimerais une tasse de café, s'il vous plaît.",
                    "Me gustaría una taza de café, por favor."),
    TranslationPair("Where is the train station?", "Où est la gare ?",
                    "¿Dónde está la estación de tren?", "Où se trouve la gare ?",
                    "¿Dónde queda la estación de tren?"),
    TranslationPair("My sister works in a hospital.", "Ma sœur travaille dans un hôpital.",
                    "Mi hermana trabaja en un hospital.", "Ma sœur travaille à l'hôpital.",
                    "Mi hermana trabaja en el hospital."),
    TranslationPair("It is raining today.", "Il pleut aujourd'hui.", "Hoy está lloviendo.",
                    "Aujourd'hui, il pleut.", "Hoy llueve."),
    TranslationPair("We are going to the beach tomorrow.", "Nous allons à la plage demain.",
                    "Mañana vamos a la playa.", "Demain, nous allons à la plage.",
                    "Vamos a la playa mañana."),
    TranslationPair("The book is on the table.", "Le livre est sur la table.",
                    "El libro está sobre la mesa.", "Le livre se trouve sur la table.",
                    "El libro está en la mesa."),
    TranslationPair("Thank you for your help.", "Merci pour votre aide.",
                    "Gracias por su ayuda.", "Merci de votre aide.", "Gracias por tu ayuda."),
    TranslationPair("The children are playing in the garden.",
                    "Les enfants jouent dans le jardin.", "Los niños juegan en el jardín.",
                    "Les enfants jouent au jardin.", "Los niños están jugando en el jardín."),
    TranslationPair("How much does this shirt cost?", "Combien coûte cette chemise ?",
                    "¿Cuánto cuesta esta camisa?", "Quel est le prix de cette chemise ?",
                    "¿Cuánto vale esta camisa?"),
)

LANGUAGES = {"French": "french", "Spanish": "spanish"}  # name in prompts -> TranslationPair field


def char_ngrams(text: str, n: int) -> Counter:
    """Counts of the character n-grams of ``text`` with whitespace removed (as chrF does)."""
    check_int("n", n, low=1)
    chars = "".join(text.split())
    return Counter(chars[i:i + n] for i in range(len(chars) - n + 1))


def _chrf_statistics(hypothesis: str, reference: str, max_n: int) -> np.ndarray:
    """(max_n, 3) array: per order n, [hypothesis n-grams, reference n-grams, matches]."""
    stats = np.zeros((max_n, 3))
    for n in range(1, max_n + 1):
        hyp, ref = char_ngrams(hypothesis, n), char_ngrams(reference, n)
        stats[n - 1] = (sum(hyp.values()), sum(ref.values()), sum((hyp & ref).values()))
    return stats


def _chrf_from_statistics(stats: np.ndarray, beta: float) -> float:
    """chrF from summed statistics: average P and R over the orders that exist, then F_beta."""
    orders = stats[(stats[:, 0] > 0) | (stats[:, 1] > 0)]  # skip orders absent from both
    if len(orders) == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(orders[:, 0] > 0, orders[:, 2] / orders[:, 0], 0.0).mean()
        recall = np.where(orders[:, 1] > 0, orders[:, 2] / orders[:, 1], 0.0).mean()
    b2 = beta ** 2
    if precision == 0 and recall == 0:
        return 0.0
    return float(100 * (1 + b2) * precision * recall / (b2 * precision + recall))


def chrf(hypothesis: str, reference: str, max_n: int = 6, beta: float = 2.0) -> float:
    """chrF (Popović, 2015): the character n-gram F-score of a translation, 0-100.

    With whitespace removed, for n = 1..N let ``P_n`` = matched n-grams / n-grams of the
    hypothesis and ``R_n`` = matched / n-grams of the reference (matches are clipped counts: an
    n-gram matches at most as often as it occurs on the other side). Average them,
    ``chrP = mean_n P_n`` and ``chrR = mean_n R_n``, and combine::

        chrF_beta = 100 * (1 + beta^2) * chrP * chrR / (beta^2 * chrP + chrR)

    ``beta = 2`` weighs recall twice as much as precision. Orders that neither text is long
    enough to have are left out of the averages. Characters, not words, so a nearly right word
    ("jardin" for "jardín") earns most of its credit. This is the paper's definition; toolkits
    such as sacreBLEU combine the orders in their own way, so their numbers can differ a little.

    Args:
        hypothesis: the system's translation (may be empty: score 0).
        reference: the reference translation (non-empty).
        max_n: largest n-gram order N (6 in the standard chrF).
        beta: recall weight (> 0).
    """
    if not isinstance(hypothesis, str):
        raise ValueError(f"hypothesis must be a string, got {type(hypothesis).__name__}.")
    check_text("reference", reference.strip() if isinstance(reference, str) else reference)
    check_int("max_n", max_n, low=1, high=20)
    beta = check_float("beta", beta, low=0, low_inclusive=False)
    return _chrf_from_statistics(_chrf_statistics(hypothesis, reference, max_n), beta)


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[str], max_n: int = 6,
                beta: float = 2.0) -> float:
    """chrF of a whole test set: n-gram counts summed over all sentences before P and R
    (a long sentence weighs more than a short one), as corpus-level chrF is usually reported."""
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references) or not hypotheses:
        raise ValueError(f"need the same positive number of hypotheses and references, got "
                         f"{len(hypotheses)} and {len(references)}.")
    check_int("max_n", max_n, low=1, high=20)
    beta = check_float("beta", beta, low=0, low_inclusive=False)
    total = np.zeros((max_n, 3))
    for h, r in zip(hypotheses, references):
        if not isinstance(h, str):
            raise ValueError(f"hypothesis must be a string, got {type(h).__name__}.")
        check_text("reference", r.strip() if isinstance(r, str) else r)
        total += _chrf_statistics(h, r, max_n)
    return _chrf_from_statistics(total, beta)


# --- running the model ----------------------------------------------------------------------------


def max_tokens_for(words: int) -> int:
    """Token budget for a request of about ``words`` words: room for twice the length asked
    (English runs ~1.3 SmolLM2 tokens per word), so overshooting stays measurable."""
    check_int("words", words, low=1, high=1000)
    return int(2.6 * words) + 32


def write(model, request: str, *, words: int | None = None, temperature: float = 0.0,
          seed: int = 0, max_tokens: int | None = None,
          on_token: Callable[[str], None] | None = None, **settings: Any):
    """Ask ``model`` (a :class:`course_utils.llm.smollm2.SmolLM2`) to carry out a writing request.

    Args:
        request: the user message (e.g. from :func:`writing_request`).
        words: the length asked for in the request, used for the token budget
            (:func:`max_tokens_for`); default budget 256 tokens.
        temperature: 0 = greedy (reproducible), > 0 samples with ``seed``.
        max_tokens: overrides the budget.
        on_token: streaming callback, see :meth:`course_utils.llm.smollm2.SmolLM2.complete`.
        settings: other sampling keywords (``top_p``, ``repeat_penalty``...).

    Returns:
        The :class:`course_utils.llm.smollm2.Completion`; its text is stripped.
    """
    if max_tokens is None:
        max_tokens = max_tokens_for(words) if words is not None else 256
    completion = model.chat(request, max_tokens=max_tokens, temperature=temperature, seed=seed,
                            on_token=on_token, **settings)
    return _stripped(completion)


def _stripped(completion):
    return dataclasses.replace(completion, text=completion.text.strip())


SUMMARY_INSTRUCTION = "Summarise the following text in one short sentence."


def summary_request(text: str) -> str:
    """The user message asking for a one-sentence summary of ``text``."""
    check_text("text", text.strip() if isinstance(text, str) else text)
    return f"{SUMMARY_INSTRUCTION}\n\n{text.strip()}"


def summarise(model, text: str, max_tokens: int = 80, **settings: Any):
    """A one-sentence summary of ``text`` by ``model`` (greedy unless settings say otherwise).

    Returns:
        The :class:`course_utils.llm.smollm2.Completion` (text stripped).
    """
    return _stripped(model.chat(summary_request(text), max_tokens=max_tokens, **settings))


def translation_request(sentence: str, language: str) -> str:
    """The user message asking to translate one English sentence into ``language``."""
    check_text("sentence", sentence.strip() if isinstance(sentence, str) else sentence)
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {list(LANGUAGES)}, got {language!r}.")
    return (f"Translate this English sentence into {language}. Answer with the translation "
            f"only.\n\n{sentence.strip()}")


def translate(model, sentence: str, language: str, max_tokens: int = 48, **settings: Any):
    """``model``'s translation of ``sentence`` (greedy unless settings say otherwise); only the
    first line of the answer is kept, since a translation of one sentence is one line.

    Returns:
        The :class:`course_utils.llm.smollm2.Completion` with the kept text.
    """
    completion = _stripped(model.chat(translation_request(sentence, language),
                                      max_tokens=max_tokens, **settings))
    return dataclasses.replace(completion, text=completion.text.split("\n", 1)[0].strip())
