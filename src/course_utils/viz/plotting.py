"""Plotting helpers shared by every chapter.

Two kinds of figures:

- matplotlib for static figures (stored as modest-size PNGs in the notebook);
- Plotly for figures that stay interactive in the static book, without a kernel (hover,
  zoom, and sliders over precomputed states via :func:`slider_figure`).

Plotly's default renderer (since plotly 6.1) emits only a MIME type that the book skips. The
course renderer :data:`PLOTLY_RENDERER` emits that MIME type (for JupyterLab) *and* an HTML
snippet that draws the figure with the ``plotly.min.js`` the book serves itself (offline).
"""

from __future__ import annotations

import base64
import html
import io
import struct
import zlib
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.figure
import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer

#: Name of the Plotly renderer that ``setup()`` makes the default.
PLOTLY_RENDERER = "plotly_mimetype+course_html"

#: Width, in CSS pixels, of a notebook output in the built book at a 1280 x 800 window. A wider
#: image is scaled down to it, and so is its text.
BOOK_OUTPUT_WIDTH_PX = 688

#: Widest matplotlib figure, in inches at 80 dpi, that the book shows at its own size.
MAX_FIGURE_WIDTH_IN = 8.4

#: Smallest figure text a reader is shown, in CSS pixels at the displayed size: 10 pt.
MIN_TEXT_PX = 10 * 96 / 72

#: Font size (px) of Plotly figures: above :data:`MIN_TEXT_PX` (Plotly's own default is 12).
PLOTLY_FONT_PX = 14

#: PNG text chunk in which the course's figure format stores the figure's smallest text size
#: (in image pixels), so a stored notebook can be checked without re-running it.
TEXT_SIZE_KEY = "Course-Min-Text-Px"

#: Colours used across the course (colour-blind friendly, Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")


class _BookHtmlRenderer(MimetypeRenderer):
    """Plotly figure as ``text/html`` that expects ``window.Plotly`` to be loaded by the page.

    The book loads ``plotly.min.js`` from its own ``_static`` folder, so each figure stays
    small and the page works offline.
    """

    def to_mimebundle(self, fig_dict):
        markup = pio.to_html(fig_dict, include_plotlyjs=False, full_html=False,
                             validate=False, config={"displaylogo": False, "responsive": True})
        return {"text/html": markup}


def use_course_plotly_renderer() -> None:
    """Register the course's Plotly renderer and make it the default."""
    pio.renderers["course_html"] = _BookHtmlRenderer()
    pio.renderers.default = PLOTLY_RENDERER
    # log axes label only their decades: Plotly draws minor labels ("2", "5") at 3/4 size;
    # numbers written into heatmap cells get the same size as the rest
    axis = {"minorloglabels": "none"}
    pio.templates["course"] = go.layout.Template(
        layout={"font": {"size": PLOTLY_FONT_PX}, "xaxis": axis, "yaxis": axis},
        data={"heatmap": [go.Heatmap(textfont={"size": PLOTLY_FONT_PX})]})
    pio.templates.default = "plotly_white+course"


def smallest_text_px(fig: matplotlib.figure.Figure) -> float:
    """Size, in image pixels, of the smallest visible non-empty text in a matplotlib figure.

    ``points * dpi / 72``; ``inf`` for a figure without text. Tick labels get their text only
    when the figure is drawn, so it is laid out first (without rendering pixels).
    """
    fig.draw_without_rendering()
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip()]
    return min(sizes, default=float("inf")) * fig.dpi / 72


def text_size_metadata(fig: matplotlib.figure.Figure) -> dict[str, str]:
    """PNG metadata (``savefig(metadata=...)``) recording the figure's smallest text size."""
    return {TEXT_SIZE_KEY: f"{smallest_text_px(fig):.3f}"}


def _png_with_text_size(fig: matplotlib.figure.Figure) -> str | None:
    """The inline backend's PNG (base64), with :data:`TEXT_SIZE_KEY` in its metadata."""
    from IPython.core.pylabtools import print_figure

    return print_figure(fig, fmt="png", bbox_inches="tight", base64=True,
                        metadata=text_size_metadata(fig))


def use_course_figure_format() -> None:
    """Make IPython store matplotlib figures as PNGs that record their smallest text size.

    Does nothing outside IPython. The backend is loaded first, so that the inline backend's own
    registration (made when pyplot loads it) cannot replace this one afterwards.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: figures are saved by the caller
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    plt.switch_backend(matplotlib.get_backend())
    _register_png_format(shell)
    # a library may pick its own figure format (music21 selects "retina", from a timer thread
    # that course_utils.audio.music cancels): put the course's back before every cell
    if _register_png_format not in shell.events.callbacks["pre_execute"]:
        shell.events.register("pre_execute", _register_png_format)


def _register_png_format(shell=None) -> None:
    """Matplotlib figures become :func:`_png_with_text_size` PNGs, and only that."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    for mime in ("image/png", "image/jpeg", "image/svg+xml", "application/pdf"):
        shell.display_formatter.formatters[mime].pop(matplotlib.figure.Figure, None)
    shell.display_formatter.formatters["image/png"].for_type(matplotlib.figure.Figure,
                                                             _png_with_text_size)


