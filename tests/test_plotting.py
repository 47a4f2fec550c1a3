import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from course_utils.viz.plotting import (
    PLOTLY_RENDERER,
    image_grid,
    mosaic,
    plot_curves,
    slider_figure,
    to_uint8,
    use_course_plotly_renderer,
)


def test_course_renderer_emits_plotly_json_and_offline_html():
    use_course_plotly_renderer()
    bundle = pio.renderers._build_mime_bundle(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])).to_dict(),
                                              renderers_string=PLOTLY_RENDERER)
    assert "application/vnd.plotly.v1+json" in bundle
    html = bundle["text/html"]
    assert "Plotly.newPlot" in html and "plotly-graph-div" in html
    assert "cdn.plot.ly" not in html and "<script src" not in html  # plotly.js comes from the book


def test_slider_figure_switches_visibility_per_step():
    frames = {f"k={k}": [go.Scatter(x=[0, k], y=[0, k]), go.Scatter(x=[k], y=[k])]
              for k in (1, 2, 3)}
    fig = slider_figure(frames, "k: ", active=1)
    assert len(fig.data) == 6
    assert [t.visible for t in fig.data] == [False, False, True, True, False, False]
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["k=1", "k=2", "k=3"]
    assert steps[2].args[0]["visible"] == [False] * 4 + [True] * 2


def test_slider_figure_rejects_bad_frames():
    with pytest.raises(ValueError, match="at least one frame"):
        slider_figure({}, "k: ")
    with pytest.raises(ValueError, match="same number of traces"):
        slider_figure({"a": [go.Scatter()], "b": [go.Scatter(), go.Scatter()]}, "k: ")
    with pytest.raises(ValueError, match="active must be in"):
        slider_figure({"a": [go.Scatter()]}, "k: ", active=3)


def test_plot_curves_and_image_grid():
    ax = plot_curves({"train": [3, 2, 1], "val": np.array([[0, 3.0], [2, 1.5]])},
                     baselines={"unigram": 2.5})
    assert len(ax.lines) == 3
    with pytest.raises(ValueError, match="at least one curve"):
        plot_curves({})
    with pytest.raises(ValueError, match="must be 1-D values or N x 2"):
        plot_curves({"bad": np.zeros((2, 3))})
    fig = image_grid(np.zeros((5, 8, 8)), ncols=3)
    assert len(fig.axes) == 6
    with pytest.raises(ValueError, match=r"images must be \(N, H, W\)"):
        image_grid(np.zeros((8, 8)))


def test_figure_alt_text_says_what_the_figure_shows():
    import matplotlib.pyplot as plt

    from course_utils.viz.plotting import figure_alt_text, figure_html

    fig, axes = plt.subplots(1, 2)
    fig.suptitle("Two moons")
    axes[0].set(title="real", xlabel="x1", ylabel="x2")
    axes[1].set_title("samples")
    text = figure_alt_text(fig)
    assert text == "Figure: Two moons — panels 'real' (x: x1, y: x2); 'samples'"
    html = figure_html(fig)
    assert html.startswith('<img src="data:image/png;base64,')
    assert 'alt="Figure: Two moons — panels &#x27;real&#x27;' in html
    fig.set_label('A "described" figure')
    assert figure_alt_text(fig) == 'A "described" figure'
    assert 'alt="A &quot;described&quot; figure"' in figure_html(fig)
    bare, _ = plt.subplots(2, 2)
    assert figure_alt_text(bare) == "Figure: 4 image panel(s)"
    plt.close("all")


def test_mosaic_lays_out_lists_and_grids():
    tiles = mosaic(np.ones((5, 8, 8)), ncols=3, pad=1)
    assert tiles.shape == (17, 26) and tiles.sum() == 5 * 64  # one empty cell
    grid = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2)
    out = mosaic(grid, pad=1, fill=np.nan)
    assert out.shape == (5, 8) and np.isnan(out[2]).all()  # gap row between grid rows
    np.testing.assert_array_equal(out[:2, 3:5], grid[0, 1])  # row 0, column 1
    assert mosaic(np.ones((2, 8, 8)), ncols=8).shape == (8, 17)  # fewer than ncols


@pytest.mark.parametrize("images, kwargs, message", [
    (np.ones((8, 8)), {}, "shape"),
    (np.ones((0, 8, 8)), {}, "at least one"),
    (np.ones((2, 8, 8)), {"ncols": 0}, "ncols"),
    (np.ones((2, 8, 8)), {"pad": -1}, "pad"),
    (np.ones((1, 2, 3, 4, 5)), {}, "shape"),
])
def test_mosaic_rejects_bad_input(images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        mosaic(images, **kwargs)


def test_to_uint8_clips_and_rounds():
    np.testing.assert_array_equal(to_uint8([-0.5, 0.0, 0.5, 1.0, 2.0]), [0, 0, 128, 255, 255])


def test_figure_text_size_is_recorded_and_scaled_to_the_book_column():
    import io

    import matplotlib.pyplot as plt

    from course_utils.viz.plotting import (
        BOOK_OUTPUT_WIDTH_PX,
        TEXT_SIZE_KEY,
        apply_style,
        displayed_text_px,
        png_text_chunks,
        smallest_text_px,
    )

    apply_style()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    assert smallest_text_px(fig) == pytest.approx(12 * 80 / 72)  # tick labels, drawn first
    ax.text(0.5, 0.5, "small", fontsize=7)
    assert smallest_text_px(fig) == pytest.approx(7 * 80 / 72)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={TEXT_SIZE_KEY: "13.333"})
    width, chunks = png_text_chunks(buffer.getvalue())
    assert width == 4 * 80 and chunks[TEXT_SIZE_KEY] == "13.333"
    assert displayed_text_px(buffer.getvalue()) == pytest.approx(13.333)
    # twice the column's width: shown at half size
    assert displayed_text_px(buffer.getvalue(), column_px=width // 2) == pytest.approx(6.6665)
    assert BOOK_OUTPUT_WIDTH_PX > width
    plain = io.BytesIO()
    fig.savefig(plain, format="png")
    assert displayed_text_px(plain.getvalue()) is None
    plt.close(fig)
    empty = plt.figure()
    assert smallest_text_px(empty) == float("inf")
    plt.close(empty)
    with pytest.raises(ValueError, match="not a PNG"):
        png_text_chunks(b"GIF89a....")


def test_plotly_text_is_at_least_ten_points():
    import plotly.graph_objects as go
    import plotly.io as pio

    from course_utils.viz.plotting import MIN_TEXT_PX, use_course_plotly_renderer

    use_course_plotly_renderer()
    fig = go.Figure(go.Scatter(y=[1, 2]))
    size = fig.layout.template.layout.font.size
    assert size is not None and size >= MIN_TEXT_PX
    assert pio.templates.default.endswith("+course")


def test_panel_figure_html_records_its_text_size():
    import base64
    import re

    import matplotlib.pyplot as plt

    from course_utils.viz.plotting import apply_style, displayed_text_px, figure_html

    apply_style()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_title("a title")
    markup = figure_html(fig, "alt")
    plt.close(fig)
    png = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", markup).group(1))
    assert displayed_text_px(png) == pytest.approx(12 * 80 / 72, abs=1e-3)


def test_image_grid_is_never_wider_than_the_book_column():
    from course_utils.viz.plotting import MAX_FIGURE_WIDTH_IN

    fig = image_grid(np.zeros((24, 8, 8)), ncols=24, scale=1.0, titles=[str(i) for i in range(24)])
    assert fig.get_size_inches()[0] <= MAX_FIGURE_WIDTH_IN + 1e-9
