"""Figures of sound: waveform and mel spectrogram (matplotlib), spectrogram heatmaps (Plotly).

Shared by chapters 30 and 31. A spectrogram shows time left to right, frequency bottom to
top (mel bands, spaced as the ear spaces pitch) and loudness as colour, in dB below the
loudest cell.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go

from course_utils.audio.signal import check_rate, check_wave, spectrogram
from course_utils.core.validation import check_float


def sound_figure(wave: object, rate: int, title: str = "",
                 width: float = 7.5) -> plt.Figure:
    """Waveform above its mel spectrogram, sharing the time axis.

    Args:
        wave: (n,) samples.
        rate: sample rate in Hz.
        title: the figure's title (also its alternative text in a panel).
        width: figure width in inches.
    """
    array, rate = check_wave(wave), check_rate(rate)
    db, times, freqs = spectrogram(array, rate)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(width, 3.6), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 2]})
    top.plot(np.arange(array.size) / rate, array, linewidth=0.5, color="#1f4e79")
    top.set(ylabel="amplitude", ylim=(-1.05, 1.05), title=title or "Waveform and spectrogram")
    mesh = bottom.pcolormesh(times, np.arange(len(freqs)), db, shading="auto",
                             cmap="magma", vmin=-80, vmax=0)
    ticks = [k for k in range(0, len(freqs), max(1, len(freqs) // 4))]
    bottom.set_yticks(ticks, [f"{freqs[k] / 1000:.1f}" for k in ticks])
    bottom.set(xlabel="time (s)", ylabel="frequency (kHz, mel)")
    fig.colorbar(mesh, ax=bottom, label="dB", pad=0.01)
    fig.tight_layout()
    return fig


def spectrogram_heatmap(wave: object, rate: int, name: str = "",
                        hop_seconds: float = 0.012) -> go.Heatmap:
    """A Plotly heatmap trace of the mel spectrogram (x: seconds, y: kHz, colour: dB).

    The levels are stored as whole decibels in 8-bit integers and frames ``hop_seconds``
    apart, so that a figure with several spectrograms stays small inside a notebook.
    """
    array, rate = check_wave(wave), check_rate(rate)
    hop = max(1, int(round(check_float("hop_seconds", hop_seconds, 0.001, 0.1) * rate)))
    n_fft = max(512, 1 << (hop - 1).bit_length())
    db, times, freqs = spectrogram(array, rate, n_fft=n_fft, hop=hop)
    return go.Heatmap(z=np.round(db).astype(np.int8), x=times.astype(np.float32),
                      y=(freqs / 1000).astype(np.float32), colorscale="Magma", zmin=-80,
                      zmax=0, colorbar={"title": {"text": "dB"}}, name=name,
                      hovertemplate="%{x:.2f} s, %{y:.2f} kHz: %{z} dB<extra></extra>")
