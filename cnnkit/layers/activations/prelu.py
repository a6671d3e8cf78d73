"""Parametric rectified linear unit: a leaky ReLU whose slopes are learned."""

import torch
import torch.nn.functional as F

from cnnkit import constraints, initializers, regularizers
from cnnkit.layers.base import Layer
from cnnkit.utils.argument_validation import is_integer
from cnnkit.utils.naming import to_snake_case


class PReLU(Layer):
    """`x` for x > 0, `alpha * x` below, with `alpha` a learned weight.

    Args:
        alpha_initializer: initializer name (Keras's class names such as "Zeros" work too)
            or callable. Default "Zeros".
        alpha_regularizer: name or callable (`cnnkit.regularizers`) whose penalty on `alpha`
            joins `layer.losses` and the loss fit minimizes. Default None.
        alpha_constraint: name or callable (`cnnkit.constraints`) applied to `alpha` after each
            optimizer step. Default None.
        shared_axes: int or list of ints (1-based, as the input's axes after the batch) along
            which one slope is shared; e.g. `[1, 2]` for images gives one slope per channel.
            Default None: one slope per value of a sample.

    The weight `alpha` has Keras's layout: the sample's shape, with 1 on the shared axes.

    Input shape: `(batch, ...)`, known sizes on the axes that are not shared.
    Output shape: the input's.

    Example:
        >>> layer = PReLU(shared_axes=[1, 2])
        >>> layer.build_for((None, 28, 28, 32))
        (None, 28, 28, 32)
        >>> [w.shape for w in layer.get_weights()]
        [(1, 1, 32)]
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = _initializer(alpha_initializer, self.name)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        self.shared_axes = None if shared_axes is None else _axes(shared_axes, self.name)

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise self.incompatible_input(input_shape, "at least 2 dimensions")
        if any(not 1 <= axis < len(input_shape) for axis in self.shared_axes or ()):
            raise self.incompatible_input(
                input_shape, f"axes {self.shared_axes} (shared_axes, counted from 1 after the batch)")
        shape = self._alpha_shape(input_shape)
        if None in shape:
            raise self.incompatible_input(input_shape, "known sizes on the axes not in shared_axes")
        if self.built and shape != tuple(self.alpha.shape):
            raise self.incompatible_input(input_shape, f"a sample shape that fits alpha {tuple(self.alpha.shape)}")

    def build(self, input_shape):
        self.alpha = self.add_weight(shape=self._alpha_shape(input_shape), initializer=self.alpha_initializer,
                                     name="alpha", regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        # One slope per channel (or one for all): torch's prelu kernel, on the channels-first view.
        self._per_channel = all(size == 1 for size in self.alpha.shape[:-1])

    def _alpha_shape(self, input_shape):
        return tuple(1 if axis in (self.shared_axes or ()) else size
                     for axis, size in enumerate(input_shape[1:], start=1))

    def call(self, inputs):
        if self._per_channel:
            return F.prelu(inputs.movedim(-1, 1), self.alpha.reshape(-1)).movedim(1, -1)
        alpha = self.alpha.to(inputs.dtype)
        return torch.where(inputs > 0, inputs, alpha * inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": self.alpha_initializer,
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}


def _initializer(value, layer_name):
    """An initializer name cnnkit knows ("Zeros" -> "zeros"), or a callable."""
    if callable(value):
        return value
    for name in (value, to_snake_case(value)) if isinstance(value, str) else ():
        try:
            initializers.get(name)
        except ValueError:
            continue
        return name
    raise ValueError(
        f"Argument `alpha_initializer` of layer '{layer_name}' must be an initializer name or a callable. "
        f"Received: alpha_initializer={value!r}"
    )


def _axes(value, layer_name):
    values = list(value) if isinstance(value, (tuple, list)) else [value]
    if not values or not all(is_integer(v) and v >= 1 for v in values):
        raise ValueError(
            f"Argument `shared_axes` of layer '{layer_name}' must be an int >= 1 or a list of them "
            f"(axes counted from 1 after the batch). Received: shared_axes={value!r}"
        )
    return [int(v) for v in values]
