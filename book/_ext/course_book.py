"""Sphinx extension used by the course book (registered in ``_config.yml``).

- Plotly figures work offline: pages that contain a Plotly figure load
  ``_static/plotly.min.js``, copied at build time from the installed ``plotly`` Python package
  (so the JavaScript always matches the Python library that produced the figures).
- Saved widgets work with MathJax 3: ``course-widgets-mathjax.js`` bridges the MathJax 2 call
  that the widget renderer makes.
- Each script is included once per page (some theme extensions register theirs twice, which
  makes the browser throw "Identifier ... has already been declared").
- Every saved ipywidgets panel carries a visible note that its controls need Python (the
  static book shows the panel as it was saved; clicking does nothing without a kernel).
- Repository, issues and launch (Binder) buttons appear only when the one setting
  ``COURSE_REPOSITORY_URL`` (an environment variable at build time) names the public
  repository; unset, no button points at a made-up address.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

PLOTLY_JS = "plotly.min.js"
REPOSITORY_SETTING = "COURSE_REPOSITORY_URL"
WIDGET_VIEW = '<script type="application/vnd.jupyter.widget-view+json">'
WIDGET_NOTE = (
    '<p class="course-widget-note" role="note">Saved view: these controls need Python. '
    "Run the chapter in JupyterLab (<code>make lab</code>, or the launch button when the "
    "book is published with one) to use them.</p>")


def _repository_buttons(app, config) -> None:
    """Turn the repository, issues and launch buttons on only for a real repository URL."""
    url = os.environ.get(REPOSITORY_SETTING, "").strip().rstrip("/")
    options = dict(config.html_theme_options or {})
    if url and not re.match(r"^https://[\w.-]+/[\w.-]+/[\w.-]+$", url):
        raise ValueError(f"{REPOSITORY_SETTING}={url!r} is not a repository URL like "
                         "https://github.com/OWNER/NAME.")
    options["repository_url"] = url
    options["use_repository_button"] = bool(url)
    options["use_issues_button"] = bool(url)
    launch = dict(options.get("launch_buttons") or {})
    launch["binderhub_url"] = "https://mybinder.org" if url else ""
    launch.setdefault("notebook_interface", "jupyterlab")
    options["launch_buttons"] = launch
    config.html_theme_options = options


def _note_on_saved_widgets(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body", "")
    if WIDGET_VIEW in body:
        context["body"] = body.replace(WIDGET_VIEW, WIDGET_NOTE + WIDGET_VIEW)


def _plotly_js_source() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    if not path.exists():
        raise FileNotFoundError(f"{PLOTLY_JS} not found in the plotly package at {path}.")
    return path


def _add_plotly_where_needed(app, pagename, templatename, context, doctree) -> None:
    # Load plotly.js only on pages that draw a Plotly figure; it is ~4.6 MB.
    if "plotly-graph-div" in context.get("body", ""):
        app.add_js_file(PLOTLY_JS, priority=200)


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # the same inline script may be registered with filename None and with ""
        key = (getattr(script, "filename", str(script)) or "",
               repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _copy_plotly_js(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_plotly_js_source(), static / PLOTLY_JS)


def setup(app):
    _plotly_js_source()  # fail early, with a clear message, if plotly is missing
    app.add_js_file("course-widgets-mathjax.js", priority=100)
    app.add_js_file("course-a11y.js")  # names for widget sliders (screen readers)
    app.add_css_file("course-a11y.css")  # contrast of widget buttons
    app.connect("config-inited", _repository_buttons)
    app.connect("html-page-context", _note_on_saved_widgets)
    app.connect("html-page-context", _add_plotly_where_needed)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("build-finished", _copy_plotly_js)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