def png_text_chunks(png: bytes) -> tuple[int, dict[str, str]]:
    """Width in pixels and the ``tEXt`` key/value pairs of a PNG file's bytes.

    Raises:
        ValueError: when ``png`` is not a PNG.
    """
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file (bad signature).")
    width, chunks, pos = 0, {}, 8
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width = struct.unpack(">I", body[:4])[0]
        elif kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            chunks[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            chunks[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        pos += 12 + length
    return width, chunks


def displayed_text_px(png: bytes, column_px: int = BOOK_OUTPUT_WIDTH_PX) -> float | None:
    """Smallest text of a stored course figure as the book shows it, in CSS pixels.

    ``min_text_px * min(1, column_px / width)``: an image wider than the column is scaled down.
    ``None`` for a PNG that does not record its text size (not drawn by matplotlib).
    """
    width, chunks = png_text_chunks(png)
    if TEXT_SIZE_KEY not in chunks:
        return None
    return float(chunks[TEXT_SIZE_KEY]) * min(1.0, column_px / width)


def apply_style() -> None:
    """Readable matplotlib defaults: modest DPI (lean notebooks), grid, course colours.

    Text is never smaller than 12 pt (10 pt on the page at the figure's own size); a figure
    must be at most 8.6 inches wide for the book to show it unscaled.
    """
    matplotlib.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 80,
        "savefig.dpi": 80,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": matplotlib.cycler(color=list(PALETTE)),
        # 12 pt at 80 dpi is 13.3 image pixels: 10 pt on the page when the figure is shown at
        # its own width (at most BOOK_OUTPUT_WIDTH_PX, i.e. 8.6 inches)
        "font.size": 12,
        "legend.fontsize": 12,
        "axes.titlesize": 13,
        "figure.titlesize": 13,
    })


