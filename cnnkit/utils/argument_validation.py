"""Argument checks shared by layers: sizes to tuples, padding names."""


def normalize_tuple(value, n, arg_name, layer_name=None, allow_zero=False):
    """Turns an int or an n-sequence of ints into an n-tuple of ints.

    Example:
        >>> normalize_tuple(3, 2, "kernel_size")
        (3, 3)
    """
    where = f" of layer '{layer_name}'" if layer_name else ""
    if isinstance(value, int) and not isinstance(value, bool):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = None
        if values is None or len(values) != n or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in values
        ):
            raise ValueError(
                f"Argument `{arg_name}`{where} must be an int or a tuple of {n} ints. "
                f"Received: {arg_name}={value!r}"
            )
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
