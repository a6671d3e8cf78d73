"""Randomly crops images to a fixed size."""

import numbers
import random

import torch
import torch.nn.functional as F

from cnnkit.layers.preprocessing._augmentation import _Augmentation


class RandomCrop(_Augmentation):
    """Crops each image to `(height, width)` at its own random place, in training and when called directly.

    At inference (`predict`, `evaluate`, `training=False`), and in training when the images are
    not larger than the crop in both directions, it takes the largest centred window with the
    crop's aspect ratio and resizes it (bilinear) to `(height, width)`, as Keras documents.

    Args:
        height: int, the output height.
        width: int, the output width.
        seed: int or None; the same seed gives the same crops on every run. As in Keras, None
            draws a seed now, which `get_config` reports.

    Input shape: `(batch, in_height, in_width, channels)` or one image `(in_height, in_width, channels)`.
    Output shape: `(batch, height, width, channels)` or `(height, width, channels)`, float.

    Example:
        >>> RandomCrop(24, 24).build_for((None, 32, 32, 3))
        (None, 24, 24, 3)
        >>> RandomCrop(2, 2, seed=1)(torch.zeros(5, 4, 4, 1)).shape
        torch.Size([5, 2, 2, 1])
    """

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=random.randint(1, 10**9) if seed is None else seed, data_format=data_format, **kwargs)
        for argument, value in (("height", height), ("width", width)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Argument `{argument}` of layer '{self.name}' must be a positive int. "
                                 f"Received: {argument}={value!r}")
        self.height, self.width = int(height), int(width)

    def augment(self, images, generator):
        count, in_height, in_width, _ = images.shape
        if in_height <= self.height or in_width <= self.width:
            return self.at_inference(images)
        device = images.device
        top = torch.randint(0, in_height - self.height + 1, (count,), generator=generator, device=device)
        left = torch.randint(0, in_width - self.width + 1, (count,), generator=generator, device=device)
        windows = images.unfold(1, self.height, 1).unfold(2, self.width, 1)  # (N, places, places, C, h, w) view
        return windows[torch.arange(count, device=device), top, left].permute(0, 2, 3, 1)

    def at_inference(self, images):
        """The largest centred window with the crop's aspect ratio, resized to `(height, width)`."""
        _, in_height, in_width, _ = images.shape
        crop_height = max(min(in_height, int(in_width * self.height / self.width)), 1)
        crop_width = max(min(in_width, int(in_height * self.width / self.height)), 1)
        top, left = (in_height - crop_height) // 2, (in_width - crop_width) // 2
        window = images[:, top:top + crop_height, left:left + crop_width]
        if (crop_height, crop_width) == (self.height, self.width):
            return window
        resized = F.interpolate(window.permute(0, 3, 1, 2), size=(self.height, self.width), mode="bilinear",
                                align_corners=False)
        return resized.permute(0, 2, 3, 1)

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 4:
            return (input_shape[0], self.height, self.width, input_shape[3])
        return (self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "seed": self.seed}
