"""Unit tests for course_utils.llm.prompting: the task split, prompt building, the answer parser,
scoring with a fake model (golden tables), bad inputs, and a short real run of SmolLM2."""

from __future__ import annotations

import json
import math

import pytest

from course_utils.llm import prompting as P
from course_utils.llm import smollm2

TASK = P.TOPICS


class FakeModel:
    """Answers from a fixed script, keyed by the item (the text after the last "Text: ").

    ``text_answers[item]`` is returned by ``chat``; ``chat_json`` answers with the item's first
    label word found in ``json_answers`` (or cuts off when the item is listed in ``truncate``);
    ``logprob`` prefers ``score_answers[item]``. Token counts are word counts.
    """

    def __init__(self, text_answers=None, json_answers=None, score_answers=None, truncate=()):
        self.text_answers = text_answers or {}
        self.json_answers = json_answers or {}
        self.score_answers = score_answers or {}
        self.truncate = set(truncate)
        self.calls = []

    @staticmethod
    def _item(messages_or_prompt) -> str:
        text = (messages_or_prompt[-1]["content"] if isinstance(messages_or_prompt, list)
                else messages_or_prompt)
        return text.rsplit("Text: ", 1)[1].split("<|im_end|>")[0]

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def chat(self, messages, *, system, max_tokens, temperature, seed):
        self.calls.append(("chat", messages, system))
        answer = self.text_answers.get(self._item(messages), "no idea")
        prompt = smollm2.chat_prompt(messages, system=system)
        return smollm2.Completion(answer, self.count_tokens(prompt), len(answer.split()), 0.01,
                              "stop")

    def chat_json(self, messages, schema, *, system, max_tokens, temperature, seed):
        self.calls.append(("chat_json", messages, system))
        assert schema == TASK.json_schema()
        item = self._item(messages)
        if item in self.truncate:
            raise ValueError("The answer is not complete JSON (length, 24 tokens): '{\"to'.")
        text = json.dumps({"topic": self.json_answers.get(item, "sport")})
        return json.loads(text), smollm2.Completion(text, 10, 7, 0.01, "stop")

    def logprob(self, prompt, continuation):
        self.calls.append(("logprob", prompt, continuation))
        return -1.0 if continuation == self.score_answers.get(self._item(prompt)) else -2.0


# --- the task ----------------------------------------------------------------------------------

def test_the_topic_task_has_a_fixed_balanced_split():
    assert TASK.labels == ("sport", "food", "technology", "weather")
    assert len(TASK.evaluation) == 40 and len(TASK.few_shot) == 8
    for label in TASK.labels:
        assert sum(e.label == label for e in TASK.evaluation) == 10
        assert sum(e.label == label for e in TASK.few_shot) == 2
    assert [e.label for e in TASK.few_shot[:4]] == list(TASK.labels)  # 4 shots: one per topic
    texts = [e.text for e in TASK.few_shot + TASK.evaluation]
    assert len(set(texts)) == 48  # no duplicates, and no example is ever evaluated
    assert TASK.label_list == "sport, food, technology or weather"
    assert P.majority_baseline(TASK) == ("sport", 0.25)


def test_bad_tasks_are_refused():
    good = dict(name="t", labels=("yes", "no"), question="Yes or no?",
                few_shot=(P.Example("a", "yes"),), evaluation=(P.Example("b", "no"),))
    P.Task(**good)
    with pytest.raises(ValueError, match="both the few-shot pool and the evaluation"):
        P.Task(**{**good, "few_shot": (P.Example("b", "no"),)})
    with pytest.raises(ValueError, match="unknown label 'maybe'"):
        P.Task(**{**good, "evaluation": (P.Example("c", "maybe"),)})
    with pytest.raises(ValueError, match="distinct"):
        P.Task(**{**good, "labels": ("yes", "yes")})
    with pytest.raises(ValueError, match="lower-case"):
        P.Task(**{**good, "labels": ("Yes", "no")})
    with pytest.raises(ValueError, match="alias 'y'"):
        P.Task(**{**good, "aliases": {"y": "maybe"}})
    with pytest.raises(ValueError, match="at least one evaluation"):
        P.Task(**{**good, "evaluation": ()})


# --- prompts -----------------------------------------------------------------------------------

def test_zero_shot_prompt_is_exactly_the_chat_template():
    prompt = P.render_prompt(TASK, P.PromptStyle("z"), "Rain tomorrow.")
    assert prompt == (
        f"<|im_start|>system\n{smollm2.DEFAULT_SYSTEM}<|im_end|>\n"
        "<|im_start|>user\nClassify the topic of the text as sport, food, technology or weather."
        " Answer with one word.\n\nText: Rain tomorrow.<|im_end|>\n<|im_start|>assistant\n")


@pytest.mark.parametrize("output, first_answer", [("text", "sport"), ("scores", "sport"),
                                                   ("json", '{"topic": "sport"}')])
