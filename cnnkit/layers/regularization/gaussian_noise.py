"""Additive zero-centered Gaussian noise during training."""

import torch

from cnnkit.layers.base import Layer
from cnnkit.layers.regularization._noise import check_rate, layer_seed_generator, torch_generator


class GaussianNoise(Layer):
    """Adds noise drawn from a normal distribution of mean 0 and standard deviation `stddev`
    to every input value in training (a form of data augmentation for real-valued inputs).

    Does nothing at inference (evaluate, predict, or a direct call without `training=True`).

    Args:
        stddev: float in [0, 1] (Keras's bounds), the standard deviation of the noise.
        seed: int or None; an int gives the same sequence of noise in every run.

    Input shape: any. Output shape: the same.

    Example:
        >>> import numpy as np
        >>> layer = GaussianNoise(0.1, seed=0)
        >>> x = np.zeros((1000,), "float32")
        >>> bool((layer(x) == 0).all()), round(float(layer(x, training=True).std()), 1)
        (True, 0.1)
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = check_rate(self, stddev, name="stddev")
        self.seed_generator = layer_seed_generator(self, seed)
        self.seed = None if seed is None else int(seed)

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        generator = torch_generator(self.seed_generator, inputs.device)
        return torch.empty_like(inputs).normal_(0.0, self.stddev, generator=generator).add_(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}
