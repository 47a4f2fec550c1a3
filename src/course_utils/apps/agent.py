"""A tool-using agent on SmolLM2: plan, act, observe, under a step budget (chapter 61).

One *step* is one model call. The model writes an action line, ``tool: argument``, and a
grammar makes any other output impossible::

    root ::= ("calculator" | "lookup" | "python" | "answer") ": " [^\\n]+

The loop runs the named tool, appends its output as an ``Observation: ...`` turn and asks
again, until the model writes ``answer: ...`` or the budget of ``max_steps`` calls is spent.
Every step is kept in a :class:`Trace`, so failures can be sorted into kinds: the wrong tool,
a call the tool rejected, a repeated call (a loop), the budget spent, a wrong final answer.

The baselines see the same task and the same worked examples:

- :func:`answer_directly` - the same model with no tools (the examples show only the answers);
- ``run_agent(..., first_tool=...)`` - the first tool is fixed (by a keyword router, or by an
  oracle that knows the task's family), so the model only writes the arguments.

The task set (:func:`make_tasks`) has three families with checkable answers: arithmetic
(a calculator task), counting and sums (a Python task) and facts about the course's pages
(a lookup task, chapter 50's questions).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from course_utils.apps.tools import Lookup, Observation, Tool
from course_utils.core.validation import check_int, check_text
from course_utils.trust import questions as qs

TOOLS = ("calculator", "lookup", "python")
ACTIONS = (*TOOLS, "answer")
FAMILY_TOOL = {"arithmetic": "calculator", "counting": "python", "course facts": "lookup"}
MAX_TASK_CHARS = 300

SYSTEM = (
    "You solve a task step by step with tools. Each reply is one line, 'tool: input'.\n"
    "calculator: evaluates arithmetic such as 12 * (3 + 4).\n"
    "lookup: searches the course's pages; the input is a search query.\n"
    "python: runs one line of Python that prints the result.\n"
    "answer: the final answer, as short as possible.\n"
    "After each tool you see 'Observation: ...'. Use it, then answer.")
DIRECT_SYSTEM = "Answer the task. Reply with the final answer only, as short as possible."


def action_grammar(tools: Sequence[str] = ACTIONS) -> str:
    """GBNF for one action line whose tool is one of ``tools``."""
    if not tools or any(t not in ACTIONS for t in tools):
        raise ValueError(f"tools must be a non-empty subset of {ACTIONS}, got {tools!r}.")
    names = " | ".join(f'"{t}"' for t in tools)
    return f'root ::= ({names}) ": " [^\\n]+\n'


# --- tasks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """A task, its family and how to check an answer: a number or a chapter 50 question."""

    text: str
    family: str
    number: int | None = None
    question: qs.Question | None = None

    def solved_by(self, answer: str) -> bool:
        """Is ``answer`` right? Numbers: the first number in the answer (commas ignored)
        equals the expected one. Facts: :func:`course_utils.trust.questions.is_correct`."""
        if self.question is not None:
            return qs.is_correct(answer, self.question)
        found = re.findall(r"-?\d+(?:\.\d+)?", answer.replace(",", ""))
        return bool(found) and float(found[0]) == self.number


def _arithmetic(rng: random.Random) -> Task:
    a, b, c = rng.randint(12, 99), rng.randint(12, 99), rng.randint(100, 999)
    kind = rng.randrange(4)
    if kind == 0:
        return Task(f"What is {c} times {a}?", "arithmetic", c * a)
    if kind == 1:
        return Task(f"A crate holds {a} apples. How many apples are in {b} crates?",
                    "arithmetic", a * b)
    if kind == 2:
        d = rng.randint(1000, 9999)
        return Task(f"What is {d} plus {c} minus {a}?", "arithmetic", d + c - a)
    return Task(f"A train travels {c} km a day. How far does it go in {a} days?",
                "arithmetic", c * a)


def _counting(rng: random.Random) -> Task:
    n, d = rng.randint(200, 999), rng.randint(3, 13)
    kind = rng.randrange(3)
    if kind == 0:
        return Task(f"How many whole numbers from 1 to {n} are divisible by {d}?", "counting",
                    n // d)
    if kind == 1:
        m = rng.randint(20, 60)
        return Task(f"What is the sum of the squares of the whole numbers from 1 to {m}?",
                    "counting", sum(i * i for i in range(1, m + 1)))
    return Task(f"What is the sum of the whole numbers from {d} to {n}?", "counting",
                sum(range(d, n + 1)))


def make_tasks(per_family: int = 8, seed: int = 0,
               lookup: Lookup | None = None) -> list[Task]:
    """``per_family`` tasks of each family, interleaved.

    The course-fact tasks are the first chapter 50 questions whose evidence the lookup tool
    ranks first, so that they test the agent rather than retrieval (the questions of
    :func:`worked_examples` are left out).
    """
    per_family = check_int("per_family", per_family, low=1, high=30)
    rng = random.Random(seed)
    arithmetic = [_arithmetic(rng) for _ in range(per_family)]
    counting = [_counting(rng) for _ in range(per_family)]
    lookup = lookup or Lookup()
    facts = []
    example_facts = {qs.QUESTIONS[i] for i in EXAMPLE_FACTS}
    for q in qs.QUESTIONS:
        if q in example_facts:
            continue
        hit = lookup.index.search(q.text, k=1)[0]
        if q.evidence.lower() in hit.chunk.text.lower() or q.answer.lower() in \
                hit.chunk.text.lower():
            facts.append(Task(q.text, "course facts", question=q))
        if len(facts) == per_family:
            break
    return [t for triple in zip(arithmetic, counting, facts) for t in triple]


EXAMPLE_FACTS = (0, -2)  # chapter 50 questions used as worked examples, never as tasks


def worked_examples(lookup: Lookup | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Two worked examples per tool: ``(task, [(action line, observation), ...])``.

    They use the task set's phrasings with other numbers and other facts, so the held-out
    tasks differ in their numbers and questions only. The observations are the tools' real
    outputs (the facts come from live lookups).
    """
    lookup = lookup or Lookup()
    examples = [
        ("What is 15 times 4 plus 3?", [("calculator: 15 * 4 + 3", "63"), ("answer: 63", "")]),
        ("A box holds 24 eggs. How many eggs are in 31 boxes?",
         [("calculator: 24 * 31", "744"), ("answer: 744", "")]),
        ("How many whole numbers from 1 to 50 are even?",
         [("python: print(sum(1 for n in range(1, 51) if n % 2 == 0))", "25"),
          ("answer: 25", "")]),
        ("What is the sum of the whole numbers from 5 to 40?",
         [("python: print(sum(range(5, 41)))", "810"), ("answer: 810", "")]),
    ]
    for i in EXAMPLE_FACTS:
        fact = qs.QUESTIONS[i]
        seen = lookup(fact.text)
        examples.append((fact.text, [(f"lookup: {fact.text}", seen.text),
                                     (f"answer: {fact.answer}", "")]))
    # interleave the families, as the tasks are
    return [examples[i] for i in (0, 2, 4, 1, 3, 5)]