def test_few_shot_examples_come_first_as_answered_turns(output, first_answer):
    style = P.PromptStyle("f", shots=3, output=output, system=None)
    messages = P.build_messages(TASK, style, "Rain tomorrow.")
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3 + ["user"]
    assert messages[1]["content"] == first_answer
    assert messages[0]["content"].endswith("Text: " + TASK.few_shot[0].text)
    assert messages[-1]["content"].endswith("Text: Rain tomorrow.")
    assert not P.render_prompt(TASK, style, "x").startswith("<|im_start|>system")


def test_prompts_for_two_items_differ_only_at_the_end():
    """The item comes last, so llama.cpp can reuse its cache for everything before it."""
    for style in P.STYLES:
        a, b = (P.render_prompt(TASK, style, e.text) for e in TASK.evaluation[:2])
        shared = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
        assert a[:shared].endswith("Text: ") and a[shared:].count("<|im_start|>") == 1


def test_templates_fill_only_known_placeholders():
    filled = P.fill_template('{"topic": ?} {labels} | {input}: {text} {other}', TASK, "Hi {x}")
    assert filled == '{"topic": ?} sport, food, technology or weather | Text: Hi {x} {other}'


@pytest.mark.parametrize("settings, message", [
    ({"user_template": "Classify this."}, "must contain {text}"),
    ({"output": "yaml"}, "output must be one of"),
    ({"shots": -1}, "shots must be >= 0"),
    ({"max_tokens": 0}, "max_tokens must be >= 1"),
    ({"temperature": -0.5}, "temperature must be >= 0"),
    ({"system": "   "}, "system prompt"),
    ({"name": ""}, "style name"),
])
def test_bad_styles_get_clear_messages(settings, message):
    with pytest.raises(ValueError, match=message):
        P.PromptStyle(**{"name": "s", **settings})


def test_bad_items_and_too_many_shots_are_refused():
    with pytest.raises(ValueError, match="holds 8 examples"):
        P.build_messages(TASK, P.PromptStyle("s", shots=9), "x")
    with pytest.raises(ValueError, match="text"):
        P.build_messages(TASK, P.PromptStyle("s"), "   ")
    with pytest.raises(ValueError, match="not one of the labels"):
        P.answer_text(TASK, "music", "text")


# --- reading answers ---------------------------------------------------------------------------

@pytest.mark.parametrize("answer, label", [
    ("sport", "sport"),
    ("Sports.", "sport"),
    ("The topic of the text is technology.", "technology"),
    ("WEATHER", "weather"),
    ("Tech", "technology"),
    ("It is about a recipe for soup. Answer: food", "food"),
    ("It mentions sport and food. Answer: Sports", "sport"),  # only after the last 'Answer:'
    ("The topic of the text is sports, food, technology, and weather.", None),  # no choice
    ("Sports and technology.", None),
    ("dessert", None),  # the model's own word, not a label
    ("The weathering of rocks.", None),  # whole words only
    ("", None),
])
def test_parse_label(answer, label):
    assert P.parse_label(answer, TASK) == label


def test_bare_label_format():
    assert P.is_bare_label(" Weather.\n", TASK) and P.is_bare_label('"food"', TASK)
    assert not P.is_bare_label("Sports.", TASK)  # an alias, not the asked-for word
    assert not P.is_bare_label("The topic is food.", TASK)
    with pytest.raises(ValueError, match="answer must be text"):
        P.parse_label(None, TASK)


# --- scoring -----------------------------------------------------------------------------------

def test_wilson_interval_golden_values():
    assert P.wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert P.wilson_interval(38, 40) == pytest.approx((0.8350, 0.9862), abs=1e-4)
    low, high = P.wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    for k, n in ((0, 0), (11, 10), (-1, 10)):
        with pytest.raises(ValueError):
            P.wilson_interval(k, n)


