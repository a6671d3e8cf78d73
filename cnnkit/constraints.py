"""Weight constraints, as Keras 3's `keras.constraints`: max_norm, min_max_norm, non_neg, unit_norm.

A constraint is a callable that projects a weight (in Keras's layout) back into an allowed set;
layers take them as `kernel_constraint` and `bias_constraint`, and `fit` applies them to each
trainable weight right after every optimizer step, as Keras does.

`axis` is the axis (or axes) of Keras's layout along which norms are taken: 0 (the default)
for a Dense kernel `(input_dim, units)` is the weights into each unit; `[0, 1, 2]` for a
Conv2D kernel `(kh, kw, in, filters)` is each filter. cnnkit hands constraints that view.

Example:
    >>> import torch
    >>> MaxNorm(2.0)(torch.tensor([[3.0], [4.0]])).flatten().tolist()  # norm 5 scaled to 2
    [1.2000000476837158, 1.600000023841858]
    >>> get("non_neg")(torch.tensor([-1.0, 1.0])).tolist()
    [0.0, 1.0]
"""

import torch

from cnnkit.utils._objects import deserialize_object, get_object, serialize_object
from cnnkit.utils.naming import to_snake_case

_EPSILON = 1e-7  # Keras's backend.epsilon(), added to a norm before dividing by it


class Constraint:
    """Base class of constraints: a callable from a weight to its projection (by default the
    weight unchanged). Subclass it with `__call__(self, w)` and `get_config(self)`."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def _norms(w, axis):
    """The L2 norms of `w` along `axis` (an int or a list of ints), kept as size-1 axes."""
    dims = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return torch.linalg.vector_norm(w, ord=2, dim=dims, keepdim=True)


class MaxNorm(Constraint):
    """Scales the weights into each unit down to a norm of at most `max_value`.

    Args:
        max_value: the largest norm allowed. Default 2.
        axis: int or list of ints, the axes of Keras's layout the norm runs over. Default 0.
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        return w * (norms.clamp(0, self.max_value) / (_EPSILON + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Rescales the weights into each unit towards a norm between `min_value` and `max_value`:
    to `rate * norm.clip(min_value, max_value) + (1 - rate) * norm`.

    Args:
        min_value: the smallest norm. Default 0.0.
        max_value: the largest norm. Default 1.0.
        rate: 1.0 (default) enforces the bounds at once; less moves towards them step by step.
        axis: int or list of ints, the axes of Keras's layout the norm runs over. Default 0.
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (_EPSILON + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero."""

    def __call__(self, w):
        return w.clamp_min(0)


class UnitNorm(Constraint):
    """Scales the weights into each unit to a norm of 1.

    Args:
        axis: int or list of ints, the axes of Keras's layout the norm runs over. Default 0.
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (_EPSILON + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


# Keras's lower-case names are the classes themselves: max_norm(3) is MaxNorm(3).
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

_CLASSES = (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)
_BY_NAME = {**{cls.__name__: cls for cls in _CLASSES}, **{to_snake_case(cls.__name__): cls for cls in _CLASSES}}


def serialize(constraint):
    """Keras 3's config entry for a constraint (`module`, `class_name`, `config`, `registered_name`),
    None for None."""
    return serialize_object(constraint, "keras.constraints", _CLASSES)


def deserialize(config, custom_objects=None):
    """The constraint a `serialize` entry (or a name) describes."""
    return deserialize_object(config, _BY_NAME, "constraint", custom_objects)


def get(identifier):
    """A constraint from None, a name ("max_norm", "non_neg", "UnitNorm", ...), a config entry,
    a class (instantiated with its defaults) or a callable (as is).

    Example:
        >>> get("max_norm").get_config()
        {'max_value': 2, 'axis': 0}
    """
    return get_object(identifier, _BY_NAME, "constraint")
