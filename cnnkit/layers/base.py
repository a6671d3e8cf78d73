"""The Layer base class: a torch Module with Keras's protocol.

Order of a layer's life, as in Keras: `__init__` stores and validates arguments,
`build(input_shape)` creates weights once the input shape is known, `call(x)` computes,
`compute_output_shape` gives shapes without computing, `get_config` describes the layer.

Shapes in the API are channels-last with None for the batch: `(None, 28, 28, 1)`.
Tensors flowing between layers are channels-last too; layers that need torch's NCHW
view take it with a zero-copy `permute`, never a copy.
"""

import numpy as np
import torch

from cnnkit.utils.naming import to_snake_case, unique_name


class Layer(torch.nn.Module):
    """Base class of every cnnkit layer.

    Args:
        name: str, unique name; by default the snake-cased class name made unique
            in the process (`conv2d`, `conv2d_1`, ...).
        input_shape: tuple without the batch dimension, for the first layer of a model.
        trainable: bool, whether fit updates this layer's weights.
        dtype: only "float32" (or None) for now: weights are kept in float32.
    """

    def __init__(self, name=None, input_shape=None, trainable=True, dtype=None):
        super().__init__()
        if dtype not in (None, "float32", torch.float32):
            raise ValueError(f"Layer weights are float32. Received: dtype={dtype!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.batch_input_shape = None if input_shape is None else (None, *tuple(input_shape))
        self._trainable = trainable
        self.built = False
        self.input_shape = None
        self.output_shape = None

    # -- Keras protocol ---------------------------------------------------------------
    def build(self, input_shape):
        """Creates the layer's weights for `input_shape`; the base layer has none."""
        self.built = True

    def call(self, inputs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        if self.batch_input_shape is not None:
            config["input_shape"] = list(self.batch_input_shape[1:])
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # -- building ---------------------------------------------------------------------
    def build_for(self, input_shape):
        """Checks `input_shape`, builds weights once, and returns the output shape."""
        input_shape = tuple(input_shape)
        self.check_input_shape(input_shape)
        if not self.built:
            self.build(input_shape)
            self.built = True
            self.trainable = self._trainable
        self.input_shape = input_shape
        self.output_shape = tuple(self.compute_output_shape(input_shape))
        return self.output_shape

    def check_input_shape(self, input_shape):
        """Layers with input requirements override this and call `incompatible_input`."""

    def incompatible_input(self, input_shape, expected):
        """The error for an input shape this layer cannot take."""
        return ValueError(
            f"Input 0 of layer '{self.name}' ({type(self).__name__}) is incompatible with the layer: "
            f"expected {expected}, got shape {input_shape}."
        )

    def forward(self, inputs):
        return self.call(inputs)

    # -- weights ----------------------------------------------------------------------
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for parameter in self.parameters():
            parameter.requires_grad_(self._trainable)

    @property
    def weights(self):
        """The weight tensors, in Keras's order (kernel, then bias)."""
        return list(self.parameters())

    def count_params(self):
        return sum(p.numel() for p in self.parameters())

    def get_weights(self):
        """The weights as NumPy arrays in Keras's layouts: copies, as in Keras (training does not change them)."""
        return [self.to_keras_layout(name, p.detach()).cpu().numpy().copy() for name, p in self.named_parameters()]

    def set_weights(self, weights):
        """Sets the weights from NumPy arrays in Keras's layouts, checking every shape."""
        named = list(self.named_parameters())
        if len(weights) != len(named):
            raise ValueError(
                f"Layer '{self.name}' expects {len(named)} weight arrays "
                f"({', '.join(n for n, _ in named) or 'none'}), received {len(weights)}."
            )
        for (name, parameter), array in zip(named, weights):
            expected = tuple(self.to_keras_layout(name, parameter).shape)
            array = np.asarray(array)
            if array.shape != expected:
                raise ValueError(
                    f"Weight '{name}' of layer '{self.name}' has shape {expected}; "
                    f"received an array of shape {array.shape}."
                )
            value = self.from_keras_layout(name, torch.as_tensor(array, dtype=parameter.dtype))
            with torch.no_grad():
                parameter.copy_(value)

    def to_keras_layout(self, name, tensor):
        """Maps a weight from torch's layout to Keras's; identity unless overridden."""
        return tensor

    def from_keras_layout(self, name, tensor):
        return tensor

    def extra_repr(self):
        return f"name={self.name!r}"
