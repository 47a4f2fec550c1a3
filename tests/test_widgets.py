import matplotlib.pyplot as plt
import pytest

from course_utils.viz.widgets import SafePanel, dropdown, float_slider, int_slider, text_box


def test_sliders_validate_their_settings():
    slider = int_slider("n", 3, 1, 8)
    assert (slider.value, slider.min, slider.max) == (3, 1, 8)
    with pytest.raises(ValueError, match="n must be <= 8, got 9"):
        int_slider("n", 9, 1, 8)
    with pytest.raises(ValueError, match="high must be >= 2"):
        int_slider("n", 1, 1, 1)
    with pytest.raises(ValueError, match="temperature must be >= 0.1"):
        float_slider("temperature", 0.0, 0.1, 2.0)
    log = float_slider("lr", 0.01, 0.001, 1.0, step=0.5, log=True)
    assert log.value == pytest.approx(0.01)
    with pytest.raises(ValueError, match="not one of the options"):
        dropdown("data", ["moons", "ring"], value="spiral")
    with pytest.raises(ValueError, match="longer than max_length"):
        text_box("prompt", "x" * 11, max_length=10)


def test_safe_panel_reports_bad_input_and_keeps_working():
    plt.close("all")
    seen = []

    def render(n, word):
        if not word:
            raise ValueError("word is empty: type some text first.")
        if n == 7:
            raise RuntimeError("boom")
        seen.append((n, word))
        fig, ax = plt.subplots()
        ax.plot(range(n))
        return fig

    n, word = int_slider("n", 2, 1, 8), text_box("word", "ab")
    panel = SafePanel({"n": n, "word": word}, render)
    assert panel.renders == 1 and panel.last_error is None and seen == [(2, "ab")]

    word.value = ""  # bad input: message in the status line, no exception escapes
    assert panel.last_error == "word is empty: type some text first."
    assert "word is empty" in panel.status.value

    n.value = 7  # an unexpected error is shown with its type
    assert panel.last_error is not None
    word.value = "cd"
    assert panel.last_error == "RuntimeError: boom"

    n.value = 4  # good values work again and clear the message
    assert panel.last_error is None and panel.status.value == ""
    assert seen[-1] == (4, "cd") and panel.renders == 2
    assert not plt.get_fignums(), "rendered figures must be closed after display"


def test_safe_panel_with_button_renders_only_on_click():
    calls = []
    slider = int_slider("n", 2, 1, 8)
    panel = SafePanel({"n": slider}, lambda n: calls.append(n), button="Run", render_now=False)
    slider.value = 5
    assert calls == []
    panel.button.click()
    assert calls == [5]


def test_safe_panel_needs_controls():
    with pytest.raises(ValueError, match="at least one control"):
        SafePanel({}, lambda: None)


def test_panel_aligns_the_labels_of_its_controls():
    controls = {"t": float_slider("temperature", 1.0, 0.1, 2.0),
                "k": int_slider("top-k", 5, 1, 50),
                "text": text_box("prompt", "hello"),
                "kind": dropdown("decoding strategy", ["greedy", "sampling"])}
    SafePanel(controls, lambda **values: None, render_now=False)
    widths = {c.style.description_width for c in controls.values()}
    assert widths == {f"{len('decoding strategy') + 2}ch"}  # one width: the longest label's
