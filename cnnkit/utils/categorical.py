"""One-hot encode integer class labels, as Keras's `to_categorical` does."""

import operator

import numpy as np


def to_categorical(y, num_classes=None, dtype="float32"):
    """Convert integer class labels to a one-hot matrix.

    Args:
        y: array-like (or CPU/GPU tensor) of whole-number labels in
            `[0, num_classes)`, any shape. A last dimension of size 1 is dropped
            when `y` has more than one dimension, so `(n, 1)` gives `(n, num_classes)`.
        num_classes: int, the number of classes. Defaults to `None`: `max(y) + 1`.
        dtype: NumPy dtype of the result. Defaults to `"float32"`.

    Returns:
        A NumPy array of shape `y.shape + (num_classes,)` (after the drop above),
        1 at each label's index and 0 elsewhere.

    Raises:
        ValueError: a label is negative, not a whole number, or `>= num_classes`;
            `num_classes` is below 1; or `y` is empty and `num_classes` is `None`.
        TypeError: `num_classes` is not an int.

    Example:
    >>> to_categorical([0, 2, 1], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    labels = _as_int_labels(y)
    shape = labels.shape
    if labels.ndim > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    num_classes = _num_classes(flat, num_classes)
    out = np.zeros((flat.size, num_classes), dtype=dtype)
    out[np.arange(flat.size), flat] = 1
    return out.reshape(shape + (num_classes,))


def _as_int_labels(y) -> np.ndarray:
    if hasattr(y, "detach"):  # a torch tensor, possibly on a GPU
        y = y.detach().cpu().numpy()
    labels = np.asarray(y)
    if labels.dtype.kind in "biu":
        return labels.astype(np.int64)
    if labels.dtype.kind == "f":
        whole = np.isfinite(labels) & (labels == np.round(labels))
        if not whole.all():
            raise ValueError("to_categorical expects whole-number labels. "
                             f"Received: {labels[~whole][0].item()}")
        return labels.astype(np.int64)
    raise ValueError("to_categorical expects integer labels. "
                     f"Received: an array of dtype {labels.dtype}")


def _num_classes(flat: np.ndarray, num_classes) -> int:
    if num_classes is None:
        if flat.size == 0:
            raise ValueError("to_categorical cannot infer num_classes from empty labels; "
                             "pass num_classes.")
        num_classes = int(flat.max()) + 1
    if isinstance(num_classes, bool):
        raise TypeError(f"num_classes must be an int. Received: num_classes={num_classes!r}")
    try:
        num_classes = operator.index(num_classes)
    except TypeError:
        raise TypeError(f"num_classes must be an int. "
                        f"Received: num_classes={num_classes!r}") from None
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1. Received: num_classes={num_classes}")
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        bad = flat[(flat < 0) | (flat >= num_classes)][0]
        raise ValueError(f"to_categorical expects labels in [0, {num_classes - 1}] for "
                         f"num_classes={num_classes}. Received: label {bad}")
    return num_classes
