import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_utils.core import notebook_runner as runner


def _tiny_notebook(code: str = "x = 21\nprint(x * 2)") -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_markdown_cell("# Tiny"), new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def test_fingerprint_tracks_code_not_markdown_or_outputs():
    nb = _tiny_notebook()
    before = runner.code_fingerprint(nb)
    nb.cells[0].source = "# Renamed"
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="42\n")]
    assert runner.code_fingerprint(nb) == before
    nb.cells[1].source += "\n"
    assert runner.code_fingerprint(nb) != before


def test_execute_notebook_stores_outputs_and_metadata(tmp_path):
    path = tmp_path / "tiny.ipynb"
    nbformat.write(_tiny_notebook("import os\nprint(os.getcwd())"), path)
    seconds = runner.execute_notebook(path)
    nb = nbformat.read(path, as_version=4)
    assert seconds > 0 and nb.cells[1].execution_count == 1
    assert nb.cells[1].outputs[0].text.strip() == str(tmp_path)  # runs from its own folder
    meta = nb.metadata[runner.METADATA_KEY]
    assert meta["code_sha256"] == runner.code_fingerprint(nb)
    assert meta["execution_seconds"] == pytest.approx(seconds, abs=0.1)


def test_consecutive_stream_chunks_are_merged():
    nb = _tiny_notebook()
    new = nbformat.v4.new_output
    nb.cells[1].outputs = [new("stream", name="stdout", text="a\n"),
                           new("stream", name="stdout", text="b\n"),
                           new("stream", name="stderr", text="warn\n"),
                           new("stream", name="stdout", text="c\n")]
    runner.coalesce_streams(nb)
    assert [(o.name, o.text) for o in nb.cells[1].outputs] == [
        ("stdout", "a\nb\n"), ("stderr", "warn\n"), ("stdout", "c\n")]


def test_timings_do_not_modify_and_failures_are_reported(tmp_path, capsys, monkeypatch):
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    nbformat.write(_tiny_notebook(), good)
    nbformat.write(_tiny_notebook("raise ValueError('broken on purpose')"), bad)
    monkeypatch.setattr(runner, "repo_root", lambda start=None: tmp_path)
    before = good.read_text()
    assert runner.main(["timings", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "broken on purpose" in out and "| bad.ipynb | FAILED |" in out
    assert good.read_text() == before


def test_status_page_flags_notebooks_over_budget():
    rows = [runner.NotebookStatus("notebooks/01_a/01_x.ipynb", "X", 12.0, "2026-01-01", "2 CPUs"),
            runner.NotebookStatus("notebooks/01_a/02_y.ipynb", "Y", 130.0, "2026-01-01", "2 CPUs")]
    page = runner.render_status_page(rows)
    assert "| {doc}`X <../notebooks/01_a/01_x>` | 12.0 | yes |" in page
    assert "| 130.0 | **no** |" in page and "142 s" in page
