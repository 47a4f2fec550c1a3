"""Install-time check of the LLM engine: can llama.cpp load SmolLM2 and generate here?

llama-cpp-python compiles llama.cpp on install. A build tuned for one CPU can crash on
another (a segmentation fault or an illegal instruction inside ``decode``), which would take a
notebook kernel or a test run down with it. ``make`` therefore runs this check right after
installing: it loads SmolLM2 and generates a few tokens **in a child process**, so a crash
becomes a clear message and a non-zero exit instead of a dead interpreter later.

    python -m course_utils.llm.engine_check                  # the install-time check
    python -m course_utils.llm.engine_check --tokens 128 --threads 2 --repeats 3  # a benchmark

The child prints one JSON line: tokens generated, seconds, tokens per second (greedy decoding
of ``--tokens`` new tokens after a fixed prompt, prompt evaluation excluded) and llama.cpp's
own report of the CPU features it was built with.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from dataclasses import dataclass

PROMPT = "The three primary colours are"

#: How to rebuild the engine; the Makefile reads LLAMA_CMAKE_ARGS (see README, "Set-up").
REBUILD_HINT = (
    "Rebuild the engine, e.g.\n"
    "    make venv LLAMA_CMAKE_ARGS=\"-DGGML_NATIVE=OFF\"            (portable, the default)\n"
    "    make venv LLAMA_CMAKE_ARGS=\"-DGGML_NATIVE=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF "
    "-DGGML_F16C=OFF\"   (a CPU older than AVX2)\n"
    "Changing LLAMA_CMAKE_ARGS recompiles llama-cpp-python (a few minutes, no wheel cache).")

# Runs in the child: everything that touches native code happens here.
_CHILD = r"""
import json, sys, time
import llama_cpp
from course_utils.llm.engine import gguf_path
tokens, threads, repeats, prompt = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
llama = llama_cpp.Llama(model_path=str(gguf_path()), n_ctx=512, n_threads=threads,
                        n_threads_batch=threads, seed=0, verbose=False)
best, text = None, ""
for _ in range(repeats):
    ids = llama.tokenize(prompt.encode(), add_bos=True)
    llama.reset()
    llama.eval(ids)  # the prompt, outside the timed part
    out = []
    start = time.perf_counter()
    for _ in range(tokens):
        token = llama.sample(temp=0.0)  # greedy: the same tokens on every run
        out.append(token)
        llama.eval([token])
    seconds = time.perf_counter() - start
    best = seconds if best is None else min(best, seconds)
    text = llama.detokenize(out).decode("utf-8", errors="replace")
info = llama_cpp.llama_print_system_info().decode(errors="replace").strip()
llama.close()
print(json.dumps({"tokens": tokens, "threads": threads, "seconds": best,
                  "tokens_per_second": tokens / best, "text": text, "system_info": info}))
"""


@dataclass(frozen=True)
class EngineReport:
    """Outcome of one check: ``ok`` is False when the child crashed, failed or hung."""

    ok: bool
    message: str  # what happened, in words
    tokens_per_second: float | None = None
    text: str = ""  # the generated continuation
    system_info: str = ""  # llama.cpp's CPU-feature line


def describe_exit(returncode: int) -> str:
    """Words for a child's exit status; a negative code is the signal that killed it."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"crashed with {name}"
    return f"exited with status {returncode}"


def check_engine(tokens: int = 8, threads: int = 2, repeats: int = 1,
                 timeout: float = 180.0, python: str = sys.executable,
                 child_code: str = _CHILD) -> EngineReport:
    """Load SmolLM2 with llama.cpp in a child process and generate ``tokens`` tokens.

    Args:
        tokens: new tokens to generate (greedy), at least 1.
        threads: llama.cpp threads.
        repeats: timed runs; the fastest is reported.
        timeout: seconds before the child counts as hung.
        python: interpreter for the child (the course environment's).
        child_code: the child's program (a test replaces it to exercise the failure path).

    Returns:
        An :class:`EngineReport`; it never raises for a broken engine.
    """
    for name, value in (("tokens", tokens), ("threads", threads), ("repeats", repeats)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    command = [python, "-c", child_code, str(tokens), str(threads), str(repeats), PROMPT]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return EngineReport(False, f"the engine did not finish {tokens} tokens in "
                                   f"{timeout:.0f} s (hung)")
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        return EngineReport(False, f"loading SmolLM2 and generating {describe_exit(proc.returncode)}"
                                   + (f":\n{tail}" if tail else ""))
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return EngineReport(False, f"the engine printed no result: {proc.stdout[-500:]!r}")
    if not result["text"].strip():
        return EngineReport(False, "the engine ran but generated only empty text")
    return EngineReport(True, f"generated {result['tokens']} tokens at "
                              f"{result['tokens_per_second']:.1f} tokens/s "
                              f"({result['threads']} thread(s))",
                        tokens_per_second=result["tokens_per_second"], text=result["text"],
                        system_info=result["system_info"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.llm.engine_check",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=8, help="new tokens (default 8)")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs, fastest reported")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds before 'hung'")
    args = parser.parse_args(argv)
    report = check_engine(args.tokens, args.threads, args.repeats, args.timeout)
    if not report.ok:
        print("\nLLM engine check FAILED: llama-cpp-python cannot run SmolLM2 on this machine;\n"
              f"{report.message}\n\n{REBUILD_HINT}\n", file=sys.stderr)
        return 1
    print(f"LLM engine check passed: {report.message}.")
    print(f"  SmolLM2 continued {PROMPT!r} with {report.text!r}")
    print(f"  llama.cpp built for: {report.system_info}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
