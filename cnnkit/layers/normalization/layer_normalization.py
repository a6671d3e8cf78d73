"""Layer normalization: each sample normalized over its feature axes, on torch's layer_norm."""

import torch.nn.functional as F

from cnnkit.layers.normalization._affine import _AffineNormalization
from cnnkit.utils.argument_validation import is_integer


class LayerNormalization(_AffineNormalization):
    """Normalizes each sample over `axis`: `gamma * (x - mean) / sqrt(variance + epsilon) + beta`,
    mean and (biased) variance taken over the `axis` dimensions of that sample alone.

    Args:
        axis: int or list/tuple of ints, the axes to normalize over (the batch axis excluded);
            gamma and beta span them. Default -1 (the channels). Once built, the config
            lists them sorted, as Keras's does.
        epsilon: float > 0, added to the variance. Default 1e-3 (Keras 3's default).
        center: bool, learn an offset `beta`. Default True.
        scale: bool, learn a factor `gamma`. Default True.
        beta_initializer, gamma_initializer: names or callables. Default "zeros", "ones".
        beta_regularizer, gamma_regularizer: names or objects of `cnnkit.regularizers`; their
            penalties on the weights join `layer.losses`. Default None.
        beta_constraint, gamma_constraint: names or objects of `cnnkit.constraints`, applied
            after each optimizer step. Default None.

    Weights, in Keras's order: gamma, beta, each of the shape of the `axis` dimensions.

    Input shape: any, the `axis` sizes known. Output shape: the same.

    Example:
        >>> layer = LayerNormalization()
        >>> layer.build_for((None, 7, 7, 16))
        (None, 7, 7, 16)
        >>> layer.count_params(), layer.get_config()["axis"]
        (32, [-1])
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        if is_integer(axis):
            self.axis = int(axis)
        elif isinstance(axis, (list, tuple)) and axis and all(is_integer(a) for a in axis):
            self.axis = [int(a) for a in axis]
        else:
            raise TypeError(f"Layer '{self.name}': expected an int or a list/tuple of ints for the argument "
                            f"'axis', but received: {axis!r}")
        if rms_scaling:
            raise ValueError(f"Layer '{self.name}': `rms_scaling=True` is deprecated in Keras (it scales by the "
                             "variance, not the root mean square) and cnnkit does not support it. "
                             "Received: rms_scaling=True")

    def axes_for(self, ndim):
        """The normalized axes as sorted non-negative indices for inputs of rank `ndim`."""
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        return sorted(a % ndim for a in axes)

    def check_input_shape(self, input_shape):
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        for axis in axes:
            if axis >= len(input_shape) or axis < -len(input_shape):
                raise ValueError(f"Layer '{self.name}': axis {axis} is out of bounds for input shape {input_shape}. "
                                 f"Received: axis={self.axis}")
        positions = self.axes_for(len(input_shape))
        if 0 in positions or len(set(positions)) != len(positions):
            raise ValueError(f"Layer '{self.name}': `axis` must name distinct axes other than the batch axis (0). "
                             f"Received: axis={self.axis} for input shape {input_shape}")
        if any(input_shape[a] is None for a in positions):
            raise self.incompatible_input(input_shape, f"known sizes on the normalized axes {self.axis}")

    def weight_shape(self, input_shape):
        shape = tuple(input_shape[a] for a in self.axes_for(len(input_shape)))
        self.axis = sorted([self.axis] if isinstance(self.axis, int) else self.axis)  # as Keras's build does
        return shape

    def call(self, inputs):
        ndim = inputs.dim()
        axes = self.axes_for(ndim)
        trailing = list(range(ndim - len(axes), ndim))
        x = inputs if axes == trailing else inputs.movedim(axes, trailing)
        outputs = F.layer_norm(x, x.shape[ndim - len(axes):], self.gamma, self.beta, self.epsilon)
        return outputs if axes == trailing else outputs.movedim(trailing, axes)

    def get_config(self):
        affine = self.affine_config()
        return {**super().get_config(), "axis": self.axis, **{k: affine.pop(k) for k in ("epsilon", "center", "scale")},
                "rms_scaling": False, **affine}
