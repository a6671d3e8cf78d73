"""Fully connected layer."""

import torch

from cnnkit import activations, initializers
from cnnkit.layers.base import Layer


class Dense(Layer):
    """`activation(inputs @ kernel + bias)` over the last axis.

    Args:
        units: int, output size.
        activation: name or callable; None is linear.
        use_bias: bool. Default True.
        kernel_initializer, bias_initializer: names or callables.

    The kernel has Keras's layout `(input_dim, units)`, so weights mean the same as in Keras.

    Example:
        >>> Dense(64).build_for((None, 576))
        (None, 64)
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ValueError(f"Argument `units` of layer '{self.name}' must be a positive int. Received: units={units!r}")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise self.incompatible_input(input_shape, "at least 2 dimensions with a known last dimension")

    def build(self, input_shape):
        self.kernel = torch.nn.Parameter(initializers.get(self.kernel_initializer)((input_shape[-1], self.units)))
        self.bias = torch.nn.Parameter(initializers.get(self.bias_initializer)((self.units,))) if self.use_bias else None

    def preactivation(self, inputs):
        if inputs.ndim == 2 and self.bias is not None:
            return torch.addmm(self.bias, inputs, self.kernel)
        outputs = inputs @ self.kernel
        return outputs if self.bias is None else outputs + self.bias

    def call(self, inputs):
        return self.activation(self.preactivation(inputs))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
        }
