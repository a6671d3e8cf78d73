"""TensorFlow's "same"/"valid" arithmetic for convolution and pooling windows."""

import math


def output_length(length, window, stride, padding, dilation=1):
    """Output size along one axis; None stays None.

    Example:
        >>> output_length(28, 3, 1, "valid"), output_length(7, 2, 2, "same")
        (26, 4)
    """
    if length is None:
        return None
    if padding == "same":
        return math.ceil(length / stride)
    span = (window - 1) * dilation + 1
    return (length - span) // stride + 1


def same_padding(length, window, stride, dilation=1):
    """(before, after) padding for "same": the odd cell goes after (bottom/right)."""
    span = (window - 1) * dilation + 1
    total = max((math.ceil(length / stride) - 1) * stride + span - length, 0)
    return total // 2, total - total // 2
