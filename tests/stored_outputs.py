"""nbval's output check, applied to a notebook executed elsewhere (in JupyterLab).

`make test` executes each notebook once, in JupyterLab. The cells marked
``# NBVAL_CHECK_OUTPUT`` (or tagged ``nbval-check-output``) must still print exactly what the
stored notebook shows, as ``pytest --nbval-lax`` would demand. This module applies nbval's
own rules to the executed copy: its marker parsing, its stream coalescing, and the same
skipped keys (metadata, execution counts, widget model ids, PNG/JPEG bytes).
"""

from __future__ import annotations

import difflib
from collections import defaultdict

import nbformat
from nbval.plugin import (
    coalesce_streams,
    find_comment_markers,
    find_metadata_tags,
    transform_streams_for_comparison,
)

# nbval's IPyNbFile.skip_compare without --nbdime
SKIP_COMPARE = ("metadata", "traceback", "prompt_number", "output_type", "name",
                "execution_count", "application/vnd.jupyter.widget-view+json",
                "image/png", "image/jpeg")


def checked_cells(notebook: nbformat.NotebookNode) -> list[int]:
    """Indices of the code cells whose outputs nbval compares in lax mode."""
    indices = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        options = dict(find_comment_markers(cell.source))
        options.update(find_metadata_tags(cell.metadata))
        if options.get("check") and not options.get("skip"):
            indices.append(index)
    return indices


def _flatten(outputs) -> dict[str, list]:
    """nbval's comparison form: every output key (``data`` flattened) -> list of values."""
    flat: dict[str, list] = defaultdict(list)
    for output in transform_streams_for_comparison(coalesce_streams(outputs)):
        for key, value in output.items():
            if key in SKIP_COMPARE:
                continue
            if key == "data":
                for mime, content in value.items():
                    if mime not in SKIP_COMPARE:
                        flat[mime].append(content)
            else:
                flat[key].append(value)
    return flat


def _text(value) -> list[str]:
    return ("".join(value) if isinstance(value, list) else str(value)).splitlines()


def output_mismatches(stored: nbformat.NotebookNode,
                      executed: nbformat.NotebookNode) -> list[str]:
    """Differences between stored and executed outputs of the nbval-checked cells.

    Args:
        stored: the notebook as committed (the reference outputs).
        executed: the same notebook after a fresh top-to-bottom run.

    Returns:
        One readable message per differing cell (a unified diff); empty when all agree.
    """
    if len(stored.cells) != len(executed.cells):
        return [f"cell count differs: {len(stored.cells)} stored, {len(executed.cells)} run"]
    problems = []
    for index in checked_cells(stored):
        reference = stored.cells[index]
        if reference.execution_count is None:  # nbval skips unrun reference cells
            continue
        want = _flatten([nbformat.from_dict(o) for o in reference.outputs])
        got = _flatten([nbformat.from_dict(o) for o in executed.cells[index].outputs])
        if want == got:
            continue
        lines = [f"cell {index}: outputs differ from the stored notebook"]
        for key in sorted(set(want) | set(got)):
            if want.get(key) != got.get(key):
                old = [line for value in want.get(key, []) for line in _text(value)]
                new = [line for value in got.get(key, []) for line in _text(value)]
                lines += list(difflib.unified_diff(old, new, f"stored {key}", f"run {key}",
                                                   lineterm="", n=1))[:40]
        problems.append("\n".join(lines))
    return problems
