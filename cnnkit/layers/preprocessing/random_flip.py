"""Randomly flips images left-right and/or top-bottom."""

import torch

from cnnkit.layers.preprocessing._augmentation import _Augmentation

_MODES = {"horizontal": (2,), "vertical": (1,), "horizontal_and_vertical": (1, 2)}


class RandomFlip(_Augmentation):
    """Flips each image with probability 1/2, in training and when called directly.

    As Keras 3 does, "horizontal_and_vertical" draws one coin per image and flips both ways on
    heads (a half-turn), not each way independently.

    Args:
        mode: "horizontal" (left-right), "vertical" (top-bottom) or "horizontal_and_vertical".
            Default "horizontal_and_vertical".
        seed: int or None; the same seed gives the same flips on every run.

    Input shape: `(batch, height, width, channels)` or one image `(height, width, channels)`.
    Output shape: the same, float.

    Example:
        >>> image = torch.arange(6.0).view(1, 2, 3, 1)
        >>> RandomFlip("horizontal", seed=3)(image)[0, :, :, 0].tolist()
        [[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]]
    """

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in _MODES:
            raise ValueError(
                f"Argument `mode` of layer '{self.name}' must be one of {tuple(_MODES)}. Received: mode={mode!r}"
            )
        self.mode = mode

    def augment(self, images, generator):
        flips = (torch.rand(images.shape[0], generator=generator, device=images.device) <= 0.5).view(-1, 1, 1, 1)
        flipped = images.flip(_MODES[self.mode])
        if images.requires_grad and torch.is_grad_enabled():
            return torch.where(flips, flipped, images)
        return torch.where(flips, flipped, images, out=flipped)  # into the flipped copy: one allocation, not two

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "mode": self.mode}
