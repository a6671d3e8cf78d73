"""The input pattern each filter of a layer responds to most: gradient ascent in input space."""

import math

import numpy as np
import torch

from cnnkit.viz._inspect import find_layer, is_image_map, recording

CELL_PX = 96
MAX_COLUMNS = 8


def filter_patterns(model, layer, filters=None, steps=30, learning_rate=10.0, size=None, path=None, seed=0):
    """Gradient ascent from grey noise to the image that maximises each filter's mean response.

    The classic method (Chollet, "Deep Learning with Python"): start from a grey image with a
    little noise, and step along the gradient of the filter's mean activation (border pixels
    left out), the gradient scaled to unit L2 norm at each step. All filters climb together as
    one batch (the model runs in inference mode, so images do not interact).

    Args:
        model: a built model taking images (batch, height, width, channels).
        layer: a layer or its name whose output is 4D (batch, height, width, channels).
        filters: list of channel indices. Default None: the first 64 channels of `layer`.
        steps: int, ascent steps. Default 30.
        learning_rate: float, the size of each (normalised) step. Default 10.0.
        size: (height, width) of the patterns. Default None: the model's input size.
        path: optional; write a PNG there: the patterns in a grid, each scaled for display.
        seed: int, seeds the starting noise. Default 0.

    Returns:
        `(patterns, responses)`: float32 array (filters, height, width, channels), the raw
        images found; and float32 array (steps + 1, filters), each filter's mean response
        before the first step and after each step.

    Raises:
        ValueError: `layer`'s output is not 4D, a filter index is out of range, or no input
            size is known.

    Example:
        >>> patterns, responses = filter_patterns(model, "conv2d", path="filters.png")  # doctest: +SKIP
    """
    target = find_layer(model, layer)
    height, width, channels = _input_size(model, size)
    probe = torch.full((1, height, width, channels), 0.5, device=model._device())
    with torch.no_grad(), recording([target]) as calls:
        model(probe, training=False)
    if not calls or not is_image_map(calls[-1][1]):
        raise ValueError(f"Layer '{target.name}' needs a 4D (batch, height, width, channels) output for "
                         "filter_patterns.")
    available = calls[-1][1].shape[-1]
    filters = list(range(min(available, 64))) if filters is None else [int(f) for f in filters]
    if not filters or not all(0 <= f < available for f in filters):
        raise ValueError(f"`filters` must be indices in [0, {available}) of layer '{target.name}'. "
                         f"Received: filters={filters}")
    generator = np.random.default_rng(seed)
    start = 0.5 + 0.05 * generator.standard_normal((len(filters), height, width, channels))
    images = torch.as_tensor(start, dtype=torch.float32, device=model._device())
    index = torch.as_tensor(filters, device=images.device)
    responses = []
    for step in range(steps + 1):
        images.requires_grad_(True)
        with torch.enable_grad(), recording([target]) as calls:
            model(images, training=False)
            response = _mean_response(calls[-1][1], index)
            if step == steps:
                responses.append(response.detach().cpu().numpy())
                break
            gradients, = torch.autograd.grad(response.sum(), images)
        responses.append(response.detach().cpu().numpy())
        norms = gradients.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        images = (images + learning_rate * gradients / norms).detach()
    patterns = images.detach().cpu().numpy()
    if path is not None:
        plot_filter_patterns(patterns, filters, target.name, path)
    return patterns, np.stack(responses).astype(np.float32)


def plot_filter_patterns(patterns, filters, layer_name, path):
    """Writes `patterns` (n, height, width, channels) as a titled grid, each pattern displayed as
    Chollet's deprocessing does: centred, scaled to a std of 0.15 around grey, clipped."""
    from cnnkit.viz._figure import new_figure, save_figure

    columns = min(MAX_COLUMNS, len(patterns))
    rows = math.ceil(len(patterns) / columns)
    figure = new_figure(columns * CELL_PX, rows * CELL_PX + 40)
    figure.suptitle(f"filter patterns of layer '{layer_name}'", fontsize=10)
    for cell, (pattern, number) in enumerate(zip(patterns, filters)):
        axes = figure.add_subplot(rows, columns, cell + 1)
        shown = _deprocess(pattern)
        axes.imshow(shown[..., 0] if shown.shape[-1] == 1 else shown, cmap="gray" if shown.shape[-1] == 1 else None,
                    vmin=0, vmax=1)
        axes.set_title(str(number), fontsize=8)
        axes.axis("off")
    return save_figure(figure, path)


def _mean_response(output, index):
    """Each image's mean activation of its own filter, the outer 10% border left out."""
    height, width = output.shape[1:3]
    top, left = height // 10, width // 10
    inner = output[:, top:height - top or None, left:width - left or None, :]
    chosen = inner.gather(3, index.view(-1, 1, 1, 1).expand(-1, *inner.shape[1:3], 1))
    return chosen.mean(dim=(1, 2, 3))


def _input_size(model, size):
    shape = tuple(getattr(model, "input_shape", None) or ())
    if len(shape) != 4:
        raise ValueError(f"filter_patterns needs a model taking images (batch, height, width, channels); "
                         f"model '{model.name}' takes {shape or 'an unknown shape'}")
    height, width = size if size is not None else shape[1:3]
    if height is None or width is None:
        raise ValueError(f"Model '{model.name}' takes any image size; pass `size=(height, width)`.")
    return int(height), int(width), int(shape[3])


def _deprocess(pattern):
    centred = pattern - pattern.mean()
    return np.clip(0.5 + 0.15 * centred / (centred.std() + 1e-5), 0, 1)
