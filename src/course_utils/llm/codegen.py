"""Code generation, measured: tasks with tests, prompts, code extraction, pass@k, repair (ch. 13).

The loop of this module::

    task -> prompt -> model -> answer -> extract_code -> sandbox.run_python(code, task.tests)

- :data:`TASKS`: small Python functions written for the course, each a signature with a
  docstring (the *spec*) and a few ``assert`` tests, from trivial to moderate, plus a reference
  solution that passes them (a unit test checks every one).
- :func:`task_prompt` / :func:`generate`: ask an instruct model for the function. The answer is
  started for the model with a Python code fence (a *response prefix*), so it writes code at
  once and stops at the closing fence.
- :func:`extract_code`: the code from an answer, fenced or not.
- :func:`pass_at_k`: the unbiased pass@k estimator of Chen et al. (2021).
- :func:`repair`: feed the failing test and its error back to the model as a new user turn, up
  to ``rounds`` times; :func:`repair_rate` measures how often that fixes a failure.

The model can be anything with the ``complete(prompt, **settings) -> Completion`` method of
:class:`course_utils.llm.smollm2.SmolLM2` (tests use a scripted fake).
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from course_utils.core.validation import check_float, check_int, check_text
from course_utils.llm import sandbox

FENCE = "```"
RESPONSE_PREFIX = "```python\n"  # how the assistant's answer is started for the model
SYSTEM = "You are an expert Python programmer. You answer with code only."
#: Where an answer ends: the closing fence, or top-level example code after the function (the
#: tests call the function themselves, and example calls only cost tokens).
STOP = (FENCE, "\nprint(", "\nif __name__")


# -- tasks ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CodeTask:
    """A function to write: its spec (signature + docstring) and the tests it must pass."""

    name: str  # the function's name (entry point), e.g. "add"
    signature: str  # "def add(a, b):"
    doc: str  # what the function must do (one or a few sentences)
    tests: tuple[str, ...]  # statements, e.g. "assert add(2, 3) == 5"
    level: str = "custom"  # "easy" / "medium" / "harder" for the course's tasks
    reference: str = ""  # a correct solution (the course's tasks have one)

    @property
    def spec(self) -> str:
        """Signature and docstring: what the model is asked to complete."""
        doc = textwrap.fill(self.doc, 88, initial_indent="    ", subsequent_indent="    ")
        return f'{self.signature}\n    """{doc.strip()}\n    """\n' if "\n" in doc else \
            f'{self.signature}\n    """{doc.strip()}"""\n'


def _task(level: str, signature: str, doc: str, tests: Sequence[str], body: str) -> CodeTask:
    name = re.match(r"def (\w+)\(", signature).group(1)  # type: ignore[union-attr]
    return CodeTask(name, signature, doc, tuple(tests), level,
                    f"{signature}\n{textwrap.indent(textwrap.dedent(body).strip(), '    ')}\n")


#: The course's tasks, easy to harder. Tests check ordinary cases and one edge case each.
TASKS: tuple[CodeTask, ...] = (
    _task("easy", "def add(a, b):", "Return the sum of a and b.",
          ["assert add(2, 3) == 5", "assert add(-4, 4) == 0", "assert add(0.5, 0.25) == 0.75"],
          "return a + b"),
    _task("easy", "def is_even(n):", "Return True if the integer n is even, otherwise False.",
          ["assert is_even(4) is True", "assert is_even(7) is False", "assert is_even(0) is True"],
          "return n % 2 == 0"),
    _task("easy", "def square_all(numbers):",
          "Return a new list with the square of each number in the list numbers.",
          ["assert square_all([1, 2, 3]) == [1, 4, 9]", "assert square_all([-2]) == [4]",
           "assert square_all([]) == []"],
          "return [x * x for x in numbers]"),
    _task("easy", "def reverse_string(s):", "Return the string s reversed.",
          ["assert reverse_string('abc') == 'cba'", "assert reverse_string('a') == 'a'",
           "assert reverse_string('') == ''"],
          "return s[::-1]"),
    _task("easy", "def celsius_to_fahrenheit(c):",
          "Convert a temperature c in degrees Celsius to degrees Fahrenheit.",
          ["assert celsius_to_fahrenheit(0) == 32", "assert celsius_to_fahrenheit(100) == 212",
           "assert celsius_to_fahrenheit(-40) == -40"],
          "return c * 9 / 5 + 32"),
    _task("easy", "def factorial(n):", "Return n! (the product 1 * 2 * ... * n); factorial(0) is 1.",
          ["assert factorial(5) == 120", "assert factorial(1) == 1", "assert factorial(0) == 1"],
          """
          result = 1
          for k in range(2, n + 1):
              result *= k
          return result
          """),
    _task("medium", "def is_palindrome(s):",
          "Return True if the string s reads the same forwards and backwards, ignoring case "
          "and spaces.",
          ["assert is_palindrome('racecar') is True", "assert is_palindrome('hello') is False",
           "assert is_palindrome('Never odd or even') is True"],
          """
          t = s.replace(' ', '').lower()
          return t == t[::-1]
          """),
    _task("medium", "def fizzbuzz(n):",
          "Return 'FizzBuzz' if n is divisible by 3 and by 5, 'Fizz' if only by 3, 'Buzz' if "
          "only by 5, and otherwise n as a string.",
          ["assert fizzbuzz(9) == 'Fizz'", "assert fizzbuzz(10) == 'Buzz'",
           "assert fizzbuzz(30) == 'FizzBuzz'", "assert fizzbuzz(7) == '7'"],
          """
          if n % 15 == 0:
              return 'FizzBuzz'
          if n % 3 == 0:
              return 'Fizz'
          if n % 5 == 0:
              return 'Buzz'
          return str(n)
          """),
    _task("medium", "def fibonacci(n):",
          "Return the n-th Fibonacci number, where fibonacci(0) is 0 and fibonacci(1) is 1.",
          ["assert fibonacci(0) == 0", "assert fibonacci(1) == 1", "assert fibonacci(10) == 55"],
          """
          a, b = 0, 1
          for _ in range(n):
              a, b = b, a + b
          return a
          """),
    _task("medium", "def is_prime(n):", "Return True if the integer n is a prime number.",
          ["assert is_prime(7) is True", "assert is_prime(9) is False", "assert is_prime(2) is True",
           "assert is_prime(1) is False"],
          """
          if n < 2:
              return False
          return all(n % d for d in range(2, int(n ** 0.5) + 1))
          """),
    _task("medium", "def running_sum(numbers):",
          "Return the list of running totals of numbers: element i is the sum of numbers[0] "
          "to numbers[i].",
          ["assert running_sum([1, 2, 3]) == [1, 3, 6]", "assert running_sum([5]) == [5]",
           "assert running_sum([]) == []"],
          """
          totals, total = [], 0
          for x in numbers:
              total += x
              totals.append(total)
          return totals
          """),
    _task("harder", "def remove_duplicates(items):",
          "Return a list of the items without duplicates, keeping the first occurrence of each "
          "in its original order.",
          ["assert remove_duplicates([3, 1, 3, 2, 1]) == [3, 1, 2]",
           "assert remove_duplicates(['a', 'a']) == ['a']", "assert remove_duplicates([]) == []"],
          "return list(dict.fromkeys(items))"),
    _task("harder", "def word_count(text):",
          "Return a dict that maps each word of text (words are separated by spaces, compare "
          "them in lower case) to the number of times it occurs.",
          ["assert word_count('a b a') == {'a': 2, 'b': 1}",
           "assert word_count('The the') == {'the': 2}", "assert word_count('') == {}"],
          """
          counts = {}
          for word in text.lower().split():
              counts[word] = counts.get(word, 0) + 1
          return counts
          """),
    _task("harder", "def run_length_encode(s):",
          "Compress the string s by writing each run of a repeated character as the character "
          "followed by the run's length, e.g. 'aaab' -> 'a3b1'.",
          ["assert run_length_encode('aaab') == 'a3b1'", "assert run_length_encode('abc') == "
           "'a1b1c1'", "assert run_length_encode('') == ''"],
          """
          out, i = [], 0
          while i < len(s):
              j = i
              while j < len(s) and s[j] == s[i]:
                  j += 1
              out.append(f'{s[i]}{j - i}')
              i = j
          return ''.join(out)
          """),
    _task("harder", "def second_largest(numbers):",
          "Return the second largest distinct value in the list numbers, or None if there is "
          "no such value.",
          ["assert second_largest([4, 1, 3]) == 3", "assert second_largest([5, 5, 2]) == 2",
           "assert second_largest([7]) is None"],
          """
          values = sorted(set(numbers))
          return values[-2] if len(values) >= 2 else None
          """),
)


def task_by_name(name: str) -> CodeTask:
    """One of :data:`TASKS` by its function name."""
    for task in TASKS:
        if task.name == name:
            return task
    raise ValueError(f"No task named {name!r}; the tasks are: {', '.join(t.name for t in TASKS)}.")


def task_from_spec(spec: str, tests: str | Sequence[str]) -> CodeTask:
    """A task written by a learner: a spec with one ``def`` line (and usually a docstring or a
    comment saying what it should do), and tests (one ``assert`` per line, or a list).

    Raises:
        ValueError: no ``def name(...):`` line, a docstring that does not parse, no tests, a test
            that is not valid Python or does not call the function.
    """
    check_text("spec", spec.strip() if isinstance(spec, str) else spec, max_length=2000)
    match = re.search(r"^\s*def\s+([A-Za-z_]\w*)\s*\(.*\)\s*(->[^:]*)?:\s*$", spec, re.M)
    if match is None:
        raise ValueError("The spec needs a function signature line such as "
                         "'def shout(text):' (ending with a colon).")
    name, signature = match.group(1), match.group(0).strip()
    doc = spec[match.end():].strip().strip('"').strip("'").strip()
    doc = " ".join(line.strip().lstrip("#").strip() for line in doc.splitlines()).strip()
    if not doc:
        raise ValueError("Say what the function should do: add a docstring or a sentence "
                         "after the signature line.")
    lines = [t for t in (tests.splitlines() if isinstance(tests, str) else list(tests))
             if isinstance(t, str) and t.strip()]
    if not lines:
        raise ValueError("Add at least one test, e.g. \"assert shout('hi') == 'HI'\".")
    for line in lines:
        try:
            tree = ast.parse(line.strip())
        except SyntaxError as error:
            raise ValueError(f"This test is not valid Python: {line.strip()!r} "
                             f"({error.msg}).") from None
        calls = {n.func.id for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        if name not in calls:
            raise ValueError(f"The test {line.strip()!r} does not call {name}().")
    return CodeTask(name, signature, doc, tuple(t.strip() for t in lines), "custom")


# -- prompts and extraction ---------------------------------------------------------------------

def task_prompt(task: CodeTask) -> list[dict[str, str]]:
    """The chat turn that asks for the function: its spec in a code block."""
    return [{"role": "user", "content":
             f"Write this Python function. Reply with the complete function only.\n\n"
             f"```python\n{task.spec}```"}]


_FENCED = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _longest_parsing_prefix(lines: Sequence[str]) -> str | None:
    """The longest run of leading lines that parses as Python, or None."""
    for end in range(len(lines), 0, -1):
        code = "\n".join(lines[:end]).rstrip()
        if code and _parses(code):
            return code + "\n"
    return None


def _defines(code: str, name: str | None) -> bool:
    return name is None or re.search(rf"^\s*def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def extract_code(answer: str, entry_point: str | None = None) -> str:
    """The Python code in a model's answer.

    Rules, in order:

    1. Fenced blocks (```` ```python ````, ```` ```py ````, or a bare ```` ``` ````; an
       unclosed last fence runs to the end of the answer): take the first block that defines
       ``entry_point`` (else the first Python block). If prose follows the code inside the
       block (an unindented line that does not parse), keep the longest leading part that
       parses and still defines ``entry_point``; a block with a real syntax error or a body
       cut off by the token limit is returned unchanged, for the sandbox to report.
    2. No fence: from the first line that starts like code (``def``, ``class``, ``import``,
       ``from``, ``@``), the longest leading part that parses.
    3. Otherwise the whole answer, stripped (the sandbox will report the syntax error).

    Args:
        answer: the model's text.
        entry_point: the name of the function the code must define, if known.

    Returns:
        Source code ending with a newline, or ``""`` for an empty answer.
    """
    if not isinstance(answer, str):
        raise ValueError(f"answer must be text, got {type(answer).__name__}.")
    blocks = [body.strip("\n").rstrip() + "\n" for lang, body in _FENCED.findall(answer)
              if lang.lower() in ("", "python", "py", "python3")]
    blocks = [b for b in blocks if b.strip()]
    if blocks:
        code = next((b for b in blocks if _defines(b, entry_point)), blocks[0])
        if not _parses(code):
            lines = code.splitlines()
            prefix = _longest_parsing_prefix(lines)
            if prefix is not None and _defines(prefix, entry_point) and "def " in prefix:
                dropped = lines[len(prefix.splitlines()):]
                # prose after the code starts at the margin; an indented rest is a cut-off or
                # broken body, whose syntax error is the better message
                if dropped and not dropped[0][:1].isspace():
                    return prefix
        return code
    lines = answer.splitlines()
    starts = [i for i, line in enumerate(lines)
              if re.match(r"(def |async def |class |import |from \w|@)", line)]
    if starts:
        prefix = _longest_parsing_prefix(lines[starts[0]:])
        if prefix is not None:
            return prefix
    return answer.strip() + ("\n" if answer.strip() else "")


# -- generating and checking candidates ---------------------------------------------------------

class CompletionModel(Protocol):
    """What :func:`generate` needs from a model (:class:`course_utils.llm.smollm2.SmolLM2` has it)."""

    def complete(self, prompt: str, **settings: Any) -> Any: ...


@dataclass(frozen=True)
class Candidate:
    """One generated solution and what the sandbox made of it."""

    task: str  # the task's name
    answer: str  # the model's text, response prefix included
    code: str  # extract_code(answer)
    result: sandbox.SandboxResult
    tokens: int  # tokens the model generated
    seconds: float  # generation time (the sandbox's is in result.seconds)

    @property
    def passed(self) -> bool:
        return self.result.passed


def conversation_prompt(messages: Sequence[dict[str, str]]) -> str:
    """ChatML text of ``messages`` (course system prompt) with the assistant's answer started
    by :data:`RESPONSE_PREFIX`."""
    from course_utils.llm.smollm2 import chat_prompt

    return chat_prompt(list(messages), system=SYSTEM) + RESPONSE_PREFIX


def generate(model: CompletionModel, messages: Sequence[dict[str, str]], *,
             temperature: float = 0.0, seed: int = 0, max_tokens: int = 160,
             top_p: float = 0.95) -> tuple[str, Any]:
    """Ask ``model`` for code: the answer starts with :data:`RESPONSE_PREFIX` and stops at
    :data:`STOP` (the closing fence or top-level example code) or after ``max_tokens``.

    Returns:
        (the answer with its fences, as the model's turn would read, the raw completion).
    """
    check_float("temperature", temperature, low=0, high=5)
    check_int("max_tokens", max_tokens, low=1, high=1024)
    settings: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature,
                                "seed": seed, "stop": list(STOP)}
    if temperature > 0:
        settings["top_p"] = top_p
    completion = model.complete(conversation_prompt(messages), **settings)
    body = completion.text.rstrip()
    return f"{RESPONSE_PREFIX}{body}\n{FENCE}", completion


def check(task: CodeTask, answer: str, *,
          timeout_s: float = 3.0) -> tuple[str, sandbox.SandboxResult]:
    """Extract the code from ``answer`` and run it with the task's tests in the sandbox."""
    code = extract_code(answer, task.name)
    return code, sandbox.run_python(code, task.tests, timeout_s=timeout_s)


def solve(model: CompletionModel, task: CodeTask, *, n: int = 1, temperature: float = 0.0,
          seed: int = 0, max_tokens: int = 160, timeout_s: float = 3.0) -> list[Candidate]:
    """``n`` candidates for ``task`` (seeds ``seed``, ``seed + 1``, ...), each checked."""
    check_int("n", n, low=1, high=100)
    candidates = []
    for i in range(n):
        answer, completion = generate(model, task_prompt(task), temperature=temperature,
                                      seed=seed + i, max_tokens=max_tokens)
        code, result = check(task, answer, timeout_s=timeout_s)
        candidates.append(Candidate(task.name, answer, code, result,
                                    completion.completion_tokens, completion.seconds))
    return candidates


def solve_all(model: CompletionModel, tasks: Sequence[CodeTask], *, n: int = 1,
              temperature: float = 0.0, seed: int = 0, max_tokens: int = 160,
              timeout_s: float = 3.0,
              progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
              ) -> dict[str, list[Candidate]]:
    """:func:`solve` for every task, with the sandbox runs overlapping the generation: the model
    writes the next candidate while a worker thread tests the last one.

    Args:
        model, n, temperature, seed, max_tokens, timeout_s: as in :func:`solve`; task ``i``
            gets seeds ``seed + n * i``, ``seed + n * i + 1``, ... so every sample has its own.
        tasks: the tasks to solve.
        progress: optional wrapper for the loop over tasks (e.g. ``course_utils.core.progress``).

    Returns:
        task name -> its ``n`` candidates, in order.
    """
    from concurrent.futures import ThreadPoolExecutor

    check_int("n", n, low=1, high=100)
    if not tasks:
        raise ValueError("tasks is empty.")
    jobs: dict[str, list[Any]] = {}
    loop = progress(list(tasks)) if progress is not None else tasks
    with ThreadPoolExecutor(max_workers=2) as pool:
        for i, task in enumerate(loop):
            jobs[task.name] = []
            for j in range(n):
                answer, completion = generate(model, task_prompt(task), temperature=temperature,
                                              seed=seed + n * i + j, max_tokens=max_tokens)
                future = pool.submit(check, task, answer, timeout_s=timeout_s)
                jobs[task.name].append((answer, completion, future))
        return {name: [Candidate(name, answer, *future.result(), completion.completion_tokens,
                                 completion.seconds) for answer, completion, future in runs]
                for name, runs in jobs.items()}


# -- pass@k ---------------------------------------------------------------------------------------

def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k from ``n`` samples of which ``c`` passed (Chen et al. 2021).

    pass@k is the probability that at least one of ``k`` samples passes. Drawing ``k`` of the
    ``n`` samples without replacement, it fails only if all ``k`` come from the ``n - c`` failures:

        pass@k = 1 - C(n - c, k) / C(n, k) = 1 - prod_{i = n - c + 1}^{n} (1 - k / i)

    The product form never builds the huge binomial coefficients.

    Args:
        n: samples drawn (>= 1).
        c: samples that passed (0 <= c <= n).
        k: budget of attempts (1 <= k <= n).

    Returns:
        The estimate, in [0, 1].
    """
    check_int("n", n, low=1)
    check_int("c", c, low=0, high=n)
    check_int("k", k, low=1, high=n)
    if n - c < k:  # every k-subset contains a passing sample
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(passed_counts: Iterable[int], n: int, k: int) -> float:
    """pass@k over a set of tasks: the mean of :func:`pass_at_k` (``n`` samples per task)."""
    counts = list(passed_counts)
    if not counts:
        raise ValueError("passed_counts is empty: give one count per task.")
    return float(np.mean([pass_at_k(n, c, k) for c in counts]))


# -- repair -------------------------------------------------------------------------------------

def feedback_message(result: sandbox.SandboxResult) -> str:
    """The user turn that reports a failure back to the model: the failing test and the error,
    without the traceback (the model cannot use its line numbers)."""
    if result.passed:
        raise ValueError("The code passed: there is nothing to repair.")
    parts = ["Your function is wrong."]
    if result.failed_test:
        parts.append(f"This test failed:\n```python\n{result.failed_test}\n```")
    if result.error:
        parts.append(f"Error: {result.error}")
    parts.append("Write the corrected function. Reply with the complete function only.")
    return "\n".join(parts)


@dataclass
class RepairTrace:
    """A repair attempt: the first candidate, then one (answer, result) per round."""

    task: str
    first: Candidate
    rounds: list[Candidate] = field(default_factory=list)

    @property
    def repaired(self) -> bool:
        """Whether a round produced passing code."""
        return any(c.passed for c in self.rounds)

    @property
    def rounds_used(self) -> int:
        return len(self.rounds)

    @property
    def tokens(self) -> int:
        return sum(c.tokens for c in self.rounds)


def repair(model: CompletionModel, task: CodeTask, first: Candidate, *, rounds: int = 2,
           temperature: float = 0.0, seed: int = 0, max_tokens: int = 160,
           timeout_s: float = 3.0) -> RepairTrace:
    """Feed the failing test back and ask again, up to ``rounds`` times (stops when it passes).

    The conversation grows by two turns per round::

        user: task_prompt(task)        assistant: first.answer
        user: feedback_message(...)    assistant: answer of round 1
        ...

    Args:
        model: a :class:`CompletionModel`.
        task: the task ``first`` tried to solve.
        first: a failing candidate.
        rounds: most repair rounds (>= 1).
        temperature, seed, max_tokens: generation settings for every round (seed + round).

    Returns:
        A :class:`RepairTrace`.
    """
    check_int("rounds", rounds, low=1, high=10)
    if first.passed:
        raise ValueError(f"The candidate for {task.name} already passes: nothing to repair.")
    messages = task_prompt(task)
    trace, last = RepairTrace(task.name, first), first
    for r in range(rounds):
        messages = [*messages, {"role": "assistant", "content": last.answer},
                    {"role": "user", "content": feedback_message(last.result)}]
        answer, completion = generate(model, messages, temperature=temperature, seed=seed + r,
                                      max_tokens=max_tokens)
        code, result = check(task, answer, timeout_s=timeout_s)
        last = Candidate(task.name, answer, code, result, completion.completion_tokens,
                         completion.seconds)
        trace.rounds.append(last)
        if last.passed:
            break
    return trace


def repair_rate(traces: Sequence[RepairTrace]) -> float:
    """Fraction of failing candidates that the repair loop fixed (nan if there were none)."""
    if not traces:
        return float("nan")
    return sum(t.repaired for t in traces) / len(traces)


def rate_upper_bound(successes: int, trials: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound of a success rate: the largest rate ``p`` under
    which seeing at most ``successes`` in ``trials`` still has probability ``1 - confidence``.
    For 0 successes it is ``1 - (1 - confidence) ** (1 / trials)`` (about 3 / trials at 95 %).

    Solves ``sum_{i <= successes} C(trials, i) p^i (1 - p)^(trials - i) = 1 - confidence`` by
    bisection.
    """
    check_int("trials", trials, low=1)
    check_int("successes", successes, low=0, high=trials)
    check_float("confidence", confidence, low=0, high=1, low_inclusive=False,
                high_inclusive=False)
    if successes == trials:
        return 1.0

    def cdf(p: float) -> float:
        return sum(math.comb(trials, i) * p**i * (1 - p) ** (trials - i)
                   for i in range(successes + 1))

    low, high = successes / trials, 1.0
    for _ in range(60):  # the cdf falls as p grows
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) > 1 - confidence else (low, mid)
    return (low + high) / 2
