"""Run untrusted Python (model-written code and its tests) in a guarded subprocess (chapter 13).

**A teaching sandbox, not a security boundary.** It stops the accidents a language model's code
makes - an endless loop, a runaway allocation, a fork bomb, a stray network call, files written
all over the place - and it shows how each guard works. It does not stop a determined attacker:
code can undo the Python-level guards (e.g. with ``ctypes``), and files outside the sandbox's
temporary folder are protected only by ordinary file permissions. Run code you do not trust
inside a container or a virtual machine.

One call::

    result = run_python("def add(a, b):\\n    return a + b", ["assert add(1, 2) == 3"])
    result.passed, result.status, result.failed_test, result.error

How a run is guarded (each guard has a unit test in ``tests/test_sandbox.py``):

====================  =========================================================================
guard                 how
====================  =========================================================================
fresh interpreter     ``sys.executable -I -S``: isolated mode (no ``PYTHON*`` variables, no user
                      site-packages) and no ``site`` (only the standard library can be imported)
fresh folder          a new temporary folder is the working directory (and ``HOME``/``TMPDIR``);
                      it is deleted afterwards
minimal environment   only ``PATH``, ``HOME``, ``TMPDIR``, ``LANG``/``LC_ALL``
wall-clock timeout    after ``timeout_s`` the whole process group is killed (``SIGKILL``)
CPU time              ``RLIMIT_CPU`` (kernel: ``SIGXCPU``, then ``SIGKILL``)
memory                ``RLIMIT_AS``: address space; allocations beyond it raise ``MemoryError``
file size             ``RLIMIT_FSIZE``: no file (stdout and stderr included) beyond ``file_mb``
processes             the prelude disables ``os.fork``, ``subprocess`` & co.; ``RLIMIT_NPROC`` adds
                      a kernel limit for ordinary users (root is exempt from it)
network               the prelude disables socket creation; on Linux the process also gets its
                      own empty network namespace when the system allows it (root, or
                      unprivileged user namespaces)
====================  =========================================================================

:func:`guards` says which guards the current machine enforces in the kernel.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from course_utils.core.validation import check_float, check_int

try:  # POSIX only (Linux, macOS)
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
TAIL_CHARS = 2000  # characters of stdout / stderr kept in a result


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one sandboxed run."""

    timeout_s: float = 5.0  # wall clock; the process group is killed after it
    memory_mb: int = 256  # address space (RLIMIT_AS); Python itself needs ~30 MB
    cpu_s: int | None = None  # CPU seconds (RLIMIT_CPU); None: ceil(timeout_s) + 1
    file_mb: float = 1.0  # largest file the program may write, stdout/stderr included
    max_processes: int = 8  # kernel budget of extra processes/threads (RLIMIT_NPROC, not root)
    block_network: bool = True  # Python-level socket guard (+ network namespace when possible)

    def __post_init__(self) -> None:
        check_float("timeout_s", self.timeout_s, low=0.1, high=600)
        check_int("memory_mb", self.memory_mb, low=32, high=65536)
        if self.cpu_s is not None:
            check_int("cpu_s", self.cpu_s, low=1, high=600)
        check_float("file_mb", self.file_mb, low=0.01, high=1024)
        check_int("max_processes", self.max_processes, low=0, high=1024)

    @property
    def cpu_limit_s(self) -> int:
        """The CPU-time limit actually set."""
        return self.cpu_s if self.cpu_s is not None else math.ceil(self.timeout_s) + 1


@dataclass(frozen=True)
class SandboxResult:
    """What happened when a program and its tests ran in the sandbox.

    ``status`` is one of:

    - ``"passed"``: the code ran and every test passed;
    - ``"failed"``: a test raised ``AssertionError`` (``failed_test`` is its source);
    - ``"error"``: the code or a test raised another exception (``error`` names it);
    - ``"syntax error"``: the code (or a test) does not compile;
    - ``"timeout"``: killed after the wall-clock limit;
    - ``"crashed"``: the interpreter died without reporting (e.g. killed by ``SIGXCPU``).
    """

    passed: bool  # True only for status "passed"
    status: str  # see above
    tests_passed: int  # tests that passed before the run ended
    tests_total: int
    failed_test: str | None  # source of the first failing (or running, on timeout) test
    error: str | None  # e.g. "AssertionError: add(1, 2) returned -1, expected 3"
    stdout: str  # last TAIL_CHARS characters
    stderr: str  # last TAIL_CHARS characters (a traceback, if any)
    timed_out: bool
    returncode: int | None  # negative: killed by that signal
    seconds: float  # wall clock, interpreter start-up included
    guards: dict[str, str] = field(default_factory=dict, repr=False)  # see guards()

    def summary(self) -> str:
        """One line for tables: status, tests passed, the error if any."""
        text = f"{self.status} ({self.tests_passed}/{self.tests_total} tests)"
        return f"{text}: {self.error}" if self.error else text


