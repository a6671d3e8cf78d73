"""Argument readers of the reshaping layers: NumPy integers as ints; padding and cropping pairs."""

from cnnkit.utils.argument_validation import is_integer


def as_int(value):
    """A Python int for an int or a NumPy integer (not a bool); anything else unchanged."""
    return int(value) if is_integer(value) else value


def normalize_pairs(value, arg_name, layer_name):
    """`((top, bottom), (left, right))` of ints >= 0 from an int, 2 ints or 2 pairs of ints.

    `n` means n on every side, `(h, w)` means h above and below and w left and right.

    Example:
        >>> normalize_pairs((1, (2, 0)), "padding", "zero_padding2d")
        ((1, 1), (2, 0))
    """
    value = as_int(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(
                f"Argument `{arg_name}` of layer '{layer_name}' cannot be negative. Received: {arg_name}={value!r}"
            )
        return ((value, value), (value, value))
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(
            f"Argument `{arg_name}` of layer '{layer_name}' must be an int, a tuple of 2 ints "
            f"(symmetric_height, symmetric_width), or a tuple of 2 tuples of 2 ints "
            f"((top, bottom), (left, right)). Received: {arg_name}={value!r}"
        )
    return tuple(_pair(entry, ordinal, arg_name, layer_name, value)
                 for entry, ordinal in zip(value, ("1st (height)", "2nd (width)")))


def _pair(entry, ordinal, arg_name, layer_name, whole):
    entry = as_int(entry)
    pair = (entry, entry) if isinstance(entry, int) else (
        tuple(as_int(v) for v in entry) if isinstance(entry, (tuple, list)) else None)
    if pair is None or len(pair) != 2 or not all(isinstance(v, int) for v in pair) or min(pair) < 0:
        raise ValueError(
            f"The {ordinal} entry of argument `{arg_name}` of layer '{layer_name}' must be an int >= 0 "
            f"or a tuple of 2 ints >= 0. Received: {arg_name}={whole!r}"
        )
    return pair
