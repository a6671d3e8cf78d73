"""The private base of the 2D convolutions: arguments, checks, "same" padding, bias, activation, configs."""

import torch
import torch.nn.functional as F

from cnnkit import activations, constraints, initializers, regularizers
from cnnkit.layers._padding import output_length, same_padding
from cnnkit.layers.base import Layer
from cnnkit.utils.argument_validation import check_data_format, is_integer, normalize_padding, normalize_tuple


def positive_int(value, arg_name, layer_name):
    """`value` as a Python int when it is a positive (Python or NumPy) integer, else Keras's error.

    Example:
        >>> import numpy as np
        >>> positive_int(np.int64(8), "filters", "conv")
        8
    """
    if not is_integer(value) or value < 1:
        raise ValueError(
            f"Invalid value for argument `{arg_name}` of layer '{layer_name}'. Expected a strictly positive "
            f"integer. Received {arg_name}={value!r}."
        )
    return int(value)


class _BaseConv(Layer):
    """What the 2D convolutions share; subclasses create their weights in `build` and compute in `preactivation`.

    Weights are kept in torch's layouts (channels-last memory) and shown in Keras's by
    `to_keras_layout`/`from_keras_layout`: a weight named in `_conv_kernels` maps Keras's
    `(kh, kw, a, b)` to torch's `(b, a, kh, kw)`, which is Conv2D's kernel and Conv2DTranspose's
    (Keras stores the latter `(kh, kw, out, in)`, torch `(in, out, kh, kw)`).

    `penalties` is `{argument: value}` for the subclass's Keras regularizer and constraint
    arguments (`kernel_regularizer`, `depthwise_constraint`, `activity_regularizer`, ...): each is
    resolved (`cnnkit.regularizers.get` / `cnnkit.constraints.get`), kept as an attribute, written
    to the config in the order given, and attached to its weight by `new_weight` / `new_bias`.
    """

    _strided_dilation = False  # whether strides > 1 may go with dilation_rate > 1 (depthwise ones: yes)
    _conv_kernels = ("kernel",)

    def __init__(self, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                 bias_initializer, penalties, **kwargs):
        super().__init__(activity_regularizer=penalties.get("activity_regularizer"), **kwargs)
        check_data_format(data_format, self.name)
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, 2, "strides", self.name)
        self.padding = normalize_padding(padding, self.name)
        self.data_format = "channels_last"
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate", self.name)
        if not self._strided_dilation and max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"Layer '{self.name}': strides > 1 cannot be combined with dilation_rate > 1. "
                f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}"
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = bias_initializer
        self._penalty_arguments = tuple(penalties)
        for name, value in penalties.items():
            if name != "activity_regularizer":
                setattr(self, name, (constraints if name.endswith("_constraint") else regularizers).get(value))

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise self.incompatible_input(input_shape, "(batch, height, width, channels) with known channels")
        output = self.compute_output_shape(input_shape)
        if any(size is not None and size < 1 for size in output[1:3]):
            raise self.incompatible_input(
                input_shape, f"height and width of at least the dilated kernel size {self.kernel_size}"
            )

    def new_weight(self, keras_shape, initializer, name):
        """A Parameter initialized in Keras's layout (so fans are Keras's), kept in torch's, channels-last,
        with its regularizer and constraint (see `_penalty_stem`)."""
        value = self.from_keras_layout(name, initializers.get(initializer)(tuple(keras_shape)))
        self._attach_penalties(name)
        return torch.nn.Parameter(value.contiguous(memory_format=torch.channels_last))

    def new_bias(self, size):
        if not self.use_bias:
            return None
        self._attach_penalties("bias")
        return torch.nn.Parameter(initializers.get(self.bias_initializer)((size,)))

    def _attach_penalties(self, weight_name):
        stem = self._penalty_stem(weight_name)
        self._set_weight_options(weight_name, getattr(self, f"{stem}_regularizer", None),
                                 getattr(self, f"{stem}_constraint", None))

    def _penalty_stem(self, weight_name):
        """Which `<stem>_regularizer` / `<stem>_constraint` arguments apply to a weight, as in Keras:
        `kernel` and `bias` take their own, `depthwise_kernel` / `pointwise_kernel` take
        `depthwise_*` / `pointwise_*`, and DepthwiseConv2D's `kernel` takes `depthwise_*`."""
        for stem in (weight_name, weight_name.removesuffix("_kernel"), "depthwise"):
            if f"{stem}_regularizer" in self._penalty_arguments:
                return stem
        raise ValueError(f"Layer '{self.name}': no regularizer or constraint argument for weight '{weight_name}'.")

    def pad_same(self, x):
        """`(x, padding)` for F.conv2d on the NCHW view `x`: TensorFlow's "same" puts an odd padded
        row/column at the bottom/right, which F.conv2d's symmetric padding cannot, so only then is
        `x` padded explicitly."""
        if self.padding == "valid":
            return x, (0, 0)
        (top, bottom), (left, right) = (
            same_padding(size, k, s, d)
            for size, k, s, d in zip(x.shape[2:], self.kernel_size, self.strides, self.dilation_rate)
        )
        if (top, left) == (bottom, right):
            return x, (top, left)
        return F.pad(x, (left, right, top, bottom)), (0, 0)

    def call(self, inputs):
        return self.activation(self.preactivation(inputs))

    def output_sizes(self, height, width):
        """Output height and width of a (forward) convolution; None stays None."""
        return tuple(
            output_length(size, k, s, self.padding, d)
            for size, k, s, d in zip((height, width), self.kernel_size, self.strides, self.dilation_rate)
        )

    def to_keras_layout(self, name, tensor):
        return tensor.permute(2, 3, 1, 0) if name in self._conv_kernels else tensor

    def from_keras_layout(self, name, tensor):
        return tensor.permute(3, 2, 0, 1) if name in self._conv_kernels else tensor

    def window_config(self):
        """The config entries every convolution has, in Keras's order (after its own leading ones)."""
        return {
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
        }

    def output_config(self, **initializer_entries):
        """activation, use_bias, the initializers given, then the regularizers and constraints."""
        return {
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **initializer_entries,
            "bias_initializer": self.bias_initializer,
            **{name: (constraints if name.endswith("_constraint") else regularizers).serialize(getattr(self, name))
               for name in self._penalty_arguments},
        }


def depthwise_to_keras(tensor, depth_multiplier):
    """torch's grouped kernel `(in * mult, 1, kh, kw)` as Keras's depthwise kernel `(kh, kw, in, mult)`."""
    kh, kw = tensor.shape[2:]
    return tensor.permute(2, 3, 0, 1).reshape(kh, kw, -1, depth_multiplier)


def depthwise_from_keras(tensor):
    """Keras's depthwise kernel `(kh, kw, in, mult)` as torch's `(in * mult, 1, kh, kw)`: output
    channel `c * mult + m` reads input channel `c`, in Keras as in torch's groups."""
    kh, kw, channels, multiplier = tensor.shape
    return tensor.reshape(kh, kw, channels * multiplier, 1).permute(2, 3, 0, 1)
