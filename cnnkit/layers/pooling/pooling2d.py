"""Max and average pooling over channels-last images."""

import torch
import torch.nn.functional as F

from cnnkit.layers._padding import ceil_mode_padding, output_length, same_padding
from cnnkit.layers.base import Layer
from cnnkit.utils.argument_validation import check_data_format, normalize_padding, normalize_tuple


class _Pooling2D(Layer):
    """Shared arguments, shapes and padding of the 2D pooling layers."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, self.name)
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size", self.name)
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, 2, "strides", self.name)
        self.padding = normalize_padding(padding, self.name)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible_input(input_shape, "(batch, height, width, channels)")
        output = self.compute_output_shape(input_shape)
        if any(size is not None and size < 1 for size in output[1:3]):
            raise self.incompatible_input(input_shape, f"height and width of at least pool_size {self.pool_size}")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        sizes = (output_length(n, k, s, self.padding) for n, k, s in zip((height, width), self.pool_size, self.strides))
        return (batch, *sizes, channels)

    def padding_for(self, x):
        """F.pad's (left, right, top, bottom) for an NCHW view, or None when nothing is padded."""
        if self.padding == "valid":
            return None
        (top, bottom), (left, right) = (
            same_padding(n, k, s) for n, k, s in zip(x.shape[2:], self.pool_size, self.strides)
        )
        return (left, right, top, bottom) if any((top, bottom, left, right)) else None

    def call(self, inputs):
        x = inputs.permute(0, 3, 1, 2)
        return self.pool(x, self.padding_for(x)).permute(0, 2, 3, 1)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}


class MaxPooling2D(_Pooling2D):
    """Max pooling; with padding="same" the padded cells never win (torch's implicit padding in ceil
    mode where it gives the same windows, so that nothing is copied into a padded tensor).

    Args:
        pool_size: int or tuple of 2 ints. Default (2, 2).
        strides: int, tuple of 2 ints, or None (= pool_size).
        padding: "valid" or "same".

    Example:
        >>> MaxPooling2D((2, 2)).build_for((None, 26, 26, 32))
        (None, 13, 13, 32)
    """

    def pool(self, x, padding):
        if padding is None:
            return F.max_pool2d(x, self.pool_size, self.strides)
        implicit = [ceil_mode_padding(n, k, s) for n, k, s in zip(x.shape[2:], self.pool_size, self.strides)]
        if None not in implicit:
            return F.max_pool2d(x, self.pool_size, self.strides, implicit, ceil_mode=True)
        return F.max_pool2d(F.pad(x, padding, value=float("-inf")), self.pool_size, self.strides)


class AveragePooling2D(_Pooling2D):
    """Average pooling; with padding="same" each window divides by its real cells only.

    Example:
        >>> AveragePooling2D(2, padding="same").build_for((None, 5, 5, 3))
        (None, 3, 3, 3)
    """

    def pool(self, x, padding):
        if padding is None:
            return F.avg_pool2d(x, self.pool_size, self.strides)
        # Window sums over window counts (divisor_override=1): exact, as Keras, for integer-valued inputs.
        sums = F.avg_pool2d(F.pad(x, padding), self.pool_size, self.strides, divisor_override=1)
        ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        real_cells = F.avg_pool2d(F.pad(ones, padding), self.pool_size, self.strides, divisor_override=1)
        return sums / real_cells
