"""Reshapes each sample to a target shape."""

import math

from cnnkit.layers.base import Layer
from cnnkit.layers.reshaping._arguments import as_int


class Reshape(Layer):
    """Gives each sample the shape `target_shape` (the batch axis is kept), row-major as Keras.

    Args:
        target_shape: tuple of ints, the shape of a sample; one entry may be -1, for the size
            that keeps the number of values.

    Input shape: `(batch, ...)`, any sizes whose product is that of `target_shape`.
    Output shape: `(batch, *target_shape)`, with -1 resolved where the input's sizes are known.

    The output is a view of a contiguous input (no copy).

    Example:
        >>> Reshape((7, -1)).build_for((None, 28, 28))
        (None, 7, 112)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target = tuple(as_int(d) for d in target_shape)
        except TypeError:
            target = None
        if target is None or not all(isinstance(d, int) for d in target):
            raise ValueError(
                f"Argument `target_shape` of layer '{self.name}' must be a tuple of ints. "
                f"Received: target_shape={target_shape!r}"
            )
        if any(d < -1 for d in target):
            raise ValueError(
                f"Each dimension in `target_shape` of layer '{self.name}' must be a non-negative integer, "
                f"or -1 for a single unknown dimension. Received: target_shape={target}"
            )
        if target.count(-1) > 1:
            raise ValueError(
                f"There must be at most one unknown dimension (-1) in `target_shape` of layer '{self.name}'. "
                f"Received: target_shape={target}"
            )
        self.target_shape = target

    def check_input_shape(self, input_shape):
        self.compute_output_shape(input_shape)  # raises where the sizes cannot match

    def call(self, inputs):
        # -1 resolved from the sample's sizes, so that an empty batch reshapes too.
        sample_shape = self.compute_output_shape((None, *inputs.shape[1:]))[1:]
        return inputs.reshape(inputs.shape[0], *sample_shape)

    def compute_output_shape(self, input_shape):
        sizes, target = input_shape[1:], self.target_shape
        if None in sizes:
            return (input_shape[0], *(None if d == -1 else d for d in target))
        total, known = math.prod(sizes), math.prod(d for d in target if d != -1)
        if -1 not in target and total != known:
            raise ValueError(
                f"Layer '{self.name}': the total size of the tensor must be unchanged. "
                f"Received: input_shape={tuple(sizes)}, target_shape={target}"
            )
        if -1 in target and (known == 0 or total % known):
            raise ValueError(
                f"Layer '{self.name}': the total size of the tensor must be unchanged, but the input size "
                f"cannot be divided by the sizes in target_shape. "
                f"Received: input_shape={tuple(sizes)}, target_shape={target}"
            )
        return (input_shape[0], *(total // known if d == -1 else d for d in target))

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}
