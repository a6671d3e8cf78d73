"""Neural-network ops by Keras name: activations, one-hot labels and normalization.

Example:
    >>> import torch
    >>> one_hot(torch.tensor([0, 2]), 3)
    tensor([[1., 0., 0.],
            [0., 0., 1.]])
"""

import torch

from cnnkit.ops.core import _FLOATX, _to_float, _to_tensor, _torch_dtype

_EPSILON = 1e-7  # Keras's backend.epsilon()


def relu(x):
    """max(x, 0), elementwise."""
    return torch.relu(_to_tensor(x))


def sigmoid(x):
    """1 / (1 + exp(-x)), elementwise; float32 for ints."""
    return torch.sigmoid(_to_float(x))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over `axis` (an int, a tuple of ints, or None for every axis)."""
    x = _to_float(x)
    if axis is None:
        axis = tuple(range(x.ndim))
    if isinstance(axis, (list, tuple)):
        return torch.exp(x - torch.logsumexp(x, dim=tuple(axis), keepdim=True))
    return torch.softmax(x, dim=axis)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Integer labels `x` as one-hot vectors of length `num_classes` along a new axis `axis`.

    A label outside `[0, num_classes)` (such as -1) gives a vector of zeros, as in Keras.
    `dtype` defaults to float32; `sparse` is accepted for Keras's signature (dense only).
    """
    if sparse:
        raise ValueError("cnnkit has dense tensors only. Received: sparse=True")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}")
    x = _to_tensor(x)
    if x.is_floating_point():
        x = x.to(torch.int64)
    classes = torch.arange(num_classes, device=x.device)
    encoded = (x.unsqueeze(-1) == classes).to(_torch_dtype(dtype) or _FLOATX)
    return encoded if axis == -1 else encoded.movedim(-1, axis)


def normalize(x, axis=-1, order=2, epsilon=None):
    """`x` divided by its `order`-norm over `axis`, a norm below `epsilon` (default 1e-7) counting as `epsilon`.

    Differentiable everywhere, a vector of zeros included; float32 for ints.
    """
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"`order` must be an int >= 1. Received: order={order!r}")
    x = _to_float(x)
    if x.ndim == 0:
        x = x.unsqueeze(0)
    norm = torch.linalg.vector_norm(x, ord=order, dim=axis, keepdim=True)
    return x / torch.clamp(norm, min=_EPSILON if epsilon is None else epsilon)
