"""The book builds with warnings as errors, contains every page, and needs no network."""

from __future__ import annotations

import re

import pytest
from conftest import toc_pages

# one worker builds the book once and runs every check of it
pytestmark = pytest.mark.xdist_group("book")

REMOTE_ASSET = re.compile(r"<(?:script|link)[^>]+(?:src|href)=\"(?:https?:)?//[^\"]+\.(?:js|css)[^\"]*\"")


def test_book_builds_without_warnings(built_book):
    assert built_book.returncode == 0, built_book.log[-5000:]
    warnings = [line for line in built_book.log.splitlines()
                if "WARNING" in line or "ERROR" in line]
    assert not warnings, "\n".join(warnings[:30])


def test_every_toc_page_is_built(built_book):
    for page in toc_pages():
        assert (built_book.html / f"{page}.html").exists(), page
    assert (built_book.html / "index.html").exists()
    assert (built_book.html / "search.html").exists()


def test_book_serves_its_own_javascript(built_book):
    static = built_book.html / "_static"
    for asset in ("plotly.min.js", "vendor/jupyter-widgets/embed.js",
                  "vendor/mathjax/tex-chtml.js"):
        assert (static / asset).exists(), asset
    for page in toc_pages():
        html = (built_book.html / f"{page}.html").read_text(encoding="utf-8")
        remote = REMOTE_ASSET.findall(html)
        assert not remote, f"{page} loads remote assets: {remote[:3]}"


def test_notebook_pages_carry_figures_widgets_and_plotly(built_book):
    for page in toc_pages():
        if not page.startswith("notebooks/"):
            continue
        html = (built_book.html / f"{page}.html").read_text(encoding="utf-8")
        assert "application/vnd.jupyter.widget-state+json" in html, page
        assert "plotly-graph-div" in html and "_static/plotly.min.js" in html, page
        assert "<img" in html, page
