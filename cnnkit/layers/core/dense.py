"""Fully connected layer."""

import torch

from cnnkit import activations, constraints, initializers, regularizers
from cnnkit.layers.base import Layer
from cnnkit.utils.argument_validation import is_integer


class Dense(Layer):
    """`activation(inputs @ kernel + bias)` over the last axis.

    Args:
        units: int, output size.
        activation: name or callable; None is linear.
        use_bias: bool. Default True.
        kernel_initializer, bias_initializer: names or callables.
        kernel_regularizer, bias_regularizer: names or callables (`cnnkit.regularizers`) whose
            penalty on the weight joins `layer.losses` and the loss fit minimizes. Default None.
        activity_regularizer: name or callable, a penalty on the output (divided by the batch size).
        kernel_constraint, bias_constraint: names or callables (`cnnkit.constraints`) applied to
            the weight after each optimizer step. Default None.

    The kernel has Keras's layout `(input_dim, units)`, so weights mean the same as in Keras.

    Example:
        >>> Dense(64).build_for((None, 576))
        (None, 64)
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not is_integer(units) or units < 1:
            raise ValueError(f"Argument `units` of layer '{self.name}' must be a positive int. Received: units={units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._set_weight_options("kernel", self.kernel_regularizer, self.kernel_constraint)
        self._set_weight_options("bias", self.bias_regularizer, self.bias_constraint)

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
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
