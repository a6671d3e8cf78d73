"""NumPy-style ops by Keras name: shapes, joins, reductions and elementwise math on torch tensors.

`axis` is an int, a tuple of ints, or None (every axis), as in NumPy. Results keep Keras's
dtypes: a mean, std or var of ints is float32, a sum of int32 stays int32, argmax is int32.

Example:
    >>> import torch
    >>> mean(torch.tensor([[1, 2], [3, 4]]), axis=0)
    tensor([2., 3.])
"""

import torch

from cnnkit.ops.core import _align, _to_float, _to_tensor

_SUM_TO_INT32 = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32)


def _dim(axis):
    """torch's `dim` for a Keras `axis`: None, an int, or a tuple (a list becomes a tuple)."""
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


# Shapes and joins.


def reshape(x, newshape):
    """`x` with shape `newshape` (an int or a tuple; one entry may be -1)."""
    return torch.reshape(_to_tensor(x), (newshape,) if isinstance(newshape, int) else tuple(newshape))


def transpose(x, axes=None):
    """`x` with its axes permuted to `axes`; reversed when `axes` is None."""
    x = _to_tensor(x)
    return x.permute(tuple(reversed(range(x.ndim))) if axes is None else tuple(axes))


def expand_dims(x, axis):
    """`x` with a new axis of size 1 at `axis` (an int or a tuple, positions in the result)."""
    x = _to_tensor(x)
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    rank = x.ndim + len(axes)
    if any(not -rank <= a < rank for a in axes):
        raise ValueError(f"`axis` is out of range for a result of rank {rank}. Received: axis={axis}")
    positions = sorted(a % rank for a in axes)
    if len(set(positions)) != len(positions):
        raise ValueError(f"`axis` repeats a position. Received: axis={axis}")
    for position in positions:
        x = x.unsqueeze(position)
    return x


def squeeze(x, axis=None):
    """`x` without its axes of size 1 (all of them, or those in `axis`, which must have size 1)."""
    x = _to_tensor(x)
    if axis is None:
        return torch.squeeze(x)
    dims = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    for a in dims:
        if x.shape[a] != 1:
            raise ValueError(f"Cannot squeeze an axis of size {x.shape[a]} (shape {tuple(x.shape)}). "
                             f"Received: axis={axis}")
    return torch.squeeze(x, dims)


def concatenate(xs, axis=0):
    """The tensors `xs` joined along the existing axis `axis` (dtypes promoted as in NumPy)."""
    return torch.cat(_align(*xs), dim=axis)


def stack(x, axis=0):
    """The tensors in `x` (all of one shape) joined along a new axis `axis`."""
    return torch.stack(_align(*x), dim=axis)


# Reductions.


def sum(x, axis=None, keepdims=False):
    """The sum over `axis`; bools and ints up to int32 sum to int32, as in Keras."""
    x = _to_tensor(x)
    if _dim(axis) == ():
        return x
    dtype = torch.int32 if x.dtype in _SUM_TO_INT32 else None
    return torch.sum(x, dim=_dim(axis), keepdim=keepdims, dtype=dtype)


def mean(x, axis=None, keepdims=False):
    """The mean over `axis`; float32 for ints and bools."""
    x = _to_float(x)
    if _dim(axis) == ():
        return x
    return torch.mean(x, dim=_dim(axis), keepdim=keepdims)


def max(x, axis=None, keepdims=False, initial=None):
    """The largest value over `axis`, or `initial` when that is larger."""
    x = _to_tensor(x)
    if _dim(axis) != ():
        x = torch.amax(x, dim=() if axis is None else _dim(axis), keepdim=keepdims)
    return x if initial is None else torch.clamp(x, min=initial)


def min(x, axis=None, keepdims=False, initial=None):
    """The smallest value over `axis`, or `initial` when that is smaller."""
    x = _to_tensor(x)
    if _dim(axis) != ():
        x = torch.amin(x, dim=() if axis is None else _dim(axis), keepdim=keepdims)
    return x if initial is None else torch.clamp(x, max=initial)


def var(x, axis=None, keepdims=False):
    """The variance over `axis`, divided by N as in NumPy (no Bessel correction); float32 for ints."""
    return torch.var(_to_float(x), dim=_dim(axis), correction=0, keepdim=keepdims)


def std(x, axis=None, keepdims=False):
    """The standard deviation over `axis`, divided by N as in NumPy; float32 for ints."""
    return torch.std(_to_float(x), dim=_dim(axis), correction=0, keepdim=keepdims)


def argmax(x, axis=None, keepdims=False):
    """The int32 index of the largest value along `axis` (of the flattened `x` when None); first on ties."""
    x = _to_tensor(x)
    x = x.to(torch.uint8) if x.dtype == torch.bool else x
    return torch.argmax(x, dim=axis, keepdim=keepdims).to(torch.int32)


def argmin(x, axis=None, keepdims=False):
    """The int32 index of the smallest value along `axis` (of the flattened `x` when None); first on ties."""
    x = _to_tensor(x)
    x = x.to(torch.uint8) if x.dtype == torch.bool else x
    return torch.argmin(x, dim=axis, keepdim=keepdims).to(torch.int32)


# Elementwise.


def abs(x):
    return torch.abs(_to_tensor(x))


def sqrt(x):
    """The square root; float32 for ints."""
    return torch.sqrt(_to_float(x))


def square(x):
    return torch.square(_to_tensor(x))


def exp(x):
    """e to the power `x`; float32 for ints."""
    return torch.exp(_to_float(x))


def log(x):
    """The natural logarithm; float32 for ints."""
    return torch.log(_to_float(x))


def clip(x, x_min, x_max):
    """`x` with its values limited to `[x_min, x_max]`."""
    x, x_min, x_max = _align(x, x_min, x_max)
    return torch.clamp(x, x_min, x_max)


def maximum(x1, x2):
    """The larger of `x1` and `x2`, elementwise (broadcast; a Python number keeps the tensor's dtype)."""
    return torch.maximum(*_align(x1, x2))


def minimum(x1, x2):
    """The smaller of `x1` and `x2`, elementwise (broadcast; a Python number keeps the tensor's dtype)."""
    return torch.minimum(*_align(x1, x2))


def where(condition, x1=None, x2=None):
    """`x1` where `condition` holds, else `x2`; with `condition` alone, the tuple of its nonzero indices."""
    if (x1 is None) != (x2 is None):
        missing = "x1" if x1 is None else "x2"
        raise ValueError(f"`x1` and `x2` must both be given or both be None. Received: {missing}=None")
    if x1 is None:
        return torch.nonzero(_to_tensor(condition), as_tuple=True)
    condition, x1, x2 = _align(condition, x1, x2)
    return torch.where(condition.to(torch.bool), x1, x2)


def matmul(x1, x2):
    """The matrix product of `x1` and `x2` (batched over leading axes, as NumPy's `matmul`)."""
    x1, x2 = _align(x1, x2)
    dtype = torch.promote_types(x1.dtype, x2.dtype)
    return torch.matmul(x1.to(dtype), x2.to(dtype))
