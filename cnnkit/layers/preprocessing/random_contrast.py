"""Randomly changes the contrast of images."""

import torch

from cnnkit.layers.preprocessing._augmentation import _Augmentation, check_value_range, factor_bounds, uniform


class RandomContrast(_Augmentation):
    """Scales each image's deviation from its per-channel mean by a random factor, then clips.

    Each channel `x` of an image becomes `(x - mean(x)) * c + mean(x)`, clipped to
    `value_range`, with `c` drawn per image in `[1 - lower, 1 + upper]`. As Keras 3 does, a single
    number `factor=f` gives `(lower, upper) = (0, f)`: contrast only increases; pass a pair
    `(f, f)` for `[1 - f, 1 + f]`.

    Args:
        factor: number in [0, 1] or pair of numbers.
        value_range: pair of numbers, the range outputs are clipped to. Default (0, 255).
        seed: int or None; the same seed gives the same factors on every run.

    Input shape: `(batch, height, width, channels)` or one image `(height, width, channels)`.
    Output shape: the same, float.

    Example:
        >>> image = torch.tensor([[[10.0], [20.0]], [[30.0], [40.0]]])
        >>> RandomContrast((-0.5, 0.5))(image)[..., 0].tolist()  # c drawn in [1.5, 1.5]
        [[2.5, 17.5], [32.5, 47.5]]
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_bounds(0.0 if factor is None else factor, (0, 1), self.name)
        check_value_range(value_range, self.name)
        self.value_range = value_range

    def augment(self, images, generator):
        contrast = uniform(generator, images.shape[0], 1.0 - self.factor[0], 1.0 + self.factor[1], images.device)
        contrast = contrast.view(-1, 1, 1, 1)
        shift = images.mean(dim=(1, 2), keepdim=True) * (1 - contrast)
        return _scale_and_shift(images, contrast, shift).clamp_(self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


def _scale_and_shift(images, scale, shift):
    """`images * scale + shift` ((x - mean) * c + mean in one pass) for a scale per image and a shift
    per image and channel. On channels-last memory the shift is laid out along whole rows first:
    broadcasting 3 channels as the innermost dimension would run 4x slower."""
    count, height, width, channels = images.shape
    if not images.is_contiguous():
        return torch.addcmul(shift, images, scale)
    rows = shift.expand(count, 1, width, channels).reshape(count, 1, width * channels)
    outputs = torch.addcmul(rows, images.view(count, height, width * channels), scale.view(count, 1, 1))
    return outputs.view(count, height, width, channels)
