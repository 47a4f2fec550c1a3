"""Prompt engineering, measured: a labelled task, prompt styles, an answer parser, a scorer.

Chapter 11 asks SmolLM2-135M-Instruct (:mod:`course_utils.llm.smollm2`) to sort short texts into four
topics and measures how the *prompt* changes the answers. The pieces:

- :data:`TOPICS` - the course's own labelled task: 48 one-sentence texts, 12 per topic (sport,
  food, technology, weather), split once and for all into a few-shot pool of 8 (two per topic)
  and an evaluation set of 40 that is never shown to the model as an example.
- :class:`PromptStyle` - one way of asking: a system prompt, a user template, a number of
  worked examples (earlier chat turns), and how the answer is read - free text, JSON
  constrained by a grammar, or the label the model finds most likely (:data:`STYLES`).
- :func:`parse_label` - maps a free-text answer to a label, or to ``None`` (unparseable).
- :func:`evaluate` and :func:`score_table` - run styles over the evaluation set and summarise:
  accuracy (with a Wilson interval), unparseable answers, tokens and seconds per item.

Every prompt ends with the item, so llama.cpp reuses its cache for the shared beginning (system
prompt, instruction and examples) and only the item's tokens are new for each call.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB

from course_utils.core.progress import progress
from course_utils.core.validation import check_float, check_int, check_text
from course_utils.llm.smollm2 import DEFAULT_SYSTEM, chat_prompt

OUTPUTS = ("text", "json", "scores")  # how an answer is read: see PromptStyle
MAX_TEMPLATE_CHARS = 4_000
INVALID = "(invalid)"  # column of unparseable answers in a confusion table


# --- the labelled task ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Example:
    """One labelled item."""

    text: str   # what the model reads
    label: str  # the right answer, one of the task's labels


@dataclass(frozen=True)
class Task:
    """A small classification task for a chat model.

    The split is fixed: ``few_shot`` items may appear in prompts as worked examples,
    ``evaluation`` items are only ever asked about, so no answer is shown to the model.
    """

    name: str                      # shown in tables
    labels: tuple[str, ...]        # the label set, lower case, in a fixed order
    question: str                  # the instruction that names the labels ({question} in templates)
    few_shot: tuple[Example, ...]  # pool of demonstrations, in the order they are used
    evaluation: tuple[Example, ...]  # held-out items the styles are scored on
    aliases: Mapping[str, str] = field(default_factory=dict)  # other word -> label it counts as
    input_name: str = "Text"       # how an item is introduced in the prompt ("Text: ...")
    json_key: str = "topic"        # key of the answer in JSON output

    def __post_init__(self) -> None:
        if not self.labels or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must be distinct and non-empty, got {self.labels!r}.")
        for label in self.labels:
            if not re.fullmatch(r"[a-z][a-z \-]*", label):
                raise ValueError(f"label {label!r} must be lower-case words.")
        for alias, label in self.aliases.items():
            if label not in self.labels or alias in self.labels:
                raise ValueError(f"alias {alias!r} -> {label!r}: it must point to a label and "
                                 "not be one itself.")
        for part in ("few_shot", "evaluation"):
            for example in getattr(self, part):
                if example.label not in self.labels:
                    raise ValueError(f"{part} item {example.text!r} has unknown label "
                                     f"{example.label!r}; labels are {self.labels}.")
        if not self.evaluation:
            raise ValueError("A task needs at least one evaluation item.")
        shared = {e.text for e in self.few_shot} & {e.text for e in self.evaluation}
        if shared:
            raise ValueError(f"Items in both the few-shot pool and the evaluation set: "
                             f"{sorted(shared)[:3]}. Examples must never be evaluated.")

    @property
    def label_list(self) -> str:
        """The labels as English: ``"sport, food, technology or weather"``."""
        return (", ".join(self.labels[:-1]) + " or " + self.labels[-1]
                if len(self.labels) > 1 else self.labels[0])

    def json_schema(self) -> dict:
        """A JSON schema whose only valid answers are ``{"<json_key>": "<one label>"}``."""
        return {"type": "object",
                "properties": {self.json_key: {"type": "string", "enum": list(self.labels)}},
                "required": [self.json_key]}


def _topic_task() -> Task:
    texts = {
        "sport": [
            "The home team scored twice in the final minutes to win the cup.",
            "She broke the national record in the 400 metres on Saturday.",
            "The tennis star withdrew from the tournament with a knee injury.",
            "Fans queued overnight for tickets to the championship final.",
            "The coach was sacked after five straight defeats.",
            "The goalkeeper saved a penalty in the last minute of extra time.",
            "Our club signed a young striker from a rival league for a record fee.",
            "The marathon runners set off at dawn through the old town.",
            "He won his third gold medal in the swimming relay.",
            "The referee sent off two players before half-time.",
            "The cyclists climbed the mountain stage in thick crowds.",
            "The basketball team has now won twelve games in a row.",
        ],
        "food": [
            "Slow-roast the lamb with garlic and rosemary for four hours.",
            "This lentil soup is cheap, filling and ready in twenty minutes.",
            "The bakery sells out of sourdough loaves by nine every morning.",
            "Add a pinch of salt to the caramel to balance the sweetness.",
            "The new restaurant serves fresh pasta made by hand each day.",
            "Whisk the eggs and sugar until pale before folding in the flour.",
            "Chop the onions finely and fry them until golden.",
            "The market stall sells ripe mangoes, figs and sweet cherries.",
            "Her grandmother's curry recipe uses twelve different spices.",
            "Leave the bread dough to rise overnight in the fridge.",
            "The chef tops the grilled fish with lemon butter and herbs.",
            "Melt the chocolate slowly and stir in the cream.",
        ],
        "technology": [
            "The update adds a faster processor and twice the memory.",
            "Engineers released a patch for the security flaw in the browser.",
            "The startup's app uses the phone camera to translate menus.",
            "A new chip promises longer battery life for laptops.",
            "The company will stop supporting the old operating system next year.",
            "Programmers can now run the database on a single small computer.",
            "The smartphone's new camera sensor captures sharper photos at night.",
            "Hackers stole millions of passwords from the online service.",
            "The software now syncs your files across all your devices.",
            "Researchers built a robot that sorts recycling with artificial intelligence.",
            "The new router offers faster wireless internet in every room.",
            "Developers can download the programming toolkit for free.",
        ],
        "weather": [
            "Heavy rain and strong winds are expected along the coast tonight.",
            "Temperatures will climb above thirty degrees by Thursday.",
            "Snow closed several mountain roads this morning.",
            "A thick fog will clear by noon, leaving sunny skies.",
            "Forecasters warn of thunderstorms and hail in the afternoon.",
            "The drought has left reservoirs at their lowest level in decades.",
            "Expect a frosty night with clear skies and light winds.",
            "A hurricane is moving north and may reach land by Sunday.",
            "Showers will spread from the west during the evening.",
            "The heatwave is set to end with cooler air at the weekend.",
            "Icy roads and freezing temperatures are forecast for tomorrow.",
            "Cloudy skies with occasional drizzle for most of the day.",
        ],
    }
    labels = tuple(texts)
    # Pool: items 0 and 1 of each topic, interleaved (sport, food, technology, weather, sport,
    # ...), so the first k examples cover the topics evenly. Evaluation: items 2-11.
    pool = tuple(Example(texts[label][i], label) for i in (0, 1) for label in labels)
    held_out = tuple(Example(text, label) for label in labels for text in texts[label][2:])
    return Task(name="topics", labels=labels,
                question="Classify the topic of the text as sport, food, technology or weather.",
                few_shot=pool, evaluation=held_out,
                aliases={"sports": "sport", "foods": "food", "cooking": "food",
                         "tech": "technology", "technological": "technology"})


#: The course's task: 48 texts, 4 topics; few-shot pool of 8, evaluation set of 40 (10 per topic).
TOPICS = _topic_task()


# --- prompt styles --------------------------------------------------------------------------------

ONE_WORD = "{question} Answer with one word.\n\n{input}: {text}"
STEP_BY_STEP = ("{question} Think step by step: first say in one short sentence what the text is "
                "about, then write 'Answer:' followed by the topic.\n\n{input}: {text}")
ROLE = "You are an experienced news editor. You sort short news texts into topics."
_PLACEHOLDERS = ("{question}", "{labels}", "{input}", "{text}")


@dataclass(frozen=True)
class PromptStyle:
    """One way of asking the model, and of reading its answer.

    The user turn is ``user_template`` with ``{question}`` (the task's instruction),
    ``{labels}`` (the label list in words), ``{input}`` (``"Text"``) and ``{text}`` (the item)
    filled in; other braces are kept as they are. With ``shots = k``, the first ``k`` pool items
    come first as finished exchanges (user turn, then the assistant's right answer in the
    style's output format).

    ``output`` says how the answer is read:

    - ``"text"``: free generation, mapped to a label by :func:`parse_label`;
    - ``"json"``: generation constrained by a grammar built from :meth:`Task.json_schema`,
      so the answer is always ``{"topic": <a label>}`` (unless cut off by ``max_tokens``);
    - ``"scores"``: no generation; each label is scored as the answer,
      :math:`\\log p(\\text{label} \\mid \\text{prompt})`, and the most likely one wins.
    """

    name: str                           # shown in tables
    system: str | None = DEFAULT_SYSTEM  # system prompt; None = no system turn
    user_template: str = ONE_WORD       # the user turn (placeholders above)
    shots: int = 0                      # worked examples from the task's few-shot pool
    output: str = "text"                # "text" | "json" | "scores"
    max_tokens: int = 12                # new tokens at most ("text" and "json")
    temperature: float = 0.0            # 0 = greedy, deterministic
    seed: int = 0                       # sampling seed when temperature > 0

    def __post_init__(self) -> None:
        check_text("style name", self.name, max_length=80)
        if self.system is not None:
            check_text("system prompt", self.system.strip() if isinstance(self.system, str)
                       else self.system, max_length=MAX_TEMPLATE_CHARS)
        check_text("user template", self.user_template, max_length=MAX_TEMPLATE_CHARS)
        if "{text}" not in self.user_template:
            raise ValueError("The user template must contain {text}, where the item goes "
                             f"(placeholders: {', '.join(_PLACEHOLDERS)}).")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}.")
        check_int("shots", self.shots, low=0, high=64)
        check_int("max_tokens", self.max_tokens, low=1, high=512)
        check_float("temperature", self.temperature, low=0, high=2)
        check_int("seed", self.seed, low=0, high=2**31 - 1)


#: The styles the chapter compares, from the plainest prompt to the most constrained answer.
STYLES: tuple[PromptStyle, ...] = (
    PromptStyle("zero-shot"),
    PromptStyle("role (system prompt)", system=ROLE),
    PromptStyle("few-shot (4 examples)", shots=4),
    PromptStyle("step by step", user_template=STEP_BY_STEP, max_tokens=64),
    PromptStyle("JSON (grammar)", output="json", max_tokens=24),
    PromptStyle("JSON + few-shot", output="json", shots=4, max_tokens=24),
    PromptStyle("label scores", output="scores"),
    PromptStyle("label scores + few-shot", output="scores", shots=4),
)


def fill_template(template: str, task: Task, text: str) -> str:
    """The user turn for ``text``: placeholders replaced, every other character kept."""
    check_text("text", text.strip() if isinstance(text, str) else text,
               max_length=MAX_TEMPLATE_CHARS)
    values = {"{question}": task.question, "{labels}": task.label_list,
              "{input}": task.input_name, "{text}": text}
    return re.sub("|".join(re.escape(p) for p in _PLACEHOLDERS), lambda m: values[m.group()],
                  template)


def answer_text(task: Task, label: str, output: str) -> str:
    """The assistant's answer for ``label`` in an output format (used in worked examples)."""
    if label not in task.labels:
        raise ValueError(f"{label!r} is not one of the labels {task.labels}.")
    return json.dumps({task.json_key: label}) if output == "json" else label


def build_messages(task: Task, style: PromptStyle, text: str) -> list[dict[str, str]]:
    """Chat turns for one item: worked examples (if any), then the item's user turn.

    The system prompt is not among the turns; :func:`course_utils.llm.smollm2.chat_prompt` adds it.

    Raises:
        ValueError: more shots than the task's few-shot pool holds, or an empty item.
    """
    if style.shots > len(task.few_shot):
        raise ValueError(f"shots={style.shots}, but the few-shot pool of {task.name!r} holds "
                         f"{len(task.few_shot)} examples.")
    messages: list[dict[str, str]] = []
    for example in task.few_shot[:style.shots]:
        messages += [{"role": "user", "content": fill_template(style.user_template, task,
                                                               example.text)},
                     {"role": "assistant",
                      "content": answer_text(task, example.label, style.output)}]
    messages.append({"role": "user", "content": fill_template(style.user_template, task, text)})
    return messages


def render_prompt(task: Task, style: PromptStyle, text: str) -> str:
    """The exact text the model reads (ChatML), ending where its answer starts."""
    return chat_prompt(build_messages(task, style, text), system=style.system)


# --- reading answers ------------------------------------------------------------------------------

def parse_label(answer: str, task: Task) -> str | None:
    """Map a free-text answer to one label, or ``None`` if it cannot be read as one.

    1. If the answer contains ``Answer:`` (any case), only the text after the last one counts
       (step-by-step answers reason first).
    2. Every label and alias that occurs as a whole word (any case) is collected.
    3. Exactly one distinct label: that label. None, or several ("sport, food or
       weather"): ``None`` - the answer did not choose.
    """
    if not isinstance(answer, str):
        raise ValueError(f"answer must be text, got {type(answer).__name__}.")
    text = answer.lower()
    if "answer:" in text:
        text = text.rsplit("answer:", 1)[1]
    found = set()
    for word, label in [(label, label) for label in task.labels] + list(task.aliases.items()):
        if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text):
            found.add(label)
    return found.pop() if len(found) == 1 else None


def is_bare_label(answer: str, task: Task) -> bool:
    """Whether the answer is exactly a label (ignoring case, spaces and final punctuation),
    the format the prompt asked for."""
    return answer.strip().rstrip(".!").strip().strip("\"'").lower() in task.labels


# --- running and scoring --------------------------------------------------------------------------

@dataclass(frozen=True)
class Prediction:
    """One item answered in one style."""

    style: str                  # PromptStyle.name
    output: str                 # PromptStyle.output: "text" | "json" | "scores"
    text: str                   # the item
    gold: str | None            # its right label (None if unknown)
    predicted: str | None       # the label read from the answer; None = unparseable
    answer: str                 # what the model wrote ("scores": the winning label; JSON cut
                                # off by max_tokens: the error message, which quotes it)
    prompt_tokens: int          # tokens the model read
    completion_tokens: int      # tokens it generated (0 for "scores")
    seconds: float              # wall time for this item
    scores: Mapping[str, float] | None = None  # "scores": log p of each label, nats

    @property
    def correct(self) -> bool:
        return self.predicted is not None and self.predicted == self.gold


def classify(model, task: Task, style: PromptStyle, text: str,
             gold: str | None = None) -> Prediction:
    """Ask ``model`` (a :class:`course_utils.llm.smollm2.SmolLM2`) about one item in one style.

    Args:
        model: anything with ``chat``, ``chat_json``, ``logprob`` and ``count_tokens`` as in
            :class:`course_utils.llm.smollm2.SmolLM2`.
        task, style: what to ask and how.
        text: the item.
        gold: its right label, if known (stored in the prediction).

    Returns:
        A :class:`Prediction`. A JSON answer cut off by ``max_tokens`` counts as unparseable.
    """
    if gold is not None and gold not in task.labels:
        raise ValueError(f"gold label {gold!r} is not one of {task.labels}.")
    messages = build_messages(task, style, text)
    sampling = {"temperature": style.temperature, "seed": style.seed}
    start = time.perf_counter()
    if style.output == "text":
        completion = model.chat(messages, system=style.system, max_tokens=style.max_tokens,
                                **sampling)
        answer, predicted = completion.text, parse_label(completion.text, task)
        prompt_tokens, new_tokens, scores = (completion.prompt_tokens,
                                             completion.completion_tokens, None)
    elif style.output == "json":
        try:
            value, completion = model.chat_json(messages, task.json_schema(),
                                                system=style.system,
                                                max_tokens=style.max_tokens, **sampling)
        except ValueError as error:
            if "not complete JSON" not in str(error):
                raise
            answer, predicted = str(error), None
            prompt_tokens = model.count_tokens(chat_prompt(messages, system=style.system))
            new_tokens = style.max_tokens
        else:
            answer = completion.text
            label = value.get(task.json_key) if isinstance(value, dict) else None
            predicted = label if label in task.labels else None
            prompt_tokens, new_tokens = completion.prompt_tokens, completion.completion_tokens
        scores = None
    else:  # "scores"
        prompt = chat_prompt(messages, system=style.system)
        scores = {label: model.logprob(prompt, answer_text(task, label, "text"))
                  for label in task.labels}
        predicted = max(task.labels, key=scores.__getitem__)  # ties: the first label
        answer, prompt_tokens, new_tokens = predicted, model.count_tokens(prompt), 0
    return Prediction(style.name, style.output, text, gold, predicted, answer, prompt_tokens,
                      new_tokens, time.perf_counter() - start, scores)


def evaluate(model, task: Task, styles: Iterable[PromptStyle],
             items: Sequence[Example] | None = None, show_progress: bool = True
             ) -> list[Prediction]:
    """Every style on every item (default: the task's evaluation set).

    The order of the calls is chosen for llama.cpp's prompt cache, which holds one sequence:
    styles whose prompts are identical (e.g. zero-shot free text, JSON and label scores: only
    the reading of the answer differs) are asked one after the other about the same item, so
    the item is read once for all of them; otherwise all items of one style come in a row, so
    consecutive prompts share the style's beginning. The cost of each answer (``seconds``) is
    therefore its cost with that cache.

    Returns:
        Predictions grouped by style, in the order of ``styles``, then of ``items``.
    """
    styles = list(styles)
    items = list(task.evaluation if items is None else items)
    if not styles or not items:
        raise ValueError("Give at least one style and one item.")
    names = [s.name for s in styles]
    if len(set(names)) != len(names):
        raise ValueError(f"Style names must be distinct: {names}.")
    groups: dict[str, list[PromptStyle]] = {}  # the prompt (with a stand-in item) -> styles
    for style in styles:
        groups.setdefault(render_prompt(task, style, "\N{REPLACEMENT CHARACTER}"),
                          []).append(style)
    jobs = [(style, i) for group in groups.values() for i in range(len(items))
            for style in group]
    bar = progress(jobs, "prompt styles", unit="answer") if show_progress else iter(jobs)
    answers = {(style.name, i): classify(model, task, style, items[i].text, items[i].label)
               for style, i in bar}
    return [answers[name, i] for name in names for i in range(len(items))]


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion (95 % for ``z = 1.96``).

    .. math:: \\frac{\\hat p + \\frac{z^2}{2n} \\pm z\\sqrt{\\frac{\\hat p(1-\\hat p)}{n}
              + \\frac{z^2}{4n^2}}}{1 + \\frac{z^2}{n}}, \\quad \\hat p = k / n

    Better than :math:`\\hat p \\pm z\\sqrt{\\hat p(1-\\hat p)/n}` for small ``n`` and for
    proportions near 0 or 1 (it never leaves [0, 1]).
    """
    check_int("n", n, low=1)
    check_int("successes", successes, low=0, high=n)
    check_float("z", z, low=0, low_inclusive=False)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def majority_baseline(task: Task) -> tuple[str, float]:
    """The most common evaluation label (ties: the first in ``task.labels``) and the accuracy
    of always answering it - the score to beat without reading the text."""
    counts = Counter(e.label for e in task.evaluation)
    label = max(task.labels, key=lambda l: counts[l])
    return label, counts[label] / len(task.evaluation)


def same_examples_baseline(task: Task, analyzer: str = "char_wb",
                           ngram_range: tuple[int, int] = (2, 4), alpha: float = 1.0,
                           shots: int | None = None) -> float:
    """Accuracy on ``task.evaluation`` of a classifier that learns from the few-shot pool only.

    The baseline with *the same information* as a few-shot prompt: it sees exactly the
    examples a prompt with ``shots`` worked examples shows (the first ``shots`` pool items, as
    :func:`build_messages` takes them; ``None``: the whole pool), and nothing else. A multinomial naive Bayes
    over counts of character n-grams (``"char"``, or ``"char_wb"``: within words) or words
    (``"word"``) of lengths ``ngram_range``, smoothed with add-``alpha``:
    ``label = argmax_y log p(y) + sum_g count(g) log p(g | y)``.

    Raises:
        ValueError: an empty few-shot pool, an unknown analyzer or a bad range.
    """
    if not task.few_shot:
        raise ValueError("The task has no few-shot pool to learn from.")
    pool = task.few_shot if shots is None else task.few_shot[:check_int(
        "shots", shots, 1, len(task.few_shot))]
    if analyzer not in ("char", "char_wb", "word"):
        raise ValueError(f"analyzer must be 'char', 'char_wb' or 'word', got {analyzer!r}")
    low, high = (check_int("ngram_range", n, 1, 8) for n in ngram_range)
    if low > high:
        raise ValueError(f"ngram_range must be (low, high) with low <= high, got {ngram_range}")
    check_float("alpha", alpha, low=0, low_inclusive=False)
    vectorizer = CountVectorizer(analyzer=analyzer, ngram_range=(low, high))
    features = vectorizer.fit_transform([e.text.lower() for e in pool])
    classifier = MultinomialNB(alpha=alpha).fit(features, [e.label for e in pool])
    guess = classifier.predict(vectorizer.transform([e.text.lower() for e in task.evaluation]))
    return sum(g == e.label for g, e in zip(guess, task.evaluation)) / len(task.evaluation)


def same_examples_grid(task: Task, shots: int | None = None) -> pd.DataFrame:
    """:func:`same_examples_baseline` over 36 settings (character n-grams: 2 analyzers x 5
    ranges x 3 alphas; words: 2 ranges x 3 alphas). Its best row is tuned on the evaluation items
    themselves, so it *overstates* what the baseline would score on new items - an upper
    bound, which makes a prompt that beats it more convincing."""
    rows = []
    for analyzer in ("char", "char_wb", "word"):
        ranges = [(1, 1), (1, 2)] if analyzer == "word" else [(1, 3), (2, 3), (2, 4), (3, 5),
                                                                (1, 5)]
        for ngram_range in ranges:
            for alpha in (0.1, 0.3, 1.0):
                rows.append({"analyzer": analyzer, "n-grams": f"{ngram_range[0]}-{ngram_range[1]}",
                             "alpha": alpha,
                             "accuracy": same_examples_baseline(task, analyzer, ngram_range,
                                                                alpha, shots)})
    return pd.DataFrame(rows)


def score_table(predictions: Sequence[Prediction], task: Task) -> pd.DataFrame:
    """One row per style (in order of first appearance).

    Columns: ``accuracy`` and its 95 % Wilson interval (``low``, ``high``); ``invalid`` (share
    of answers that name no single label); ``format ok`` (share in the asked-for format: a bare
    label for "text" (:func:`is_bare_label`), complete JSON with a label for "json", ``nan``
    for "scores", which generates nothing); mean ``prompt tokens``, ``new tokens`` and
    ``s/item``; ``items``.
    """
    if not predictions:
        raise ValueError("No predictions to score.")
    rows = {}
    for style in dict.fromkeys(p.style for p in predictions):
        group = [p for p in predictions if p.style == style]
        if any(p.gold is None for p in group):
            raise ValueError(f"Style {style!r} has predictions without a gold label.")
        n, k = len(group), sum(p.correct for p in group)
        low, high = wilson_interval(k, n)
        output = group[0].output
        rows[style] = {
            "accuracy": k / n, "low": low, "high": high,
            "invalid": sum(p.predicted is None for p in group) / n,
            "format ok": float("nan") if output == "scores"
            else sum(p.predicted is not None if output == "json" else
                     is_bare_label(p.answer, task) for p in group) / n,
            "prompt tokens": sum(p.prompt_tokens for p in group) / n,
            "new tokens": sum(p.completion_tokens for p in group) / n,
            "s/item": sum(p.seconds for p in group) / n,
            "items": n}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "style"
    return table


def confusion(predictions: Sequence[Prediction], task: Task, style: str) -> pd.DataFrame:
    """Counts of (gold label, predicted label) for one style; unparseable answers in the
    ``(invalid)`` column. Rows: gold labels; columns: labels then ``(invalid)``."""
    group = [p for p in predictions if p.style == style]
    if not group:
        raise ValueError(f"No predictions for style {style!r}; styles: "
                         f"{sorted({p.style for p in predictions})}.")
    columns = [*task.labels, INVALID]
    table = pd.DataFrame(0, index=pd.Index(task.labels, name="gold"),
                         columns=pd.Index(columns, name="predicted"))
    for p in group:
        table.loc[p.gold, p.predicted or INVALID] += 1
    return table
