"""Argument checks of the activation layers."""

import numbers

from cnnkit.utils.argument_validation import is_integer


def check_number(value, arg_name, layer_name, allow_none=False, non_negative=False):
    """`value` as a float (None kept when allowed), or a ValueError naming the layer and the value.

    Example:
        >>> check_number(0, "threshold", "re_lu", non_negative=True)
        0.0
    """
    if value is None and allow_none:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and not (non_negative and value < 0):
        return float(value)
    expected = "a number >= 0" if non_negative else "a number"
    raise ValueError(
        f"Argument `{arg_name}` of layer '{layer_name}' must be {expected}{' or None' if allow_none else ''}. "
        f"Received: {arg_name}={value!r}"
    )


def check_axis(value, layer_name):
    """An int, or a non-empty tuple of ints, from ints, NumPy integers or a list of them."""
    def plain(item):
        return int(item) if is_integer(item) else None

    axis = plain(value)
    if axis is None and isinstance(value, (tuple, list)) and value:
        axis = tuple(plain(item) for item in value)
        axis = None if None in axis else axis
    if axis is None:
        raise ValueError(
            f"Argument `axis` of layer '{layer_name}' must be an int or a tuple of ints. Received: axis={value!r}"
        )
    return axis
