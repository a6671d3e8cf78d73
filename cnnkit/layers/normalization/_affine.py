"""The arguments, weights and config that LayerNormalization and GroupNormalization share."""

import numbers

from cnnkit import constraints, initializers, regularizers
from cnnkit.layers.base import Layer


def _checked(layer, argument, value, get):
    """`get(value)`, or its ValueError prefixed with the layer and the argument."""
    try:
        return get(value)
    except ValueError as error:
        raise ValueError(f"Argument `{argument}` of layer '{layer.name}': {error}") from error


class _AffineNormalization(Layer):
    """Normalization followed by a learned per-feature scale `gamma` and offset `beta`.

    Subclasses give `weight_shape(input_shape)`, then `call`; this base validates `epsilon`,
    `center`, `scale`, the initializers, regularizers and constraints, creates gamma then beta
    (Keras's order) and gives their part of the config (`affine_config`).
    """

    def __init__(self, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros", gamma_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or not epsilon > 0:
            raise ValueError(f"Argument `epsilon` of layer '{self.name}' must be a float > 0. "
                             f"Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        _checked(self, "beta_initializer", beta_initializer, initializers.get)
        _checked(self, "gamma_initializer", gamma_initializer, initializers.get)
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self.beta_regularizer = _checked(self, "beta_regularizer", beta_regularizer, regularizers.get)
        self.gamma_regularizer = _checked(self, "gamma_regularizer", gamma_regularizer, regularizers.get)
        self.beta_constraint = _checked(self, "beta_constraint", beta_constraint, constraints.get)
        self.gamma_constraint = _checked(self, "gamma_constraint", gamma_constraint, constraints.get)

    def build(self, input_shape):
        shape = self.weight_shape(input_shape)
        self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma", regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight(shape, self.beta_initializer, name="beta", regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None

    def compute_output_shape(self, input_shape):
        return input_shape

    def affine_config(self):
        """The config entries from `epsilon` on, in Keras's order (the subclass puts its own first)."""
        return {
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": self.beta_initializer,
            "gamma_initializer": self.gamma_initializer,
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }
