"""Global average and max pooling: one value per channel of a channels-last image.

Example:
    >>> import torch
    >>> GlobalAveragePooling2D().build_for((None, 7, 7, 512))
    (None, 512)
    >>> GlobalMaxPooling2D(keepdims=True).build_for((None, 7, 7, 512))
    (None, 1, 1, 512)
    >>> GlobalAveragePooling2D().call(torch.arange(8.0).reshape(1, 2, 2, 2))
    tensor([[3., 4.]])
"""

from cnnkit.layers.base import Layer
from cnnkit.utils.argument_validation import check_data_format


class _GlobalPooling2D(Layer):
    """Arguments, checks and shapes shared by the 2D global poolings; subclasses implement `pool`."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, self.name)
        if not isinstance(keepdims, bool):
            raise ValueError(f"Argument `keepdims` of layer '{self.name}' must be True or False. "
                             f"Received: keepdims={keepdims!r}")
        self.data_format = "channels_last"
        self.keepdims = keepdims

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible_input(input_shape, f"ndim=4, found ndim={len(input_shape)}")

    def call(self, inputs):
        return self.pool(inputs)

    def compute_output_shape(self, input_shape):
        batch, channels = input_shape[0], input_shape[-1]
        return (batch, 1, 1, channels) if self.keepdims else (batch, channels)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}

    def extra_repr(self):
        return super().extra_repr() + (", keepdims=True" if self.keepdims else "")


class GlobalAveragePooling2D(_GlobalPooling2D):
    """The mean of each channel over height and width.

    Args:
        data_format: "channels_last" or None (the same); cnnkit is channels-last only.
        keepdims: bool, keep height and width as axes of size 1. Default False.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, channels)`, or `(batch, 1, 1, channels)` with `keepdims=True`.

    Example:
        >>> GlobalAveragePooling2D().build_for((None, 4, 5, 3))
        (None, 3)
    """

    def pool(self, x):
        return x.mean(dim=(1, 2), keepdim=self.keepdims)


class GlobalMaxPooling2D(_GlobalPooling2D):
    """The maximum of each channel over height and width; tied maxima share the gradient evenly.

    Args:
        data_format: "channels_last" or None (the same); cnnkit is channels-last only.
        keepdims: bool, keep height and width as axes of size 1. Default False.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, channels)`, or `(batch, 1, 1, channels)` with `keepdims=True`.

    Example:
        >>> GlobalMaxPooling2D().build_for((None, 4, 5, 3))
        (None, 3)
    """

    def pool(self, x):
        return x.amax(dim=(1, 2), keepdim=self.keepdims)


GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
