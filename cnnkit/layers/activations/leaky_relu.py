"""Leaky rectified linear unit as a layer."""

import warnings

import torch.nn.functional as F

from cnnkit.layers.activations._arguments import check_number
from cnnkit.layers.base import Layer


class LeakyReLU(Layer):
    """`x` for x >= 0, `negative_slope * x` below.

    Args:
        negative_slope: float >= 0. Default 0.3 (Keras 3's layer default). `alpha`, its
            deprecated Keras name, is accepted with a warning.

    Input shape: any. Output shape: the input's.

    Example:
        >>> import torch
        >>> LeakyReLU()(torch.tensor([[-1.0, 2.0]]))
        tensor([[-0.3000,  2.0000]])
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` of LeakyReLU is deprecated. Use `negative_slope` instead.",
                          stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = check_number(negative_slope, "negative_slope", self.name, non_negative=True)

    def call(self, inputs):
        return F.leaky_relu(inputs, self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}