def plot_curves(curves: Mapping[str, Sequence[float]], xlabel: str = "step",
                ylabel: str = "loss", title: str = "", baselines: Mapping[str, float] | None = None,
                ax: plt.Axes | None = None) -> plt.Axes:
    """Line plot of several named curves (e.g. training and validation loss).

    Args:
        curves: name -> sequence of y values; x is the index (or pass pairs ``(x, y)`` as an
            ``N x 2`` array).
        xlabel, ylabel, title: axis labels and title.
        baselines: optional name -> constant drawn as a dashed horizontal line.
        ax: axes to draw on (a new figure when ``None``).

    Returns:
        The matplotlib axes.
    """
    if not curves:
        raise ValueError("plot_curves needs at least one curve.")
    if ax is None:
        _, ax = plt.subplots()
    for name, values in curves.items():
        arr = np.asarray(values, dtype=float)
        if arr.ndim == 2 and arr.shape[1] == 2:
            ax.plot(arr[:, 0], arr[:, 1], label=name)
        elif arr.ndim == 1:
            ax.plot(np.arange(len(arr)), arr, label=name)
        else:
            raise ValueError(f"Curve {name!r} must be 1-D values or N x 2 (x, y) pairs, "
                             f"got shape {arr.shape}.")
    for i, (name, level) in enumerate((baselines or {}).items()):
        ax.axhline(level, linestyle="--", color=PALETTE[(i + 3) % len(PALETTE)], label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend()
    return ax


def slider_figure(frames: Mapping[str, Sequence[go.BaseTraceType]], slider_label: str,
                  title: str = "", layout: Mapping | None = None,
                  active: int = 0) -> go.Figure:
    """A Plotly figure with a slider that switches between precomputed states.

    It is the static-book companion of a live widget: every state is computed in Python, so
    the slider works in the built book without a kernel.

    Args:
        frames: slider step label -> traces for that step. Every step must have the same
            number of traces (they are shown/hidden together).
        slider_label: text before the current value, e.g. ``"components: "``.
        title: figure title.
        layout: extra layout settings (axis ranges, size, ...).
        active: index of the step shown first.

    Returns:
        A ``plotly.graph_objects.Figure``.

    Raises:
        ValueError: for no frames, unequal trace counts or an out-of-range ``active``.
    """
    if not frames:
        raise ValueError("slider_figure needs at least one frame.")
    labels = list(frames)
    counts = {len(frames[label]) for label in labels}
    if len(counts) != 1:
        raise ValueError(f"Every frame must have the same number of traces, got {sorted(counts)}.")
    per_frame = counts.pop()
    if not 0 <= active < len(labels):
        raise ValueError(f"active must be in [0, {len(labels) - 1}], got {active}.")
    fig = go.Figure()
    for i, label in enumerate(labels):
        for trace in frames[label]:
            trace.visible = i == active
            fig.add_trace(trace)
    steps = []
    for i, label in enumerate(labels):
        visible = [j // per_frame == i for j in range(per_frame * len(labels))]
        steps.append({"method": "update", "label": str(label), "args": [{"visible": visible}]})
    fig.update_layout(sliders=[{"active": active, "currentvalue": {"prefix": slider_label},
                                "steps": steps, "pad": {"t": 40}}],
                      title=title, margin={"l": 40, "r": 20, "t": 50, "b": 20})
    if layout:
        fig.update_layout(**layout)
    return fig


def mosaic(images: np.ndarray, ncols: int = 8, pad: int = 1,
           fill: float = 0.0) -> np.ndarray:
    """Tile grey images into one picture: the course's single image mosaic.

    Args:
        images: ``(N, h, w)`` (laid out ``ncols`` to a row) or a grid ``(R, C, h, w)``
            (laid out as given; ``ncols`` is ignored).
        ncols: images per row for ``(N, h, w)`` input; fewer when ``N < ncols``.
        pad: blank pixels between neighbouring images.
        fill: value of the blank pixels and of unused grid cells (``np.nan`` draws as
            background in ``imshow``).

    Returns:
        ``(R * (h + pad) - pad, C * (w + pad) - pad)`` float32 array, row 0 at the top.
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 4:
        rows, ncols, h, w = x.shape
        x = x.reshape(rows * ncols, h, w)
    elif x.ndim == 3:
        ncols = int(ncols)
        if ncols < 1:
            raise ValueError(f"ncols must be a positive integer, got {ncols}.")
        ncols = min(ncols, len(x))
        rows = -(-len(x) // ncols) if len(x) else 0
    else:
        raise ValueError(f"mosaic needs images (N, h, w) or a grid (R, C, h, w), got shape "
                         f"{x.shape}.")
    if len(x) == 0:
        raise ValueError("mosaic needs at least one image.")
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}.")
    _, h, w = x.shape
    out = np.full((rows * (h + pad) - pad, ncols * (w + pad) - pad), fill, dtype=np.float32)
    for k, image in enumerate(x):
        r, c = divmod(k, ncols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = image
    return out


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Pixels in [0, 1] as integers 0-255 (clipped): a Plotly heatmap stores them in a tenth
    of the space of floats."""
    return np.round(np.clip(np.asarray(images, dtype=np.float32), 0, 1) * 255).astype(np.uint8)


def image_grid(images: np.ndarray, ncols: int = 8, titles: Sequence[str] | None = None,
               cmap: str = "gray_r", scale: float = 0.9) -> plt.Figure:
    """Show a batch of images in a grid.

    Args:
        images: ``(N, H, W)`` grey or ``(N, H, W, 3)`` RGB array.
        ncols: images per row.
        titles: optional caption per image.
        cmap: colour map for grey images.
        scale: inches per image, lowered when needed so that the grid is at most
            :data:`MAX_FIGURE_WIDTH_IN` wide (the book then shows its titles at full size).

    Returns:
        The matplotlib figure.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"images must be (N, H, W) or (N, H, W, 3) with N > 0, got {images.shape}.")
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    scale = min(scale, MAX_FIGURE_WIDTH_IN / ncols)
    lines = max(str(t).count("\n") + 1 for t in titles) if titles is not None else 0
    title_height = 0.22 * lines + 0.08 * bool(lines)  # 12 pt lines of text, in inches
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(ncols * scale, nrows * (scale + title_height)))
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(images[k], cmap=cmap if images.ndim == 3 else None)
            if titles is not None:
                ax.set_title(str(titles[k]), fontsize=12)
    fig.tight_layout()
    return fig


def figure_alt_text(fig: plt.Figure) -> str:
    """Alternative text for a Matplotlib figure, from what the figure itself says.

    Uses the figure's label (``fig.set_label("...")``, the place to write a full description)
    when set; otherwise its title and, for each panel, the title and axis labels, e.g.
    ``"Figure: Samples — panel 'epoch 5' (x: step, y: loss)"``.
    """
    label = fig.get_label()
    if label and not label.isdigit():  # pyplot numbers unnamed figures "1", "2", ...
        return label
    suptitle = fig.get_suptitle()
    panels = []
    for ax in fig.get_axes():
        words = [f"'{ax.get_title()}'" if ax.get_title() else ""]
        axes = [f"{name}: {text}" for name, text in (("x", ax.get_xlabel()),
                                                     ("y", ax.get_ylabel())) if text]
        if axes:
            words.append(f"({', '.join(axes)})")
        if any(words):
            panels.append(" ".join(w for w in words if w))
    parts = [suptitle] if suptitle else []
    if panels:
        shown = panels[:6] + ([f"and {len(panels) - 6} more panels"] if len(panels) > 6 else [])
        parts.append("panels " + "; ".join(shown))
    return "Figure: " + (" — ".join(parts) if parts else f"{len(fig.get_axes())} image panel(s)")


def figure_html(fig: plt.Figure, alt: str | None = None) -> str:
    """The figure as an ``<img>`` (PNG, inline) that carries alternative text.

    A figure displayed the usual way becomes an ``image/png`` output, which Jupyter renders
    without ``alt``; screen readers then announce nothing. Args: ``alt`` overrides
    :func:`figure_alt_text`. Returns an HTML string.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata=text_size_metadata(fig))
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    text = html.escape(alt if alt is not None else figure_alt_text(fig), quote=True)
    return f'<img src="data:image/png;base64,{data}" alt="{text}" style="max-width:100%">'
