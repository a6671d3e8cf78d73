"""Depthwise separable 2D convolution: a depthwise convolution, then a 1x1 convolution."""

import torch.nn.functional as F

from cnnkit.layers.convolutional.base_conv import (
    _BaseConv, depthwise_from_keras, depthwise_to_keras, positive_int,
)


class SeparableConv2D(_BaseConv):
    """Depthwise separable 2D convolution, Keras's `SeparableConv2D` on torch's convolutions.

    Each input channel is first convolved with `depth_multiplier` filters of its own (the
    depthwise step, with the strides, padding and dilation), then a 1x1 convolution mixes the
    `channels * depth_multiplier` results into `filters` outputs; the bias and activation follow.

    Args:
        filters: int, number of output channels.
        kernel_size: int or tuple of 2 ints, the depthwise window's height and width.
        strides: int or tuple of 2 ints. Default (1, 1).
        padding: "valid" or "same" (TensorFlow's: an odd padded row/column at the bottom/right).
        data_format: "channels_last" or None (the same); cnnkit is channels-last only.
        dilation_rate: int or tuple of 2 ints (may be combined with strides > 1, as in Keras).
        depth_multiplier: int, depthwise filters per input channel. Default 1.
        activation: name or callable applied to the output; None is linear.
        use_bias: bool. Default True.
        depthwise_initializer, pointwise_initializer, bias_initializer: names or callables.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer,
            depthwise_constraint, pointwise_constraint, bias_constraint: `cnnkit.regularizers` and `cnnkit.constraints` (names, objects or None), as in Keras.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, filters)`.

    Weights: `depthwise_kernel (kh, kw, channels, depth_multiplier)`,
    `pointwise_kernel (1, 1, channels * depth_multiplier, filters)` and `bias (filters,)`, as Keras.

    Example:
        >>> layer = SeparableConv2D(64, 3, padding="same")
        >>> layer.build_for((None, 90, 90, 32)), layer.count_params()
        ((None, 90, 90, 64), 2400)
    """

    _strided_dilation = True
    _conv_kernels = ("pointwise_kernel",)

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias, bias_initializer,
            {"depthwise_regularizer": depthwise_regularizer, "pointwise_regularizer": pointwise_regularizer,
             "bias_regularizer": bias_regularizer, "activity_regularizer": activity_regularizer,
             "depthwise_constraint": depthwise_constraint, "pointwise_constraint": pointwise_constraint,
             "bias_constraint": bias_constraint},
            **kwargs,
        )
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", self.name)
        self.filters = positive_int(filters, "filters", self.name)
        self.depthwise_initializer = depthwise_initializer
        self.pointwise_initializer = pointwise_initializer

    def build(self, input_shape):
        channels = input_shape[-1]
        depthwise_shape = (*self.kernel_size, channels, self.depth_multiplier)
        pointwise_shape = (1, 1, channels * self.depth_multiplier, self.filters)
        self.depthwise_kernel = self.new_weight(depthwise_shape, self.depthwise_initializer, "depthwise_kernel")
        self.pointwise_kernel = self.new_weight(pointwise_shape, self.pointwise_initializer, "pointwise_kernel")
        self.bias = self.new_bias(self.filters)

    def preactivation(self, inputs):
        x, padding = self.pad_same(inputs.permute(0, 3, 1, 2))  # NCHW view of channels-last memory: no copy
        x = F.conv2d(x, self.depthwise_kernel, None, self.strides, padding, self.dilation_rate, groups=x.shape[1])
        return F.conv2d(x, self.pointwise_kernel, self.bias).permute(0, 2, 3, 1)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, *self.output_sizes(height, width), self.filters)

    def to_keras_layout(self, name, tensor):
        if name == "depthwise_kernel":
            return depthwise_to_keras(tensor, self.depth_multiplier)
        return super().to_keras_layout(name, tensor)

    def from_keras_layout(self, name, tensor):
        if name == "depthwise_kernel":
            return depthwise_from_keras(tensor)
        return super().from_keras_layout(name, tensor)

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "filters": self.filters,
            **self.window_config(),
            **self.output_config(depthwise_initializer=self.depthwise_initializer,
                                 pointwise_initializer=self.pointwise_initializer),
        }


SeparableConvolution2D = SeparableConv2D
