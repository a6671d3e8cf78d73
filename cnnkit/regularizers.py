"""Weight and activity penalties, as Keras 3's `keras.regularizers`: L1, L2, L1L2, orthogonal.

A regularizer is a callable taking a tensor (a weight, in Keras's layout, or a layer's output)
and returning a scalar penalty; layers take them as `kernel_regularizer`, `bias_regularizer`
and `activity_regularizer`, list the penalties in `layer.losses`, and `fit` adds their sum to
the loss it minimizes and reports.

Names and defaults are Keras's: `"l1"` and `"l2"` weigh 0.01, `L1L2()` weighs nothing unless
given factors, and `l1`, `l2`, `l1_l2`, `orthogonal_regularizer` are the classes themselves.

Example:
    >>> import torch
    >>> float(L2(2.0)(torch.ones(5, 5)))
    50.0
    >>> round(float(get("l1")(torch.ones(2, 3))), 6)  # 0.01 * 6
    0.06
    >>> serialize(L2(0.5))["config"]
    {'l2': 0.5}
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from cnnkit.utils._objects import deserialize_object, get_object, serialize_object
from cnnkit.utils.naming import to_snake_case

_EPSILON = 1e-7  # Keras's backend.epsilon(), the floor of a norm before dividing by it


class Regularizer:
    """Base class of regularizers: a callable from a tensor to a scalar penalty.

    Subclass it with `__call__(self, x)` and `get_config(self)` (the arguments of `__init__`)
    to write your own; any function from a tensor to a scalar also works as a regularizer.
    """

    def __call__(self, x):
        """The penalty on `x`; the base class penalizes nothing."""
        return 0.0

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(f"{self} does not implement get_config()")

    def __repr__(self):
        try:
            arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        except NotImplementedError:
            arguments = ""
        return f"{type(self).__name__}({arguments})"


class L1L2(Regularizer):
    """`l1 * sum(|x|) + l2 * sum(x ** 2)`.

    Args:
        l1: non-negative float, the L1 factor. Default 0.0 (none).
        l2: non-negative float, the L2 factor. Default 0.0 (none).
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, name="l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, name="l2")

    def __call__(self, x):
        penalty = torch.zeros((), dtype=x.dtype, device=x.device)
        if self.l1:
            penalty = penalty + self.l1 * x.abs().sum()
        if self.l2:
            penalty = penalty + self.l2 * x.square().sum()
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """`l1 * sum(|x|)`.

    Args:
        l1: non-negative float. Default 0.01. Kept, and written to configs, as a float32 (as Keras).
    """

    def __init__(self, l1=0.01):
        self.l1 = _float32(validate_float_arg(0.01 if l1 is None else l1, name="l1"))

    def __call__(self, x):
        return self.l1 * x.abs().sum()

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(x ** 2)`.

    Args:
        l2: non-negative float. Default 0.01.
    """

    def __init__(self, l2=0.01):
        self.l2 = validate_float_arg(0.01 if l2 is None else l2, name="l2")

    def __call__(self, x):
        return self.l2 * x.square().sum()

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2D weight towards being orthogonal to each other.

    The penalty is `factor * 0.5 * sum(|dot products of the L2-normalized rows, off the
    diagonal|) / (number of pairs)`, on a rank-2 tensor (a Dense kernel `(input_dim, units)`).

    Args:
        factor: non-negative float. Default 0.01. Kept as a float32 (as Keras).
        mode: "rows" (default) or "columns".
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _float32(validate_float_arg(factor, name="factor"))
        if mode not in {"rows", "columns"}:
            raise ValueError(
                'Invalid value for argument `mode`. Expected one of {"rows", "columns"}. '
                f"Received: mode={mode}"
            )
        self.mode = mode

    def __call__(self, inputs):
        if inputs.ndim != 2:
            raise ValueError(
                f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={tuple(inputs.shape)}"
            )
        vectors = inputs if self.mode == "rows" else inputs.t()
        vectors = F.normalize(vectors, p=2.0, dim=1, eps=_EPSILON)
        size = vectors.shape[0]
        product = vectors @ vectors.t()
        off_diagonal = product * (1.0 - torch.eye(size, dtype=product.dtype, device=product.device))
        pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * off_diagonal.abs().sum() / pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Keras's lower-case names are the classes themselves: l2(0.001) is L2(0.001).
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

_CLASSES = (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)
# As Keras looks names up: the class name or its snake case ("l1", "l2", "l1l2", "orthogonal_regularizer").
_BY_NAME = {**{cls.__name__: cls for cls in _CLASSES}, **{to_snake_case(cls.__name__): cls for cls in _CLASSES}}


def validate_float_arg(value, name):
    """`value` as a float when it is a finite non-negative number, else Keras's error."""
    if (not isinstance(value, (float, int)) or math.isinf(value) or math.isnan(value) or value < 0):
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float.Received: {name}={value}"
        )
    return float(value)


def _float32(value):
    return float(np.float32(value))


def serialize(regularizer):
    """Keras 3's config entry for a regularizer (`module`, `class_name`, `config`, `registered_name`),
    None for None."""
    return serialize_object(regularizer, "keras.regularizers", _CLASSES)


def deserialize(config, custom_objects=None):
    """The regularizer a `serialize` entry (or a name) describes."""
    return deserialize_object(config, _BY_NAME, "regularizer", custom_objects)


def get(identifier):
    """A regularizer from None, a name ("l1", "l2", "L1L2", "orthogonal_regularizer", ...),
    a config entry, a class (instantiated with its defaults) or a callable (as is).

    Example:
        >>> get("l2").get_config()
        {'l2': 0.01}
        >>> get({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}}).get_config()
        {'l1': 0.1, 'l2': 0.2}
    """
    return get_object(identifier, _BY_NAME, "regularizer")