# -- the runner: what the subprocess executes ----------------------------------------------------

# The prelude installs the Python-level guards, then the runner executes the code and the tests
# one by one and reports each step as a JSON line on a pipe. The code, the tests and the pipe's
# file descriptor come in as JSON on stdin: nothing is pasted into source.
RUNNER = r'''
import json, os, sys
_job = json.loads(sys.stdin.read())
_report = os.fdopen(_job["report_fd"], "w", buffering=1)
def _send(**event):
    _report.write(json.dumps(event)[:4000] + "\n")
    _report.flush()

def _guard(what):
    def blocked(*args, **kwargs):
        raise PermissionError(f"{what} is disabled in the sandbox")
    return blocked

if %(block_network)r:
    import socket, _socket
    for _name in ("socket", "socketpair", "create_connection", "create_server", "fromfd",
                  "getaddrinfo", "gethostbyname"):
        setattr(socket, _name, _guard("network access"))
        if hasattr(_socket, _name):
            setattr(_socket, _name, _guard("network access"))
for _name in ("fork", "forkpty", "vfork", "system", "popen", "posix_spawn", "posix_spawnp",
              "execv", "execve", "execl", "execle", "execlp", "execlpe", "execvp", "execvpe",
              "spawnv", "spawnve", "spawnl", "spawnle", "setsid", "killpg", "kill"):
    if hasattr(os, _name):
        setattr(os, _name, _guard("starting or signalling processes"))
import _posixsubprocess  # what subprocess and multiprocessing start processes with
_posixsubprocess.fork_exec = _guard("starting processes")

def _describe(error, test):
    """'Type: message', plus what each side of a failing `assert a == b` (or `is`) evaluated
    to."""
    text = f"{type(error).__name__}: {error}".rstrip(": ")
    if isinstance(error, AssertionError) and not str(error) and test is not None:
        import ast
        try:
            node = ast.parse(test).body[-1]
            cmp = node.test
            if (isinstance(node, ast.Assert) and isinstance(cmp, ast.Compare)
                    and len(cmp.ops) == 1 and isinstance(cmp.ops[0], (ast.Eq, ast.Is))):
                got = eval(compile(ast.Expression(cmp.left), "<test>", "eval"), _namespace)
                expected = eval(compile(ast.Expression(cmp.comparators[0]), "<test>", "eval"),
                                _namespace)
                text = (f"AssertionError: {ast.unparse(cmp.left)} returned {got!r}, "
                        f"expected {expected!r}")
        except BaseException:
            pass
    return text[:1000]

_namespace = {"__name__": "__main__", "__builtins__": __builtins__}
_stage, _test = "code", None
try:
    _compiled = compile(_job["code"], "<candidate>", "exec")
    _tests = [compile(t, f"<test {i + 1}>", "exec") for i, t in enumerate(_job["tests"])]
except SyntaxError as _error:
    _send(event="syntax", error=f"SyntaxError: {_error.msg} (line {_error.lineno})",
          where=_error.filename)
    sys.exit(0)
_send(event="start")
try:
    exec(_compiled, _namespace)
    _stage = "tests"
    for _i, _code in enumerate(_tests):
        _test = _job["tests"][_i]
        _send(event="test", index=_i)
        exec(_code, _namespace)
        _send(event="pass", index=_i)
except BaseException as _error:
    if isinstance(_error, MemoryError):  # drop the frames that hold the memory, then report
        _error.__traceback__ = None
    else:
        import traceback
        traceback.print_exc()
        sys.stderr.flush()
    _send(event="fail" if _stage == "tests" and isinstance(_error, AssertionError) else "error",
          stage=_stage, index=_i if _stage == "tests" else None, error=_describe(_error, _test))
    sys.exit(0)
sys.stdout.flush()
_send(event="done")
'''


# -- guards that depend on the machine ----------------------------------------------------------

