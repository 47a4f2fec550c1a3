"""The sandbox: every guard shown working on a deliberately bad program, plus good and failing
candidates and bad input. Each run starts a fresh interpreter (~0.05-0.1 s)."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from course_utils.llm import sandbox as S

ADD = "def add(a, b):\n    return a + b\n"


def test_a_correct_candidate_passes_every_test():
    result = S.run_python(ADD, ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"])
    assert result.passed and result.status == "passed"
    assert (result.tests_passed, result.tests_total) == (2, 2)
    assert result.failed_test is None and result.error is None and not result.timed_out
    assert result.returncode == 0 and 0 < result.seconds < 5


def test_a_wrong_candidate_names_the_failing_test_and_both_sides():
    wrong = "def add(a, b):\n    return a - b\n"
    result = S.run_python(wrong, ["assert add(2, 0) == 2", "assert add(2, 3) == 5",
                                  "assert add(1, 1) == 2"])
    assert not result.passed and result.status == "failed"
    assert result.tests_passed == 1 and result.failed_test == "assert add(2, 3) == 5"
    assert result.error == "AssertionError: add(2, 3) returned -1, expected 5"
    assert "AssertionError" in result.stderr  # the traceback is kept


def test_an_assert_message_is_kept():
    result = S.run_python(ADD, ["assert add(1, 1) == 3, 'one and one'"])
    assert result.status == "failed" and result.error == "AssertionError: one and one"


@pytest.mark.parametrize("code, status, error", [
    ("def add(a, b)\n    return a + b", "syntax error", "SyntaxError: expected ':' (line 1)"),
    ("def add(a, b):\n    return a + c", "error", "NameError: name 'c' is not defined"),
    ("raise ValueError('at import')", "error", "ValueError: at import"),
    ("import sys\nsys.exit(3)", "error", "SystemExit: 3"),
])
def test_errors_are_classified(code, status, error):
    result = S.run_python(code, ["assert add(1, 2) == 3"])
    assert (result.status, result.error) == (status, error)
    assert not result.passed and result.tests_passed == 0


def test_stdout_is_captured_and_only_its_tail_kept():
    result = S.run_python("print('hello')\nprint('x' * 5000)\nprint('end')")
    assert result.passed
    assert result.stdout.endswith("x" * 100 + "\nend\n")
    assert len(result.stdout) <= S.TAIL_CHARS + 3


def test_an_infinite_loop_times_out_and_names_the_running_test():
    code = "def spin():\n    while True:\n        pass\n"
    start = time.perf_counter()
    result = S.run_python(code, ["assert 1 == 1", "spin()"], timeout_s=1.0)
    assert result.timed_out and result.status == "timeout" and not result.passed
    assert result.failed_test == "spin()" and result.tests_passed == 1
    assert result.returncode == -9  # SIGKILL
    assert 1.0 <= time.perf_counter() - start < 4


def test_cpu_time_limit_kills_a_busy_program_before_the_wall_clock():
    limits = S.SandboxLimits(timeout_s=10, cpu_s=1)
    result = S.run_python("while True:\n    pass", limits=limits)
    assert result.status == "crashed" and not result.timed_out
    assert result.error == "killed by SIGXCPU (CPU time limit)"
    assert result.seconds < 8


def test_a_huge_allocation_raises_memory_error():
    result = S.run_python("data = bytearray(4 * 2**30)", memory_mb=128)
    assert result.status == "error" and result.error.startswith("MemoryError")


def test_the_memory_limit_leaves_room_for_ordinary_programs():
    result = S.run_python("data = bytearray(32 * 2**20)\nprint(len(data))", memory_mb=128)
    assert result.passed and result.stdout.strip() == str(32 * 2**20)


def test_sockets_are_blocked():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)"
    try:
        result = S.run_python(code)
    finally:
        server.close()
    assert result.status == "error"
    assert result.error == "PermissionError: network access is disabled in the sandbox"


@pytest.mark.skipif(not S.network_namespace_available(), reason="no network namespaces here")
def test_the_network_namespace_stops_code_that_undoes_the_python_guard():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    # Re-import the socket modules from scratch: the Python-level guard is gone...
    code = ("import sys\nfor m in ('socket', '_socket'):\n    sys.modules.pop(m, None)\n"
            "import importlib.util, _imp\n"
            "spec = importlib.util.find_spec('_socket')\n"
            "mod = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(mod)\n"
            "sys.modules['_socket'] = mod\nimport socket\n"
            "s = socket.socket()\n"  # ...this works again...
            "print('socket created')\n"
            f"s.settimeout(1)\ns.connect(('127.0.0.1', {port}))\nprint('connected')\n")
    try:
        result = S.run_python(code)
    finally:
        server.close()
    assert "socket created" in result.stdout, result.summary()  # the guard was undone
    assert "connected" not in result.stdout.replace("socket created", "")  # the kernel said no
    assert result.status == "error" and "OSError" in result.error


def test_files_stay_in_a_temporary_folder_that_is_removed():
    code = ("import os\nopen('note.txt', 'w').write('hello')\n"
            "print(os.getcwd())\nprint(os.environ['HOME'])\nprint(sorted(os.listdir('.')))")
    result = S.run_python(code)
    assert result.passed, result.summary()
    folder, home, listing = result.stdout.splitlines()
    assert folder == home and Path(folder).name.startswith("course-sandbox-")
    assert listing == "['note.txt']"  # a fresh, empty folder (stdout/err live elsewhere)
    assert not Path(folder).exists()  # removed with what was written in it
    assert not Path("note.txt").exists()


def test_the_environment_is_minimal_and_isolated():
    os.environ["COURSE_SANDBOX_SECRET"] = "do not leak"
    try:
        result = S.run_python("import os, sys\nprint(sorted(os.environ))\nprint(sys.flags.isolated)"
                              "\nprint(sys.flags.no_site)")
    finally:
        del os.environ["COURSE_SANDBOX_SECRET"]
    names, isolated, no_site = result.stdout.splitlines()
    assert names == "['HOME', 'LANG', 'LC_ALL', 'PATH', 'TMPDIR']"
    assert (isolated, no_site) == ("1", "1")


def test_file_size_is_limited():
    result = S.run_python("open('big.bin', 'wb').write(b'x' * (3 * 2**20))",
                          limits=S.SandboxLimits(file_mb=1))
    assert result.status == "error" and result.error == "OSError: [Errno 27] File too large"


def test_a_flood_of_output_is_cut_by_the_file_size_limit():
    result = S.run_python("while True:\n    print('x' * 1000)", timeout_s=5)
    assert result.status == "error" and "File too large" in result.error
    assert not result.timed_out


def test_a_fork_bomb_is_stopped():
    bomb = "import os\nwhile True:\n    os.fork()"
    result = S.run_python(bomb)
    assert result.status == "error"
    assert result.error == ("PermissionError: starting or signalling processes is disabled in "
                            "the sandbox")
    for code in ("import subprocess\nsubprocess.run(['true'])",
                 "import multiprocessing\nmultiprocessing.Process(target=print).start()"):
        assert "PermissionError" in S.run_python(code).error


@pytest.mark.skipif(os.geteuid() == 0, reason="root is exempt from RLIMIT_NPROC")
def test_the_kernel_limits_processes_when_the_python_guard_is_undone():
    # a bounded bomb through the C library: the Python guard does not see it
    code = ("import ctypes, time\nlibc = ctypes.CDLL(None, use_errno=True)\nmade = 0\n"
            "for _ in range(200):\n    pid = libc.fork()\n"
            "    if pid == 0:\n        time.sleep(3)\n        libc._exit(0)\n"
            "    if pid < 0:\n        break\n    made += 1\nprint(made)")
    result = S.run_python(code, limits=S.SandboxLimits(max_processes=5, timeout_s=5))
    assert int(result.stdout.split()[0]) <= 5


def test_guards_describe_this_machine():
    guards = S.guards()
    assert set(guards) == {"timeout", "cpu", "memory", "file size", "processes", "network",
                           "files"}
    assert ("root" in guards["processes"]) == (os.geteuid() == 0)


def test_runs_can_go_in_parallel_threads():
    results = [None] * 4

    def run(i):
        results[i] = S.run_python(ADD, [f"assert add({i}, 1) == {i + 1}"])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.passed for r in results)


@pytest.mark.parametrize("kwargs, message", [
    ({"code": None}, "code must be a string"),
    ({"tests": "assert add(1, 2) == 3"}, "list of strings"),
    ({"tests": ["assert True", ""]}, "test 2 must be a non-empty string"),
    ({"timeout_s": 0}, "timeout_s must be >= 0.1"),
    ({"memory_mb": 4}, "memory_mb must be >= 32"),
    ({"code": "x" * 300_000}, "longer than 200,000"),
])
def test_bad_input_is_rejected_with_a_clear_message(kwargs, message):
    arguments = {"code": ADD, "tests": ["assert add(1, 2) == 3"], **kwargs}
    code = arguments.pop("code")
    with pytest.raises(ValueError, match=message):
        S.run_python(code, **arguments)


def test_limits_are_checked():
    with pytest.raises(ValueError, match="max_processes"):
        S.SandboxLimits(max_processes=-1)
    assert S.SandboxLimits(timeout_s=2.5).cpu_limit_s == 4
    assert sys.executable  # the sandbox runs this interpreter
