"""Cropping the center of images to a fixed size."""

from cnnkit.layers.base import Layer
from cnnkit.layers.preprocessing._resize import as_batch, crop_to_aspect_ratio, resize_images, resized_shape
from cnnkit.layers.preprocessing.resizing import check_size
from cnnkit.utils.argument_validation import check_data_format


class CenterCrop(Layer):
    """Crops the central `(height, width)` window of images, in training and at inference.

    An image smaller than the target on either side is instead cropped to the target's aspect
    ratio (the largest centered window) and resized to it with bilinear interpolation, as Keras
    does. Where the sizes differ by an odd number, the window starts half a pixel up/left
    (`(input - target) // 2`). Integer images come out as float32, as in Keras.

    Args:
        height, width: int, the output size.
        data_format: None or "channels_last" (cnnkit's only layout).

    Input shape: `(batch, height, width, channels)` or one image `(height, width, channels)`.
    Output shape: `(batch, height, width, channels)` or `(height, width, channels)` at the new size.

    Example:
        >>> import numpy as np
        >>> image = np.arange(25, dtype="float32").reshape(5, 5, 1)
        >>> CenterCrop(3, 3)(image)[..., 0].tolist()
        [[6.0, 7.0, 8.0], [11.0, 12.0, 13.0], [16.0, 17.0, 18.0]]
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, self.name)
        self.height, self.width = check_size(self, height, width)
        self.data_format = "channels_last"

    def check_input_shape(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise self.incompatible_input(input_shape, "rank 3 (one image) or rank 4 (a batch of images)")

    def call(self, inputs):
        images, unbatched = as_batch(inputs)
        x = images if images.is_floating_point() else images.float()
        height, width = x.shape[1:3]
        if height >= self.height and width >= self.width:
            top, left = (height - self.height) // 2, (width - self.width) // 2
            outputs = x[:, top:top + self.height, left:left + self.width, :]  # a view, no copy
        else:
            size = (self.height, self.width)
            outputs = resize_images(crop_to_aspect_ratio(x, size), size, "bilinear")
        return outputs[0] if unbatched else outputs

    def compute_output_shape(self, input_shape):
        return resized_shape(input_shape, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "height": self.height, "width": self.width}
