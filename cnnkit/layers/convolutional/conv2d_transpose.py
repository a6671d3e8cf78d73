"""Transposed 2D convolution (the gradient of a convolution with respect to its input)."""

import torch.nn.functional as F

from cnnkit.layers.convolutional.base_conv import _BaseConv, positive_int
from cnnkit.utils.argument_validation import normalize_tuple


def transposed_length(length, window, stride, padding, output_padding=None, dilation=1):
    """Output size along one axis as Keras computes it; None stays None.

    "valid": `(length - 1) * stride + max(span, stride)`, or `... + span + output_padding`;
    "same": `length * stride`, or `(length - 1) * stride + span % 2 + output_padding`,
    with `span = (window - 1) * dilation + 1`.

    Example:
        >>> [transposed_length(4, 3, 2, pad, extra) for pad, extra in (("same", None), ("valid", None), ("valid", 1))]
        [8, 9, 10]
    """
    if length is None:
        return None
    span = (window - 1) * dilation + 1
    if padding == "valid":
        return (length - 1) * stride + (max(span, stride) if output_padding is None else span + output_padding)
    return length * stride if output_padding is None else (length - 1) * stride + span % 2 + output_padding


def transposed_crop(length, window, stride, padding, output_padding=None, dilation=1):
    """`(start, extra)` along one axis: TensorFlow's output is the full transposed convolution
    (`(length - 1) * stride + span` values) from `start` on, `start` being the top/left padding of
    the "same" convolution it reverses (the odd padded cell is at the bottom/right). F.conv_transpose2d
    with `padding=start` crops `start` values at both ends; `extra` is how many values the output
    then still lacks at the end (F.conv_transpose2d's `output_padding`, zeros beyond the full
    output), or, when negative, how many to drop there."""
    span = (window - 1) * dilation + 1
    size = transposed_length(length, window, stride, padding, output_padding, dilation)
    full = (length - 1) * stride + span
    start = max(full - size, 0) // 2 if padding == "same" else 0
    return start, size - (full - 2 * start)


class Conv2DTranspose(_BaseConv):
    """Transposed 2D convolution, Keras's `Conv2DTranspose` on torch's `conv_transpose2d`.

    It maps each input cell to a `kernel_size` window of the output, `strides` apart: it
    upsamples, reversing the shapes of a `Conv2D` with the same arguments. The numbers are
    TensorFlow's: with "same" padding the output is cropped as the convolution it reverses
    was padded (an odd extra row/column at the bottom/right).

    Args:
        filters: int, number of output channels.
        kernel_size: int or tuple of 2 ints, the window's height and width.
        strides: int or tuple of 2 ints. Default (1, 1).
        padding: "valid" or "same".
        output_padding: None, or int or tuple of 2 ints, each less than the stride: the output
            size is then `(input - 1) * stride + kernel + output_padding` ("valid") or
            `(input - 1) * stride + kernel % 2 + output_padding` ("same") instead of
            `(input - 1) * stride + max(kernel, stride)` / `input * stride` (kernel: dilated size).
        data_format: "channels_last" or None (the same); cnnkit is channels-last only.
        dilation_rate: int or tuple of 2 ints; cannot be combined with strides > 1.
        activation: name or callable applied to the output; None is linear.
        use_bias: bool. Default True.
        kernel_initializer, bias_initializer: names or callables.
        kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
            bias_constraint: `cnnkit.regularizers` and `cnnkit.constraints` (names, objects or None), as in Keras.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, filters)`.

    Weights: `kernel (kh, kw, filters, channels)` (Keras's layout: output channels first) and
    `bias (filters,)`.

    Raises:
        ValueError: for padding="same" with an `output_padding` that TensorFlow cannot
            reverse (an even dilated kernel with output_padding 0).

    Example:
        >>> layer = Conv2DTranspose(16, 3, strides=2, padding="same")
        >>> layer.build_for((None, 14, 14, 32)), layer.get_weights()[0].shape
        ((None, 28, 28, 16), (3, 3, 16, 32))
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
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
        self.output_padding = (None if output_padding is None else
                               normalize_tuple(output_padding, 2, "output_padding", self.name, allow_zero=True))
        self.kernel_initializer = kernel_initializer
        if self.output_padding is not None:
            self._check_output_padding()

    def _check_output_padding(self):
        for axis, (extra, stride) in enumerate(zip(self.output_padding, self.strides)):
            if extra >= stride:
                raise ValueError(
                    f"Layer '{self.name}': `output_padding` must be strictly less than `strides` for all "
                    f"dimensions. At dimension {axis}, `output_padding` is {extra} but `strides` is {stride}. "
                    f"Received: output_padding={self.output_padding}, strides={self.strides}"
                )
        for extra, window, dilation in zip(self.output_padding, self.kernel_size, self.dilation_rate):
            span = (window - 1) * dilation + 1
            if self.padding == "same" and span % 2 + extra == 0:
                raise ValueError(
                    f"Layer '{self.name}': padding='same' with output_padding=0 and an even (dilated) kernel "
                    f"size {span} gives (input - 1) * stride values, which a 'same' convolution maps back to "
                    f"input - 1 values, not input: TensorFlow refuses it. Use output_padding >= 1, None, or an "
                    f"odd kernel size. Received: kernel_size={self.kernel_size}, "
                    f"output_padding={self.output_padding}, dilation_rate={self.dilation_rate}"
                )

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise self.incompatible_input(input_shape, "(batch, height, width, channels) with known channels")

    def build(self, input_shape):
        self.kernel = self.new_weight((*self.kernel_size, self.filters, input_shape[-1]),
                                      self.kernel_initializer, "kernel")
        self.bias = self.new_bias(self.filters)

    def preactivation(self, inputs):
        x = inputs.permute(0, 3, 1, 2)  # NCHW view of channels-last memory: no copy
        output_padding = (None, None) if self.output_padding is None else self.output_padding
        (top, extra_h), (left, extra_w) = (
            transposed_crop(size, k, s, self.padding, op, d)
            for size, k, s, op, d in zip(x.shape[2:], self.kernel_size, self.strides, output_padding,
                                         self.dilation_rate)
        )
        y = F.conv_transpose2d(x, self.kernel, self.bias, self.strides, (top, left),
                               (max(extra_h, 0), max(extra_w, 0)), 1, self.dilation_rate)
        if extra_h < 0 or extra_w < 0:  # a view: TensorFlow's crop ends one row/column earlier
            y = y[:, :, :y.shape[2] + min(extra_h, 0), :y.shape[3] + min(extra_w, 0)]
        return y.permute(0, 2, 3, 1)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        output_padding = (None, None) if self.output_padding is None else self.output_padding
        sizes = (
            transposed_length(size, k, s, self.padding, op, d)
            for size, k, s, op, d in zip((height, width), self.kernel_size, self.strides, output_padding,
                                         self.dilation_rate)
        )
        return (batch, *sizes, self.filters)

    def get_config(self):
        window = self.window_config()
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": window["kernel_size"],
            "strides": window["strides"],
            "padding": window["padding"],
            "output_padding": None if self.output_padding is None else list(self.output_padding),
            "data_format": window["data_format"],
            "dilation_rate": window["dilation_rate"],
            **self.output_config(kernel_initializer=self.kernel_initializer),
        }


Convolution2DTranspose = Conv2DTranspose
