"""A grid of misclassified images with their true and predicted labels."""

import math

import numpy as np

from cnnkit.viz._figure import new_figure, save_figure

CELL_PX = 120


def _images_2d(images):
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (3, 4):
        raise ValueError("`images` must have shape (n, height, width), (n, height, width, 1) or "
                         f"(n, height, width, 3). Received: shape {array.shape}")
    return array


def _name(label, class_names):
    return class_names[label] if class_names is not None else str(label)


def plot_mistakes(images, y_true, y_pred, path, max_images=36, class_names=None):
    """Draws up to `max_images` misclassified images in a square grid and writes a PNG.

    Each image is titled `true → predicted`. With no mistakes, the picture says so.

    Args:
        images: array (n, height, width[, channels]), any scale (each image is drawn
            from its own minimum to maximum, white ink on black as in MNIST).
        y_true, y_pred: int labels of shape (n,).
        path: where to write the PNG (written atomically).
        max_images: int, the most images drawn (the first mistakes in order). Default 36.
        class_names: optional list of names for the titles.

    Returns:
        The indices (into `images`) of the mistakes drawn.

    Example:
        >>> plot_mistakes(x_test, y_test, predictions, "mistakes.png")  # doctest: +SKIP
    """
    images = _images_2d(images)
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if not len(images) == len(y_true) == len(y_pred):
        raise ValueError(f"images, y_true and y_pred must have the same length; received "
                         f"{len(images)}, {len(y_true)} and {len(y_pred)}.")
    shown = np.flatnonzero(y_true != y_pred)[:max_images]
    columns = max(1, math.ceil(math.sqrt(len(shown))))
    rows = max(1, math.ceil(len(shown) / columns))
    figure = new_figure(columns * CELL_PX, rows * CELL_PX + 40)
    figure.suptitle(f"{np.count_nonzero(y_true != y_pred):,} mistakes in {len(y_true):,} "
                    f"(true → predicted)" if len(shown) else "no mistakes")
    for cell, index in enumerate(shown):
        axes = figure.add_subplot(rows, columns, cell + 1)
        axes.imshow(images[index], cmap="gray" if images.ndim == 3 else None)
        axes.set_title(f"{_name(y_true[index], class_names)} → {_name(y_pred[index], class_names)}", fontsize=10)
        axes.axis("off")
    save_figure(figure, path)
    return shown
