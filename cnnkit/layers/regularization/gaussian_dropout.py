"""Multiplicative one-centered Gaussian noise during training."""

import math

import torch

from cnnkit.layers.base import Layer
from cnnkit.layers.regularization._noise import check_rate, layer_seed_generator, torch_generator


class GaussianDropout(Layer):
    """Multiplies every input value in training by noise drawn from a normal distribution of
    mean 1 and standard deviation `sqrt(rate / (1 - rate))` (the variance Dropout of that rate has).

    Does nothing at inference (evaluate, predict, or a direct call without `training=True`).

    Args:
        rate: float in [0, 1), the drop probability of the Dropout it imitates.
        seed: int or None; an int gives the same sequence of noise in every run.

    Input shape: any. Output shape: the same.

    Example:
        >>> import numpy as np
        >>> layer = GaussianDropout(0.5, seed=0)
        >>> out = layer(np.ones((10000,), "float32"), training=True)
        >>> round(float(out.mean()), 1), round(float(out.std()), 1)
        (1.0, 1.0)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(self, rate)
        if self.rate == 1:
            raise ValueError(f"Argument `rate` of layer '{self.name}' must be below 1: rate=1 makes the noise's "
                             "standard deviation infinite. Received: rate=1")
        self.seed_generator = layer_seed_generator(self, seed)
        self.seed = None if seed is None else int(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        generator = torch_generator(self.seed_generator, inputs.device)
        return inputs * torch.empty_like(inputs).normal_(1.0, stddev, generator=generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
