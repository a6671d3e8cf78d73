"""Arrays in, device tensors out: converted once, then batched by index.

The whole dataset goes to the device once, as a channels-last tensor; an epoch's
batches are then slices (in order) or index gathers (shuffled) on the device, with no
per-batch host-to-device copies and no DataLoader worker processes.
"""

import numpy as np
import torch
import torch.utils._pytree as pytree


class Columns:
    """Several tensors with the same number of rows (a model's inputs, or its targets), batched
    together: `columns[a:b]` and `columns.index_select(0, index)` apply to each one.

    `structure()` gives them back nested as they came (one tensor, a list, a dict).
    """

    def __init__(self, tensors, spec=None):
        self.tensors = list(tensors)
        self.spec = spec

    @classmethod
    def of(cls, structure):
        tensors, spec = pytree.tree_flatten(structure)
        return cls(tensors, spec)

    def structure(self):
        return pytree.tree_unflatten(self.tensors, self.spec) if self.spec is not None else self.tensors

    def __len__(self):
        return len(self.tensors[0])

    def __getitem__(self, rows):
        return Columns([tensor[rows] for tensor in self.tensors], self.spec)

    def index_select(self, dim, index):
        return Columns([tensor.index_select(dim, index) for tensor in self.tensors], self.spec)

    @property
    def device(self):
        return self.tensors[0].device


def to_device_tensor(array, device, what):
    """Converts a NumPy array (or tensor) to a tensor on `device` without a needless copy."""
    if isinstance(array, torch.Tensor):
        tensor = array
    else:
        array = np.asarray(array)
        if array.dtype == object:
            raise ValueError(f"`{what}` must be a numeric array; received an array of Python objects.")
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.is_floating_point() and tensor.dtype != torch.float32:
        tensor = tensor.float()
    return tensor.to(device)


def check_inputs(x, input_shape, model_name, input_name=None):
    """Raises if `x` does not fit the model's `input_shape` (batch dimension ignored)."""
    expected = tuple(input_shape[1:])
    given = tuple(x.shape[1:])
    which = f" '{input_name}'" if input_name else ""
    if len(given) != len(expected) or any(e is not None and e != g for e, g in zip(expected, given)):
        raise ValueError(
            f"Input{which} to model '{model_name}' has shape {(None, *given)}, but the model expects "
            f"{input_shape}. Reshape the data (e.g. x.reshape(-1, {', '.join(str(d) for d in expected)}))."
        )
    if not x.is_floating_point():
        raise ValueError(
            f"Input to model '{model_name}' must be floating point; received dtype {x.dtype}. "
            f"Convert it, e.g. x.astype('float32') / 255."
        )


def check_same_length(x, y):
    lengths = {len(tensor) for tensor in pytree.tree_leaves((x, y))}
    if len(lengths) > 1:
        x, y = pytree.tree_leaves(x)[0], pytree.tree_leaves(y)[0]
        raise ValueError(
            f"x and y must hold the same number of samples; received {len(x)} inputs and {len(y)} targets."
        )


def batch_slices(n, batch_size):
    """(start, stop) of each batch; the last one may be short."""
    return [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


def iterate_batches(tensors, batch_size, order=None):
    """Yields a tuple of batches per step: slices in order, or gathers along `order`."""
    n = len(tensors[0])
    for start, stop in batch_slices(n, batch_size):
        if order is None:
            yield tuple(t[start:stop] for t in tensors)
        else:
            index = order[start:stop]
            yield tuple(t.index_select(0, index) for t in tensors)


def split_validation(x, y, fraction):
    """Keras's validation_split: the last `fraction` of the samples, before any shuffling."""
    if not 0 <= fraction < 1:
        raise ValueError(f"`validation_split` must be in [0, 1). Received: validation_split={fraction!r}")
    n = len(pytree.tree_leaves(x)[0])
    cut = int(n * (1 - fraction))
    if cut == 0 or cut == n:
        raise ValueError(
            f"validation_split={fraction} of {n} samples leaves "
            f"{'no training' if cut == 0 else 'no validation'} samples."
        )
    head = lambda data: pytree.tree_map(lambda array: array[:cut], data)  # noqa: E731
    tail = lambda data: pytree.tree_map(lambda array: array[cut:], data)  # noqa: E731
    return (head(x), head(y)), (tail(x), tail(y))
