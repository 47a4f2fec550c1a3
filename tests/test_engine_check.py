"""The install-time LLM engine check: it must pass on a working build and fail clearly when
the engine crashes, without the crash reaching the caller."""

from __future__ import annotations

import pytest

from course_utils.llm import engine_check

CRASH = "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"
ILLEGAL = "import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n"


def test_a_working_engine_generates_text():
    report = engine_check.check_engine(tokens=4, threads=1)
    assert report.ok, report.message
    assert report.text.strip() and report.tokens_per_second > 0
    assert "AVX" in report.system_info or "NEON" in report.system_info  # llama.cpp's own line


@pytest.mark.parametrize(("child", "signal_name"), [(CRASH, "SIGSEGV"), (ILLEGAL, "SIGILL")])
def test_a_crashing_engine_is_reported_not_propagated(child, signal_name):
    report = engine_check.check_engine(child_code=child)
    assert not report.ok
    assert f"crashed with {signal_name}" in report.message


def test_a_failing_or_silent_or_hung_child_is_a_failure():
    failed = engine_check.check_engine(child_code="raise SystemExit('no model here')")
    assert not failed.ok and "status 1" in failed.message and "no model here" in failed.message
    silent = engine_check.check_engine(child_code="pass")
    assert not silent.ok and "no result" in silent.message
    hung = engine_check.check_engine(child_code="import time; time.sleep(30)", timeout=1)
    assert not hung.ok and "hung" in hung.message


def test_the_command_line_exits_nonzero_with_a_rebuild_hint(monkeypatch, capsys):
    broken = engine_check.EngineReport(False, "loading SmolLM2 crashed with SIGILL")
    monkeypatch.setattr(engine_check, "check_engine", lambda *a, **k: broken)
    assert engine_check.main([]) == 1
    err = capsys.readouterr().err
    assert "LLM engine check FAILED" in err and "LLAMA_CMAKE_ARGS" in err and "SIGILL" in err


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_arguments_are_refused(bad):
    with pytest.raises(ValueError, match="positive integer"):
        engine_check.check_engine(tokens=bad)
