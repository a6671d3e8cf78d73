"""The Keras ops that convnet code uses, on torch tensors (NumPy arrays and numbers accepted).

Names, arguments and defaults are Keras 3's. An op cnnkit lacks raises an AttributeError that
says so; cnnkit's tensors are torch tensors, so torch's own functions work on them.

Example:
    >>> from cnnkit import ops
    >>> ops.softmax(ops.convert_to_tensor([0.0, 0.0])).tolist()
    [0.5, 0.5]
"""

from cnnkit.ops.core import arange, cast, convert_to_numpy, convert_to_tensor, ones, shape, zeros
from cnnkit.ops.nn import normalize, one_hot, relu, sigmoid, softmax
from cnnkit.ops.numpy import (
    abs,
    argmax,
    argmin,
    clip,
    concatenate,
    exp,
    expand_dims,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    reshape,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sum,
    transpose,
    var,
    where,
)

__all__ = [
    # core
    "arange", "cast", "convert_to_numpy", "convert_to_tensor", "ones", "shape", "zeros",
    # numpy
    "abs", "argmax", "argmin", "clip", "concatenate", "exp", "expand_dims", "log", "matmul", "max",
    "maximum", "mean", "min", "minimum", "reshape", "sqrt", "square", "squeeze", "stack", "std",
    "sum", "transpose", "var", "where",
    # nn
    "normalize", "one_hot", "relu", "sigmoid", "softmax",
]


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise AttributeError(
        f"cnnkit.ops has no op {name!r}: cnnkit implements the ops convnet code uses "
        "(see cnnkit.ops.__all__). Its tensors are torch tensors, so torch's functions work on them."
    )
