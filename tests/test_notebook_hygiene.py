"""Every notebook follows the course anatomy and stores fresh, clean outputs.

These checks read the stored notebooks only (fast); `pytest --nbval-lax` re-runs them.
"""

from __future__ import annotations

import ast
import base64
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from course_utils.core.notebook_runner import (
    METADATA_KEY,
    NOTEBOOK_BUDGET_S,
    code_fingerprint,
    collect_status,
    render_status_page,
)
from course_utils.viz.plotting import MIN_TEXT_PX, displayed_text_px, png_text_chunks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]
REQUIRED_HEADINGS = ["## Learning objectives", "## Where this fits", "## Measured claim",
                     "## Exercises", "## Key takeaways"]
MAX_NOTEBOOK_BYTES = 2_000_000
MAX_OUTPUT_BYTES = 1_000_000
# Every Plotly 3-D scene is a WebGL context; browsers keep about 16 per page and drop the
# oldest beyond that (blank figures, and errors in JupyterLab).
MAX_3D_SCENES = 12
PLOTLY_JSON = "application/vnd.plotly.v1+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
INLINE_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")


def _ids(paths):
    return [p.relative_to(ROOT / "notebooks").as_posix() for p in paths]


@pytest.fixture(params=NOTEBOOKS, ids=_ids(NOTEBOOKS))
def notebook(request) -> tuple[Path, nbformat.NotebookNode]:
    path = request.param
    return path, nbformat.read(path, as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _markdown_headings(nb) -> list[tuple[int, str]]:
    """(cell index, heading line) for every Markdown heading of level 1-2."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            found += [(i, line.strip()) for line in cell.source.splitlines()
                      if re.match(r"#{1,2} ", line)]
    return found


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3


def test_every_notebook_is_in_the_table_of_contents_and_vice_versa():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {ch["file"] for part in toc["parts"] for ch in part["chapters"]}
    notebook_files = {p.relative_to(ROOT).with_suffix("").as_posix() for p in NOTEBOOKS}
    assert notebook_files - files == set(), "notebooks missing from _toc.yml"
    for entry in files:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry


def test_naming_convention(notebook):
    path, _ = notebook
    assert re.fullmatch(r"\d\d_[a-z0-9_]+", path.parent.name), path.parent.name
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), path.name


def test_valid_notebook_format(notebook):
    _, nb = notebook
    nbformat.validate(nb)


def test_anatomy_title_sections_setup(notebook):
    _, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), \
        "the first cell must be the '# Title'"
    headings = [h for _, h in _markdown_headings(nb)]
    positions = []
    for required in REQUIRED_HEADINGS:
        matches = [i for i, h in enumerate(headings) if h.startswith(required)]
        assert matches, f"missing section {required!r}"
        positions.append(matches[0])
    assert positions == sorted(positions), f"sections out of order: {REQUIRED_HEADINGS}"
    setup_cells = [c for c in _code_cells(nb) if re.search(r"\b(cu|course_utils)\.setup\(",
                                                             c.source)]
    assert setup_cells, "a code cell must call course_utils.setup()"
    assert _code_cells(nb).index(setup_cells[0]) <= 1, "setup() must come first"


def test_measured_claim_is_asserted(notebook):
    _, nb = notebook
    claim_start = next(i for i, h in _markdown_headings(nb) if h.startswith("## Measured claim"))
    exercises = next(i for i, h in _markdown_headings(nb) if h.startswith("## Exercises"))
    asserts = 0
    for cell in nb.cells[claim_start:exercises]:
        if cell.cell_type == "code":
            source = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith("%"))
            asserts += sum(isinstance(n, ast.Assert) for n in ast.walk(ast.parse(source)))
    assert asserts >= 1, "the 'Measured claim' section must assert its numbers"


def test_exercise_solutions_are_hidden_and_executed(notebook):
    _, nb = notebook
    start = next(i for i, h in _markdown_headings(nb) if h.startswith("## Exercises"))
    end = next(i for i, h in _markdown_headings(nb) if h.startswith("## Key takeaways"))
    solutions = [c for c in nb.cells[start:end] if c.cell_type == "code"]
    assert len(solutions) >= 2, "at least two exercises with solution cells"
    for cell in solutions:
        # hide-cell folds code *and* output: the answer is not printed under the exercise
        assert "hide-cell" in cell.metadata.get("tags", []), "solution needs tag hide-cell"
        assert "hide-input" not in cell.metadata.get("tags", []), \
            "hide-input shows the solution's output: use hide-cell"
        folded = cell.metadata.get("jupyter", {})
        assert folded.get("source_hidden") is True and folded.get("outputs_hidden") is True, \
            "solution must be collapsed in JupyterLab (jupyter.source_hidden, outputs_hidden)"


#: Widest code line that fits the book's code column at 1280x800 without scrolling.
MAX_CODE_LINE = 79


def test_code_lines_fit_the_page(notebook):
    _, nb = notebook
    long = [(i, line) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > MAX_CODE_LINE]
    assert not long, (
        f"{len(long)} code line(s) over {MAX_CODE_LINE} characters scroll sideways in the "
        f"book (format with `ruff format --line-length 79`); first: cell {long[0][0]}: "
        f"{long[0][1]!r}")


def test_outputs_are_fresh_complete_and_error_free(notebook):
    _, nb = notebook
    meta = nb.metadata.get(METADATA_KEY)
    assert meta, "never executed with `make execute` (no course metadata)"
    assert meta["code_sha256"] == code_fingerprint(nb), (
        "a code cell changed after the outputs were stored: run `make execute NB=...`")
    counts = [c.execution_count for c in _code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), \
        "execution counts must run 1, 2, 3, ... (one top-to-bottom run in a fresh kernel)"
    for cell in _code_cells(nb):
        for out in cell.outputs:
            assert out.output_type != "error", f"error output in cell:\n{cell.source[:200]}"
            if out.output_type == "stream" and out.name == "stderr":
                assert "Traceback" not in out.text and "Error" not in out.text, out.text[:300]


def test_recorded_run_time_is_within_budget(notebook):
    _, nb = notebook
    seconds = nb.metadata[METADATA_KEY]["execution_seconds"]
    assert seconds <= NOTEBOOK_BUDGET_S, f"stored run took {seconds} s > {NOTEBOOK_BUDGET_S} s"


def test_output_size_budget(notebook):
    path, nb = notebook
    assert path.stat().st_size <= MAX_NOTEBOOK_BYTES, f"{path.stat().st_size} bytes"
    for cell in _code_cells(nb):
        for out in cell.outputs:
            size = len(json.dumps(out))
            assert size <= MAX_OUTPUT_BYTES, f"one output is {size} bytes: {cell.source[:80]}"


def test_few_enough_3d_scenes_for_the_browser(notebook):
    _, nb = notebook
    scenes = 0
    for cell in _code_cells(nb):
        for out in cell.outputs:
            figure = out.get("data", {}).get(PLOTLY_JSON)
            if figure:
                figure = json.loads(figure) if isinstance(figure, str) else figure
                scenes += sum(key.startswith("scene") for key in figure.get("layout", {}))
    assert scenes <= MAX_3D_SCENES, f"{scenes} 3-D scenes (WebGL contexts) > {MAX_3D_SCENES}"


def _stored_pngs(nb):
    """(where, PNG bytes) of every stored image: cell outputs and saved Output widgets."""
    outputs = [(f"cell {i}", out) for i, c in enumerate(nb.cells) if c.cell_type == "code"
               for out in c.outputs]
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    outputs += [(f"widget {key[:8]}", out) for key, model in state.items()
                for out in model.get("state", {}).get("outputs", [])]
    for where, out in outputs:
        data = out.get("data", {})
        if data.get("image/png"):
            yield where, base64.b64decode(data["image/png"])
        for inline in INLINE_PNG.findall(str(data.get("text/html", ""))):  # a panel's <img>
            yield where, base64.b64decode(inline)


def test_figure_text_is_readable_in_the_book(notebook):
    """Every matplotlib figure shows its smallest text at >= 10 pt in the book's column.

    The course's figure format records the smallest font in each PNG; an image wider than the
    column is scaled down, and so is its text.
    """
    _, nb = notebook
    small = []
    for where, png in _stored_pngs(nb):
        width, chunks = png_text_chunks(png)
        if "matplotlib" not in chunks.get("Software", "").lower():
            continue  # an image drawn from pixels (a mosaic, a photo): no text in it
        shown = displayed_text_px(png)
        assert shown is not None, f"{where}: a figure not stored by the course's figure format"
        if shown < MIN_TEXT_PX - 0.01:
            small.append(f"{where}: {shown:.1f} px ({width} px wide)")
    assert not small, f"figure text below 10 pt ({MIN_TEXT_PX:.1f} px) in the book: {small}"


def test_interactive_outputs_work_in_the_book(notebook):
    """A live widget (with saved state, so the book can draw it) and a Plotly figure."""
    _, nb = notebook
    views = [out.data[WIDGET_VIEW]["model_id"] for c in _code_cells(nb) for out in c.outputs
             if out.output_type == "display_data" and WIDGET_VIEW in out.get("data", {})]
    assert views, "at least one widget output"
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    missing = [v for v in views if v not in state]
    assert not missing, f"widget views without saved state: {missing[:3]}"
    plotly_html = [out for c in _code_cells(nb) for out in c.outputs
                   if "plotly-graph-div" in str(out.get("data", {}).get("text/html", ""))]
    assert plotly_html, "at least one Plotly figure (the static companion of the widgets)"


def test_every_output_has_a_type_the_book_renders(notebook):
    from myst_nb.core.render import get_mime_priority

    renderable = set(get_mime_priority("html", []))
    _, nb = notebook
    for cell in _code_cells(nb):
        for out in cell.outputs:
            if out.output_type in ("display_data", "execute_result"):
                assert renderable & set(out.data), f"no renderable type in {list(out.data)}"


def test_some_outputs_are_checked_by_nbval(notebook):
    _, nb = notebook
    assert any(c.source.startswith("# NBVAL_CHECK_OUTPUT") and c.outputs
               for c in _code_cells(nb)), "mark at least one deterministic cell"


def test_status_page_matches_notebooks():
    expected = render_status_page(collect_status(ROOT))
    actual = (ROOT / "book" / "status.md").read_text(encoding="utf-8")
    assert actual == expected, "book/status.md is stale: run `course-notebooks status`"


# --- no promises of chapters that do not exist --------------------------------------------

#: "chapter 05", "chapters 21-23", "chapters 10, 11 and 14" (the numbers after the word).
CHAPTER_MENTION = re.compile(r"\b[Cc]hapters?\s+((?:\d{2}(?:\s*(?:,|and|or|-|–|to)\s*)?)+)")


def _toc_chapter_numbers() -> set[int]:
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return {int(m) for m in re.findall(r"file:\s*notebooks/\S+/(\d{2})_", toc)}


def _mentioned_chapters(text: str) -> set[int]:
    """Chapter numbers named in ``text``; a range "21-23" names its two ends."""
    numbers = set()
    for match in CHAPTER_MENTION.finditer(text):
        for start, end, single in re.findall(r"(\d{2})\s*(?:-|–|to)\s*(\d{2})|(\d{2})",
                                             match.group(1)):
            numbers.update(int(n) for n in (start, end, single) if n)
    return numbers


def test_chapter_mention_parser_reads_lists_and_ranges():
    assert _mentioned_chapters("see chapter 05 and chapters 21-23, 24") == {5, 21, 23, 24}
    assert _mentioned_chapters("Chapters 10, 11 and 14") == {10, 11, 14}
    assert _mentioned_chapters("no chapter here, 2024") == set()


@pytest.mark.parametrize("page", sorted((ROOT / "book").glob("*.md")) + NOTEBOOKS,
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_mention_only_chapters_in_the_table_of_contents(page):
    if page.suffix == ".ipynb":
        nb = nbformat.read(page, as_version=4)
        text = "\n".join(cell.source for cell in nb.cells)
    else:
        text = page.read_text(encoding="utf-8")
    missing = sorted(_mentioned_chapters(text) - _toc_chapter_numbers())
    assert not missing, (f"{page.name} mentions chapter(s) {missing}, which are not in _toc.yml: "
                         "link only to chapters that exist")