def example_turns(examples) -> list[dict[str, str]]:
    """The worked examples as chat turns (assistant actions, user observations)."""
    turns = []
    for task, steps in examples:
        turns.append({"role": "user", "content": f"Task: {task}"})
        for action, observation in steps:
            turns.append({"role": "assistant", "content": action})
            if observation:
                turns.append({"role": "user", "content": f"Observation: {observation}"})
    return turns


# --- the loop ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    tool: str
    argument: str
    observation: Observation | None  # None for the final answer
    seconds: float
    repeated: bool = False           # the same call as an earlier step


@dataclass
class Trace:
    """Everything one run did. ``stop`` is ``"answered"`` or ``"budget"``."""

    task: Task
    steps: list[Step] = field(default_factory=list)
    answer: str = ""
    stop: str = "budget"

    @property
    def solved(self) -> bool:
        return self.stop == "answered" and self.task.solved_by(self.answer)

    @property
    def tools_used(self) -> list[str]:
        return [s.tool for s in self.steps if s.tool != "answer"]

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def failure(self) -> str:
        """The first thing that went wrong, as one of :data:`FAILURES` ("" when solved)."""
        if self.solved:
            return ""
        expected = FAMILY_TOOL[self.task.family]
        if self.stop == "budget":
            return "loop (repeated call)" if any(s.repeated for s in self.steps) \
                else "step budget spent"
        if expected not in self.tools_used:
            return "answered without a tool" if not self.tools_used else "wrong tool"
        if any(s.observation is not None and not s.observation.ok for s in self.steps):
            return "tool call rejected"
        return "wrong answer from a right tool"


