"""Run every chapter in a real JupyterLab, in headless Chromium, as a learner would.

This is the one execution of each notebook in `make test`. For each notebook: open it in
JupyterLab, clear outputs, "Run All", and check that every cell ran without an error, that
the cells nbval checks (``# NBVAL_CHECK_OUTPUT``) print what the stored notebook shows, that
widgets and Plotly figures are drawn by JupyterLab's own renderers, and that moving the first
slider keeps the notebook healthy. The notebooks are copied to a temporary folder first, so
JupyterLab's autosave cannot touch the repository.

Under pytest-xdist every worker runs its own JupyterLab; the cores are shared out between
the workers' kernels (``COURSE_THREADS``) so that two notebooks in parallel do not fight.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from stored_outputs import output_mismatches

pytestmark = pytest.mark.notebook

NOTEBOOKS = sorted(p.relative_to(ROOT / "notebooks").as_posix()
                   for p in (ROOT / "notebooks").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
TOKEN = "course-test-token"
RUN_ALL_TIMEOUT_MS = 300_000

START_RUN_ALL = """async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  window.jupyterapp.shell.activateById(panel.id);  // notebook commands act on the active one
  await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');
  // not awaited: the command's promise does not always settle; completion is polled below
  window.jupyterapp.commands.execute('notebook:run-all-cells');
}"""

# every code cell has an execution count and the kernel is idle again (or it died: a native
# crash in the kernel ends the wait at once instead of after the timeout)
ALL_DONE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const status = panel.sessionContext.session?.kernel?.status;
  if (['dead', 'autorestarting', 'restarting'].includes(status)) return true;
  const cells = panel.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type === 'code' && (cell.executionCount === null || cell.executionCount === undefined)) return false;
    if (cell.type === 'code' && cell.outputs.toJSON().some(o => o.output_type === 'error')) return true;
  }
  return panel.sessionContext.session?.kernel?.status === 'idle';
}"""

CELL_REPORT = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells;
  const report = {code: 0, executed: 0, errors: [],
                  kernel: panel.sessionContext.session?.kernel?.status ?? 'none'};
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    report.code += 1;
    if (cell.executionCount !== null && cell.executionCount !== undefined) report.executed += 1;
    for (const out of cell.outputs.toJSON()) {
      if (out.output_type === 'error') report.errors.push(`${out.ename}: ${out.evalue}`);
    }
  }
  return report;
}"""


def kernel_environment() -> dict[str, str]:
    """The environment for JupyterLab and its kernels: this worker's share of the cores."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    env = dict(os.environ)
    if workers > 1 and "COURSE_THREADS" not in env:
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        env.update(COURSE_THREADS=threads, OMP_NUM_THREADS=threads)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on loopback, serving a copy of notebooks/."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks")
    port = _free_port()
    command = [str(Path(sys.executable).parent / "jupyter-lab"), "--no-browser",
               f"--port={port}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={TOKEN}",
               f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True",
               # fresh settings and workspaces: no tabs restored from earlier sessions
               f"--LabApp.workspaces_dir={work / 'workspaces'}",
               f"--LabApp.user_settings_dir={work / 'settings'}", "--allow-root"]
    log = open(work / "lab.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=work,
                              env=kernel_environment())
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (work / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
    yield base
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(browser, lab, notebook):
    workspace = "w" + notebook.replace("/", "_").removesuffix(".ipynb")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        # a workspace of its own, reset: this notebook is the only open tab
        page.goto(f"{lab}/lab/workspaces/{workspace}/tree/notebooks/{notebook}"
                  f"?token={TOKEN}&reset")
        page.wait_for_function(
            "window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.content", timeout=90_000)
        page.evaluate(START_RUN_ALL)
        page.wait_for_timeout(1000)
        page.wait_for_function(ALL_DONE, timeout=RUN_ALL_TIMEOUT_MS, polling=1000)
        report = page.evaluate(CELL_REPORT)
        assert report["kernel"] not in ("dead", "autorestarting", "restarting"), \
            f"the kernel died (a crash in native code?) after {report['executed']} cells"
        assert report["errors"] == [], report["errors"]
        assert report["executed"] == report["code"] > 0, report
        executed = nbformat.from_dict(page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.model.toJSON()"))
        stored = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
        mismatches = output_mismatches(stored, executed)
        assert not mismatches, "\n\n".join(mismatches)

        notebook_panel = page.locator(".jp-NotebookPanel:visible")
        assert notebook_panel.locator(".jupyter-widgets").count() >= 1, "no widget drawn"
        notebook_panel.locator(".js-plotly-plot").first.wait_for(timeout=30_000)

        handle = notebook_panel.locator(".widget-slider .noUi-handle").first
        if handle.count():
            handle.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(3000)
            page.wait_for_function(
                "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                " === 'idle'", timeout=120_000)
            after = page.evaluate(CELL_REPORT)
            assert after["errors"] == [] and after["kernel"] == "idle", after
        assert not page_errors, page_errors[:5]
    finally:
        page.evaluate("window.jupyterapp && window.jupyterapp.shell.currentWidget"
                      " && window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        page.close()
