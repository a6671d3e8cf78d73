"""Argument checks shared by layers: integers, sizes to tuples, padding names."""

import numbers


def is_integer(value):
    """True for Python and NumPy integers, False for bools (which Python counts as ints).

    Example:
        >>> import numpy as np
        >>> is_integer(3), is_integer(np.int64(3)), is_integer(True), is_integer(3.0)
        (True, True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def normalize_tuple(value, n, arg_name, layer_name=None, allow_zero=False):
    """Turns an int or an n-sequence of ints (Python or NumPy) into an n-tuple of Python ints.

    Example:
        >>> import numpy as np
        >>> normalize_tuple(3, 2, "kernel_size"), normalize_tuple((np.int64(3), 2), 2, "kernel_size")
        ((3, 3), (3, 2))
    """
    where = f" of layer '{layer_name}'" if layer_name else ""
    if is_integer(value):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = None
        if values is None or len(values) != n or not all(is_integer(v) for v in values):
            raise ValueError(
                f"Argument `{arg_name}`{where} must be an int or a tuple of {n} ints. "
                f"Received: {arg_name}={value!r}"
            )
        values = tuple(int(v) for v in values)
    smallest = 0 if allow_zero else 1
    if any(v < smallest for v in values):
        raise ValueError(
            f"Argument `{arg_name}`{where} must be >= {smallest} in every dimension. "
            f"Received: {arg_name}={value!r}"
        )
    return values


def normalize_padding(value, layer_name=None):
    """Returns "valid" or "same" (any case), or raises naming the layer and the value."""
    padding = value.lower() if isinstance(value, str) else value
    if padding not in ("valid", "same"):
        where = f" of layer '{layer_name}'" if layer_name else ""
        raise ValueError(
            f"Argument `padding`{where} must be 'valid' or 'same'. Received: padding={value!r}"
        )
    return padding


def check_data_format(value, layer_name=None):
    """cnnkit speaks channels-last only, as Keras does by default."""
    if value not in (None, "channels_last"):
        raise ValueError(
            f"Layer '{layer_name}' supports data_format='channels_last' only "
            f"(shapes are (batch, height, width, channels)). Received: data_format={value!r}"
        )