FAILURES = ("answered without a tool", "wrong tool", "tool call rejected", "loop (repeated call)",
            "step budget spent", "wrong answer from a right tool")


def _parse(line: str) -> tuple[str, str]:
    tool, _, argument = line.partition(": ")
    return tool.strip(), argument.strip()


def run_agent(model, task: Task | str, tools: Mapping[str, Tool], *, examples=(),
              max_steps: int = 4, first_tool: str | None = None,
              max_tokens: int = 60) -> Trace:
    """Run the plan-act-observe loop on one task.

    Args:
        model: a :class:`course_utils.llm.smollm2.SmolLM2`.
        task: a :class:`Task` or the text of one (then it cannot be scored).
        tools: tool name -> tool (:func:`course_utils.apps.tools.default_tools`).
        examples: worked examples (:func:`worked_examples`) shown before the task.
        max_steps: model calls allowed, the final answer included (1-20).
        first_tool: fix the first step's tool (a router or an oracle); ``None`` lets the model
            choose.
        max_tokens: tokens per action line.

    Returns:
        The :class:`Trace`. The loop always stops: at an answer or when the budget is spent.
    """
    from course_utils.llm.smollm2 import chat_prompt

    if isinstance(task, str):
        task = Task(check_text("task", task.strip(), max_length=MAX_TASK_CHARS), "unscored")
    max_steps = check_int("max_steps", max_steps, low=1, high=20)
    unknown = set(tools) - set(TOOLS)
    if unknown or not tools:
        raise ValueError(f"tools must be named from {TOOLS}, got {sorted(tools)}.")
    if first_tool is not None and first_tool not in tools:
        raise ValueError(f"first_tool must be one of {sorted(tools)}, got {first_tool!r}.")
    allowed = (*tools, "answer")
    turns = [*example_turns(examples), {"role": "user", "content": f"Task: {task.text}"}]
    trace, seen = Trace(task), set()
    for step in range(max_steps):
        start = time.perf_counter()
        choices = (first_tool,) if step == 0 and first_tool else allowed
        line = model.complete(chat_prompt(turns, system=SYSTEM), max_tokens=max_tokens,
                              grammar=action_grammar(choices)).text
        tool, argument = _parse(line)
        if tool == "answer":
            trace.steps.append(Step(tool, argument, None, time.perf_counter() - start))
            trace.answer, trace.stop = argument, "answered"
            return trace
        repeated = (tool, argument) in seen
        seen.add((tool, argument))
        observation = tools[tool](argument)
        trace.steps.append(Step(tool, argument, observation, time.perf_counter() - start,
                                repeated))
        turns += [{"role": "assistant", "content": line},
                  {"role": "user", "content": f"Observation: {observation.text}"}]
    return trace


def answer_directly(model, task: Task | str, *, examples=(), max_tokens: int = 24) -> str:
    """The no-tools baseline: the same model, the same worked examples (answers only)."""
    from course_utils.llm.smollm2 import chat_prompt

    text = task.text if isinstance(task, Task) else check_text(
        "task", task.strip(), max_length=MAX_TASK_CHARS)
    turns = []
    for example, steps in examples:
        turns += [{"role": "user", "content": example},
                  {"role": "assistant", "content": _parse(steps[-1][0])[1]}]
    turns.append({"role": "user", "content": text})
    return model.complete(chat_prompt(turns, system=DIRECT_SYSTEM), max_tokens=max_tokens,
                          stop="\n").text.strip()


def route(task: str) -> str:
    """A keyword router, the simple baseline for choosing the first tool: arithmetic words ->
    calculator; counting and sums -> python; anything else -> lookup."""
    text = check_text("task", task, max_length=MAX_TASK_CHARS).lower()
    if re.search(r"\b(how many whole numbers|sum of|divisible)\b", text):
        return "python"
    if re.search(r"\d", text) and re.search(r"\b(times|plus|minus|how many|how far|"
                                            r"how much)\b", text):
        return "calculator"
    return "lookup"
