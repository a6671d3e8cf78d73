"""Choosing the adapter for what `fit`, `evaluate` or `predict` was given."""

import collections.abc

import numpy as np
import torch
import torch.utils._pytree as pytree

from cnnkit.utils.py_dataset import PyDataset


def unpack_batch(data):
    """`(x, y, sample_weight)` of a batch given as `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`; a
    list reads as a tuple, as in Keras (a DataLoader collates `(x, y)` samples into `[x, y]`)."""
    if isinstance(data, list):
        data = tuple(data)
    if isinstance(data, tuple):
        if not 1 <= len(data) <= 3:
            raise ValueError(
                f"A batch must be x, (x,), (x, y) or (x, y, sample_weight); received a tuple of {len(data)} items."
            )
        return (*data, None, None)[:3]
    return data, None, None


def is_array_data(x):
    """NumPy arrays, tensors, and lists/dicts of them (not a Dataset, generator, ...)."""
    leaves = pytree.tree_leaves(x)
    return bool(leaves) and all(isinstance(leaf, (np.ndarray, torch.Tensor)) for leaf in leaves)


def get_data_adapter(x, y=None, sample_weight=None, batch_size=32, shuffle=False, class_weight=None,
                     what="x"):
    """The adapter for `x` (and, for arrays only, `y` and `sample_weight`)."""
    from cnnkit.engine.data_adapters.array_adapter import ArrayAdapter
    from cnnkit.engine.data_adapters.iterable_adapter import IterableAdapter

    if x is None:
        raise ValueError(f"Received {what}=None: fit, evaluate and predict need input data.")
    if isinstance(x, list) and x and isinstance(x[0], (list, float, int)):
        x = np.asarray(x)
    if is_array_data(x):
        return ArrayAdapter(x, y, sample_weight, batch_size, shuffle, class_weight)
    if y is not None or sample_weight is not None:
        raise ValueError(
            f"`y` and `sample_weight` are given only with arrays; with {type(x).__name__} input, its batches "
            "hold the targets: yield (x, y) or (x, y, sample_weight)."
        )
    if isinstance(x, PyDataset):
        return IterableAdapter.from_py_dataset(x, shuffle, class_weight)
    if isinstance(x, torch.utils.data.DataLoader):
        return IterableAdapter(x, class_weight=class_weight)
    if isinstance(x, torch.utils.data.Dataset) and hasattr(x, "__getitem__") and hasattr(x, "__len__"):
        return IterableAdapter.from_torch_dataset(x, batch_size, shuffle, class_weight)
    if isinstance(x, collections.abc.Iterable):
        return IterableAdapter(x, class_weight=class_weight)
    raise TypeError(
        f"Unrecognized data type: {what}={type(x).__name__}. Expected NumPy arrays or tensors (or a list/dict of "
        "them), a cnnkit.data.Dataset, a torch DataLoader or Dataset, a cnnkit.utils.PyDataset, or a Python "
        "generator of batches."
    )


def class_weights_for(y, class_weight):
    """Per-sample weights from `class_weight` ({class index: weight}) and the targets of one output
    (integer labels, or one-hot rows whose argmax is the class), as Keras turns them into sample weights."""
    labels = y.reshape(len(y), -1)
    labels = labels.argmax(dim=-1) if labels.shape[-1] > 1 else labels[:, 0].round().long()
    table = torch.ones(int(max(max(class_weight), int(labels.max()) if len(labels) else 0)) + 1, device=y.device)
    for index, weight in class_weight.items():
        table[int(index)] = float(weight)
    return table[labels]

