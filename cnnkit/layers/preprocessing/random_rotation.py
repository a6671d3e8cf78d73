"""Randomly rotates images about their centre."""

import math

import torch

from cnnkit.layers.preprocessing._affine import _AffineAugmentation, affine_matrices
from cnnkit.layers.preprocessing._augmentation import factor_bounds, uniform


class RandomRotation(_AffineAugmentation):
    """Rotates each image by its own random angle, in training and when called directly.

    Args:
        factor: number or pair of numbers, fractions of a full turn: `factor=0.1` draws angles in
            [-36, 36] degrees, `(-0.1, 0.2)` in [-36, 72]. Positive is counter-clockwise.
        fill_mode: how points outside the image are filled: "reflect" (`d c b a | a b c d`),
            "wrap" (`a b c d | a b c d`), "constant" (`k k | a b c d | k k`, k = `fill_value`) or
            "nearest" (`a a | a b c d | d d`). Default "reflect".
        interpolation: "bilinear" or "nearest". Default "bilinear".
        seed: int or None; the same seed gives the same angles on every run.
        fill_value: number, the value of "constant" fill. Default 0.0.

    Input shape: `(batch, height, width, channels)` or one image `(height, width, channels)`.
    Output shape: the same, float.

    Example:
        >>> image = torch.arange(4.0).view(1, 2, 2, 1)  # [[0, 1], [2, 3]]
        >>> RandomRotation((0.25, 0.25))(image)[0, :, :, 0].round().tolist()  # a quarter turn
        [[1.0, 3.0], [0.0, 2.0]]
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.factor = factor_bounds(0.0 if factor is None else factor, (-1, 1), self.name)

    def matrices(self, images, generator):
        _, height, width, _ = images.shape
        lower, upper = self.factor
        degrees = uniform(generator, images.shape[0], lower * 360.0, upper * 360.0, images.device)
        angle = degrees * torch.tensor(math.pi / 180.0, dtype=torch.float32)  # in float32, as Keras
        cos, sin = torch.cos(angle), torch.sin(angle)
        center_x, center_y = 0.5 * (width - 1), 0.5 * (height - 1)
        return affine_matrices(cos, -sin, center_x - center_x * cos + center_y * sin,
                               sin, cos, center_y - center_x * sin - center_y * cos)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
