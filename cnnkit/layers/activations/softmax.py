"""Softmax as a layer, over one axis or several."""

import torch

from cnnkit.layers.activations._arguments import check_axis
from cnnkit.layers.base import Layer


class Softmax(Layer):
    """`exp(x) / sum(exp(x))` over `axis`: each slice along it sums to 1.

    Args:
        axis: int or tuple of ints, the axis or axes normalized over. Default -1 (the channels).

    Input shape: any with the axis. Output shape: the input's.

    Example:
        >>> import torch
        >>> Softmax()(torch.zeros(1, 4))
        tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = check_axis(axis, self.name)

    def check_input_shape(self, input_shape):
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        if any(not -len(input_shape) <= a < len(input_shape) for a in axes):
            raise self.incompatible_input(input_shape, f"an axis {self.axis}")

    def call(self, inputs):
        if isinstance(self.axis, int):
            return torch.softmax(inputs, self.axis)
        if len(self.axis) == 1:
            return torch.softmax(inputs, self.axis[0])
        return torch.exp(inputs - torch.logsumexp(inputs, self.axis, keepdim=True))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
