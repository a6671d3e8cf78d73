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


def ceil_mode_padding(length, window, stride):
    """The `padding` of `max_pool2d(..., ceil_mode=True)` that gives "same"'s windows without
    padding the input, or None where torch's ceil-mode arithmetic cannot.

    Windows start at `i * stride - before` on both sides; torch clips the last window at the end
    of the input where TensorFlow pads it, which a max ignores either way.

    Example:
        >>> ceil_mode_padding(176, 3, 2), ceil_mode_padding(7, 3, 1), ceil_mode_padding(6, 2, 1)
        (0, 1, None)
    """
    before, _ = same_padding(length, window, stride)
    outputs = -(-(length + 2 * before - window) // stride) + 1
    if (outputs - 1) * stride >= length + before:
        outputs -= 1
    return before if outputs == math.ceil(length / stride) and 2 * before <= window else None
