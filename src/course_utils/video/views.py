"""Showing clips: Plotly animations that play in the built book, filmstrips, and GIFs.

- :func:`clip_animation` - a Plotly figure with one animation frame per video frame (play and
  pause buttons, a frame slider); each frame is one small PNG of all clips side by side (one
  PNG pixel per clip pixel, enlarged by the browser without smoothing), so the figure stays
  small and plays without a kernel.
- :func:`filmstrip` - a Matplotlib figure, one row per clip, its frames left to right (built
  with the course's one image mosaic, :func:`course_utils.viz.plotting.mosaic`).
- :func:`gif_html` - one clip as an animated GIF inside an ``<img>`` with alternative text
  (what the widget of chapter 32 shows: it plays in JupyterLab and in the book alike).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go

from course_utils.core.validation import check_int
from course_utils.video import clips as C
from course_utils.viz.plotting import MAX_FIGURE_WIDTH_IN, mosaic, to_uint8

MAX_SHOWN = 48   # most clips in one figure
GAP = 0.35       # grey level of the lines between frames and clips


def _checked(clips: object, titles: Sequence[str] | None) -> np.ndarray:
    x = C.check_clips(clips)
    if len(x) > MAX_SHOWN:
        raise ValueError(f"show at most {MAX_SHOWN} clips at once, got {len(x)}.")
    if titles is not None and len(titles) != len(x):
        raise ValueError(f"need one title per clip: {len(x)} clips, {len(titles)} titles.")
    return x


def rgb_mosaic(frames: np.ndarray, ncols: int, pad: int = 1, fill: float = GAP) -> np.ndarray:
    """Tile RGB images (N, 3, h, w) into one (H', W', 3) picture, channel by channel with
    :func:`course_utils.viz.plotting.mosaic`; a grid (R, C, 3, h, w) is laid out as given."""
    x = np.asarray(frames, dtype=np.float32)
    if x.ndim == 5:
        return np.stack([mosaic(x[:, :, c], pad=pad, fill=fill) for c in range(3)], axis=-1)
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"rgb_mosaic needs (N, 3, h, w) or (R, C, 3, h, w), got {x.shape}.")
    return np.stack([mosaic(x[:, c], ncols=ncols, pad=pad, fill=fill) for c in range(3)],
                    axis=-1)


def _png_uri(image: np.ndarray, scale: int) -> str:
    """(H, W, 3) in [0, 1] -> a PNG data URI, enlarged ``scale`` times (nearest pixel)."""
    from PIL import Image

    big = np.kron(to_uint8(image), np.ones((scale, scale, 1), dtype=np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def clip_animation(clips: object, titles: Sequence[str] | None = None, ncols: int = 6,
                   title: str = "", scale: int = 6, frame_ms: int = 250) -> go.Figure:
    """A Plotly animation of clips side by side (play, pause, frame slider).

    Args:
        clips: (N, F, 3, H, W) in [0, 1], at most :data:`MAX_SHOWN`.
        titles: one caption per clip (shown above it; ``"<br>"`` breaks a line), or ``None``.
        ncols: clips per row.
        title: the figure's title.
        scale: screen pixels per clip pixel.
        frame_ms: milliseconds per frame when playing.

    Returns:
        A ``plotly.graph_objects.Figure`` whose ``frames`` are the video frames.
    """
    x = _checked(clips, titles)
    check_int("ncols", ncols, low=1, high=MAX_SHOWN)
    check_int("scale", scale, low=1, high=16)
    check_int("frame_ms", frame_ms, low=20, high=5000)
    n, frames = x.shape[:2]
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    lines = max((str(t).count("<br>") + 1 for t in titles), default=0) if titles else 0
    band = int(np.ceil(lines * 14 / scale)) if lines else 0   # caption rows, in clip pixels
    cell = C.SIZE + 1

    def picture(k: int) -> np.ndarray:
        """Frame k of every clip: rows of clips, each below a white caption band."""
        grid = np.full((n if n % ncols == 0 else nrows * ncols, 3, C.SIZE, C.SIZE), GAP,
                       dtype=np.float32)
        grid[:n] = x[:, k]
        rows = []
        for r in range(nrows):
            rows.append(np.ones((band, ncols * cell - 1, 3), dtype=np.float32))
            rows.append(rgb_mosaic(grid[r * ncols:(r + 1) * ncols], ncols))
        return np.concatenate(rows, axis=0)                       # (H', W', 3)

    pictures = [picture(k) for k in range(frames)]
    height, width = pictures[0].shape[:2]
    sources = [_png_uri(p, 1) for p in pictures]   # one PNG pixel per clip pixel

    def image(k: int) -> go.Image:
        # zsmooth=False: the browser enlarges the small PNG without smoothing (pixelated)
        return go.Image(source=sources[k], zsmooth=False, hoverinfo="skip")

    fig = go.Figure(data=[image(0)],
                    frames=[go.Frame(data=[image(k)], name=str(k)) for k in range(frames)])
    annotations = [dict(x=(i % ncols) * cell + (C.SIZE - 1) / 2,
                        y=(i // ncols) * (band + C.SIZE) + band - 0.7, text=str(t),
                        showarrow=False, yanchor="bottom", xanchor="center",
                        font={"size": 14}) for i, t in enumerate(titles or [])]
    play = {"frame": {"duration": frame_ms, "redraw": True}, "fromcurrent": True,
            "transition": {"duration": 0}, "mode": "immediate"}
    fig.update_layout(
        title={"text": title, "font": {"size": 16}}, annotations=annotations,
        width=max(420, width * scale + 40), height=height * scale + 150,
        margin={"l": 20, "r": 20, "t": 50, "b": 90},
        xaxis={"visible": False, "range": [-0.5, width - 0.5]},
        yaxis={"visible": False, "range": [height - 0.5, -0.5], "scaleanchor": "x"},
        updatemenus=[{"type": "buttons", "direction": "left", "x": 0.0, "y": 0.0,
                      "xanchor": "left", "yanchor": "top", "pad": {"t": 10},
                      "buttons": [
                          {"label": "play", "method": "animate", "args": [None, play]},
                          {"label": "pause", "method": "animate",
                           "args": [[None], {"frame": {"duration": 0, "redraw": False},
                                             "mode": "immediate"}]}]}],
        sliders=[{"active": 0, "x": 0.25, "len": 0.75, "y": 0.0, "yanchor": "top",
                  "pad": {"t": 10}, "currentvalue": {"prefix": "frame "},
                  "steps": [{"label": str(k + 1), "method": "animate",
                             "args": [[str(k)], {"mode": "immediate",
                                                 "frame": {"duration": 0, "redraw": True}}]}
                            for k in range(frames)]}])
    fig.add_annotation(text="press play, or drag the slider", showarrow=False,
                       xref="paper", yref="paper", x=1.0, y=1.0, xanchor="right",
                       yanchor="bottom", font={"size": 14, "color": "#555555"})
    return fig


def filmstrip(clips: object, titles: Sequence[str] | None = None, title: str = "",
              scale: float = 0.55) -> plt.Figure:
    """Clips as rows of frames (left to right = time), with a caption per row.

    Args:
        clips: (N, F, 3, H, W) in [0, 1].
        titles: one caption per clip (left of its row), or ``None``.
        title: the figure's title.
        scale: inches per frame.

    Returns:
        The Matplotlib figure (its label describes it, for alternative text).
    """
    x = _checked(clips, titles)
    n, frames = x.shape[:2]
    picture = rgb_mosaic(x, ncols=frames)                            # (N, F, 3, h, w) grid
    margin = 2.4 if titles else 0.3                                  # room for the captions
    scale = min(scale, (MAX_FIGURE_WIDTH_IN - margin) / frames)      # shown at its own size
    fig, ax = plt.subplots(figsize=(frames * scale + margin,
                                    n * scale + 0.6))
    ax.imshow(picture, interpolation="nearest")
    cell = C.SIZE + 1
    ax.set_xticks([k * cell + C.SIZE / 2 for k in range(frames)],
                  [str(k + 1) for k in range(frames)])
    ax.set_yticks([i * cell + C.SIZE / 2 for i in range(n)], list(titles or [""] * n))
    ax.tick_params(length=0)
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xlabel("frame")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    rows = "; ".join(titles) if titles else f"{n} clips"
    fig.set_label(f"Filmstrip{': ' + title if title else ''} - {frames} frames per row, "
                  f"rows: {rows}")
    return fig


def gif_bytes(clip: object, scale: int = 10, frame_ms: int = 200) -> bytes:
    """One clip (F, 3, H, W) in [0, 1] as an animated GIF that loops, enlarged ``scale`` times."""
    from PIL import Image

    x = C.check_clips(np.asarray(clip)[None])[0]
    check_int("scale", scale, low=1, high=32)
    check_int("frame_ms", frame_ms, low=20, high=5000)
    frames = [Image.fromarray(np.kron(to_uint8(f.transpose(1, 2, 0)),
                                      np.ones((scale, scale, 1), dtype=np.uint8)))
              for f in x]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:],
                   duration=frame_ms, loop=0)
    return buffer.getvalue()


def gif_html(clip: object, alt: str, scale: int = 10, frame_ms: int = 200) -> str:
    """``<img>`` of :func:`gif_bytes` with alternative text ``alt``."""
    data = base64.b64encode(gif_bytes(clip, scale, frame_ms)).decode("ascii")
    return (f'<img src="data:image/gif;base64,{data}" alt="{html.escape(alt, quote=True)}" '
            f'style="image-rendering: pixelated; margin: 4px">')
