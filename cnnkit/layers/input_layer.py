"""The model's entry point: declares the input shape."""

from cnnkit.layers.base import Layer


class InputLayer(Layer):
    """Holds the input shape of a model; passes its input through.

    Args:
        shape: tuple, the shape of one sample, e.g. `(28, 28, 1)`.
        batch_size: optional fixed batch size.
    """

    def __init__(self, shape, batch_size=None, name=None):
        try:
            shape = tuple(shape)
        except TypeError:
            raise ValueError(f"Input `shape` must be a tuple such as (28, 28, 1). Received: shape={shape!r}") from None
        super().__init__(name=name, input_shape=shape)
        self.batch_input_shape = (batch_size, *shape)
        self.built = True

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"name": self.name, "shape": list(self.batch_input_shape[1:]),
                "batch_size": self.batch_input_shape[0]}


def Input(shape, batch_size=None, name=None):
    """Declares a model input, as `keras.Input` does.

    Example:
        >>> from cnnkit import layers, models
        >>> model = models.Sequential([layers.Input(shape=(28, 28, 1)), layers.Flatten()])
        >>> model.output_shape
        (None, 784)
    """
    return InputLayer(shape, batch_size=batch_size, name=name)
