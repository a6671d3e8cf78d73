"""2D convolution over channels-last images."""

import torch
import torch.nn.functional as F

from cnnkit import activations, initializers
from cnnkit.layers._padding import output_length, same_padding
from cnnkit.layers.base import Layer
from cnnkit.utils.argument_validation import check_data_format, normalize_padding, normalize_tuple


class Conv2D(Layer):
    """2D convolution layer, Keras's `Conv2D` on torch's convolution.

    Args:
        filters: int, number of output channels.
        kernel_size: int or tuple of 2 ints, the window's height and width.
        strides: int or tuple of 2 ints. Default (1, 1).
        padding: "valid" (no padding) or "same" (output size = ceil(input / stride);
            an odd total padding puts the extra row/column at the bottom/right, as TensorFlow).
        dilation_rate: int or tuple of 2 ints; cannot be combined with strides > 1.
        activation: name or callable applied to the output; None is linear.
        use_bias: bool. Default True.
        kernel_initializer, bias_initializer: names or callables.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, filters)`.

    Example:
        >>> layer = Conv2D(32, 3, activation="relu")
        >>> layer.build_for((None, 28, 28, 1))
        (None, 26, 26, 32)
        >>> layer.count_params()
        320
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"Argument `filters` of layer '{self.name}' must be a positive int. Received: filters={filters!r}")
        check_data_format(data_format, self.name)
        self.filters = filters
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, 2, "strides", self.name)
        self.padding = normalize_padding(padding, self.name)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate", self.name)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"Layer '{self.name}': strides > 1 cannot be combined with dilation_rate > 1. "
                f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}"
            )
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise self.incompatible_input(input_shape, "(batch, height, width, channels) with known channels")
        output = self.compute_output_shape(input_shape)
        if any(size is not None and size < 1 for size in output[1:3]):
            raise self.incompatible_input(
                input_shape, f"height and width of at least the dilated kernel size {self.kernel_size}"
            )

    def build(self, input_shape):
        in_channels = input_shape[-1]
        keras_kernel = initializers.get(self.kernel_initializer)((*self.kernel_size, in_channels, self.filters))
        torch_kernel = keras_kernel.permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)
        self.kernel = torch.nn.Parameter(torch_kernel)
        self.bias = torch.nn.Parameter(initializers.get(self.bias_initializer)((self.filters,))) if self.use_bias else None

    def preactivation(self, inputs):
        x = inputs.permute(0, 3, 1, 2)  # NCHW view of channels-last memory: no copy
        padding = (0, 0)
        if self.padding == "same":
            (top, bottom), (left, right) = (
                same_padding(size, k, s, d)
                for size, k, s, d in zip(x.shape[2:], self.kernel_size, self.strides, self.dilation_rate)
            )
            if (top, left) == (bottom, right):
                padding = (top, left)
            else:
                x = F.pad(x, (left, right, top, bottom))
        y = F.conv2d(x, self.kernel, self.bias, self.strides, padding, self.dilation_rate)
        return y.permute(0, 2, 3, 1)

    def call(self, inputs):
        return self.activation(self.preactivation(inputs))

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        sizes = (
            output_length(size, k, s, self.padding, d)
            for size, k, s, d in zip((height, width), self.kernel_size, self.strides, self.dilation_rate)
        )
        return (batch, *sizes, self.filters)

    def to_keras_layout(self, name, tensor):
        return tensor.permute(2, 3, 1, 0) if name == "kernel" else tensor

    def from_keras_layout(self, name, tensor):
        return tensor.permute(3, 2, 0, 1) if name == "kernel" else tensor

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
        }
