"""Crops rows and columns off the edges of images."""

from cnnkit.layers.base import Layer
from cnnkit.layers.reshaping._arguments import normalize_pairs
from cnnkit.utils.argument_validation import check_data_format


class Cropping2D(Layer):
    """Removes rows above and below, and columns left and right, of each image.

    Args:
        cropping: int, tuple of 2 ints or tuple of 2 tuples of 2 ints. `n` crops n from every
            side; `(h, w)` crops h rows above and below and w columns left and right;
            `((top, bottom), (left, right))` says each side. Default ((0, 0), (0, 0)).
        data_format: "channels_last" or None (the same); cnnkit is channels-last only.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, height - top - bottom, width - left - right, channels)`.

    The output is a view of the input (no copy).

    Raises:
        ValueError: the crops of an axis add up to its size or more.

    Example:
        >>> Cropping2D(((2, 2), (4, 4))).build_for((None, 28, 28, 3))
        (None, 24, 20, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, self.name)
        self.data_format = "channels_last"
        self.cropping = normalize_pairs(cropping, "cropping", self.name)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible_input(input_shape, "ndim=4, (batch, height, width, channels)")
        self._check_fits(input_shape, "input_shape")

    def _check_fits(self, shape, what):
        if any(size is not None and sum(crop) >= size for size, crop in zip(shape[1:3], self.cropping)):
            raise ValueError(
                f"Layer '{self.name}': the values in `cropping` must add up to less than the height and width "
                f"of the input. Received: {what}={tuple(shape)}, cropping={self.cropping}"
            )

    def call(self, inputs):
        self._check_fits(inputs.shape, "inputs.shape")
        (top, bottom), (left, right) = self.cropping
        height, width = inputs.shape[1:3]
        return inputs[:, top:height - bottom, left:width - right, :]

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        (top, bottom), (left, right) = self.cropping
        return (batch, None if height is None else height - top - bottom,
                None if width is None else width - left - right, channels)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}
