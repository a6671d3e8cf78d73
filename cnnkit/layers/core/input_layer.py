"""A model's entry point: `Input(shape)` gives the symbolic tensor a Functional model starts from."""

from cnnkit.layers.base import Layer
from cnnkit.layers.node import KerasTensor, Node


class InputLayer(Layer):
    """Holds the input shape of a model and produces its symbolic input tensor (`.output`).

    Args:
        shape: tuple, the shape of one sample, e.g. `(28, 28, 1)`.
        batch_size: optional fixed batch size.
        dtype: "float32" (the default).
        name: str; default `input_layer`, `input_layer_1`, ...
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
        kwargs.pop("sparse", None), kwargs.pop("ragged", None)
        if batch_shape is not None:
            shape, batch_size = batch_shape[1:], batch_shape[0]
        try:
            shape = tuple(shape)
        except TypeError:
            raise ValueError(f"Input `shape` must be a tuple such as (28, 28, 1). Received: shape={shape!r}") from None
        if not all(d is None or (isinstance(d, int) and d > 0) for d in shape):
            raise ValueError(f"Input `shape` must hold positive ints or None. Received: shape={shape!r}")
        super().__init__(name=name, input_shape=shape, dtype=dtype, **kwargs)
        self.batch_input_shape = (batch_size, *shape)
        self.built = True
        self.input_shape = self.output_shape = self.batch_input_shape
        # As in Keras, the tensor of `Input(name="image")` is named "image" too (else keras_tensor_N).
        self._inbound_nodes.append(Node(self, [], KerasTensor(self.batch_input_shape, name=name)))

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {"name": self.name, "batch_shape": list(self.batch_input_shape), "dtype": "float32",
                "trainable": self.trainable}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None):
    """A symbolic input tensor, as `keras.Input`: call layers on it, then `Model(inputs, outputs)`.

    Args:
        shape: tuple, the shape of one sample (no batch dimension), e.g. `(28, 28, 1)`.
        batch_size: optional fixed batch size.
        dtype: "float32" (the default).
        name: optional name of its InputLayer.

    Example:
        >>> from cnnkit import layers, Model
        >>> inputs = Input(shape=(28, 28, 1))
        >>> inputs.shape
        (None, 28, 28, 1)
        >>> Model(inputs, layers.Flatten()(inputs)).output_shape
        (None, 784)
    """
    return InputLayer(shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape).output
