"""The datasets the command trains and evaluates on, as model-ready arrays.

The dataset modules (and torch) are imported only when data is loaded.
"""

import importlib

DATASETS = {"mnist": "cnnkit.datasets.mnist", "fashion_mnist": "cnnkit.datasets.fashion_mnist"}

CLASS_NAMES = {
    "mnist": [str(digit) for digit in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}


def load_dataset(name, limit=None):
    """((x_train, y_train), (x_test, y_test)): float32 (n, 28, 28, 1) in [0, 1], int64 labels.

    `limit` keeps the first `limit` samples of each split.

    Example:
        >>> (x, y), (x_test, y_test) = load_dataset("mnist", limit=100)  # doctest: +SKIP
        >>> x.shape, y[:3]  # doctest: +SKIP
        ((100, 28, 28, 1), array([5, 0, 4]))
    """
    (x_train, y_train), (x_test, y_test) = importlib.import_module(DATASETS[name]).load_data()
    return _prepare(x_train, y_train, limit), _prepare(x_test, y_test, limit)


def _prepare(images, labels, limit):
    import numpy as np

    images, labels = images[:limit], labels[:limit]
    return (images.reshape(-1, 28, 28, 1).astype(np.float32) / 255, labels.astype(np.int64))


def targets_for(model, labels):
    """Labels as the model's loss expects them: integers for sparse losses, else one-hot."""
    from cnnkit import losses
    from cnnkit.utils import to_categorical

    if isinstance(model.loss, losses.SparseCategoricalCrossentropy):
        return labels
    return to_categorical(labels, model.output_shape[-1])
