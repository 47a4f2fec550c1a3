"""codegen: the tasks and their references, code extraction, pass@k against brute force, the
generate / repair loop with a scripted fake model, bad input, and a short real SmolLM2 run."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import pytest

from course_utils.llm import codegen as G
from course_utils.llm import sandbox

# -- tasks ---------------------------------------------------------------------------------------

def test_there_are_enough_tasks_with_unique_names_and_levels():
    names = [t.name for t in G.TASKS]
    assert 12 <= len(G.TASKS) <= 20 and len(set(names)) == len(names)
    assert {t.level for t in G.TASKS} == {"easy", "medium", "harder"}
    for task in G.TASKS:
        assert task.signature.startswith(f"def {task.name}(") and task.signature.endswith(":")
        assert len(task.tests) >= 3 and all(f"{task.name}(" in t for t in task.tests)
        assert task.spec.startswith(task.signature) and '"""' in task.spec
        compile(task.spec + "    pass\n", task.name, "exec")  # the spec is valid Python


def test_every_reference_passes_its_tests_and_a_stub_fails_them():
    for task in G.TASKS:
        result = sandbox.run_python(task.reference, task.tests)
        assert result.passed, (task.name, result.summary())
        stub = sandbox.run_python(task.spec + "    return None\n", task.tests)
        assert not stub.passed, f"the tests of {task.name} accept a stub"


def test_task_by_name():
    assert G.task_by_name("fizzbuzz").level == "medium"
    with pytest.raises(ValueError, match="No task named 'nope'"):
        G.task_by_name("nope")


def test_a_task_from_a_learners_spec():
    task = G.task_from_spec('def shout(text):\n    """Return text in capitals."""',
                            "assert shout('hi') == 'HI'\n\nassert shout('') == ''")
    assert (task.name, task.doc, task.level) == ("shout", "Return text in capitals.", "custom")
    assert task.tests == ("assert shout('hi') == 'HI'", "assert shout('') == ''")
    assert sandbox.run_python("def shout(text):\n    return text.upper()", task.tests).passed
    hinted = G.task_from_spec("def area(w: float, h: float) -> float:\n# width times height",
                              ["assert area(2, 3) == 6"])
    assert hinted.signature == "def area(w: float, h: float) -> float:"
    assert hinted.doc == "width times height"


@pytest.mark.parametrize("spec, tests, message", [
    ("", "assert f(1) == 1", "spec is empty"),
    ("Return the double of x.", "assert f(1) == 2", "function signature line"),
    ("def f(x):", "assert f(1) == 2", "Say what the function should do"),
    ("def f(x):\n    '''Double.'''", "", "at least one test"),
    ("def f(x):\n    '''Double.'''", "assert f(1) == ", "not valid Python"),
    ("def f(x):\n    '''Double.'''", "assert g(1) == 2", "does not call f()"),
])
def test_bad_specs_get_clear_messages(spec, tests, message):
    with pytest.raises(ValueError, match=message):
        G.task_from_spec(spec, tests)


# -- extraction ----------------------------------------------------------------------------------

CODE = "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize("answer", [
    f"```python\n{CODE}```",
    f"Here is the function:\n\n```py\n{CODE}```\nIt adds a and b.",
    f"```\n{CODE}```",
    f"```Python\n{CODE}\n\n```",
    f"```python\n{CODE}",  # unclosed fence (cut off by max_tokens)
    f"```python\nimport math\n```\nand\n```python\n{CODE}```",  # the block that defines add
    f"Sure! {CODE}",  # no fence: no code start at the line start -> handled below
])
def test_extract_code_from_fences(answer):
    code = G.extract_code(answer, "add")
    if answer.startswith("Sure!"):
        assert code == answer.strip() + "\n"  # prose first: returned as is (a syntax error)
    else:
        assert code == CODE


def test_extract_code_without_fences_takes_the_longest_parsing_prefix():
    answer = f"{CODE}\nThis function returns the sum of a and b."
    assert G.extract_code(answer, "add") == CODE.rstrip() + "\n"
    assert G.extract_code(f"The answer:\n{CODE}", "add") == CODE


def test_extract_code_trims_prose_after_the_code_inside_a_fence():
    answer = f"```python\n{CODE}\nThe function adds two numbers.\n```"
    assert G.extract_code(answer, "add") == CODE
    broken = "```python\ndef add(a, b)\n    return a + b\n```"  # a real syntax error stays
    assert G.extract_code(broken, "add") == "def add(a, b)\n    return a + b\n"


