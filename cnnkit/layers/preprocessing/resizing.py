"""Resizing images to a fixed size, with TensorFlow's pixels (Keras's)."""

import numbers

import numpy as np
import torch

from cnnkit.layers.base import Layer
from cnnkit.layers.preprocessing._resize import (
    as_batch, check_interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, resize_images, resized_shape,
    saturate_cast,
)
from cnnkit.utils.argument_validation import check_data_format, is_integer


def check_size(layer, height, width):
    """`(height, width)` as positive Python ints, or a ValueError naming the layer and the argument."""
    for name, value in (("height", height), ("width", width)):
        if not is_integer(value) or value < 1:
            raise ValueError(f"Argument `{name}` of layer '{layer.name}' must be a positive int. "
                             f"Received: {name}={value!r}")
    return int(height), int(width)


class Resizing(Layer):
    """Resizes images to `(height, width)`, in training and at inference.

    The pixels are TensorFlow's (Keras's TF backend): "bilinear" and "nearest" match them to
    float rounding; "bicubic" does when no side shrinks or with `antialias=True`, and "area"
    when the sizes are whole multiples of each other (see `cnnkit/layers/preprocessing/_resize.py`
    for the measured differences otherwise).

    Args:
        height, width: int, the output size.
        interpolation: "bilinear" (default), "nearest", "bicubic" or "area". Keras's "lanczos3"
            and "lanczos5" are not supported.
        crop_to_aspect_ratio: bool; first crop the largest centered window with the target's
            aspect ratio, so that the image is not distorted. Default False.
        pad_to_aspect_ratio: bool; first pad the short side evenly with `fill_value` to the target's
            aspect ratio. Default False. Not together with `crop_to_aspect_ratio`.
        fill_mode: "constant", the only mode (as in Keras).
        fill_value: float, the padding value. Default 0.0.
        antialias: bool, low-pass filter when shrinking ("bilinear", "bicubic"). Default False.
        data_format: None or "channels_last" (cnnkit's only layout).

    Input shape: `(batch, height, width, channels)` or one image `(height, width, channels)`.
    Output shape: `(batch, height, width, channels)` or `(height, width, channels)` at the new size.
    Integer inputs give integer outputs (rounded and clipped), as in Keras.

    Example:
        >>> layer = Resizing(180, 180)
        >>> layer.build_for((None, 32, 32, 3))
        (None, 180, 180, 3)
        >>> tuple(layer(np.zeros((64, 48, 3), "float32")).shape)
        (180, 180, 3)
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_mode="constant", fill_value=0.0, antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, self.name)
        self.height, self.width = check_size(self, height, width)
        self.interpolation = check_interpolation(interpolation, self.name)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f"Layer '{self.name}': only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` "
                             "can be `True`.")
        if fill_mode != "constant":
            raise ValueError(f"Invalid value for argument `fill_mode` of layer '{self.name}'. Only `'constant'` is "
                             f"supported. Received: fill_mode={fill_mode!r}")
        if not isinstance(fill_value, numbers.Real) or isinstance(fill_value, bool):
            raise ValueError(f"Argument `fill_value` of layer '{self.name}' must be a number. "
                             f"Received: fill_value={fill_value!r}")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)
        self.data_format = "channels_last"

    def check_input_shape(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise self.incompatible_input(input_shape, "rank 3 (one image) or rank 4 (a batch of images)")

    def _to_tensors(self, inputs):
        """Integer arrays stay integers (Keras returns integer images for them); others become float32."""
        array = np.asarray(inputs)
        if array.dtype.kind in "iu":
            return torch.tensor(array, device=self._device())  # a copy: the array may be read-only
        return super()._to_tensors(inputs)

    def call(self, inputs):
        images, unbatched = as_batch(inputs)
        x = images if images.is_floating_point() else images.float()
        size = (self.height, self.width)
        if self.crop_to_aspect_ratio:
            x = crop_to_aspect_ratio(x, size, single_precision=True)
        elif self.pad_to_aspect_ratio:
            x = pad_to_aspect_ratio(x, size, self.fill_value)
        outputs = resize_images(x, size, self.interpolation, self.antialias)
        if not images.is_floating_point():
            outputs = saturate_cast(outputs, images.dtype)
        return outputs[0] if unbatched else outputs

    def compute_output_shape(self, input_shape):
        return resized_shape(input_shape, self.height, self.width)

    def get_config(self):
        return {
            **super().get_config(),
            "data_format": self.data_format,
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
        }