def test_evaluate_and_score_table_with_a_scripted_model():
    items = TASK.evaluation[::10]  # one per topic: sport, food, technology, weather
    texts = [e.text for e in items]
    model = FakeModel(
        text_answers={texts[0]: "Sports.", texts[1]: "food", texts[2]: "sport, food or tech",
                      texts[3]: "Weather"},
        json_answers={texts[1]: "food", texts[2]: "technology"},
        score_answers={texts[0]: "sport", texts[1]: "food", texts[2]: "technology",
                       texts[3]: "weather"},
        truncate={texts[3]})
    styles = [P.PromptStyle("text"), P.PromptStyle("json", output="json", shots=2),
              P.PromptStyle("scores", output="scores", shots=1)]
    predictions = P.evaluate(model, TASK, styles, items, show_progress=False)
    assert len(predictions) == 12 and [p.style for p in predictions[:5]] == ["text"] * 4 + ["json"]
    table = P.score_table(predictions, TASK)
    assert list(table.index) == ["text", "json", "scores"]
    assert table["accuracy"].tolist() == [0.75, 0.75, 1.0]  # json: truncated weather
    assert table["invalid"].tolist() == [0.25, 0.25, 0.0]
    assert table.loc["text", "format ok"] == 0.5  # "food" and "Weather"; "Sports." is an alias
    assert table.loc["json", "format ok"] == 0.75 and math.isnan(table.loc["scores", "format ok"])
    assert table.loc["scores", "new tokens"] == 0.0
    assert table.loc["json", "new tokens"] == (3 * 7 + 12) / 4  # the cut-off one: max_tokens
    assert (table["low"] <= table["accuracy"]).all() and (table["accuracy"] <= table["high"]).all()
    scored = predictions[8]
    assert scored.scores == {"sport": -1.0, "food": -2.0, "technology": -2.0, "weather": -2.0}
    assert sum(c[0] == "logprob" for c in model.calls) == 16  # 4 labels x 4 items
    matrix = P.confusion(predictions, TASK, "json")
    assert matrix.loc["sport", "sport"] == 1 and matrix.loc["weather", P.INVALID] == 1
    assert int(matrix.to_numpy().sum()) == 4


def test_styles_with_the_same_prompt_are_asked_together():
    """Zero-shot text, JSON and label scores read the same prompt: one item after another, all
    three styles ask about it while it is in the cache. Results still come style by style."""
    items = TASK.evaluation[:2]
    styles = [P.PromptStyle("text"), P.PromptStyle("few", shots=2),
              P.PromptStyle("json", output="json"), P.PromptStyle("scores", output="scores")]
    model = FakeModel()
    predictions = P.evaluate(model, TASK, styles, items, show_progress=False)
    kinds = [c[0] for c in model.calls]
    assert kinds == (["chat", "chat_json"] + ["logprob"] * 4) * 2 + ["chat"] * 2
    assert [p.style for p in predictions] == [s for s in ("text", "few", "json", "scores")
                                              for _ in items]
    assert [p.text for p in predictions[:2]] == [e.text for e in items]
    shared = {P.render_prompt(TASK, s, "x") for s in P.STYLES
              if s.name in ("zero-shot", "JSON (grammar)", "label scores")}
    assert len(shared) == 1


def test_scoring_refuses_bad_input():
    with pytest.raises(ValueError, match="No predictions"):
        P.score_table([], TASK)
    with pytest.raises(ValueError, match="distinct"):
        P.evaluate(FakeModel(), TASK, [P.PromptStyle("a"), P.PromptStyle("a")], show_progress=False)
    with pytest.raises(ValueError, match="at least one style"):
        P.evaluate(FakeModel(), TASK, [], show_progress=False)
    prediction = P.classify(FakeModel(), TASK, P.PromptStyle("s"), "x")
    with pytest.raises(ValueError, match="without a gold label"):
        P.score_table([prediction], TASK)
    with pytest.raises(ValueError, match="No predictions for style 'zz'"):
        P.confusion([prediction], TASK, "zz")
    with pytest.raises(ValueError, match="gold label 'music'"):
        P.classify(FakeModel(), TASK, P.PromptStyle("s"), "x", gold="music")


# --- a short real run --------------------------------------------------------------------------

def test_smollm2_grammar_constrained_few_shot_answers_are_valid_and_mostly_right():
    model = smollm2.load_smollm2(n_ctx=1024, n_threads=1)
    items = TASK.evaluation[::5]  # 8 items, 2 per topic
    style = next(s for s in P.STYLES if s.name == "JSON + few-shot")
    predictions = P.evaluate(model, TASK, [style], items, show_progress=False)
    assert all(p.predicted in TASK.labels for p in predictions)  # the grammar at work
    assert sum(p.correct for p in predictions) >= 6  # 38 of all 40 when this was written


# --- the baseline with the same examples ------------------------------------------------------

def test_naive_bayes_learns_from_the_pool_only():
    accuracy = P.same_examples_baseline(TASK)
    majority = P.majority_baseline(TASK)[1]
    assert majority < accuracy < 1.0  # eight sentences teach something, not everything
    grid = P.same_examples_grid(TASK)
    assert len(grid) == 36 and grid["accuracy"].between(0, 1).all()
    assert 0 < P.same_examples_baseline(TASK, shots=4) <= 1
    with pytest.raises(ValueError, match="shots"):
        P.same_examples_baseline(TASK, shots=9)
    assert grid["accuracy"].max() >= accuracy


@pytest.mark.parametrize("kwargs, match", [
    ({"analyzer": "letters"}, "analyzer"),
    ({"ngram_range": (3, 2)}, "low <= high"),
    ({"ngram_range": (0, 2)}, "ngram_range"),
    ({"alpha": 0}, "alpha"),
    ({"alpha": "1"}, "alpha"),
])
def test_naive_bayes_bad_settings_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        P.same_examples_baseline(TASK, **kwargs)
