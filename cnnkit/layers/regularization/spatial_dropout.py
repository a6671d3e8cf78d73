"""Dropout of whole feature maps (channels) of images."""

from cnnkit.layers.regularization.dropout import Dropout
from cnnkit.utils.argument_validation import check_data_format


class SpatialDropout2D(Dropout):
    """Drops whole channels: in training, each channel of each image is zeroed with probability
    `rate` (all its pixels together), the kept ones scaled by 1 / (1 - rate). Neighbouring pixels
    are correlated, so this regularizes convolutional features where per-pixel Dropout barely does.

    Does nothing at inference (evaluate, predict, or a direct call without `training=True`).

    Args:
        rate: float in [0, 1], the fraction of channels dropped.
        data_format: None or "channels_last" (cnnkit's only layout).
        seed: int or None; an int gives the same sequence of masks in every run.

    Input shape: `(batch, height, width, channels)`. Output shape: the same.

    Example:
        >>> import numpy as np
        >>> layer = SpatialDropout2D(0.5, seed=3)
        >>> out = layer(np.ones((1, 4, 4, 8), "float32"), training=True)
        >>> sorted(set(out.amin((1, 2)).flatten().tolist()) | set(out.amax((1, 2)).flatten().tolist()))
        [0.0, 2.0]
    """

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        check_data_format(data_format, self.name)
        self.data_format = "channels_last"

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible_input(input_shape, "(batch, height, width, channels)")

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return self.drop(inputs, self.mask_shape(inputs))

    def mask_shape(self, inputs):
        if inputs.dim() != 4:
            raise self.incompatible_input(tuple(inputs.shape), "(batch, height, width, channels)")
        return (inputs.shape[0], 1, 1, inputs.shape[3])

    def get_config(self):
        # Keras's keys: no `trainable` and no `noise_shape`.
        config = {"rate": self.rate, "seed": self.seed, "name": self.name}
        if self.batch_input_shape is not None:
            config["input_shape"] = list(self.batch_input_shape[1:])
        return {**config, "data_format": self.data_format}
