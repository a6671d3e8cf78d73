"""Tensors in and out: conversion, dtypes, shapes, and new tensors on cnnkit's device.

NumPy arrays and Python numbers become torch tensors as in Keras, whose default float is
float32: float64 data arrives as float32, Python ints as int32, NumPy ints keep their width.

Example:
    >>> x = convert_to_tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> x.dtype, shape(x)
    (torch.float32, (2, 2))
"""

import numpy as np
import torch

from cnnkit.engine.device import get_device

_DTYPES = {
    "bool": torch.bool,
    "uint8": torch.uint8,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}
_FLOATX = torch.float32


def _torch_dtype(dtype):
    """The torch dtype for a name ("float32"), a torch dtype or a NumPy dtype; None stays None."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    name = dtype
    if not isinstance(dtype, str):
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
    if name not in _DTYPES:
        raise ValueError(f"Unknown dtype. Expected one of: {', '.join(_DTYPES)}. Received: dtype={dtype!r}")
    return _DTYPES[name]


def _to_tensor(x, dtype=None, device=None):
    """`x` as a tensor; NumPy data and Python numbers go to `device` (default: cnnkit's device)."""
    dtype = _torch_dtype(dtype)
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(dtype)
    array = np.asarray(x)
    if not array.flags.writeable:  # e.g. np.broadcast_to: torch would share and warn
        array = array.copy()
    if dtype is None and array.dtype == np.float64:
        dtype = _FLOATX
    elif dtype is None and array.dtype == np.int64 and not isinstance(x, (np.ndarray, np.generic)):
        dtype = torch.int32
    return torch.as_tensor(array, dtype=dtype, device=device or get_device())


def _align(*values):
    """Tensors for `values`; the non-tensors are made on the device of the first tensor among them."""
    device = next((value.device for value in values if isinstance(value, torch.Tensor)), None)
    return [_to_tensor(value, device=device) for value in values]


def _to_float(x):
    """`x` as a tensor, float32 when it holds ints or bools (floats keep their dtype)."""
    x = _to_tensor(x)
    return x if x.is_floating_point() else x.to(_FLOATX)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """A torch tensor holding `x` (a tensor, NumPy array, list or number), cast to `dtype` if given.

    A tensor passed in comes back as it is (same object, same device) unless `dtype` differs.
    `sparse` and `ragged` are accepted for Keras's signature; cnnkit's tensors are dense.
    """
    if sparse or ragged:
        raise ValueError(f"cnnkit has dense tensors only. Received: sparse={sparse}, ragged={ragged}")
    return _to_tensor(x, dtype)


def convert_to_numpy(x):
    """A NumPy array holding `x` (detached and copied to the CPU; bfloat16 becomes float32)."""
    if not isinstance(x, torch.Tensor):
        return np.asarray(x)
    x = x.detach()
    if x.dtype == torch.bfloat16:
        x = x.float()
    return x.cpu().numpy()


def cast(x, dtype):
    """`x` with dtype `dtype` ("float32", "int32", "bool", ...); floats become ints by truncation."""
    return _to_tensor(x).to(_torch_dtype(dtype))


def shape(x):
    """The shape of `x` as a tuple of ints."""
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def zeros(shape, dtype=None):
    """A tensor of zeros of `shape` (an int or a tuple); dtype float32 by default."""
    return torch.zeros(shape, dtype=_torch_dtype(dtype) or _FLOATX, device=get_device())


def ones(shape, dtype=None):
    """A tensor of ones of `shape` (an int or a tuple); dtype float32 by default."""
    return torch.ones(shape, dtype=_torch_dtype(dtype) or _FLOATX, device=get_device())


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in `[start, stop)` (`[0, start)` when `stop` is None), `step` (default 1) apart.

    The dtype is int32 for whole numbers and float32 when any bound or the step is a float,
    unless `dtype` is given.
    """
    bounds = (start, stop, step)
    if dtype is None:
        dtype = _FLOATX if any(_is_float(value) for value in bounds) else torch.int32
    if stop is None:
        start, stop = 0, start
    return torch.arange(start, stop, 1 if step is None else step, dtype=_torch_dtype(dtype), device=get_device())


def _is_float(value):
    return isinstance(value, float) or "float" in str(getattr(value, "dtype", ""))
