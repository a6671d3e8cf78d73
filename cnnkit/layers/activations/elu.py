"""Exponential linear unit as a layer."""

import torch.nn.functional as F

from cnnkit.layers.activations._arguments import check_number
from cnnkit.layers.base import Layer


class ELU(Layer):
    """`x` for x > 0, `alpha * (exp(x) - 1)` below.

    Args:
        alpha: float, the scale of the negative part. Default 1.0.

    Input shape: any. Output shape: the input's.

    Example:
        >>> import torch
        >>> ELU(alpha=0.5)(torch.tensor([[0.0, 2.0]]))
        tensor([[0., 2.]])
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_number(alpha, "alpha", self.name)

    def call(self, inputs):
        return F.elu(inputs, self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}
