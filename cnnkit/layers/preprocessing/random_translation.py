"""Randomly shifts images up/down and left/right."""

import torch

from cnnkit.layers.preprocessing._affine import _AffineAugmentation, affine_matrices
from cnnkit.layers.preprocessing._augmentation import signed_bounds, uniform


class RandomTranslation(_AffineAugmentation):
    """Shifts each image by its own random offset, in training and when called directly.

    Args:
        height_factor: number or pair of numbers in [-1, 1], fractions of the height: the vertical
            shift is drawn in `[lower, upper] * height`; positive moves the content down.
            `0.2` draws in [-0.2, 0.2].
        width_factor: the same for the horizontal shift (positive moves it right).
        fill_mode, interpolation, seed, fill_value: as in `RandomRotation`.

    Input shape: `(batch, height, width, channels)` or one image `(height, width, channels)`.
    Output shape: the same, float.

    Example:
        >>> image = torch.arange(4.0).view(1, 1, 4, 1)
        >>> RandomTranslation(0.0, (0.5, 0.5), fill_mode="constant")(image)[0, 0, :, 0].tolist()
        [0.0, 0.0, 0.0, 1.0]
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = signed_bounds(height_factor, "height_factor", self.name)
        self.width_factor = width_factor
        self.width_lower, self.width_upper = signed_bounds(width_factor, "width_factor", self.name)

    def matrices(self, images, generator):
        count, height, width, _ = images.shape
        shift_y = uniform(generator, count, self.height_lower, self.height_upper, images.device) * height
        shift_x = uniform(generator, count, self.width_lower, self.width_upper, images.device) * width
        one, zero = torch.ones_like(shift_x), torch.zeros_like(shift_x)
        return affine_matrices(one, zero, -shift_x, zero, one, -shift_y)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}
