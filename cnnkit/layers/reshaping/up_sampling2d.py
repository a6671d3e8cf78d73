"""Upsamples images by integer factors, repeating or interpolating pixels."""

import torch.nn.functional as F

from cnnkit.layers.base import Layer
from cnnkit.utils.argument_validation import check_data_format, normalize_tuple

# Keras's interpolation name -> F.interpolate's arguments giving Keras's (TensorFlow's) pixels for
# integer factors. TensorFlow resizes with half-pixel centers: bilinear is align_corners=False.
# "nearest-exact" picks source pixel floor((i + 0.5) / factor) = i // factor, the repeat Keras
# does, without the float rounding of plain "nearest". "area" over one source pixel is a copy.
_MODES = {
    "nearest": {"mode": "nearest-exact"},
    "bilinear": {"mode": "bilinear", "align_corners": False},
    "area": {"mode": "area"},
}
_KERAS_ONLY = ("bicubic", "lanczos3", "lanczos5")


class UpSampling2D(Layer):
    """Upsamples each image by `size` (rows, columns): each pixel becomes a block of pixels.

    Args:
        size: int or tuple of 2 ints, the factors for rows and columns. Default (2, 2).
        data_format: "channels_last" or None (the same); cnnkit is channels-last only.
        interpolation: "nearest" (repeat each pixel, the default), "bilinear" (TensorFlow's
            half-pixel-centre interpolation, as Keras) or "area" (the same as "nearest" for
            integer factors, as in Keras).

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, height * size[0], width * size[1], channels)`.

    Raises:
        ValueError: "bicubic", "lanczos3" and "lanczos5" (Keras's others) are not supported:
            torch's bicubic kernel differs from TensorFlow's and torch has no Lanczos.

    Example:
        >>> UpSampling2D(size=(2, 3), interpolation="bilinear").build_for((None, 7, 7, 16))
        (None, 14, 21, 16)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, self.name)
        self.data_format = "channels_last"
        self.size = normalize_tuple(size, 2, "size", self.name)
        self.interpolation = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if self.interpolation not in _MODES:
            unsupported = (f" cnnkit does not support {self.interpolation!r}: torch has no resize that gives "
                           "TensorFlow's pixels for it." if self.interpolation in _KERAS_ONLY else "")
            raise ValueError(
                f"Argument `interpolation` of layer '{self.name}' must be one of {tuple(_MODES)}.{unsupported} "
                f"Received: interpolation={interpolation!r}"
            )

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible_input(input_shape, "ndim=4, (batch, height, width, channels)")

    def call(self, inputs):
        # The NCHW view of a channels-last tensor: torch's channels-last kernel, channels-last output.
        images = inputs.permute(0, 3, 1, 2)
        return F.interpolate(images, scale_factor=self.size, **_MODES[self.interpolation]).permute(0, 2, 3, 1)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, None if height is None else height * self.size[0],
                None if width is None else width * self.size[1], channels)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}
