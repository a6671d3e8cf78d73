"""The examples a classifier gets most wrong: highest loss first (fastai's `plot_top_losses`)."""

import math

import numpy as np

from cnnkit.viz.mistakes import _images_2d

CELL_PX = 140


def top_losses(model, x, y, k=9, batch_size=256):
    """The `k` examples of `(x, y)` with the highest cross-entropy loss, highest first.

    Args:
        model: a built classifier with one output (batch, classes): probabilities, or logits
            (a softmax is applied when the rows are not probability distributions).
        x: images (n, height, width, channels) as the model takes them.
        y: int labels (n,) or one-hot labels (n, classes).
        k: int, how many. Default 9.
        batch_size: int, prediction batch size. Default 256.

    Returns:
        `(indices, losses, probabilities)`: int array (k,) into `x`; float array (k,) of
        `-log p(true class)`; float array (n, classes), the probabilities of every example.
    """
    probabilities = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    rows_sum = probabilities.sum(axis=1)
    if probabilities.min() < 0 or not np.allclose(rows_sum, 1, atol=1e-3):
        shifted = np.exp(probabilities - probabilities.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    labels = _labels(y, len(probabilities))
    losses = -np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, 1))
    order = np.argsort(-losses, kind="stable")[:k]
    return order, losses[order], probabilities


def plot_top_losses(model, x, y, k=9, path="top_losses.png", class_names=None, batch_size=256):
    """Draws the `k` examples with the highest loss, each titled `true / predicted / loss /
    probability of the prediction`, and writes a PNG at `path`.

    Args:
        model, x, y, k, batch_size: as in `top_losses`.
        path: where to write the PNG (atomically). Default "top_losses.png".
        class_names: optional names of the classes. Default: `model.class_names` when the
            model has them, else the indices.

    Returns:
        `(indices, losses)` of the examples drawn, highest loss first.

    Example:
        >>> indices, losses = plot_top_losses(model, x_test, y_test, k=9, path="top.png")  # doctest: +SKIP
    """
    from cnnkit.viz._figure import new_figure, save_figure

    indices, losses, probabilities = top_losses(model, x, y, k, batch_size)
    labels = _labels(y, len(probabilities))
    names = class_names if class_names is not None else getattr(model, "class_names", None)
    images = _images_2d(x)
    columns = max(1, math.ceil(math.sqrt(len(indices))))
    rows = max(1, math.ceil(len(indices) / columns))
    figure = new_figure(columns * CELL_PX, rows * (CELL_PX + 20) + 40)
    figure.suptitle("top losses: true / predicted / loss / probability", fontsize=10)
    for cell, (index, loss) in enumerate(zip(indices, losses)):
        predicted = int(np.argmax(probabilities[index]))
        axes = figure.add_subplot(rows, columns, cell + 1)
        axes.imshow(images[index], cmap="gray" if images.ndim == 3 else None)
        axes.set_title(f"{_name(labels[index], names)} / {_name(predicted, names)} / {loss:.2f} / "
                       f"{probabilities[index, predicted]:.2f}", fontsize=8)
        axes.axis("off")
    save_figure(figure, path)
    return indices, losses


def _labels(y, n):
    y = np.asarray(y)
    labels = y.argmax(axis=-1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)
    if len(labels) != n:
        raise ValueError(f"x and y must have the same length; received {n} and {len(labels)}.")
    return labels.astype(np.int64)


def _name(label, names):
    return str(names[label]) if names else str(label)
