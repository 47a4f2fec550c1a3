"""Execute the course notebooks, record how long they take, and keep the status page.

Command line (installed as ``course-notebooks``; the Makefile wraps it)::

    course-notebooks execute [PATH ...]   # run in a fresh kernel, store outputs in place
    course-notebooks timings [PATH ...]   # run copies, print a timing table, change nothing
    course-notebooks status               # rewrite book/status.md from stored metadata

``execute`` stores, in each notebook's metadata under ``"course"``, the SHA-256 of its code
cells (:func:`code_fingerprint`) and its wall-clock run time. The hygiene tests use the
fingerprint to fail when code changed after the outputs were produced.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

#: Time budget for one notebook on a 2-core machine, in seconds.
NOTEBOOK_BUDGET_S = 120
#: Time budget for the whole course, in seconds.
COURSE_BUDGET_S = 20 * 60
METADATA_KEY = "course"


def repo_root(start: Path | None = None) -> Path:
    """The folder holding ``_toc.yml`` (searched upwards from ``start`` or this file)."""
    here = (start or Path(__file__)).resolve()
    for folder in [here, *here.parents]:
        if (folder / "_toc.yml").exists():
            return folder
    raise FileNotFoundError("Could not find the course root (a folder with _toc.yml).")


def find_notebooks(paths: list[str] | None = None, root: Path | None = None) -> list[Path]:
    """Notebooks named by ``paths`` (files or folders), default: all under ``notebooks/``."""
    root = root or repo_root()
    targets = [Path(p) for p in paths] if paths else [root / "notebooks"]
    found: list[Path] = []
    for target in targets:
        if target.is_dir():
            found.extend(p for p in sorted(target.rglob("*.ipynb"))
                         if ".ipynb_checkpoints" not in p.parts)
        elif target.suffix == ".ipynb" and target.exists():
            found.append(target)
        else:
            raise FileNotFoundError(f"No notebook at {target}.")
    return [p.resolve() for p in found]


def code_fingerprint(nb: nbformat.NotebookNode) -> str:
    """SHA-256 of the notebook's code cells, in order (sources only, not outputs)."""
    sources = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    return hashlib.sha256(json.dumps(sources).encode("utf-8")).hexdigest()


def machine_summary() -> str:
    """Short description of where a run was timed, e.g. ``2 CPUs, Python 3.11.7, torch 2.13.0``."""
    import torch

    return (f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"torch {torch.__version__.split('+')[0]}")


def coalesce_streams(nb: nbformat.NotebookNode) -> None:
    """Merge consecutive ``stdout`` (or ``stderr``) chunks of a cell into one output.

    A kernel flushes long prints in several messages; stored separately they show as several
    boxes in the book.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged: list = []
        for out in cell.outputs:
            previous = merged[-1] if merged else None
            if (out.output_type == "stream" and previous is not None
                    and previous.output_type == "stream" and previous.name == out.name):
                previous.text += out.text
            else:
                merged.append(out)
        cell.outputs = merged


def execute_notebook(path: Path, save: bool = True, timeout: int = 300) -> float:
    """Run ``path`` top to bottom in a fresh kernel, from its own folder.

    Args:
        path: the ``.ipynb`` file.
        save: write outputs, widget state and metadata back into ``path``.
        timeout: per-cell limit in seconds.

    Returns:
        Wall-clock seconds the execution took.
    """
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # start clean: no stale outputs can survive a failed run
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=True)
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    coalesce_streams(nb)
    if save:
        nb.metadata[METADATA_KEY] = {
            "code_sha256": code_fingerprint(nb),
            "execution_seconds": round(seconds, 1),
            "executed_on": dt.date.today().isoformat(),
            "machine": machine_summary(),
        }
        nbformat.write(nb, path)
    return seconds


@dataclass(frozen=True)
class NotebookStatus:
    """One row of the status page."""

    path: str  # relative to the repository root
    title: str
    seconds: float | None
    executed_on: str
    machine: str


def notebook_title(nb: nbformat.NotebookNode) -> str:
    """The first ``# heading`` of the notebook."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "(untitled)"


