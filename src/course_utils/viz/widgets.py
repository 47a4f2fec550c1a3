"""ipywidgets builders that validate their settings and keep working after bad input.

The pattern used by every chapter::

    panel = SafePanel({"n": int_slider("n", 3, 1, 8)}, render=lambda n: make_figure(n))
    panel.show()

``render`` returns something to display (a matplotlib figure, a Plotly figure, a DataFrame,
text...). If it raises, the error message appears in the panel's status line, the previous
output stays on screen, and the next valid value works again.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import HTML, display

from course_utils.core.validation import check_float, check_int
from course_utils.viz.plotting import figure_alt_text, figure_html

_STYLE = {"description_width": "initial"}
_LAYOUT = widgets.Layout(width="420px")


def int_slider(description: str, value: int, low: int, high: int, step: int = 1) -> widgets.IntSlider:
    """An integer slider, checked: ``low <= value <= high`` and ``step >= 1``."""
    check_int("low", low)
    check_int("high", high, low=low + 1)
    check_int("step", step, low=1)
    check_int(description, value, low=low, high=high)
    return widgets.IntSlider(value=value, min=low, max=high, step=step, description=description,
                             continuous_update=False, style=_STYLE, layout=_LAYOUT)


def float_slider(description: str, value: float, low: float, high: float,
                 step: float = 0.1, log: bool = False) -> widgets.FloatSlider:
    """A float slider (optionally log-scaled), checked like :func:`int_slider`.

    With ``log=True``, ``low``/``high`` are the real values (both > 0) and the slider moves in
    base-10 exponents of size ``step``.
    """
    check_float("low", low)
    check_float("high", high, low=low, low_inclusive=False)
    check_float("step", step, low=0, low_inclusive=False)
    check_float(description, value, low=low, high=high)
    if log:
        import math

        check_float("low", low, low=0, low_inclusive=False)
        return widgets.FloatLogSlider(value=value, base=10, min=math.log10(low),
                                      max=math.log10(high), step=step, description=description,
                                      continuous_update=False, style=_STYLE, layout=_LAYOUT)
    return widgets.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                               continuous_update=False, style=_STYLE, layout=_LAYOUT)


def dropdown(description: str, options: Sequence[Any] | Mapping[str, Any],
             value: Any = None) -> widgets.Dropdown:
    """A dropdown; ``value`` must be one of the options (default: the first)."""
    values = list(options.values()) if isinstance(options, Mapping) else list(options)
    if not values:
        raise ValueError(f"{description}: a dropdown needs at least one option.")
    if value is None:
        value = values[0]
    if value not in values:
        raise ValueError(f"{description}: {value!r} is not one of the options.")
    return widgets.Dropdown(options=options, value=value, description=description,
                            style=_STYLE, layout=_LAYOUT)


def text_box(description: str, value: str = "", placeholder: str = "",
             max_length: int = 500) -> widgets.Text:
    """A single-line text box. Content is checked by the panel's ``render``, not here,
    so that a learner can type anything and get a message instead of a dead widget."""
    check_int("max_length", max_length, low=1)
    if len(value) > max_length:
        raise ValueError(f"{description}: default text longer than max_length={max_length}.")
    return widgets.Text(value=value, placeholder=placeholder, description=description,
                        continuous_update=False, style=_STYLE,
                        layout=widgets.Layout(width="600px"))


def align_labels(controls) -> str | None:
    """Give every labelled control the width of the longest label, so that the sliders,
    boxes and menus of one panel start at the same x. Returns the width set (CSS ``ch``
    units, one per character plus a margin), or ``None`` when no control has a label."""
    labelled = [c for c in controls if getattr(c, "description", "")
                and hasattr(getattr(c, "style", None), "description_width")]
    if not labelled:
        return None
    width = f"{max(len(c.description) for c in labelled) + 2}ch"
    for control in labelled:
        control.style.description_width = width
    return width


class SafePanel:
    """Controls + an output area + a status line; re-renders when a control changes.

    Args:
        controls: keyword name of ``render`` -> widget (anything with ``.value``).
        render: called as ``render(**values)``; returns an object (or a list of objects) to
            display. Raising shows the message in the status line and keeps the last output.
        title: optional heading above the controls.
        button: a "Run" button label; when given, rendering waits for a click instead of
            following every control change (for slower renders such as sampling a model).
        render_now: render once immediately (so the stored notebook shows a result).
    """

    def __init__(self, controls: Mapping[str, widgets.ValueWidget],
                 render: Callable[..., Any], title: str = "", button: str | None = None,
                 render_now: bool = True) -> None:
        if not controls:
            raise ValueError("SafePanel needs at least one control.")
        self.controls = dict(controls)
        align_labels(self.controls.values())
        self.render = render
        self.title = title
        self.status = widgets.HTML(value="")
        self.output = widgets.Output()
        self.last_error: str | None = None
        self.renders = 0  # successful renders so far
        header = [widgets.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        rows: list[widgets.Widget] = list(self.controls.values())
        if button:
            self.button = widgets.Button(description=button, button_style="primary")
            self.button.on_click(lambda _: self.update())
            rows.append(self.button)
        else:
            self.button = None
            for control in self.controls.values():
                control.observe(lambda _: self.update(), names="value")
        self.widget = widgets.VBox([*header, *rows, self.status, self.output])
        if render_now:
            self.update()

    def values(self) -> dict[str, Any]:
        """Current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self) -> bool:
        """Render with the current values. Returns ``True`` on success, ``False`` on error."""
        try:
            result = self.render(**self.values())
        except Exception as error:  # noqa: BLE001 - the panel must survive any bad input
            message = str(error) if isinstance(error, ValueError) else (
                f"{type(error).__name__}: {error}")
            self.last_error = message
            self.status.value = (f"<span style='color:#b00020'>&#9888; "
                                 f"{html.escape(message)}</span>")
            return False
        self.last_error = None
        self.status.value = ""
        self.renders += 1
        with self.output:
            self.output.clear_output(wait=True)
            for item in result if isinstance(result, (list, tuple)) else [result]:
                if item is None:
                    continue
                if isinstance(item, plt.Figure):
                    # an <img> with alt text: a plain image/png output has none
                    alt = figure_alt_text(item)
                    display(HTML(figure_html(item, f"{self.title}. {alt}" if self.title
                                             else alt)))
                    plt.close(item)  # shown once, inside the panel only
                else:
                    display(item)
        return True

    def show(self) -> None:
        """Display the panel."""
        display(self.widget)

    def _ipython_display_(self) -> None:
        self.show()
