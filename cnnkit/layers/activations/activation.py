"""Applies an activation function as a layer of its own."""

from cnnkit import activations
from cnnkit.layers.base import Layer


class Activation(Layer):
    """`Activation("relu")` applies relu; any name of `cnnkit.activations` or a callable.

    Example:
        >>> Activation("softmax").build_for((None, 10))
        (None, 10)
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def preactivation(self, inputs):
        return inputs

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
