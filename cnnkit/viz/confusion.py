"""The confusion matrix, in NumPy, and its picture."""

import numpy as np

from cnnkit.viz._figure import new_figure, save_figure


def _labels(values, name):
    array = np.asarray(values)
    if array.ndim == 2:  # one-hot or probabilities
        array = array.argmax(axis=1)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"`{name}` must be integer class labels of shape (n,) or one-hot rows of shape "
                         f"(n, classes). Received: dtype {array.dtype}, shape {array.shape}")
    return array.astype(np.int64)


def confusion_matrix(y_true, y_pred, num_classes=None):
    """Counts of (true class, predicted class) pairs: row = true, column = predicted.

    Args:
        y_true: int labels of shape (n,), or one-hot / probability rows of shape (n, classes).
        y_pred: the same, for the predictions.
        num_classes: int; default one more than the largest label seen.

    Returns:
        int64 array of shape (num_classes, num_classes).

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2).tolist()
        [[1, 0], [1, 1]]
    """
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred must have the same length; received {len(y_true)} and {len(y_pred)}.")
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"`{name}` holds labels outside [0, {num_classes}): "
                             f"min {labels.min()}, max {labels.max()}.")
    pairs = y_true * num_classes + y_pred
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def plot_confusion_matrix(y_true, y_pred, path, class_names=None, title="Confusion matrix"):
    """Draws the confusion matrix with its counts in the cells and writes it as a PNG.

    Args:
        y_true, y_pred: labels, as for `confusion_matrix`.
        path: where to write the PNG (written atomically).
        class_names: optional list of names; default "0", "1", ...
        title: str, drawn above the matrix with the overall accuracy.

    Returns:
        The confusion matrix (int64 array).

    Example:
        >>> plot_confusion_matrix([0, 1, 1], [0, 1, 0], "confusion.png")  # doctest: +SKIP
    """
    num_classes = len(class_names) if class_names is not None else None
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(matrix))]
    figure = new_figure(800, 720)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(column, row, str(count), ha="center", va="center", fontsize=8,
                  color="white" if count > threshold else "black")
    ticks = np.arange(len(names))
    axes.set_xticks(ticks, names, rotation=45 if max(map(len, names), default=0) > 2 else 0, ha="right")
    axes.set_yticks(ticks, names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    total = matrix.sum()
    accuracy = np.trace(matrix) / total if total else 0.0
    axes.set_title(f"{title} (accuracy {accuracy:.4f}, {total:,} samples)")
    save_figure(figure, path)
    return matrix
