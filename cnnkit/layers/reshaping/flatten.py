"""Flattens each sample to one axis, in channels-last order as Keras does."""

import math

from cnnkit.layers.base import Layer


class Flatten(Layer):
    """`(batch, h, w, c)` -> `(batch, h * w * c)`, row-major over (h, w, c).

    The order matches Keras, so a Dense kernel after it means the same in both. Tensors
    between layers are channels-last in memory, so this is a view, not a copy.

    Example:
        >>> Flatten().build_for((None, 3, 3, 64))
        (None, 576)
    """

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise self.incompatible_input(input_shape, "at least 2 dimensions")

    def call(self, inputs):
        return inputs.reshape(inputs.shape[0], -1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))
