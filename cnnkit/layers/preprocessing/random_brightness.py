"""Randomly brightens or darkens images."""

from cnnkit.layers.preprocessing._augmentation import _Augmentation, check_value_range, factor_bounds, uniform


class RandomBrightness(_Augmentation):
    """Adds a random amount to every pixel of each image, then clips to `value_range`.

    The amount is drawn per image in `[lower, upper] * (value_range[1] - value_range[0])`.

    Args:
        factor: number or pair of numbers in [-1, 1]; `0.2` draws in [-0.2, 0.2]. -1 makes an
            image black, 1 white.
        value_range: pair of numbers, the range of the inputs and outputs. Default (0, 255).
        seed: int or None; the same seed gives the same amounts on every run.

    Input shape: `(batch, height, width, channels)` or one image `(height, width, channels)`.
    Output shape: the same, float.

    Example:
        >>> import torch
        >>> RandomBrightness((0.1, 0.1))(torch.tensor([[[0.0, 100.0, 250.0]]])).tolist()
        [[[25.5, 125.5, 255.0]]]
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_bounds(0.0 if factor is None else factor, (-1, 1), self.name)
        self.value_range = sorted(check_value_range(value_range, self.name))

    def augment(self, images, generator):
        low, high = self.value_range
        delta = uniform(generator, images.shape[0], self.factor[0], self.factor[1], images.device) * (high - low)
        return (images + delta.view(-1, 1, 1, 1)).clamp_(low, high)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}
