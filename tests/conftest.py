"""Shared fixtures for the test suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (holds _toc.yml)."""
    return ROOT


@dataclass(frozen=True)
class BuiltBook:
    """Result of one `jupyter-book build` of the repository."""

    html: Path  # folder with index.html
    log: str  # stdout + stderr of the build
    returncode: int
    seconds: float


def toc_pages() -> list[str]:
    """Every page of _toc.yml, as paths relative to the root without extension."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> BuiltBook:
    """Build the book exactly like `make book` (warnings are errors), into a temp folder."""
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(ROOT), "--path-output", str(out),
               "--builder", "html", "-W", "-n", "--keep-going"]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    seconds = time.perf_counter() - start
    print(f"\nbook build: {seconds:.1f} s")
    return BuiltBook(html=out / "_build" / "html", log=proc.stdout + proc.stderr,
                     returncode=proc.returncode, seconds=seconds)


CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Playwright (skipped when Chromium is absent, except in CI)."""
    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI") or os.environ.get("COURSE_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required here (CI): install it, e.g. apt-get install chromium")
        pytest.skip("Chromium not installed (apt-get install chromium) - browser check skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch thread (steady timings, no oversubscription), then restore."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_terminal_summary(terminalreporter):
    """Seconds spent per test file (setup + call + teardown, summed over workers).

    The CI log then shows where the suite's time goes (notebooks in JupyterLab, book build and
    browser, unit tests), which is what the time budget is planned from.
    """
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            nodeid = getattr(report, "nodeid", "")
            duration = getattr(report, "duration", None)
            if not nodeid or duration is None:
                continue
            part = nodeid.split("::")[0]
            totals[part] = totals.get(part, 0.0) + duration
            if getattr(report, "when", "") == "call":
                counts[part] = counts.get(part, 0) + 1
    if not totals:
        return
    terminalreporter.section("time per suite part (summed over workers)")
    for part, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds:8.1f} s  {counts.get(part, 0):4d} tests  {part}")
    terminalreporter.write_line(f"{sum(totals.values()):8.1f} s  in all")
