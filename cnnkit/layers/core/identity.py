"""A layer that returns its inputs."""

from cnnkit.layers.base import Layer


class Identity(Layer):
    """Returns its inputs unchanged (any tensor, or a list or dict of them): a placeholder.

    Example:
        >>> Identity().build_for((None, 7, 7, 64))
        (None, 7, 7, 64)
    """

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
