"""Permutes the axes of each sample."""

from cnnkit.layers.base import Layer
from cnnkit.layers.reshaping._arguments import as_int


class Permute(Layer):
    """Reorders the axes of each sample; `dims` counts from 1 (the batch axis stays first), as Keras.

    Args:
        dims: tuple of ints, a permutation of 1, ..., rank - 1: output axis i is input axis dims[i - 1].

    Input shape: `(batch, ...)` with `len(dims)` axes after the batch.
    Output shape: the input's, its axes after the batch reordered by `dims`.

    The output is a view of the input (no copy).

    Example:
        >>> Permute((2, 1)).build_for((None, 10, 64))
        (None, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            permutation = tuple(as_int(d) for d in dims)
        except TypeError:
            permutation = None
        if permutation is None or not all(isinstance(d, int) for d in permutation) \
                or sorted(permutation) != list(range(1, len(permutation) + 1)):
            raise ValueError(
                f"Invalid permutation argument `dims` of layer '{self.name}': the indices in `dims` must be "
                f"consecutive and start from 1. Received: dims={dims!r}"
            )
        self.dims = permutation

    def check_input_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise self.incompatible_input(input_shape, f"ndim={len(self.dims) + 1}")

    def call(self, inputs):
        return inputs.permute(0, *self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}
