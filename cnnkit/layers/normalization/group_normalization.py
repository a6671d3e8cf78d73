"""Group normalization: channels split into groups, each normalized per sample, on torch's group_norm."""

import torch
import torch.nn.functional as F

from cnnkit.layers.normalization._affine import _AffineNormalization
from cnnkit.utils.argument_validation import is_integer


class GroupNormalization(_AffineNormalization):
    """Splits the channels into `groups` groups of consecutive channels (channels 0..C/G-1 form the
    first, as in Keras) and normalizes each group of each sample over its channels and all other
    axes; then scales and offsets each channel by `gamma` and `beta`.

    Args:
        groups: int, the number of groups; it must divide the number of channels. -1 gives one
            group per channel (instance normalization; the config then shows the channel count).
            Default 32.
        axis: int, the channels axis. Default -1.
        epsilon: float > 0, added to the variance. Default 1e-3.
        center, scale: bool, learn `beta` / `gamma`. Default True.
        beta_initializer, gamma_initializer: names or callables. Default "zeros", "ones".
        beta_regularizer, gamma_regularizer: names or objects of `cnnkit.regularizers`; their
            penalties on the weights join `layer.losses`. Default None.
        beta_constraint, gamma_constraint: names or objects of `cnnkit.constraints`, applied
            after each optimizer step. Default None.

    Weights, in Keras's order: gamma, beta, of shape (channels,).

    Input shape: `(batch, ..., channels)` (any rank >= 2). Output shape: the same.

    Example:
        >>> layer = GroupNormalization(groups=4)
        >>> layer.build_for((None, 8, 8, 16))
        (None, 8, 8, 16)
        >>> layer.count_params()
        32
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        if not is_integer(groups) or (groups <= 0 and groups != -1):
            raise ValueError(f"Received an invalid value for argument `groups` of layer '{self.name}', expected a "
                             f"positive integer (or `-1` for instance normalization). Received: groups={groups!r}")
        if not is_integer(axis):
            raise TypeError(f"Argument `axis` of layer '{self.name}' must be an int. Received: axis={axis!r}")
        self.groups = int(groups)
        self.axis = int(axis)

    def check_input_shape(self, input_shape):
        if self.axis >= len(input_shape) or self.axis < -len(input_shape) or self.axis % len(input_shape) == 0:
            raise ValueError(f"Layer '{self.name}': axis {self.axis} is out of bounds for input shape {input_shape} "
                             f"(or is the batch axis). Received: axis={self.axis}")
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(f"Layer '{self.name}': axis {self.axis} of the input should have a defined dimension, "
                             f"but the layer received an input with shape {input_shape}.")
        groups = channels if self.groups == -1 else self.groups
        if channels < groups:
            raise ValueError(f"Layer '{self.name}': the number of groups ({groups}) cannot be more than the number "
                             f"of channels ({channels}).")
        if channels % groups:
            raise ValueError(f"Layer '{self.name}': the number of groups ({groups}) must divide the number of "
                             f"channels ({channels}).")

    def weight_shape(self, input_shape):
        if self.groups == -1:
            self.groups = input_shape[self.axis]  # as Keras's build does
        return (input_shape[self.axis],)

    def call(self, inputs):
        x = inputs.movedim(self.axis, 1)  # (N, C, ...) view; the memory stays channels-last
        if torch.is_grad_enabled() and not x.requires_grad and not x.is_contiguous() \
                and any(w is not None and w.requires_grad for w in (self.gamma, self.beta)):
            # torch 2.13's CPU group_norm backward crashes (segfault) on a channels-last input that needs
            # no gradient itself (e.g. a model's input): give it contiguous NCHW memory then.
            x = x.contiguous()
        return F.group_norm(x, self.groups, self.gamma, self.beta, self.epsilon).movedim(1, self.axis)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, **self.affine_config()}
