"""An agent's tools: a safe calculator, a lookup in the course's pages, a sandboxed Python
runner (chapter 61).

Every tool has the same shape: ``tool(argument: str) -> Observation``. A tool never raises on
bad input from the model: a malformed argument becomes an observation with ``ok=False`` and a
message the model can read and correct, because in an agent loop the caller of a tool is a
language model, not a programmer. (Bad *settings* from a programmer still raise.)

- :func:`calculate` parses arithmetic with :mod:`ast` and evaluates only numbers, ``+ - * /
  // % **`` and parentheses - never :func:`eval`. ``^`` and ``x`` between numbers are read as
  power and times, as people write them.
- :class:`Lookup` searches the course's pages (chapter 50's chunks and BM25 index) and returns
  the best passage.
- :func:`run_python_tool` runs one line or block of code in chapter 13's sandbox
  (:func:`course_utils.llm.sandbox.run_python`) and returns what it printed.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from course_utils.llm.sandbox import run_python
from course_utils.trust import retrieval as rt

MAX_ARGUMENT_CHARS = 300
MAX_OBSERVATION_CHARS = 300
MAX_POWER = 64          # 2 ** 64 is fine; 9 ** 9 ** 9 would hang the process
MAX_MAGNITUDE = 1e15    # results beyond this are not arithmetic a task needs


@dataclass(frozen=True)
class Observation:
    """What a tool returned: ``ok`` is False when the call itself was wrong."""

    tool: str
    argument: str
    ok: bool
    text: str


Tool = Callable[[str], Observation]

_OPERATORS: Mapping[type, Callable] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_POWER:
            raise ValueError(f"exponent {right} is too large (at most {MAX_POWER})")
        if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and right == 0:
            raise ValueError("division by zero")
        value = _OPERATORS[type(node.op)](left, right)
        if abs(value) > MAX_MAGNITUDE:
            raise ValueError("the result is too large")
        return value
    raise ValueError(f"'{ast.unparse(node)}' is not arithmetic: use numbers, + - * / ** and "
                     "parentheses")


def _number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def calculate(argument: str) -> Observation:
    """Evaluate an arithmetic expression such as ``"12 * (3 + 4)"`` or ``"2^10"``.

    Returns:
        ``Observation(ok=True, text="84")``, or ``ok=False`` with the reason (not arithmetic,
        division by zero, a number too large).
    """
    text = _check_argument(argument)
    expression = re.sub(r"(?<=\d)\s*[x×]\s*(?=\d)", "*", text.replace("^", "**"))
    expression = expression.replace(",", "").strip().rstrip("=?. ")
    try:
        value = _evaluate(ast.parse(expression, mode="eval"))
    except SyntaxError:
        return Observation("calculator", text, False,
                           f"could not parse {text!r}: write arithmetic like 12 * (3 + 4)")
    except ValueError as error:
        return Observation("calculator", text, False, str(error))
    return Observation("calculator", text, True, _number_text(value))


class Lookup:
    """Search the course's book pages; returns the best-scoring passage (BM25).

    Args:
        chunks: the passages (default: :func:`course_utils.trust.retrieval.chunk_pages` of the
            book pages, 300 characters each, as in chapter 50).
    """

    name = "lookup"

    def __init__(self, chunks: list[rt.Chunk] | None = None) -> None:
        if chunks is None:
            chunks = rt.chunk_pages(rt.course_pages(), max_chars=300)
        if not chunks:
            raise ValueError("Lookup needs at least one passage to search.")
        self.index = rt.BM25Index(chunks)

    def __call__(self, argument: str) -> Observation:
        text = _check_argument(argument)
        if not rt.content_words(text):
            return Observation("lookup", text, False,
                               "the query has no content words: search for the topic")
        hit = self.index.search(text[:rt.MAX_QUERY_CHARS], k=1)[0]
        if hit.score <= 0:
            return Observation("lookup", text, False, "nothing in the course pages matches")
        return Observation("lookup", text, True,
                           f"({hit.chunk.page}) {hit.chunk.text[:MAX_OBSERVATION_CHARS]}")


def run_python_tool(argument: str, timeout_s: float = 3.0) -> Observation:
    """Run ``argument`` as Python in the sandbox; the observation is what it printed.

    Code that prints nothing is an error the model can fix ("print the result").
    """
    code = _check_argument(argument)
    result = run_python(code, timeout_s=timeout_s)
    if result.status != "passed":
        return Observation("python", code, False,
                           f"{result.status}: {result.error or result.stderr[-200:]}")
    printed = result.stdout.strip()
    if not printed:
        return Observation("python", code, False, "the code printed nothing: print the result")
    return Observation("python", code, True, printed[-MAX_OBSERVATION_CHARS:])


def _check_argument(argument: object) -> str:
    if not isinstance(argument, str):
        raise ValueError(f"A tool argument must be text, got {type(argument).__name__}.")
    return argument.strip()[:MAX_ARGUMENT_CHARS]


def default_tools(lookup: Lookup | None = None) -> dict[str, Tool]:
    """The three tools of chapter 61, by name."""
    return {"calculator": calculate, "lookup": lookup or Lookup(),
            "python": run_python_tool}

