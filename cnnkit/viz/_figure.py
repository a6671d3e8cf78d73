"""Figures drawn off-screen with matplotlib's Agg renderer, imported only when needed.

Figures are `matplotlib.figure.Figure` objects outside pyplot: no window, no global
figure registry to leak into, and the caller's pyplot backend is left alone.
"""

import os

from cnnkit.saving.atomic import atomic_write


def new_figure(width_px, height_px, dpi=100):
    """A figure of exactly `width_px` x `height_px` pixels when saved.

    Raises:
        ImportError: matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("cnnkit.viz needs matplotlib, a dependency of cnnkit: pip install matplotlib") from error
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, path):
    """Writes `figure` as a PNG at `path` atomically and releases its memory. Returns `path`."""
    try:
        with atomic_write(path) as stream:
            figure.savefig(stream, format="png", dpi=figure.dpi)
    finally:
        figure.clear()
    return os.fspath(path)
