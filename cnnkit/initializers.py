"""Weight initializers by Keras name, with Keras's fan computation.

Shapes are given in Keras's layout: Dense kernel (in, out), Conv2D kernel (kh, kw, in, out).

Example:
    >>> w = get("glorot_uniform")((3, 3, 1, 32))
    >>> tuple(w.shape)
    (3, 3, 1, 32)
"""

import math

import torch


def compute_fans(shape):
    """(fan_in, fan_out) as Keras computes them: the receptive field multiplies both."""
    if len(shape) < 2:
        size = shape[0] if shape else 1
        return size, size
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _variance_scaling(scale, mode, distribution):
    def initialize(shape, dtype=torch.float32):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(1.0, fan)
        if distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return torch.empty(shape, dtype=dtype).uniform_(-limit, limit)
        # Keras's truncated normal: std corrected for truncation at two standard deviations.
        std = math.sqrt(variance) / 0.87962566103423978
        return torch.nn.init.trunc_normal_(torch.empty(shape, dtype=dtype), std=std, a=-2 * std, b=2 * std)

    return initialize


def zeros(shape, dtype=torch.float32):
    return torch.zeros(shape, dtype=dtype)


def ones(shape, dtype=torch.float32):
    return torch.ones(shape, dtype=dtype)


_INITIALIZERS = {
    "glorot_uniform": _variance_scaling(1.0, "fan_avg", "uniform"),
    "glorot_normal": _variance_scaling(1.0, "fan_avg", "normal"),
    "he_uniform": _variance_scaling(2.0, "fan_in", "uniform"),
    "he_normal": _variance_scaling(2.0, "fan_in", "normal"),
    "lecun_uniform": _variance_scaling(1.0, "fan_in", "uniform"),
    "lecun_normal": _variance_scaling(1.0, "fan_in", "normal"),
    "zeros": zeros,
    "ones": ones,
}


def get(identifier):
    """Returns the initializer for a name or a callable `(shape, dtype) -> tensor`."""
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _INITIALIZERS:
        return _INITIALIZERS[identifier]
    raise ValueError(
        f"Unknown initializer {identifier!r}. Expected a callable or one of: {', '.join(_INITIALIZERS)}."
    )
