"""Depthwise 2D convolution: each input channel convolved with its own filters."""

import torch.nn.functional as F

from cnnkit.layers.convolutional.base_conv import (
    _BaseConv, depthwise_from_keras, depthwise_to_keras, positive_int,
)


class DepthwiseConv2D(_BaseConv):
    """Depthwise 2D convolution, Keras's `DepthwiseConv2D` on torch's grouped convolution.

    Each input channel is convolved with `depth_multiplier` filters of its own; output channel
    `c * depth_multiplier + m` is input channel `c`'s m-th filter.

    Args:
        kernel_size: int or tuple of 2 ints, the window's height and width.
        strides: int or tuple of 2 ints. Default (1, 1).
        padding: "valid" or "same" (TensorFlow's: an odd padded row/column at the bottom/right).
        depth_multiplier: int, filters per input channel. Default 1.
        data_format: "channels_last" or None (the same); cnnkit is channels-last only.
        dilation_rate: int or tuple of 2 ints (may be combined with strides > 1, as in Keras).
        activation: name or callable applied to the output; None is linear.
        use_bias: bool. Default True.
        depthwise_initializer, bias_initializer: names or callables.
        depthwise_regularizer, bias_regularizer, activity_regularizer, depthwise_constraint,
            bias_constraint: `cnnkit.regularizers` and `cnnkit.constraints` (names, objects or None), as in Keras.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, channels * depth_multiplier)`.

    Weights: `kernel (kh, kw, channels, depth_multiplier)` and `bias (channels * depth_multiplier,)`,
    as Keras 3 names and lays them out.

    Example:
        >>> layer = DepthwiseConv2D(3, depth_multiplier=2, padding="same")
        >>> layer.build_for((None, 32, 32, 16)), layer.count_params()
        ((None, 32, 32, 32), 320)
    """

    _strided_dilation = True
    _conv_kernels = ()

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias, bias_initializer,
            {"depthwise_regularizer": depthwise_regularizer, "bias_regularizer": bias_regularizer,
             "activity_regularizer": activity_regularizer, "depthwise_constraint": depthwise_constraint,
             "bias_constraint": bias_constraint},
            **kwargs,
        )
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", self.name)
        self.depthwise_initializer = depthwise_initializer

    def build(self, input_shape):
        channels = input_shape[-1]
        keras_shape = (*self.kernel_size, channels, self.depth_multiplier)
        self.kernel = self.new_weight(keras_shape, self.depthwise_initializer, "kernel")
        self.bias = self.new_bias(channels * self.depth_multiplier)

    def preactivation(self, inputs):
        x, padding = self.pad_same(inputs.permute(0, 3, 1, 2))  # NCHW view of channels-last memory: no copy
        y = F.conv2d(x, self.kernel, self.bias, self.strides, padding, self.dilation_rate, groups=x.shape[1])
        return y.permute(0, 2, 3, 1)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, *self.output_sizes(height, width), channels * self.depth_multiplier)

    def to_keras_layout(self, name, tensor):
        return depthwise_to_keras(tensor, self.depth_multiplier) if name == "kernel" else tensor

    def from_keras_layout(self, name, tensor):
        return depthwise_from_keras(tensor) if name == "kernel" else tensor

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            **self.window_config(),
            **self.output_config(depthwise_initializer=self.depthwise_initializer),
        }