def collect_status(root: Path | None = None) -> list[NotebookStatus]:
    """Read every notebook's stored metadata into status rows."""
    root = (root or repo_root()).resolve()
    rows = []
    for path in find_notebooks(root=root):
        nb = nbformat.read(path, as_version=4)
        meta = nb.metadata.get(METADATA_KEY, {})
        rows.append(NotebookStatus(path=path.relative_to(root).as_posix(), title=notebook_title(nb),
                                   seconds=meta.get("execution_seconds"),
                                   executed_on=meta.get("executed_on", "never"),
                                   machine=meta.get("machine", "")))
    return rows


def render_status_page(rows: list[NotebookStatus]) -> str:
    """The Markdown of ``book/status.md``: each notebook's measured execution time."""
    total = sum(r.seconds or 0 for r in rows)
    lines = [
        "# Status: notebook run times",
        "",
        "Every notebook is executed top to bottom in a fresh kernel before its outputs are "
        "stored (`make execute`). The time below is that run's wall-clock time; the budget is "
        f"{NOTEBOOK_BUDGET_S} s per notebook and {COURSE_BUDGET_S // 60} minutes for the whole "
        "course on a 2-core CPU. This page is generated by `course-notebooks status`; a test "
        "fails when it disagrees with the notebooks.",
        "",
        "| notebook | run time (s) | within budget | executed on | machine |",
        "|---|---:|:---:|---|---|",
    ]
    for r in rows:
        link = f"{{doc}}`{r.title} <../{r.path.removesuffix('.ipynb')}>`"
        secs = "n/a" if r.seconds is None else f"{r.seconds:.1f}"
        ok = "n/a" if r.seconds is None else ("yes" if r.seconds <= NOTEBOOK_BUDGET_S else "**no**")
        lines.append(f"| {link} | {secs} | {ok} | {r.executed_on} | {r.machine} |")
    lines += ["", f"**Whole course:** {total:.0f} s of {COURSE_BUDGET_S} s budget "
              f"({len(rows)} notebooks).", ""]
    return "\n".join(lines)


def write_status_page(root: Path | None = None) -> Path:
    """Regenerate ``book/status.md``; returns its path."""
    root = root or repo_root()
    target = root / "book" / "status.md"
    target.write_text(render_status_page(collect_status(root)), encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``course-notebooks``."""
    parser = argparse.ArgumentParser(prog="course-notebooks", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in [("execute", "execute notebooks in place and store outputs"),
                       ("timings", "time notebooks without changing them")]:
        p = sub.add_parser(name, help=text)
        p.add_argument("paths", nargs="*", help="notebooks or folders (default: notebooks/)")
    sub.add_parser("status", help="rewrite book/status.md from stored metadata")
    args = parser.parse_args(argv)

    if args.command == "status":
        print(f"wrote {write_status_page()}")
        return 0
    root = repo_root()
    notebooks = find_notebooks(args.paths or None, root)
    results = []
    for path in notebooks:
        rel = path.relative_to(root)
        print(f"running {rel} ...", flush=True)
        try:
            seconds = execute_notebook(path, save=args.command == "execute")
        except Exception as error:  # report and go on, so one run lists every failure
            print(f"  FAILED: {type(error).__name__}: {str(error)[-2000:]}", flush=True)
            results.append((rel, None))
            continue
        flag = "" if seconds <= NOTEBOOK_BUDGET_S else f"  (over the {NOTEBOOK_BUDGET_S} s budget)"
        print(f"  {seconds:6.1f} s{flag}", flush=True)
        results.append((rel, seconds))
    if args.command == "execute":
        print(f"wrote {write_status_page(root)}")
    print("\n| notebook | seconds |\n|---|---:|")
    for rel, seconds in results:
        print(f"| {rel} | {'FAILED' if seconds is None else f'{seconds:.1f}'} |")
    print(f"total: {sum(s or 0 for _, s in results):.1f} s")
    return 1 if any(s is None for _, s in results) else 0


if __name__ == "__main__":
    sys.exit(main())
