"""Arrays in, device tensors out: converted once, then batched by index.

The whole dataset goes to the device once, as a channels-last tensor; an epoch's
batches are then slices (in order) or index gathers (shuffled) on the device, with no
per-batch host-to-device copies and no DataLoader worker processes.
"""

import numpy as np
import torch


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


def check_inputs(x, input_shape, model_name):
    """Raises if `x` does not fit the model's `input_shape` (batch dimension ignored)."""
    expected = tuple(input_shape[1:])
    given = tuple(x.shape[1:])
    if len(given) != len(expected) or any(e is not None and e != g for e, g in zip(expected, given)):
        raise ValueError(
            f"Input to model '{model_name}' has shape {(None, *given)}, but the model expects "
            f"{input_shape}. Reshape the data (e.g. x.reshape(-1, {', '.join(str(d) for d in expected)}))."
        )
    if not x.is_floating_point():
        raise ValueError(
            f"Input to model '{model_name}' must be floating point; received dtype {x.dtype}. "
            f"Convert it, e.g. x.astype('float32') / 255."
        )


def check_same_length(x, y):
    if len(x) != len(y):
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
    cut = int(len(x) * (1 - fraction))
    if cut == 0 or cut == len(x):
        raise ValueError(
            f"validation_split={fraction} of {len(x)} samples leaves "
            f"{'no training' if cut == 0 else 'no validation'} samples."
        )
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
