"""Open every page of the built book in headless Chromium, offline, like a reader would.

Checks: no JavaScript errors, no failed or remote requests, images load, Plotly figures and
saved widgets are drawn, equations are typeset, and axe-core (the accessibility engine, from
the pinned ``axe-playwright-python`` wheel, injected from its installed file) finds no serious
or critical violation.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import toc_pages

from course_utils.viz.plotting import MIN_TEXT_PX

# one worker builds the book once and runs every check of it
pytestmark = pytest.mark.xdist_group("book")


@pytest.fixture(scope="module")
def server(built_book):
    assert built_book.returncode == 0, "book build failed; see test_book.py"
    handler = functools.partial(_QuietHandler, directory=str(built_book.html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


# axe-core's own copy inside the pinned wheel: nothing is fetched when the test runs
AXE_JS = Path(importlib.util.find_spec("axe_playwright_python").origin).parent / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return {version: axe.version, violations: result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ') + '  ' + ((n.failureSummary || '').split('\\n')[1] || ''))}))};
}"""


# Code cells (folded solutions opened first) whose text is wider than the code column.
WIDE_CODE_CELLS = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  return Array.from(document.querySelectorAll('.cell_input pre'))
    .filter(pre => pre.clientWidth > 0 && pre.scrollWidth > pre.clientWidth + 1)
    .map(pre => pre.textContent.split('\\n').reduce((a, b) => a.length > b.length ? a : b));
}"""


# Text in Plotly figures (SVG, drawn at its CSS size) smaller than 10 pt (13.33 px).
SMALL_PLOTLY_TEXT = """(minPx) => {
  const small = [];
  document.querySelectorAll('.plotly-graph-div .main-svg text').forEach(t => {
    if (!t.textContent.trim() || t.getBoundingClientRect().width === 0) return;
    const px = parseFloat(getComputedStyle(t).fontSize);
    if (px < minPx - 0.01) small.push(px + ' px: ' + t.textContent.slice(0, 40));
  });
  return small;
}"""


def axe_violations(page) -> list[str]:
    """Serious and critical axe-core violations on the loaded page, one line per element."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(RUN_AXE)
    return [f"[{v['impact']}] {v['id']} ({v['help']}): {node}"
            for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS
            for node in v["nodes"]]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output readable
        pass


def _visit(browser, url: str, screenshot: Path | None):
    page = browser.new_page(viewport={"width": 1280, "height": 800})  # a laptop screen
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 else None)

    def offline_only(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:  # an offline reader has no network: any remote request is a bug
            problems.append(f"remote request: {route.request.url}")
            route.abort()

    page.route("**/*", offline_only)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=False)
    return page, problems


@pytest.mark.parametrize("page_path", toc_pages())
def test_page_loads_cleanly_and_renders(browser, server, page_path, tmp_path):
    shots = os.environ.get("COURSE_SCREENSHOTS")
    shot = Path(shots) / (page_path.replace("/", "__") + ".png") if shots else None
    page, problems = _visit(browser, f"{server}/{page_path}.html", shot)
    try:
        assert not problems, "\n".join(problems[:20])
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"), \
            "an image failed to load"
        if page.locator(".math").count():  # typeset; the first may sit in a collapsed side toc
            page.wait_for_function("Array.from(document.querySelectorAll('mjx-container'))"
                                   ".some(m => m.offsetWidth > 0)", timeout=15_000)
        if page_path.startswith("notebooks/"):
            figures = page.locator(".plotly-graph-div")
            assert figures.count() >= 1
            page.wait_for_selector(".plotly-graph-div .main-svg", timeout=10_000)
            assert page.locator(".plotly-graph-div .main-svg").count() >= figures.count()
            views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
            assert views >= 1
            page.wait_for_selector(".jupyter-widgets", timeout=10_000)
            rendered = page.locator(".jupyter-widgets").count()
            assert rendered >= views, f"{views} widget views, {rendered} rendered"
            assert page.locator("text=Error rendering").count() == 0
            assert page.locator("img").count() >= 1
            # a saved panel's controls need Python: each one says so in the static book
            notes = page.locator(".course-widget-note").count()
            assert notes == views, f"{views} saved widget views, {notes} 'needs Python' notes"
            small = page.evaluate(SMALL_PLOTLY_TEXT, MIN_TEXT_PX)
            assert not small, f"{len(small)} Plotly text(s) below 10 pt: {small[:5]}"
        # axe first, on the page as a reader gets it: the width check below opens every folded
        # solution, and axe would catch those cells mid fade-in (a contrast it never has at rest)
        violations = axe_violations(page)
        assert not violations, f"{len(violations)} accessibility violations:\n" + \
            "\n".join(violations[:25])
        if page_path.startswith("notebooks/"):
            wide = page.evaluate(WIDE_CODE_CELLS)
            assert not wide, f"{len(wide)} code cell(s) scroll sideways at 1280 px: {wide[:3]}"
    finally:
        page.close()


def test_index_redirects_to_the_landing_page(browser, server):
    page, problems = _visit(browser, f"{server}/index.html", None)
    try:
        page.wait_for_url("**/book/intro.html", timeout=10_000)
        assert "runnable course" in page.title()
        assert not [p for p in problems if "remote request" in p]
        # one search box at 1280 px (the theme draws one in the header and one in the sidebar)
        visible = [b for b in page.locator(".search-button-field").all() if b.is_visible()]
        assert len(visible) == 1, f"{len(visible)} search boxes visible on the landing page"
    finally:
        page.close()


def test_search_works_offline(browser, server):
    page, problems = _visit(browser, f"{server}/search.html?q=markov", None)
    try:
        page.wait_for_selector("#search-results li", timeout=15_000)
        hits = page.locator("#search-results li").all_inner_texts()
        assert any("Markov" in hit for hit in hits), hits[:5]
        assert not problems, problems[:10]
    finally:
        page.close()
