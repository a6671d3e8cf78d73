"""Randomly zooms images in or out about their centre."""

import torch

from cnnkit.layers.preprocessing._affine import _AffineAugmentation, affine_matrices
from cnnkit.layers.preprocessing._augmentation import signed_bounds, uniform


class RandomZoom(_AffineAugmentation):
    """Zooms each image by its own random factor, in training and when called directly.

    Args:
        height_factor: number or pair of numbers in (-1, 1]: the vertical zoom is drawn in
            `[1 + lower, 1 + upper]` (as a scale of the sampled area): positive values zoom out,
            negative values zoom in. `0.2` draws in [-0.2, 0.2].
        width_factor: the same for the horizontal zoom; None (default) zooms both directions by
            the vertical zoom, keeping the aspect ratio.
        fill_mode, interpolation, seed, fill_value: as in `RandomRotation`.

    Input shape: `(batch, height, width, channels)` or one image `(height, width, channels)`.
    Output shape: the same, float.

    Example:
        >>> image = torch.arange(9.0).view(1, 3, 3, 1)
        >>> RandomZoom((-0.5, -0.5), interpolation="nearest")(image)[0, :, :, 0].tolist()  # twice as large
        [[4.0, 4.0, 5.0], [4.0, 4.0, 5.0], [7.0, 7.0, 8.0]]
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = signed_bounds(height_factor, "height_factor", self.name,
                                                             include_minus_one=False)
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = signed_bounds(width_factor, "width_factor", self.name,
                                                               include_minus_one=False)

    def matrices(self, images, generator):
        count, height, width, _ = images.shape
        zoom_y = uniform(generator, count, 1.0 + self.height_lower, 1.0 + self.height_upper, images.device)
        zoom_x = zoom_y if self.width_factor is None else uniform(
            generator, count, 1.0 + self.width_lower, 1.0 + self.width_upper, images.device)
        zero = torch.zeros_like(zoom_x)
        return affine_matrices(zoom_x, zero, (width - 1) / 2.0 * (1.0 - zoom_x),
                               zero, zoom_y, (height - 1) / 2.0 * (1.0 - zoom_y))

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}
