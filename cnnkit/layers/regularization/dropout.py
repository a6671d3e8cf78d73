"""Randomly zeroes inputs during training."""

import torch.nn.functional as F

from cnnkit.layers.base import Layer


class Dropout(Layer):
    """Sets a fraction `rate` of inputs to 0 in training and scales the rest by 1 / (1 - rate).

    Does nothing at inference (evaluate, predict).

    Example:
        >>> Dropout(0.5).build_for((None, 64))
        (None, 64)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"Argument `rate` of layer '{self.name}' must be in [0, 1]. Received: rate={rate!r}")
        self.rate = float(rate)
        self.seed = seed

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return F.dropout(inputs, self.rate, training=True)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
