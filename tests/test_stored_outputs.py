"""The nbval-style comparison used on notebooks executed in JupyterLab."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output
from stored_outputs import checked_cells, output_mismatches


def _notebook(*cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells))
    for count, cell in enumerate(nb.cells, start=1):
        cell.execution_count = count
    return nb


def _cell(source: str, *texts: str):
    return new_code_cell(source, outputs=[new_output("stream", name="stdout", text=t)
                                          for t in texts])


def test_only_marked_cells_are_checked():
    nb = _notebook(_cell("print(1)", "1\n"),
                   _cell("# NBVAL_CHECK_OUTPUT\nprint(2)", "2\n"),
                   _cell("# NBVAL_CHECK_OUTPUT\n# NBVAL_SKIP\nprint(3)", "3\n"))
    nb.cells.append(new_code_cell("print(4)", metadata={"tags": ["nbval-check-output"]}))
    assert checked_cells(nb) == [1, 3]


def test_a_changed_checked_output_is_reported_with_a_diff():
    stored = _notebook(_cell("# NBVAL_CHECK_OUTPUT\nprint(x)", "loss 0.25\n"))
    run = _notebook(_cell("# NBVAL_CHECK_OUTPUT\nprint(x)", "loss 0.31\n"))
    [problem] = output_mismatches(stored, run)
    assert "cell 0" in problem and "-loss 0.25" in problem and "+loss 0.31" in problem


def test_unchecked_cells_may_change():
    stored = _notebook(_cell("print(x)", "loss 0.25\n"))
    run = _notebook(_cell("print(x)", "loss 0.31\n"))
    assert output_mismatches(stored, run) == []


def test_split_streams_and_widget_ids_compare_equal():
    stored = _notebook(_cell("# NBVAL_CHECK_OUTPUT\nshow()", "a\nb\n"))
    stored.cells[0].outputs.append(new_output(
        "display_data", data={"text/plain": "Box()",
                              "application/vnd.jupyter.widget-view+json": {"model_id": "1"}}))
    run = _notebook(_cell("# NBVAL_CHECK_OUTPUT\nshow()", "a\n", "b\n"))
    run.cells[0].outputs.append(new_output(
        "display_data", data={"text/plain": "Box()",
                              "application/vnd.jupyter.widget-view+json": {"model_id": "2"}}))
    assert output_mismatches(stored, run) == []


def test_a_missing_output_and_a_missing_cell_are_reported():
    stored = _notebook(_cell("# NBVAL_CHECK_OUTPUT\nprint(1)", "1\n"))
    run = _notebook(_cell("# NBVAL_CHECK_OUTPUT\nprint(1)"))
    assert output_mismatches(stored, run)
    assert output_mismatches(stored, _notebook()) == ["cell count differs: 1 stored, 0 run"]
