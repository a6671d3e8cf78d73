"""A model's intermediate activations for one image, every channel as a grid per layer."""

import math

import numpy as np
import torch

from cnnkit.viz._inspect import as_batch, default_looked_at, find_layer, is_image_map, recording

CELL_PX = 48
MAX_COLUMNS = 16


def activations(model, image, layers=None, path=None, max_channels=64):
    """The outputs of `layers` for one image, and optionally their picture.

    Works for Sequential, Functional and subclassed models (outputs are captured by forward
    hooks during one inference call of the whole model).

    Args:
        model: a built model.
        image: array or tensor (height, width), (height, width, channels) or
            (1, height, width, channels), prepared as the model expects.
        layers: list of layers or layer names. Default None: each convolution and pooling layer
            (nested models' included), in the order the model calls them.
        path: optional; write a PNG there: per layer, a grid of its channels, each channel
            scaled to its own min..max (a constant channel is black).
        max_channels: int, the most channels drawn per layer (all are returned). Default 64.

    Returns:
        dict `{layer name: float32 array (h, w, channels)}` (the image's outputs, batch axis
        dropped), in call order. A layer called twice gives its last call's output.

    Raises:
        ValueError: an unknown layer name, a layer that the model does not call for this input,
            or one whose output is not 4D (batch, height, width, channels).

    Example:
        >>> maps = activations(model, x_test[0], path="activations.png")  # doctest: +SKIP
        >>> {name: a.shape for name, a in maps.items()}  # doctest: +SKIP
        {'conv2d': (26, 26, 32), 'max_pooling2d': (13, 13, 32), ...}
    """
    chosen = default_looked_at(model) if layers is None else [find_layer(model, layer) for layer in layers]
    if not chosen:
        raise ValueError(f"Model '{model.name}' has no convolution or pooling layer; pass `layers`.")
    batch = as_batch(model, image)
    with torch.no_grad(), recording(chosen) as calls:
        model(batch, training=False)
    found = {}
    for layer, output in calls:
        if not is_image_map(output):
            raise ValueError(f"Layer '{layer.name}' gives {tuple(getattr(output, 'shape', ()))}, "
                             "not a 4D (batch, height, width, channels) output.")
        found.pop(layer.name, None)
        found[layer.name] = output[0].float().cpu().numpy()
    missing = [layer.name for layer in chosen if layer.name not in found]
    if missing:
        raise ValueError(f"Model '{model.name}' did not call layer(s) {missing} for this input.")
    if path is not None:
        plot_activations(found, path, max_channels)
    return found


def plot_activations(maps, path, max_channels=64):
    """Writes `{name: (h, w, channels)}` as one titled grid of channels per layer, stacked."""
    from cnnkit.viz._figure import new_figure, save_figure

    shapes = {name: _grid(min(array.shape[-1], max_channels)) for name, array in maps.items()}
    columns = max(columns for _, columns in shapes.values())
    height = sum(rows * CELL_PX + 30 for rows, _ in shapes.values())
    figure = new_figure(columns * CELL_PX, height)
    panels = figure.subfigures(len(maps), 1, height_ratios=[rows * CELL_PX + 30 for rows, _ in shapes.values()],
                               squeeze=False)[:, 0]
    for panel, (name, array) in zip(panels, maps.items()):
        rows, layer_columns = shapes[name]
        shown = min(array.shape[-1], max_channels)
        panel.suptitle(f"{name} {tuple(array.shape)}" + (f", first {shown} channels" if shown < array.shape[-1] else ""),
                       fontsize=9)
        for channel in range(shown):
            axes = panel.add_subplot(rows, columns, (channel // layer_columns) * columns + channel % layer_columns + 1)
            axes.imshow(_normalised(array[..., channel]), cmap="viridis", vmin=0, vmax=1)
            axes.axis("off")
    return save_figure(figure, path)


def _grid(channels):
    columns = min(MAX_COLUMNS, channels)
    return math.ceil(channels / columns), columns


def _normalised(channel):
    low, high = float(channel.min()), float(channel.max())
    return (channel - low) / (high - low) if high > low else np.zeros_like(channel)
