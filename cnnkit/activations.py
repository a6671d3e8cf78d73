"""Activation functions by Keras name, on channels-last tensors (softmax over the last axis).

Example:
    >>> import torch
    >>> get("relu")(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
"""

import torch
import torch.nn.functional as F


def linear(x):
    return x


def softmax(x):
    return torch.softmax(x, dim=-1)


def selu(x):
    return F.selu(x)


def gelu(x):
    # Keras 3's gelu is exact by default (approximate=False): x * Phi(x) with erf.
    return F.gelu(x)


_ACTIVATIONS = {
    "linear": linear,
    "relu": torch.relu,
    "softmax": softmax,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "elu": F.elu,
    "selu": selu,
    "gelu": gelu,
    "swish": F.silu,
    "silu": F.silu,
    "softplus": F.softplus,
}


def get(identifier):
    """Returns the activation function for a name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _ACTIVATIONS:
        return _ACTIVATIONS[identifier]
    raise ValueError(
        f"Unknown activation {identifier!r}. Expected a callable or one of: {', '.join(_ACTIVATIONS)}."
    )


def serialize(activation):
    """The Keras name of a built-in activation (for configs)."""
    for name, function in _ACTIVATIONS.items():
        if function is activation:
            return name
    raise ValueError(
        f"Activation {activation!r} is a custom callable and cannot be written to a config; "
        f"use one of: {', '.join(_ACTIVATIONS)}."
    )
