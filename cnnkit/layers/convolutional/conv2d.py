"""2D convolution over channels-last images."""

import torch.nn.functional as F

from cnnkit.layers.convolutional.base_conv import _BaseConv, positive_int
from cnnkit.utils.argument_validation import is_integer


class Conv2D(_BaseConv):
    """2D convolution layer, Keras's `Conv2D` on torch's convolution.

    Args:
        filters: int, number of output channels.
        kernel_size: int or tuple of 2 ints, the window's height and width.
        strides: int or tuple of 2 ints. Default (1, 1).
        padding: "valid" (no padding) or "same" (output size = ceil(input / stride);
            an odd total padding puts the extra row/column at the bottom/right, as TensorFlow).
        data_format: "channels_last" or None (the same); cnnkit is channels-last only.
        dilation_rate: int or tuple of 2 ints; cannot be combined with strides > 1.
        groups: int, the input and output channels are split into `groups` groups, each convolved
            on its own (both channel counts must be divisible by it). Default 1.
        activation: name or callable applied to the output; None is linear.
        use_bias: bool. Default True.
        kernel_initializer, bias_initializer: names or callables.
        kernel_regularizer, bias_regularizer: names or callables (`cnnkit.regularizers`) whose penalty
            on the weight (in Keras's layout) joins `layer.losses` and the loss fit minimizes. Default None.
        activity_regularizer: name or callable, a penalty on the output (divided by the batch size).
        kernel_constraint, bias_constraint: names or callables (`cnnkit.constraints`) applied to the
            weight, in Keras's layout, after each optimizer step. Default None.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, filters)`.

    Weights: `kernel (kh, kw, channels // groups, filters)` and `bias (filters,)`, as Keras.

    Example:
        >>> layer = Conv2D(32, 3, activation="relu")
        >>> layer.build_for((None, 28, 28, 1))
        (None, 26, 26, 32)
        >>> layer.count_params()
        320
        >>> grouped = Conv2D(8, 3, groups=2)
        >>> grouped.build_for((None, 28, 28, 4)), [w.shape for w in grouped.get_weights()]
        ((None, 26, 26, 8), [(3, 3, 2, 8), (8,)])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(
            kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias, bias_initializer,
            {"kernel_regularizer": kernel_regularizer, "bias_regularizer": bias_regularizer,
             "activity_regularizer": activity_regularizer, "kernel_constraint": kernel_constraint,
             "bias_constraint": bias_constraint},
            **kwargs,
        )
        self.filters = positive_int(filters, "filters", self.name)
        if not is_integer(groups) or groups < 1:
            raise ValueError(f"Layer '{self.name}': The number of groups must be a positive integer. "
                             f"Received: groups={groups!r}.")
        self.groups = int(groups)
        if self.filters % self.groups:
            raise ValueError(
                f"Layer '{self.name}': The number of filters must be evenly divisible by the number of groups. "
                f"Received: groups={self.groups}, filters={self.filters}."
            )
        self.kernel_initializer = kernel_initializer

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        if input_shape[-1] % self.groups:
            raise ValueError(
                f"Layer '{self.name}': The number of input channels must be evenly divisible by the number of "
                f"groups. Received groups={self.groups}, but the input has {input_shape[-1]} channels "
                f"(full input shape is {input_shape})."
            )

    def build(self, input_shape):
        keras_shape = (*self.kernel_size, input_shape[-1] // self.groups, self.filters)
        self.kernel = self.new_weight(keras_shape, self.kernel_initializer, "kernel")
        self.bias = self.new_bias(self.filters)

    def preactivation(self, inputs):
        """The convolution plus bias, before the activation (the engine's exact rewrites use it)."""
        x, padding = self.pad_same(inputs.permute(0, 3, 1, 2))  # NCHW view of channels-last memory: no copy
        y = F.conv2d(x, self.kernel, self.bias, self.strides, padding, self.dilation_rate, self.groups)
        return y.permute(0, 2, 3, 1)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, *self.output_sizes(height, width), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            **self.window_config(),
            "groups": self.groups,
            **self.output_config(kernel_initializer=self.kernel_initializer),
        }


Convolution2D = Conv2D