def _libc_unshare():
    """``unshare(2)`` from the C library, or None (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.unshare
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        return None


_UNSHARE = _libc_unshare()


def _network_namespace_flags() -> int:
    """Flags for an empty network namespace: root can create one directly; an ordinary user
    needs a user namespace around it."""
    return _CLONE_NEWNET if os.geteuid() == 0 else (_CLONE_NEWUSER | _CLONE_NEWNET)


@lru_cache(maxsize=1)
def network_namespace_available() -> bool:
    """Whether this machine lets the sandbox give a process its own empty network namespace
    (checked once, by trying it on a throw-away process)."""
    if _UNSHARE is None:
        return False
    flags = _network_namespace_flags()

    def enter() -> None:
        if _UNSHARE(flags) != 0:
            raise OSError("unshare failed")

    try:
        subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], preexec_fn=enter,
                       timeout=10, check=True, capture_output=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def _user_task_count() -> int | None:
    """Processes + threads that belong to this user (what RLIMIT_NPROC counts on Linux), or
    None where /proc is not available."""
    uid = os.getuid()
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return None
    total = 0
    for entry in entries:
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                status = f.read()
        except OSError:
            continue  # the process ended meanwhile
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            total += int(fields.get("Threads", "1"))
    return total


def guards() -> dict[str, str]:
    """Each guard and how this machine enforces it (for tables and for honest reporting).

    Returns:
        guard name -> description, e.g. ``{"network": "Python guard + empty network namespace"}``.
    """
    root = os.geteuid() == 0 if hasattr(os, "geteuid") else False
    linux = sys.platform.startswith("linux")
    return {
        "timeout": "wall clock: the process group is killed",
        "cpu": "kernel (RLIMIT_CPU)",
        "memory": "kernel (RLIMIT_AS)" if linux else "RLIMIT_AS (not enforced by every OS)",
        "file size": "kernel (RLIMIT_FSIZE)",
        "processes": ("Python guard only (root is exempt from RLIMIT_NPROC)" if root
                      else "Python guard + kernel (RLIMIT_NPROC)"),
        "network": ("Python guard + empty network namespace" if network_namespace_available()
                    else "Python guard only"),
        "files": "fresh temporary folder as working directory, deleted afterwards; "
                 "other paths only protected by file permissions",
    }


def _limit_child(limits: SandboxLimits, nproc: int | None, netns_flags: int) -> None:
    """``preexec_fn``: runs in the child between fork and exec, so only system calls here.

    (Python warns that ``preexec_fn`` can deadlock in a program with threads if the child needs
    a lock that another thread held at the fork; setrlimit and unshare take no such lock.)
    """
    wanted = [("RLIMIT_CPU", limits.cpu_limit_s), ("RLIMIT_FSIZE", int(limits.file_mb * 2**20)),
              ("RLIMIT_CORE", 0), ("RLIMIT_AS", limits.memory_mb * 2**20),
              ("RLIMIT_NPROC", nproc)]
    for name, value in wanted:
        if value is None or not hasattr(resource, name):
            continue
        which = getattr(resource, name)
        hard = resource.getrlimit(which)[1]
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)  # an unprivileged process cannot raise its hard limit
        # CPU: the soft limit sends SIGXCPU, the hard one a second later SIGKILL
        high = value + 1 if name == "RLIMIT_CPU" and (hard == resource.RLIM_INFINITY
                                                       or value < hard) else value
        try:
            resource.setrlimit(which, (value, high))
        except (ValueError, OSError):
            if sys.platform.startswith("linux"):
                raise
            # some systems (macOS) do not enforce every limit: that guard is then missing
    if netns_flags and _UNSHARE is not None and _UNSHARE(netns_flags) != 0:
        raise OSError("could not create a network namespace")


# -- running ------------------------------------------------------------------------------------

def _tail(data: bytes, chars: int = TAIL_CHARS) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= chars else "..." + text[-chars:]


def _read_tail(f) -> str:
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(max(0, size - 4 * TAIL_CHARS))
    return _tail(f.read())


def _check_sources(code: object, tests: object) -> list[str]:
    if not isinstance(code, str):
        raise ValueError(f"code must be a string of Python source, got {type(code).__name__}.")
    if isinstance(tests, str):
        raise ValueError("tests must be a list of strings (one test each), not one string.")
    tests = list(tests)  # type: ignore[call-overload]
    for i, test in enumerate(tests):
        if not isinstance(test, str) or not test.strip():
            raise ValueError(f"test {i + 1} must be a non-empty string, got {test!r}.")
    if len(code) + sum(map(len, tests)) > 200_000:
        raise ValueError("code and tests are longer than 200,000 characters.")
    return tests


def run_python(code: str, tests: Sequence[str] = (), *, timeout_s: float = 5.0,
               memory_mb: int = 256, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``code`` and then each test (a statement such as ``"assert f(2) == 4"``) in a
    guarded subprocess.

    The tests run in the code's namespace, in order, and the run stops at the first test that
    fails. A failing ``assert a == b`` is reported with both sides evaluated
    ("f(2) returned 5, expected 4"), which is the feedback a repair loop needs.

    Args:
        code: Python source, e.g. a function definition.
        tests: statements run after ``code``; each one is a test.
        timeout_s: wall-clock limit in seconds (interpreter start-up included).
        memory_mb: address-space limit in MiB.
        limits: all limits at once (overrides ``timeout_s`` and ``memory_mb``).

    Returns:
        A :class:`SandboxResult`.

    Raises:
        ValueError: bad arguments (not strings, an empty test, absurd limits).
        RuntimeError: not a POSIX system (the sandbox needs ``resource`` and process groups).
    """
    tests = _check_sources(code, tests)
    if limits is None:
        limits = SandboxLimits(timeout_s=timeout_s, memory_mb=memory_mb)
    if resource is None or os.name != "posix":  # pragma: no cover - Windows
        raise RuntimeError("The sandbox needs a POSIX system (Linux or macOS).")
    root = os.geteuid() == 0
    nproc = None
    if not root:
        count = _user_task_count()
        nproc = None if count is None else count + limits.max_processes
    netns = (_network_namespace_flags()
             if limits.block_network and network_namespace_available() else 0)
    script = RUNNER % {"block_network": limits.block_network}

    with tempfile.TemporaryDirectory(prefix="course-sandbox-") as folder, \
            tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryFile() as stdin:
        env = {"PATH": "/usr/bin:/bin", "HOME": folder, "TMPDIR": folder,
               "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        read_fd, write_fd = os.pipe()
        stdin.write(json.dumps({"code": code, "tests": tests, "report_fd": write_fd}).encode())
        stdin.seek(0)
        events: list[dict] = []
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", script], cwd=folder, env=env,
                stdin=stdin, stdout=out, stderr=err, pass_fds=(write_fd,),
                start_new_session=True, close_fds=True,
                preexec_fn=lambda: _limit_child(limits, nproc, netns))
        finally:
            os.close(write_fd)
        reader = threading.Thread(target=_read_events, args=(read_fd, events), daemon=True)
        reader.start()
        timed_out = False
        try:
            returncode: int | None = proc.wait(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            returncode = None
        finally:
            try:  # whatever is left of the process group (children included) goes
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if timed_out:
                returncode = proc.wait()
        seconds = time.perf_counter() - start
        reader.join(timeout=2)
        stdout, stderr = _read_tail(out), _read_tail(err)
    return _result(events, tests, stdout, stderr, timed_out, returncode, seconds)


def _read_events(fd: int, events: list[dict]) -> None:
    """Collect the runner's JSON lines until the pipe closes (runs in a thread)."""
    buffer = b""
    with os.fdopen(fd, "rb") as pipe:
        while chunk := pipe.read1(65536):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue  # garbage written to the pipe by the program itself


def _result(events: list[dict], tests: list[str], stdout: str, stderr: str, timed_out: bool,
            returncode: int | None, seconds: float) -> SandboxResult:
    """Turn the runner's events into a SandboxResult."""
    passed_tests = sum(e.get("event") == "pass" for e in events)
    last = events[-1] if events else {}
    kind = last.get("event")
    failed_test, error = None, None
    if timed_out:
        status = "timeout"
        running = [e["index"] for e in events if e.get("event") == "test"]
        if running and kind == "test":
            failed_test = tests[running[-1]]
        error = "TimeoutError: killed after the wall-clock limit"
    elif kind == "done":
        status = "passed"
    elif kind == "syntax":
        status, error = "syntax error", last.get("error")
    elif kind in ("fail", "error"):
        status, error = ("failed" if kind == "fail" else "error"), last.get("error")
        if last.get("index") is not None:
            failed_test = tests[last["index"]]
    else:
        status = "crashed"
        if returncode is not None and returncode < 0:
            name = signal.Signals(-returncode).name
            reason = {"SIGXCPU": " (CPU time limit)", "SIGKILL": " (killed)",
                      "SIGXFSZ": " (file size limit)"}.get(name, "")
            error = f"killed by {name}{reason}"
        else:
            error = f"the interpreter exited with code {returncode} before reporting"
            last_line = stderr.strip().splitlines()[-1:]
            if last_line:
                error += f" ({last_line[0][:200]})"
        if kind == "test":
            failed_test = tests[last["index"]]
    return SandboxResult(passed=status == "passed", status=status, tests_passed=passed_tests,
                         tests_total=len(tests), failed_test=failed_test, error=error,
                         stdout=stdout, stderr=stderr, timed_out=timed_out,
                         returncode=returncode, seconds=seconds, guards=guards())
