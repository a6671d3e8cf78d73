"""Randomly zeroes inputs during training."""

import torch.nn.functional as F

from cnnkit.layers.base import Layer
from cnnkit.layers.regularization._noise import check_rate, layer_seed_generator, torch_generator
from cnnkit.utils.argument_validation import is_integer


class Dropout(Layer):
    """Sets a fraction `rate` of inputs to 0 in training and scales the rest by 1 / (1 - rate).

    Does nothing at inference (evaluate, predict, or a direct call without `training=True`).

    Args:
        rate: float in [0, 1], the fraction of inputs dropped.
        noise_shape: None, or a tuple of ints or None, one per input axis: the shape of the
            mask, broadcast over the input (None takes the input's size). E.g. for
            `(batch, timesteps, features)`, `(None, 1, None)` drops the same features at every
            timestep. Default None: one draw per input value.
        seed: int or None. An int makes the layer draw the same sequence of masks in every run
            (on a given device); None draws from torch's global generator (which
            `cnnkit.set_random_seed` makes repeat).

    Input shape: any. Output shape: the same.

    Example:
        >>> layer = Dropout(0.5, seed=1)
        >>> layer.build_for((None, 64))
        (None, 64)
        >>> import numpy as np
        >>> layer(np.ones((1, 4))).tolist()  # inference: the inputs as they are
        [[1.0, 1.0, 1.0, 1.0]]
        >>> set(layer(np.ones((1, 8)), training=True).flatten().tolist()) <= {0.0, 2.0}
        True
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(self, rate)
        self.noise_shape = _check_noise_shape(self, noise_shape)
        self.seed_generator = layer_seed_generator(self, seed)
        self.seed = None if seed is None else int(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        if self.seed_generator is None and self.noise_shape is None:
            return F.dropout(inputs, self.rate, training=True)
        return self.drop(inputs, self.mask_shape(inputs))

    def mask_shape(self, inputs):
        """The shape of the keep-mask for `inputs`: `noise_shape` with its None sizes filled in."""
        if self.noise_shape is None:
            return inputs.shape
        if len(self.noise_shape) != inputs.dim():
            raise ValueError(f"Layer '{self.name}': `noise_shape` {self.noise_shape} has {len(self.noise_shape)} "
                             f"entries, but its input has rank {inputs.dim()} (shape {tuple(inputs.shape)}).")
        return tuple(size if noise is None else noise for noise, size in zip(self.noise_shape, inputs.shape))

    def drop(self, inputs, mask_shape):
        """`inputs` times a Bernoulli(1 - rate) mask of `mask_shape` (broadcast), scaled by 1 / (1 - rate)."""
        if self.rate == 1:
            return inputs * 0.0
        generator = torch_generator(self.seed_generator, inputs.device)
        keep = inputs.new_empty(mask_shape).bernoulli_(1.0 - self.rate, generator=generator)
        return inputs * keep.div_(1.0 - self.rate)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        noise_shape = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": noise_shape}


def _check_noise_shape(layer, noise_shape):
    """`noise_shape` as a tuple of positive ints and None, or None; Keras's checks, naming the layer."""
    if noise_shape is None:
        return None
    try:
        values = tuple(noise_shape) if not isinstance(noise_shape, str) else None
    except TypeError:
        values = None
    if values is None or not all(v is None or (is_integer(v) and v > 0) for v in values):
        raise ValueError(f"Invalid value received for argument `noise_shape` of layer '{layer.name}'. Expected a "
                         f"tuple of positive integers or None. Received: noise_shape={noise_shape!r}")
    return tuple(None if v is None else int(v) for v in values)