def test_extract_code_skips_other_languages_and_handles_nothing():
    answer = f"```bash\npip install x\n```\n```python\n{CODE}```"
    assert G.extract_code(answer) == CODE
    assert G.extract_code("I cannot help with that.") == "I cannot help with that.\n"
    assert G.extract_code("") == ""
    with pytest.raises(ValueError, match="answer must be text"):
        G.extract_code(None)  # type: ignore[arg-type]


# -- pass@k --------------------------------------------------------------------------------------

def brute_force_pass_at_k(n: int, c: int, k: int) -> Fraction:
    """Fraction of the k-subsets of n samples (c of them correct) that contain a correct one."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return Fraction(sum(any(samples[i] for i in s) for s in subsets), len(subsets))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_pass_at_k_equals_brute_force(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert G.pass_at_k(n, c, k) == pytest.approx(float(brute_force_pass_at_k(n, c, k)),
                                                          abs=1e-12)


def test_pass_at_k_golden_values_and_edge_cases():
    assert G.pass_at_k(5, 1, 1) == pytest.approx(0.2)
    assert G.pass_at_k(5, 1, 2) == pytest.approx(0.4)
    assert G.pass_at_k(5, 2, 2) == pytest.approx(0.7)  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert G.pass_at_k(4, 0, 4) == 0.0 and G.pass_at_k(4, 4, 1) == 1.0
    assert G.pass_at_k(10, 8, 3) == 1.0  # fewer failures than k


def test_pass_at_k_is_stable_for_large_n():
    n, c, k = 1000, 7, 100
    exact = 1 - math.comb(n - c, k) / math.comb(n, k)
    assert G.pass_at_k(n, c, k) == pytest.approx(exact, rel=1e-12)
    assert G.pass_at_k(200, 1, 1) == pytest.approx(1 / 200)


def test_pass_at_k_grows_with_k_and_pass_at_1_is_the_pass_rate():
    for n, c in [(5, 1), (5, 3), (20, 4)]:
        curve = [G.pass_at_k(n, c, k) for k in range(1, n + 1)]
        assert curve == sorted(curve) and curve[0] == pytest.approx(c / n)
    assert G.mean_pass_at_k([0, 5, 1], n=5, k=1) == pytest.approx((0 + 1 + 0.2) / 3)


@pytest.mark.parametrize("args, message", [
    ((0, 0, 1), "n must be >= 1"), ((5, 6, 1), "c must be <= 5"), ((5, -1, 1), "c must be >= 0"),
    ((5, 1, 0), "k must be >= 1"), ((5, 1, 6), "k must be <= 5"), ((5.0, 1, 1), "n must be an"),
])
def test_pass_at_k_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        G.pass_at_k(*args)
    with pytest.raises(ValueError, match="empty"):
        G.mean_pass_at_k([], n=5, k=1)


# -- generation and repair with a scripted model -------------------------------------------------

@dataclass
class FakeCompletion:
    text: str
    completion_tokens: int = 7
    seconds: float = 0.01


class ScriptedModel:
    """Answers from a script, in order; records every prompt and setting it is given."""

    def __init__(self, answers):
        self.answers, self.calls = list(answers), []

    def complete(self, prompt, **settings):
        self.calls.append((prompt, settings))
        return FakeCompletion(self.answers.pop(0))


FIZZ = G.task_by_name("fizzbuzz")
FIZZ_RIGHT = FIZZ.reference.removeprefix(FIZZ.signature + "\n")
FIZZ_WRONG = "    return 'Fizz' if n % 3 == 0 else str(n)\n"


def test_generate_starts_the_answer_with_a_fence_and_stops_at_the_closing_one():
    model = ScriptedModel([f"{FIZZ.signature}\n{FIZZ_RIGHT}"])
    answer, completion = G.generate(model, G.task_prompt(FIZZ), temperature=0.0, seed=3)
    prompt, settings = model.calls[0]
    assert prompt.endswith("<|im_start|>assistant\n```python\n")
    assert G.SYSTEM in prompt and FIZZ.spec in prompt
    assert settings == {"max_tokens": 160, "temperature": 0.0, "seed": 3,
                        "stop": ["```", "\nprint(", "\nif __name__"]}
    assert answer.startswith("```python\n") and answer.endswith("\n```")
    assert G.extract_code(answer, "fizzbuzz") == FIZZ.reference


def test_solve_samples_with_consecutive_seeds_and_checks_each_candidate():
    model = ScriptedModel([f"{FIZZ.signature}\n{FIZZ_RIGHT}", f"{FIZZ.signature}\n{FIZZ_WRONG}"])
    candidates = G.solve(model, FIZZ, n=2, temperature=0.8, seed=10)
    assert [c.passed for c in candidates] == [True, False]
    assert [s["seed"] for _, s in model.calls] == [10, 11]
    assert all(s["top_p"] == 0.95 for _, s in model.calls)
    failed = candidates[1].result
    assert failed.failed_test == "assert fizzbuzz(10) == 'Buzz'"
    assert failed.error == "AssertionError: fizzbuzz(10) returned '10', expected 'Buzz'"


def test_repair_feeds_the_failing_test_back_and_stops_when_fixed():
    model = ScriptedModel([f"{FIZZ.signature}\n{FIZZ_WRONG}",  # first try: wrong
                           f"{FIZZ.signature}\n    return str(n)\n",  # round 1: still wrong
                           f"{FIZZ.signature}\n{FIZZ_RIGHT}",  # round 2: right
                           "never used"])
    first = G.solve(model, FIZZ)[0]
    trace = G.repair(model, FIZZ, first, rounds=3)
    assert trace.repaired and trace.rounds_used == 2 and trace.tokens == 14
    second_prompt = model.calls[1][0]
    assert second_prompt.count("<|im_start|>user") == 2
    assert "This test failed:\n```python\nassert fizzbuzz(10) == 'Buzz'\n```" in second_prompt
    assert "Error: AssertionError: fizzbuzz(10) returned '10', expected 'Buzz'" in second_prompt
    assert first.answer in second_prompt  # the model sees its own first answer
    third_prompt = model.calls[2][0]
    assert third_prompt.count("<|im_start|>user") == 3 and "fizzbuzz(9) returned '9'" in third_prompt
    assert G.repair_rate([trace]) == 1.0


def test_repair_gives_up_after_the_rounds():
    model = ScriptedModel([f"{FIZZ.signature}\n{FIZZ_WRONG}"] * 3)
    first = G.solve(model, FIZZ)[0]
    trace = G.repair(model, FIZZ, first, rounds=2)
    assert not trace.repaired and trace.rounds_used == 2
    assert G.repair_rate([trace]) == 0.0 and math.isnan(G.repair_rate([]))


def test_repair_and_feedback_reject_passing_code_and_bad_settings():
    model = ScriptedModel([f"{FIZZ.signature}\n{FIZZ_RIGHT}"])
    good = G.solve(model, FIZZ)[0]
    with pytest.raises(ValueError, match="already passes"):
        G.repair(model, FIZZ, good)
    with pytest.raises(ValueError, match="nothing to repair"):
        G.feedback_message(good.result)
    with pytest.raises(ValueError, match="rounds must be >= 1"):
        G.repair(model, FIZZ, good, rounds=0)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        G.generate(model, G.task_prompt(FIZZ), temperature=-1)
    with pytest.raises(ValueError, match="n must be >= 1"):
        G.solve(model, FIZZ, n=0)


# -- the real model, briefly ---------------------------------------------------------------------

def test_smollm2_writes_add_greedily():
    from course_utils.llm import smollm2

    model = smollm2.load_smollm2(n_ctx=1024, n_threads=1)
    candidate = G.solve(model, G.task_by_name("add"), max_tokens=48)[0]
    assert candidate.passed, candidate.answer
    again = G.solve(model, G.task_by_name("add"), max_tokens=48)[0]
    assert again.answer == candidate.answer  # greedy decoding is reproducible


def test_extract_code_keeps_a_cut_off_body_for_the_sandbox_to_report():
    answer = "```python\ndef add(a, b):\n    total = a + b\n    return (total,\n"
    code = G.extract_code(answer, "add")
    assert code == "def add(a, b):\n    total = a + b\n    return (total,\n"
    assert sandbox.run_python(code, ["assert add(1, 2) == 3"]).status == "syntax error"


def test_rate_upper_bound_golden_values():
    assert G.rate_upper_bound(0, 12) == pytest.approx(1 - 0.05 ** (1 / 12), abs=1e-9)  # 0.221
    assert G.rate_upper_bound(0, 100) == pytest.approx(0.0295, abs=1e-4)  # "rule of three"
    assert G.rate_upper_bound(3, 10) == pytest.approx(0.6066, abs=1e-4)  # scipy beta.ppf
    assert G.rate_upper_bound(5, 5) == 1.0
    with pytest.raises(ValueError, match="successes must be <= 4"):
        G.rate_upper_bound(5, 4)
