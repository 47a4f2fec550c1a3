"""The agent's tools and loop (chapter 61): tools never raise on a model's bad argument, the
loop always stops within its budget, tasks are checked exactly."""

from types import SimpleNamespace

import pytest

from course_utils.apps import agent as ag
from course_utils.apps import tools as tl
from course_utils.trust import retrieval as rt


@pytest.mark.parametrize("expression, expected", [
    ("12 * (3 + 4)", "84"), ("2^10", "1024"), ("7 x 6", "42"), ("1,000 + 1", "1001"),
    ("10 / 4", "2.5"), ("-3 + 5 =", "2")])
def test_calculator_evaluates_arithmetic(expression, expected):
    result = tl.calculate(expression)
    assert result.ok and result.text == expected


@pytest.mark.parametrize("expression, message", [
    ("__import__('os')", "not arithmetic"), ("1 / 0", "division by zero"),
    ("9 ** 9 ** 9", "too large"), ("12 *", "could not parse"), ("abs(-3)", "not arithmetic")])
def test_calculator_rejects_what_is_not_arithmetic_without_raising(expression, message):
    result = tl.calculate(expression)
    assert not result.ok and message in result.text


def test_tools_reject_non_text_from_a_programmer():
    with pytest.raises(ValueError, match="must be text"):
        tl.calculate(None)


def _chunks():
    return [rt.Chunk(0, "a.md", "Voices", "The course speaks with the Piper voice joe."),
            rt.Chunk(1, "b.md", "Numbers", "Seven is a prime number.")]


def test_lookup_returns_the_best_passage_and_reports_no_match():
    lookup = tl.Lookup(_chunks())
    assert "joe" in lookup("Which Piper voice?").text
    assert not lookup("the of and").ok
    assert not lookup("zebra").ok
    with pytest.raises(ValueError):
        tl.Lookup([])


def test_python_tool_returns_what_the_code_printed():
    assert tl.run_python_tool("print(sum(range(5)))").text == "10"
    silent = tl.run_python_tool("x = 3")
    assert not silent.ok and "printed nothing" in silent.text
    broken = tl.run_python_tool("print(1/0)")
    assert not broken.ok and "ZeroDivisionError" in broken.text


def test_grammar_names_only_known_tools():
    assert '"calculator"' in ag.action_grammar() and "root ::=" in ag.action_grammar()
    with pytest.raises(ValueError):
        ag.action_grammar(("rm -rf",))


class ScriptedModel:
    """Replies with the given action lines in turn (the last one forever)."""

    def __init__(self, *lines):
        self.lines, self.calls = list(lines), 0

    def complete(self, prompt, max_tokens, grammar, **_):
        line = self.lines[min(self.calls, len(self.lines) - 1)]
        self.calls += 1
        return SimpleNamespace(text=line)


def test_loop_runs_tools_and_stops_at_the_answer():
    task = ag.Task("What is 6 times 7?", "arithmetic", 42)
    model = ScriptedModel("calculator: 6 * 7", "answer: 42")
    trace = ag.run_agent(model, task, {"calculator": tl.calculate})
    assert trace.solved and trace.stop == "answered" and trace.tools_used == ["calculator"]
    assert trace.steps[0].observation.text == "42" and trace.failure() == ""


def test_loop_stops_at_its_budget_and_names_the_loop():
    task = ag.Task("What is 6 times 7?", "arithmetic", 42)
    model = ScriptedModel("calculator: 6 * 7")
    trace = ag.run_agent(model, task, {"calculator": tl.calculate}, max_steps=3)
    assert model.calls == 3 and len(trace.steps) == 3 and trace.stop == "budget"
    assert not trace.solved and trace.failure() == "loop (repeated call)"
    with pytest.raises(ValueError):
        ag.run_agent(model, task, {"calculator": tl.calculate}, max_steps=0)
    with pytest.raises(ValueError):
        ag.run_agent(model, task, {"shell": tl.calculate})
    with pytest.raises(ValueError):
        ag.run_agent(model, "   ", {"calculator": tl.calculate})


def test_failures_are_sorted_into_kinds():
    task = ag.Task("What is 6 times 7?", "arithmetic", 42)
    tools = {"calculator": tl.calculate, "lookup": tl.Lookup(_chunks())}
    assert ag.run_agent(ScriptedModel("answer: 41"), task, tools).failure() == \
        "answered without a tool"
    assert ag.run_agent(ScriptedModel("lookup: prime", "answer: 7"), task,
                        tools).failure() == "wrong tool"
    assert ag.run_agent(ScriptedModel("calculator: six", "answer: 6"), task,
                        tools).failure() == "tool call rejected"
    assert ag.run_agent(ScriptedModel("calculator: 6 * 6", "answer: 36"), task,
                        tools).failure() == "wrong answer from a right tool"


def test_tasks_are_checked_exactly_and_the_set_is_balanced():
    task = ag.Task("What is 6 times 7?", "arithmetic", 42)
    assert task.solved_by("42") and task.solved_by("It is 42.") and not task.solved_by("420")
    assert not task.solved_by("no idea")
    tasks = ag.make_tasks(per_family=4, seed=1)
    assert len(tasks) == 12
    assert {t.family for t in tasks} == set(ag.FAMILY_TOOL)
    for t in tasks:
        if t.family == "counting":
            assert t.number is not None and t.solved_by(str(t.number))
    examples = {e for e, _ in ag.worked_examples()}
    assert not examples & {t.text for t in tasks}


def test_router_reads_the_task_families():
    assert ag.route("What is 873 times 48?") == "calculator"
    assert ag.route("What is the sum of the whole numbers from 3 to 9?") == "python"
    assert ag.route("Which Piper voice does the course use?") == "lookup"
