"""Pads images with rows and columns of zeros."""

import torch.nn.functional as F

from cnnkit.layers.base import Layer
from cnnkit.layers.reshaping._arguments import normalize_pairs
from cnnkit.utils.argument_validation import check_data_format


class ZeroPadding2D(Layer):
    """Adds rows of zeros above and below, and columns of zeros left and right, of each image.

    Args:
        padding: int, tuple of 2 ints or tuple of 2 tuples of 2 ints. `n` pads every side with
            n; `(h, w)` pads h rows above and below and w columns left and right;
            `((top, bottom), (left, right))` says each side. Default (1, 1).
        data_format: "channels_last" or None (the same); cnnkit is channels-last only.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, top + height + bottom, left + width + right, channels)`.

    Example:
        >>> ZeroPadding2D(((1, 0), (2, 1))).build_for((None, 28, 28, 3))
        (None, 29, 31, 3)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, self.name)
        self.data_format = "channels_last"
        self.padding = normalize_pairs(padding, "padding", self.name)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible_input(input_shape, "ndim=4, (batch, height, width, channels)")

    def call(self, inputs):
        (top, bottom), (left, right) = self.padding
        return F.pad(inputs, (0, 0, left, right, top, bottom))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        (top, bottom), (left, right) = self.padding
        return (batch, None if height is None else top + height + bottom,
                None if width is None else left + width + right, channels)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}
