"""SeparableConv2D, DepthwiseConv2D, Conv2DTranspose and Conv2D(groups=...) against Keras.

The expected numbers are from Keras 3.15, TensorFlow backend, computed once with the inputs
and weights `ints` gives: the input `ints(shape)`, the i-th weight in `get_weights()` order
`ints(shape, 3 * i + 1, 5)`. They are small integers, so every output is an exact integer
and is compared exactly.
"""

import json

import numpy as np
import pytest
import torch

import cnnkit as keras
from cnnkit import layers
from cnnkit.engine import fusion
from cnnkit.layers.convolutional.conv2d_transpose import transposed_length


def ints(shape, start=0, mod=7):
    """Small integers, deterministic: ((3 * i + start) % mod) - mod // 2 over the flat index i."""
    n = int(np.prod(shape))
    return (((np.arange(n) * 3 + start) % mod) - mod // 2).reshape(shape).astype("float32")


def keras_weights(layer, input_shape):
    """The oracle's weights for `layer` built for `input_shape` (shapes from get_weights: Keras's layouts)."""
    layer.build_for(input_shape)
    return [ints(w.shape, 3 * i + 1, 5) for i, w in enumerate(layer.get_weights())]


def run(layer, x):
    """`layer(x)` with the oracle's weights, as a NumPy array; checks the shape it announced."""
    expected_shape = layer.build_for((None, *x.shape[1:]))
    layer.set_weights(keras_weights(layer, (None, *x.shape[1:])))
    with torch.no_grad():
        outputs = layer(torch.from_numpy(x))
    assert (None, *outputs.shape[1:]) == expected_shape
    return outputs.numpy()


def weighted_sum(outputs):
    """sum(outputs * (1, 2, 3, ...)) over the flat index: one number that sees every value and its place."""
    outputs = np.asarray(outputs, "float64")
    return float((outputs * (1 + np.arange(outputs.size)).reshape(outputs.shape)).sum())


# -- Keras's numbers (Keras 3.15, TensorFlow backend) ----------------------------------------------
# (padding, strides, dilation_rate, groups, kernel_size, output shape, output values):
# Conv2D(4, kernel_size, strides, padding, dilation_rate=..., groups=...) on ints((1, 4, 5, 4)).
KERAS_GROUPED = [
    ('valid', 1, 1, 2, 3, (2, 3, 4), [
        30, -12, -19, 4, -22, 19, -14, -10, 3, 1, 33, -10, -27, 17, -1, -3, 19, -29, 11, 11, 30, -12, -19, 4]),
    ('same', 1, 1, 2, 3, (4, 5, 4), [
        -2, 9, -8, -9, -11, 10, 30, -12, 19, -18, 0, -2, 0, 10, -23, 22, -11, 9, -4, -3, 11, -15, 0, 15, 30, -12, -19,
        4, -22, 19, -14, -10, 3, 1, 33, -10, 7, -9, -9, 10, -6, 21, -8, 4, -27, 17, -1, -3, 19, -29, 11, 11, 30, -12,
        -19, 4, -8, 8, -9, -7, 12, -13, 8, -1, 19, -15, -6, 10, -16, 32, -10, -7, -16, 2, 7, -3, 10, -13, -4, 11]),
    ('valid', 2, 1, 2, 3, (1, 2, 4), [
        30, -12, -19, 4, 3, 1, 33, -10]),
    ('same', 2, 1, 2, 3, (2, 3, 4), [
        11, -15, 0, 15, -22, 19, -14, -10, 7, -9, -9, 10, 12, -13, 8, -1, -16, 32, -10, -7, 10, -13, -4, 11]),
    ('valid', 1, 2, 2, 2, (2, 3, 4), [
        7, -14, 2, -6, 4, 3, -14, 1, 1, -1, 5, 1, 6, 1, -8, 15, 3, 4, 4, 1, 7, -14, 2, -6]),
    ('same', 1, 2, 2, 3, (4, 5, 4), [
        7, 1, 10, 2, 3, -8, -4, 11, 7, 3, 6, -16, 0, 9, 0, 0, -14, 4, -3, 3, 1, -9, -18, 5, 4, 10, -4, -7, 10, 3, 3,
        13, 0, -9, -1, 1, 14, -7, 3, -10, 3, 12, -1, 6, -6, -2, 8, 3, 5, -19, -19, -6, 11, 0, -3, -8, 6, 4, 0, 11, -7,
        -2, 2, 5, 12, -2, -10, 2, 5, 13, 10, 0, -7, -1, -2, 10, -5, -11, -13, -6]),
    ('same', 2, 1, 2, (2, 3), (2, 3, 4), [
        11, -13, -12, 22, -16, 17, -5, -12, 11, -4, -6, 10, 12, -13, 8, -1, -16, 32, -10, -7, 10, -13, -4, 11]),
    ('same', 1, 1, 4, 3, (4, 5, 4), [
        -8, -11, -10, 11, 9, 11, 4, -2, 9, 8, -5, 7, -12, -16, 7, -5, 10, 3, -6, 3, 2, 5, 8, -2, 0, 15, -3, 0, -3,
        -20, -7, 16, 1, 15, -4, -10, 12, 5, -2, 4, -6, -5, 4, -1, 13, -13, -16, -11, 3, 8, 8, -2, 0, 15, -3, 0, -5,
        -13, -8, 11, -2, 4, -12, -10, 7, 6, 5, 12, -5, -5, 5, 9, 11, -16, -16, -15, 2, 6, 6, 4]),
]
# (padding, strides, dilation_rate, depth_multiplier, output shape, output values):
# DepthwiseConv2D(kernel_size, strides, padding, depth_multiplier, ...) on ints((1, 4, 5, 2)), kernel_size 2 for
# "valid" with dilation, else 3. Strides > 1 with dilation > 1 is allowed here, as in Keras.
KERAS_DEPTHWISE = [
    ('valid', 1, 1, 1, (2, 3, 2), [
        10, 8, -6, -5, -22, -11, 7, 13, 12, 14, 10, 8]),
    ('same', 1, 1, 1, (4, 5, 2), [
        0, -4, -20, -10, 6, -10, 11, 4, 6, 7, 10, 8, 10, 8, -6, -5, -22, -11, 0, -16, 5, -1, 7, 13, 12, 14, 10, 8, 0,
        -6, -6, -2, 1, -22, 2, 4, 3, 9, 6, 4]),
    ('same', 2, 1, 1, (2, 3, 2), [
        10, 8, -6, -5, 0, -16, -6, -2, 2, 4, 6, 4]),
    ('valid', 1, 1, 2, (2, 3, 4), [
        4, -10, -9, 0, -8, 18, 3, 1, 8, 18, -6, 16, 7, -10, -12, -2, -5, -3, 0, -15, 4, -10, -9, 0]),
    ('same', 1, 1, 2, (4, 5, 4), [
        -5, 9, -3, 6, 9, 15, 3, 6, 9, -11, 2, 7, -5, -2, 1, -6, 1, -3, -11, 3, -9, 3, 1, -10, 4, -10, -9, 0, -8, 18,
        3, 1, 8, 18, -6, 16, 9, -5, 9, 6, 1, -2, 6, -6, 7, -10, -12, -2, -5, -3, 0, -15, 4, -10, -9, 0, -3, 7, -1, 6,
        7, 3, -9, 10, 6, -3, 5, 16, 7, -5, 5, -10, 8, -7, -9, -1, -1, -1, -3, -2]),
    ('valid', 2, 1, 2, (1, 2, 4), [
        4, -10, -9, 0, 8, 18, -6, 16]),
    ('same', 2, 1, 2, (2, 3, 4), [
        -9, 3, 1, -10, -8, 18, 3, 1, 9, -5, 9, 6, 7, 3, -9, 10, 7, -5, 5, -10, -1, -1, -3, -2]),
    ('valid', 1, 2, 2, (2, 3, 4), [
        5, -5, -1, -7, 0, 9, -10, 8, 2, 9, 2, 9, -6, 2, -4, -2, 3, -5, 1, -8, 5, -5, -1, -7]),
    ('same', 1, 2, 2, (4, 5, 4), [
        -8, 7, 3, -3, 7, 6, -2, 11, 9, 10, -6, -3, 8, -8, 8, 1, 7, -6, -6, 6, -3, -5, -8, 4, -9, 8, 1, -3, -5, 6, 3,
        -5, 10, 2, -6, 5, 9, 4, -6, 3, -2, 3, 6, -10, 5, -6, -7, -4, 8, -16, -16, 12, -4, 5, -7, 1, -6, 6, 6, 3, 12,
        0, 4, 6, -2, 5, 5, -9, -1, -5, 5, -13, 7, -11, -12, 4, 5, -10, -13, 6]),
    ('same', 2, 2, 2, (2, 3, 4), [
        -3, -5, -8, 4, -5, 6, 3, -5, 9, 4, -6, 3, 12, 0, 4, 6, -1, -5, 5, -13, 5, -10, -13, 6]),
    ('valid', (2, 1), (1, 2), 2, (2, 3, 4), [
        9, -3, -8, 5, 4, -3, -10, 6, 6, -3, 2, 7, -6, 4, 0, 8, -4, 4, 5, -12, -2, 4, 3, -11]),
]
# (padding, strides, dilation_rate, depth_multiplier, output shape, output values):
# SeparableConv2D(3, kernel_size, ...) on ints((1, 4, 5, 2)), kernel_size as for DepthwiseConv2D.
KERAS_SEPARABLE = [
    ('valid', 1, 1, 1, (2, 3, 3), [
        24, -10, 1, -21, 3, 7, -59, 9, 27, 23, -15, 17, 34, -16, 9, 24, -10, 1]),
    ('same', 1, 1, 1, (4, 5, 3), [
        -8, 2, -3, -54, 8, 25, -2, 8, -27, 22, -6, -9, 15, -9, 7, 24, -10, 1, 24, -10, 1, -21, 3, 7, -59, 9, 27, -20,
        14, -27, 5, -1, -7, 23, -15, 17, 34, -16, 9, 24, -10, 1, -10, 4, -7, -18, 0, 13, -24, 20, -41, 4, -6, 9, 11,
        -11, 17, 12, -6, 1]),
    ('same', 2, 1, 1, (2, 3, 3), [
        24, -10, 1, -21, 3, 7, -20, 14, -27, -18, 0, 13, 4, -6, 9, 12, -6, 1]),
    ('valid', 1, 1, 2, (2, 3, 3), [
        -5, 20, -30, -2, -30, 62, 15, 18, 21, 3, 22, -39, -1, -35, 11, -5, 20, -30]),
    ('same', 1, 1, 2, (4, 5, 3), [
        -10, 1, 32, 24, -17, 22, -3, 13, -31, -9, -20, 14, -7, 23, -12, -8, -33, 32, -5, 20, -30, -2, -30, 62, 15, 18,
        21, 4, -9, -12, 3, -30, 7, 3, 22, -39, -1, -35, 11, -5, 20, -30, -8, -1, 26, 4, 27, -10, -10, 17, -6, 16, -33,
        -12, 7, 15, -32, -4, -5, 4]),
    ('valid', 2, 1, 2, (1, 2, 3), [
        -5, 20, -30, 15, 18, 21]),
    ('same', 2, 1, 2, (2, 3, 3), [
        -8, -33, 32, -2, -30, 62, 4, -9, -12, 4, 27, -10, 16, -33, -12, -4, -5, 4]),
    ('valid', 1, 2, 2, (2, 3, 3), [
        9, -15, -14, -2, 19, 15, 1, -3, 23, -11, -6, 19, 6, -21, -8, 9, -15, -14]),
    ('same', 1, 2, 2, (4, 5, 3), [
        -9, -27, 40, 6, 12, 3, 28, -12, 3, 4, -14, -17, -1, 22, -25, -18, 21, -5, -10, -24, 42, -2, -30, 32, 14, 12,
        -15, 16, 6, -9, 6, -43, 23, 5, 4, -22, -15, 64, -57, -7, 3, 18, -12, -20, 37, 15, -4, -13, 7, -41, 26, 3, -39,
        4, -4, 35, -41, -9, 40, -36]),
    ('same', 2, 2, 2, (2, 3, 3), [
        -18, 21, -5, -2, -30, 32, 16, 6, -9, 15, -4, -13, 3, -39, 4, -9, 40, -36]),
]
# (padding, strides, kernel_size, output_padding, dilation_rate, output shape, output values):
# Conv2DTranspose(2, kernel_size, ...) on ints((1, 2, 3, 2)).
KERAS_TRANSPOSE = [
    ('valid', 1, 3, None, 1, (4, 5, 2), [
        5, 0, -6, -4, 6, 13, -1, -1, -4, -6, -5, 3, 8, 6, 12, -14, 1, 0, 0, 9, 5, -2, 8, 1, -12, 2, 2, -4, 11, 0, 6,
        2, -6, -7, 8, 8, 0, 2, -2, -3]),
    ('same', 1, 3, None, 1, (2, 3, 2), [
        8, 6, 12, -14, 1, 0, 8, 1, -12, 2, 2, -4]),
    ('valid', 2, 3, None, 1, (5, 7, 2), [
        5, 0, -1, -6, 3, 5, 6, 6, -11, -1, 6, 4, -4, -6, 2, -3, -4, 6, 7, 4, 8, -7, 1, 6, 6, -6, -4, 4, -8, 0, 12, 5,
        7, -10, -8, -5, 16, 10, -7, -8, 10, 9, 8, 4, 4, -5, -11, 3, 2, 3, 4, -9, 0, 4, 7, -4, 6, 2, -3, -7, 5, 4, 5,
        6, -7, -5, 6, 5, -2, -3]),
    ('same', 2, 3, None, 1, (4, 6, 2), [
        5, 0, -1, -6, 3, 5, 6, 6, -11, -1, 6, 4, 2, -3, -4, 6, 7, 4, 8, -7, 1, 6, 6, -6, -8, 0, 12, 5, 7, -10, -8, -5,
        16, 10, -7, -8, 8, 4, 4, -5, -11, 3, 2, 3, 4, -9, 0, 4]),
    ('valid', 2, 3, 1, 1, (6, 8, 2), [
        5, 0, -1, -6, 3, 5, 6, 6, -11, -1, 6, 4, -4, -6, 2, 0, 2, -3, -4, 6, 7, 4, 8, -7, 1, 6, 6, -6, -4, 4, 2, 0,
        -8, 0, 12, 5, 7, -10, -8, -5, 16, 10, -7, -8, 10, 9, 2, 0, 8, 4, 4, -5, -11, 3, 2, 3, 4, -9, 0, 4, 7, -4, 2,
        0, 6, 2, -3, -7, 5, 4, 5, 6, -7, -5, 6, 5, -2, -3, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0]),
    ('same', 2, 3, 1, 1, (4, 6, 2), [
        5, 0, -1, -6, 3, 5, 6, 6, -11, -1, 6, 4, 2, -3, -4, 6, 7, 4, 8, -7, 1, 6, 6, -6, -8, 0, 12, 5, 7, -10, -8, -5,
        16, 10, -7, -8, 8, 4, 4, -5, -11, 3, 2, 3, 4, -9, 0, 4]),
    ('same', 2, 3, 0, 1, (3, 5, 2), [
        -4, 6, 7, 4, 8, -7, 1, 6, 6, -6, 12, 5, 7, -10, -8, -5, 16, 10, -7, -8, 4, -5, -11, 3, 2, 3, 4, -9, 0, 4]),
    ('same', 2, 4, None, 1, (4, 6, 2), [
        5, 0, 5, -13, 3, 5, 10, 0, -11, -1, 6, 4, 0, 8, 8, -9, 8, -9, 9, 8, 1, -5, 0, 9, -5, 3, -7, 6, 8, -9, -3, -9,
        9, 8, 3, -8, 4, -5, -11, 3, 6, 5, 4, -9, -3, 4, 7, -4]),
    ('valid', 3, 2, None, 1, (6, 9, 2), [
        5, 0, -1, -6, 2, 0, -3, 2, 6, 6, 2, 0, -4, 4, 6, 4, 2, 0, 8, 3, 2, -3, 2, 0, -5, -5, 4, 4, 2, 0, -4, -6, 6, 4,
        2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, -5, 6, 6, 2, 2, 0, 8, -6, -1, 0, 2, 0, 7, -4, -1,
        -2, 2, 0, -3, -7, 8, 4, 2, 0, 5, 6, -4, -3, 2, 0, 6, 5, -2, -3, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2,
        0, 2, 0, 2, 0]),
    ('same', 1, 3, None, 2, (2, 3, 2), [
        0, 10, 8, -7, 9, -6, 0, -8, 2, 3, -7, 10]),
    ('valid', 1, 2, None, 2, (4, 5, 2), [
        5, 0, -3, 2, -7, -2, 6, 6, 6, 4, -5, 6, 8, -6, 11, -2, -1, 0, -1, -2, 8, 3, -5, -5, -4, -9, 4, 4, 6, 4, -3,
        -7, 5, 6, 12, 9, -4, -3, -2, -3]),
]
# (height, width, kernel_size, strides, padding, output_padding, dilation_rate, output size, weighted_sum):
# Conv2DTranspose(3, ...) on ints((1, height, width, 2), 2). Size None: Keras (TensorFlow) fails to compute it;
# size (0, 0): Keras returns an empty image. cnnkit refuses both when the layer is made ("same" with an even
# dilated kernel and output_padding=0 is never computable).
KERAS_TRANSPOSE_TABLE = [
    (1, 1, 2, 2, 'valid', None, 1, (2, 2), -9), (1, 1, 2, 2, 'valid', 0, 1, (2, 2), -9),
    (1, 1, 2, 2, 'valid', 1, 1, (3, 3), -41), (1, 1, 2, 2, 'same', None, 1, (2, 2), -9),
    (1, 1, 2, 2, 'same', 0, 1, (0, 0), 0), (1, 1, 2, 2, 'same', 1, 1, (1, 1), -16),
    (1, 1, 3, 2, 'valid', None, 1, (3, 3), -14), (1, 1, 3, 2, 'valid', 0, 1, (3, 3), -14),
    (1, 1, 3, 2, 'valid', 1, 1, (4, 4), -18), (1, 1, 3, 2, 'same', None, 1, (2, 2), 42),
    (1, 1, 3, 2, 'same', 0, 1, (1, 1), 1), (1, 1, 3, 2, 'same', 1, 1, (2, 2), 42),
    (3, 4, 1, 1, 'valid', None, 1, (3, 4), 1), (3, 4, 1, 1, 'valid', None, 2, (3, 4), 1),
    (3, 4, 1, 1, 'valid', 0, 1, (3, 4), 1), (3, 4, 1, 1, 'valid', 0, 2, (3, 4), 1),
    (3, 4, 1, 1, 'same', None, 1, (3, 4), 1), (3, 4, 1, 1, 'same', None, 2, (3, 4), 1),
    (3, 4, 1, 1, 'same', 0, 1, (3, 4), 1), (3, 4, 1, 1, 'same', 0, 2, (3, 4), 1),
    (3, 4, 1, 2, 'valid', None, 1, (6, 8), 4), (3, 4, 1, 2, 'valid', 0, 1, (5, 7), 32),
    (3, 4, 1, 2, 'valid', 1, 1, (6, 8), 4), (3, 4, 1, 2, 'same', None, 1, (6, 8), 4),
    (3, 4, 1, 2, 'same', 0, 1, (5, 7), 32), (3, 4, 1, 2, 'same', 1, 1, (6, 8), 4),
    (3, 4, 1, 3, 'valid', None, 1, (9, 12), 7), (3, 4, 1, 3, 'valid', 0, 1, (7, 10), 87),
    (3, 4, 1, 3, 'valid', 1, 1, (8, 11), 51), (3, 4, 1, 3, 'valid', 2, 1, (9, 12), 7),
    (3, 4, 1, 3, 'same', None, 1, (9, 12), 7), (3, 4, 1, 3, 'same', 0, 1, (7, 10), 87),
    (3, 4, 1, 3, 'same', 1, 1, (8, 11), 51), (3, 4, 1, 3, 'same', 2, 1, (9, 12), 7),
    (3, 4, 2, 1, 'valid', None, 1, (4, 5), -123), (3, 4, 2, 1, 'valid', None, 2, (5, 6), -157),
    (3, 4, 2, 1, 'valid', 0, 1, (4, 5), -123), (3, 4, 2, 1, 'valid', 0, 2, (5, 6), -157),
    (3, 4, 2, 1, 'same', None, 1, (3, 4), 8), (3, 4, 2, 1, 'same', None, 2, (3, 4), -202),
    (3, 4, 2, 1, 'same', 0, 1, None, None), (3, 4, 2, 1, 'same', 0, 2, (3, 4), -202),
    (3, 4, 2, 2, 'valid', None, 1, (6, 8), -325), (3, 4, 2, 2, 'valid', 0, 1, (6, 8), -325),
    (3, 4, 2, 2, 'valid', 1, 1, (7, 9), -397), (3, 4, 2, 2, 'same', None, 1, (6, 8), -325),
    (3, 4, 2, 2, 'same', 0, 1, None, None), (3, 4, 2, 2, 'same', 1, 1, (5, 7), -219),
    (3, 4, 2, 3, 'valid', None, 1, (9, 12), -709), (3, 4, 2, 3, 'valid', 0, 1, (8, 11), -611),
    (3, 4, 2, 3, 'valid', 1, 1, (9, 12), -709), (3, 4, 2, 3, 'valid', 2, 1, (10, 13), -815),
    (3, 4, 2, 3, 'same', None, 1, (9, 12), -709), (3, 4, 2, 3, 'same', 0, 1, None, None),
    (3, 4, 2, 3, 'same', 1, 1, (7, 10), -602), (3, 4, 2, 3, 'same', 2, 1, (8, 11), -611),
    (3, 4, 3, 1, 'valid', None, 1, (5, 6), -118), (3, 4, 3, 1, 'valid', None, 2, (7, 8), -123),
    (3, 4, 3, 1, 'valid', 0, 1, (5, 6), -118), (3, 4, 3, 1, 'valid', 0, 2, (7, 8), -123),
    (3, 4, 3, 1, 'same', None, 1, (3, 4), -119), (3, 4, 3, 1, 'same', None, 2, (3, 4), -684),
    (3, 4, 3, 1, 'same', 0, 1, (3, 4), -119), (3, 4, 3, 1, 'same', 0, 2, (3, 4), -684),
    (3, 4, 3, 2, 'valid', None, 1, (7, 9), -310), (3, 4, 3, 2, 'valid', 0, 1, (7, 9), -310),
    (3, 4, 3, 2, 'valid', 1, 1, (8, 10), -378), (3, 4, 3, 2, 'same', None, 1, (6, 8), -1004),
    (3, 4, 3, 2, 'same', 0, 1, (5, 7), -664), (3, 4, 3, 2, 'same', 1, 1, (6, 8), -1004),
    (3, 4, 3, 3, 'valid', None, 1, (9, 12), -586), (3, 4, 3, 3, 'valid', 0, 1, (9, 12), -586),
    (3, 4, 3, 3, 'valid', 1, 1, (10, 13), -680), (3, 4, 3, 3, 'valid', 2, 1, (11, 14), -782),
    (3, 4, 3, 3, 'same', None, 1, (9, 12), -586), (3, 4, 3, 3, 'same', 0, 1, (7, 10), -1581),
    (3, 4, 3, 3, 'same', 1, 1, (8, 11), -2103), (3, 4, 3, 3, 'same', 2, 1, (9, 12), -586),
    (3, 4, 4, 1, 'valid', None, 1, (6, 7), -83), (3, 4, 4, 1, 'valid', None, 2, (9, 10), -239),
    (3, 4, 4, 1, 'valid', 0, 1, (6, 7), -83), (3, 4, 4, 1, 'valid', 0, 2, (9, 10), -239),
    (3, 4, 4, 1, 'same', None, 1, (3, 4), -387), (3, 4, 4, 1, 'same', None, 2, (3, 4), -244),
    (3, 4, 4, 1, 'same', 0, 1, None, None), (3, 4, 4, 1, 'same', 0, 2, (3, 4), -244),
    (3, 4, 4, 2, 'valid', None, 1, (8, 10), -76), (3, 4, 4, 2, 'valid', 0, 1, (8, 10), -76),
    (3, 4, 4, 2, 'valid', 1, 1, (9, 11), -128), (3, 4, 4, 2, 'same', None, 1, (6, 8), -1611),
    (3, 4, 4, 2, 'same', 0, 1, None, None), (3, 4, 4, 2, 'same', 1, 1, (5, 7), -832),
    (3, 4, 4, 3, 'valid', None, 1, (10, 13), -45), (3, 4, 4, 3, 'valid', 0, 1, (10, 13), -45),
    (3, 4, 4, 3, 'valid', 1, 1, (11, 14), -105), (3, 4, 4, 3, 'valid', 2, 1, (12, 15), -173),
    (3, 4, 4, 3, 'same', None, 1, (9, 12), -1210), (3, 4, 4, 3, 'same', 0, 1, None, None),
    (3, 4, 4, 3, 'same', 1, 1, (7, 10), -1536), (3, 4, 4, 3, 'same', 2, 1, (8, 11), -2875),
    (3, 4, 5, 1, 'valid', None, 1, (7, 8), -224), (3, 4, 5, 1, 'valid', None, 2, (11, 12), -528),
    (3, 4, 5, 1, 'valid', 0, 1, (7, 8), -224), (3, 4, 5, 1, 'valid', 0, 2, (11, 12), -528),
    (3, 4, 5, 1, 'same', None, 1, (3, 4), 447), (3, 4, 5, 1, 'same', None, 2, (3, 4), 572),
    (3, 4, 5, 1, 'same', 0, 1, (3, 4), 447), (3, 4, 5, 1, 'same', 0, 2, (3, 4), 572),
    (3, 4, 5, 2, 'valid', None, 1, (9, 11), -396), (3, 4, 5, 2, 'valid', 0, 1, (9, 11), -396),
    (3, 4, 5, 2, 'valid', 1, 1, (10, 12), -480), (3, 4, 5, 2, 'same', None, 1, (6, 8), 1612),
    (3, 4, 5, 2, 'same', 0, 1, (5, 7), 1202), (3, 4, 5, 2, 'same', 1, 1, (6, 8), 1612),
    (3, 4, 5, 3, 'valid', None, 1, (11, 14), -616), (3, 4, 5, 3, 'valid', 0, 1, (11, 14), -616),
    (3, 4, 5, 3, 'valid', 1, 1, (12, 15), -720), (3, 4, 5, 3, 'valid', 2, 1, (13, 16), -832),
    (3, 4, 5, 3, 'same', None, 1, (9, 12), -2817), (3, 4, 5, 3, 'same', 0, 1, (7, 10), 2289),
    (3, 4, 5, 3, 'same', 1, 1, (8, 11), 2514), (3, 4, 5, 3, 'same', 2, 1, (9, 12), -2817),
]

def dilated_kernel(padding, dilation):
    return 2 if padding == "valid" and dilation != 1 else 3


@pytest.mark.parametrize("padding, strides, dilation, groups, kernel_size, shape, expected", KERAS_GROUPED)
def test_grouped_conv2d_matches_keras(padding, strides, dilation, groups, kernel_size, shape, expected):
    layer = layers.Conv2D(4, kernel_size, strides=strides, padding=padding, dilation_rate=dilation, groups=groups)
    outputs = run(layer, ints((1, 4, 5, 4)))
    assert outputs.shape[1:] == shape
    np.testing.assert_array_equal(outputs.reshape(-1), expected)


@pytest.mark.parametrize("padding, strides, dilation, multiplier, shape, expected", KERAS_DEPTHWISE)
def test_depthwise_conv2d_matches_keras(padding, strides, dilation, multiplier, shape, expected):
    layer = layers.DepthwiseConv2D(dilated_kernel(padding, dilation), strides=strides, padding=padding,
                                   dilation_rate=dilation, depth_multiplier=multiplier)
    outputs = run(layer, ints((1, 4, 5, 2)))
    assert outputs.shape[1:] == shape
    np.testing.assert_array_equal(outputs.reshape(-1), expected)


@pytest.mark.parametrize("padding, strides, dilation, multiplier, shape, expected", KERAS_SEPARABLE)
def test_separable_conv2d_matches_keras(padding, strides, dilation, multiplier, shape, expected):
    layer = layers.SeparableConv2D(3, dilated_kernel(padding, dilation), strides=strides, padding=padding,
                                   dilation_rate=dilation, depth_multiplier=multiplier)
    outputs = run(layer, ints((1, 4, 5, 2)))
    assert outputs.shape[1:] == shape
    np.testing.assert_array_equal(outputs.reshape(-1), expected)


@pytest.mark.parametrize("padding, strides, kernel_size, output_padding, dilation, shape, expected", KERAS_TRANSPOSE)
def test_conv2d_transpose_matches_keras(padding, strides, kernel_size, output_padding, dilation, shape, expected):
    layer = layers.Conv2DTranspose(2, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                                   dilation_rate=dilation)
    outputs = run(layer, ints((1, 2, 3, 2)))
    assert outputs.shape[1:] == shape
    np.testing.assert_array_equal(outputs.reshape(-1), expected)


@pytest.mark.parametrize("height, width, kernel_size, strides, padding, output_padding, dilation, size, total",
                         KERAS_TRANSPOSE_TABLE)
def test_conv2d_transpose_sizes_and_values_match_keras(height, width, kernel_size, strides, padding, output_padding,
                                                       dilation, size, total):
    arguments = dict(strides=strides, padding=padding, output_padding=output_padding, dilation_rate=dilation)
    if size is None or size == (0, 0):
        with pytest.raises(ValueError, match="even .*kernel size"):
            layers.Conv2DTranspose(3, kernel_size, **arguments)
        return
    layer = layers.Conv2DTranspose(3, kernel_size, **arguments)
    assert layer.compute_output_shape((None, height, width, 2)) == (None, *size, 3)
    assert tuple(transposed_length(n, kernel_size, strides, padding, output_padding, dilation)
                 for n in (height, width)) == size
    outputs = run(layer, ints((1, height, width, 2), 2))
    assert outputs.shape[1:3] == size
    assert weighted_sum(outputs) == total


def test_transposed_same_stride_2_crops_as_tensorflow_by_hand():
    # One input cell, kernel [[1, 2, 3], [4, 5, 6], [7, 8, 9]], stride 2, "same": 1 -> 2. The full transposed
    # output is the 3x3 kernel; TensorFlow keeps its top-left 2x2 (the reversed "same" convolution pads 1 at
    # the bottom/right), where torch's own "same" arithmetic would keep the bottom-right.
    layer = layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False)
    layer.build_for((None, 1, 1, 1))
    layer.set_weights([np.arange(1, 10, dtype="float32").reshape(3, 3, 1, 1)])
    outputs = layer(np.ones((1, 1, 1, 1), "float32"))
    np.testing.assert_array_equal(outputs[0, :, :, 0].detach(), [[1, 2], [4, 5]])


def test_transposed_valid_stride_above_kernel_pads_with_bias_by_hand():
    # kernel 2 < stride 3, "valid": each cell gives a 2x2 block, 3 apart; the row/column between is the bias.
    layer = layers.Conv2DTranspose(1, 2, strides=3)
    layer.build_for((None, 1, 2, 1))
    layer.set_weights([np.array([[1, 2], [3, 4]], "float32").reshape(2, 2, 1, 1), np.array([0.5], "float32")])
    outputs = layer(np.array([1.0, 10.0], "float32").reshape(1, 1, 2, 1))
    np.testing.assert_array_equal(outputs[0, :, :, 0].detach(), [[1.5, 2.5, 0.5, 10.5, 20.5, 0.5],
                                                                 [3.5, 4.5, 0.5, 30.5, 40.5, 0.5],
                                                                 [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]])


def test_depthwise_output_channel_order_by_hand():
    # 1x1 kernel, depth_multiplier 2: output channel c * 2 + m is input channel c times kernel[0, 0, c, m].
    layer = layers.DepthwiseConv2D(1, depth_multiplier=2, use_bias=False)
    layer.build_for((None, 1, 1, 2))
    layer.set_weights([np.array([[10, 20], [30, 40]], "float32").reshape(1, 1, 2, 2)])
    outputs = layer(np.array([1.0, 2.0], "float32").reshape(1, 1, 1, 2))
    np.testing.assert_array_equal(outputs.detach().reshape(-1), [10, 20, 60, 80])


# -- parameters and weights ------------------------------------------------------------------------
# Keras 3.15: count_params(), weight shapes and names, each built for (None, 9, 9, 8).
KERAS_COUNTS = [
    (lambda: layers.Conv2D(8, 3, groups=4), 152, [(3, 3, 2, 8), (8,)], ["kernel", "bias"]),
    (lambda: layers.Conv2D(8, (3, 5), use_bias=False), 960, [(3, 5, 8, 8)], ["kernel"]),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=2), 160, [(3, 3, 8, 2), (16,)], ["kernel", "bias"]),
    (lambda: layers.DepthwiseConv2D(5, use_bias=False), 200, [(5, 5, 8, 1)], ["kernel"]),
    (lambda: layers.SeparableConv2D(16, 3, depth_multiplier=2), 416, [(3, 3, 8, 2), (1, 1, 16, 16), (16,)],
     ["depthwise_kernel", "pointwise_kernel", "bias"]),
    (lambda: layers.SeparableConv2D(16, 3, use_bias=False), 200, [(3, 3, 8, 1), (1, 1, 8, 16)],
     ["depthwise_kernel", "pointwise_kernel"]),
    (lambda: layers.Conv2DTranspose(16, 3, strides=2), 1168, [(3, 3, 16, 8), (16,)], ["kernel", "bias"]),
    (lambda: layers.Conv2DTranspose(16, (2, 4), use_bias=False), 1024, [(2, 4, 16, 8)], ["kernel"]),
]


@pytest.mark.parametrize("make, count, shapes, names", KERAS_COUNTS)
def test_parameter_counts_and_weights_match_keras(make, count, shapes, names):
    layer = make()
    layer.build_for((None, 9, 9, 8))
    assert layer.count_params() == count
    assert [w.shape for w in layer.get_weights()] == shapes
    assert [path for path, *_ in layer.weight_entries()] == names


def test_initial_weights_use_keras_fans():
    # Initializers see Keras's shapes, as in Keras. DepthwiseConv2D's kernel (3, 3, 64, 1): fans 576 and 9,
    # glorot_uniform limit sqrt(6 / 585) = 0.101 (torch's (64, 1, 3, 3) would give 0.125).
    depthwise = layers.DepthwiseConv2D(3)
    depthwise.build_for((None, 8, 8, 64))
    largest = np.abs(depthwise.get_weights()[0]).max()
    assert 0.09 < largest <= np.sqrt(6 / 585)
    # Conv2DTranspose(2) on 64 channels: Keras's kernel (3, 3, 2, 64), fan_in 3 * 3 * 2 = 18, he_uniform limit
    # sqrt(6 / 18) = 0.577 (torch's (64, 2, 3, 3) would give fan_in 384, limit 0.125).
    transposed = layers.Conv2DTranspose(2, 3, kernel_initializer="he_uniform")
    transposed.build_for((None, 4, 4, 64))
    largest = np.abs(transposed.get_weights()[0]).max()
    assert 0.5 < largest <= np.sqrt(6 / 18)


def test_set_weights_checks_keras_shapes():
    layer = layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw")
    layer.build_for((None, 5, 5, 3))
    with pytest.raises(ValueError, match=r"'kernel' of layer 'dw' has shape \(3, 3, 3, 2\)"):
        layer.set_weights([np.zeros((3, 3, 6, 1), "float32"), np.zeros(6, "float32")])


# -- gradients -------------------------------------------------------------------------------------
GRADIENT_LAYERS = [
    lambda: layers.Conv2D(4, 3, strides=2, padding="same", groups=2),
    lambda: layers.DepthwiseConv2D(3, strides=2, dilation_rate=2, padding="same", depth_multiplier=2),
    lambda: layers.SeparableConv2D(3, 3, padding="same", depth_multiplier=2),
    lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
    lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="valid", output_padding=1),
]


@pytest.mark.parametrize("make", GRADIENT_LAYERS)
def test_gradients_reach_the_input_and_every_weight_exactly(make):
    # The layers are linear in each weight and in the input, so with integer data
    # loss(w + d) - loss(w) equals <d loss / d w, d> exactly: autograd against the forward pass.
    layer = make()
    x = torch.from_numpy(ints((2, 6, 7, 4))).requires_grad_()
    layer.build_for((None, 6, 7, 4))
    start = keras_weights(layer, (None, 6, 7, 4))
    layer.set_weights(start)
    probe = torch.from_numpy(ints(tuple(layer(x).shape), 5, 3))

    def loss(weights, inputs):
        layer.set_weights(weights)
        with torch.no_grad():
            return float((layer(inputs) * probe).sum())

    (layer(x) * probe).sum().backward()
    entries = layer.weight_entries()
    assert all(weight.grad is not None for *_, weight in entries) and x.grad is not None
    base = loss(start, x.detach())
    for index, (_, owner, name, weight) in enumerate(entries):
        step = ints(start[index].shape, index, 3)
        moved = [w + step if i == index else w for i, w in enumerate(start)]
        keras_grad = owner.to_keras_layout(name, weight.grad).numpy()
        assert loss(moved, x.detach()) - base == pytest.approx(float((keras_grad * step).sum()), rel=1e-6), name
    step = torch.from_numpy(ints(tuple(x.shape), 1, 3))
    assert loss(start, x.detach() + step) - base == pytest.approx(float((x.grad * step).sum()), rel=1e-6)


def test_layers_train_in_a_model():
    inputs = keras.Input((8, 8, 2))
    x = layers.Conv2D(4, 3, padding="same", groups=2, activation="relu")(inputs)
    x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    x = layers.SeparableConv2D(4, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(1, 3, strides=2, padding="same")(x)
    model = keras.Model(inputs, x)
    model.compile(optimizer="sgd", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    data = np.random.default_rng(0).standard_normal((4, 8, 8, 2)).astype("float32")
    model.fit(data, data[..., :1], epochs=1, batch_size=4, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


# -- memory layout ---------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: layers.Conv2D(4, 3, groups=2, padding="same"),
    lambda: layers.DepthwiseConv2D(3, depth_multiplier=2),
    lambda: layers.SeparableConv2D(4, 3, strides=2, padding="same"),
    lambda: layers.Conv2DTranspose(4, 3, strides=2, padding="valid", output_padding=1),
    lambda: layers.Conv2DTranspose(4, 4, strides=2, padding="same"),
])
def test_outputs_are_channels_last_and_contiguous(make):
    layer = make()
    layer.build_for((None, 6, 6, 4))
    assert layer(torch.zeros(2, 6, 6, 4)).is_contiguous()


def test_transposed_odd_crop_is_a_channels_last_view():
    # kernel 3, stride 2, "same": TensorFlow drops the last row and column of torch's output; that is a view.
    layer = layers.Conv2DTranspose(4, 3, strides=2, padding="same")
    layer.build_for((None, 6, 6, 4))
    outputs = layer(torch.zeros(2, 6, 6, 4))
    assert outputs.shape == (2, 12, 12, 4) and outputs.stride() == (13 * 13 * 4, 13 * 4, 4, 1)


def test_shapes_with_unknown_sizes():
    shape = (None, None, None, 4)
    assert layers.Conv2D(8, 3, groups=2).compute_output_shape(shape) == (None, None, None, 8)
    assert layers.DepthwiseConv2D(3, depth_multiplier=3).compute_output_shape(shape) == (None, None, None, 12)
    assert layers.SeparableConv2D(5, 3).compute_output_shape(shape) == (None, None, None, 5)
    assert layers.Conv2DTranspose(5, 3, strides=2).compute_output_shape(shape) == (None, None, None, 5)


# -- configs ---------------------------------------------------------------------------------------
# Keras 3.15's get_config() of these layers, without "dtype", initializers by name.
NONE_REGULARIZERS = {"kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                     "kernel_constraint": None, "bias_constraint": None}
NONE_DEPTHWISE_REGULARIZERS = {"depthwise_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                               "depthwise_constraint": None, "bias_constraint": None}
KERAS_CONFIGS = [
    (lambda: layers.Conv2D(8, 3, strides=2, padding="same", groups=2, activation="relu", name="c",
                           kernel_initializer="he_normal"),
     {"name": "c", "trainable": True, "filters": 8, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
      "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 2, "activation": "relu", "use_bias": True,
      "kernel_initializer": "he_normal", "bias_initializer": "zeros", **NONE_REGULARIZERS}),
    (lambda: layers.DepthwiseConv2D((3, 5), depth_multiplier=2, dilation_rate=2, use_bias=False, name="d"),
     {"name": "d", "trainable": True, "depth_multiplier": 2, "kernel_size": [3, 5], "strides": [1, 1],
      "padding": "valid", "data_format": "channels_last", "dilation_rate": [2, 2], "activation": "linear",
      "use_bias": False, "depthwise_initializer": "glorot_uniform", "bias_initializer": "zeros",
      **NONE_DEPTHWISE_REGULARIZERS}),
    (lambda: layers.SeparableConv2D(16, 3, strides=(2, 1), depth_multiplier=3, activation="sigmoid", name="s",
                                    pointwise_initializer="zeros"),
     {"name": "s", "trainable": True, "depth_multiplier": 3, "filters": 16, "kernel_size": [3, 3], "strides": [2, 1],
      "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "sigmoid",
      "use_bias": True, "depthwise_initializer": "glorot_uniform", "pointwise_initializer": "zeros",
      "bias_initializer": "zeros", "depthwise_regularizer": None, "pointwise_regularizer": None,
      "bias_regularizer": None, "activity_regularizer": None, "depthwise_constraint": None,
      "pointwise_constraint": None, "bias_constraint": None}),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1, name="t", activation="tanh"),
     {"name": "t", "trainable": True, "filters": 4, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
      "output_padding": [1, 1], "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "tanh",
      "use_bias": True, "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros", **NONE_REGULARIZERS}),
    (lambda: layers.Conv2DTranspose(4, 3, name="t2"),
     {"name": "t2", "trainable": True, "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
      "output_padding": None, "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear",
      "use_bias": True, "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros", **NONE_REGULARIZERS}),
]


@pytest.mark.parametrize("make, expected", KERAS_CONFIGS)
def test_config_matches_keras_and_round_trips(make, expected):
    layer = make()
    config = layer.get_config()
    assert config == expected and list(config) == list(expected)  # Keras's keys, in Keras's order
    clone = type(layer).from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config


# -- NumPy integers ---------------------------------------------------------------------------------
def test_numpy_integers_are_accepted_where_keras_takes_ints():
    conv = layers.Conv2D(np.int64(8), np.int64(3), strides=(np.int32(2), 1), groups=np.int64(2))
    assert conv.build_for((None, 9, 9, 4)) == (None, 4, 7, 8)
    separable = layers.SeparableConv2D(np.int32(4), (np.int64(3), np.int64(3)), depth_multiplier=np.int64(2))
    transposed = layers.Conv2DTranspose(np.int64(2), 3, strides=np.int64(2), output_padding=np.int64(1))
    depthwise = layers.DepthwiseConv2D(np.uint8(3), depth_multiplier=np.int16(2))
    dense = layers.Dense(np.int64(5))
    assert dense.build_for((None, 3)) == (None, 5)
    for layer in (conv, separable, transposed, depthwise, dense):
        json.dumps(layer.get_config())  # plain Python ints
    assert conv.get_config()["filters"] == 8 and type(conv.get_config()["filters"]) is int
    assert transposed.get_config()["output_padding"] == [1, 1]


@pytest.mark.parametrize("make", [
    lambda: layers.Conv2D(True, 3), lambda: layers.Conv2D(4, (3, True)), lambda: layers.Conv2D(4.0, 3),
    lambda: layers.SeparableConv2D(4, 3, depth_multiplier=np.float32(2)), lambda: layers.Dense(np.float64(3)),
])
def test_bools_and_floats_are_not_integers(make):
    with pytest.raises(ValueError):
        make()


# -- save and load ---------------------------------------------------------------------------------
def test_save_and_load_in_a_model(tmp_path):
    inputs = keras.Input((8, 8, 4), name="image")
    x = layers.Conv2D(6, 3, padding="same", groups=2, activation="relu", name="grouped")(inputs)
    x = layers.DepthwiseConv2D(3, strides=2, dilation_rate=2, padding="same", depth_multiplier=2, name="dw")(x)
    x = layers.SeparableConv2D(5, 3, padding="same", depth_multiplier=2, activation="relu", name="sep")(x)
    x = layers.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1, name="up")(x)
    model = keras.Model(inputs, x)
    data = np.random.default_rng(1).standard_normal((2, 8, 8, 4)).astype("float32")
    expected = model.predict(data, verbose=0)
    model.save(tmp_path / "model.cnnkit")
    loaded = keras.models.load_model(tmp_path / "model.cnnkit")
    assert [type(layer).__name__ for layer in loaded.layers[1:]] == [
        "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"]
    assert [layer.get_config() for layer in loaded.layers] == [layer.get_config() for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), expected)


def test_sequential_summary_counts():
    model = keras.Sequential([
        keras.Input((16, 16, 3)),
        layers.SeparableConv2D(8, 3, padding="same"),
        layers.DepthwiseConv2D(3, depth_multiplier=2),
        layers.Conv2DTranspose(4, 3, strides=2),
    ])
    # 3*3*3 + 3*8 + 8 = 59; 3*3*8*2 + 16 = 160; 3*3*4*16 + 4 = 580 (Keras's counts by its formulas)
    assert [layer.count_params() for layer in model.layers] == [59, 160, 580]
    assert model.output_shape == (None, 29, 29, 4)  # 16 -> 16 -> 14 -> (14 - 1) * 2 + 3


# -- what the engine treats as Conv2D ---------------------------------------------------------------
def test_new_layers_are_not_conv2d_for_the_engine():
    conv = layers.Conv2D(4, 3, activation="relu")
    pool = layers.MaxPooling2D()
    assert fusion.relu_then_max_pool(conv, pool) and fusion.gives_logits(conv)
    for layer in (layers.SeparableConv2D(4, 3, activation="relu"), layers.DepthwiseConv2D(3, activation="relu"),
                  layers.Conv2DTranspose(4, 3, activation="relu")):
        assert not isinstance(layer, layers.Conv2D)
        assert not fusion.relu_then_max_pool(layer, pool) and not fusion.gives_logits(layer)
    assert layers.Convolution2D is layers.Conv2D and layers.Convolution2DTranspose is layers.Conv2DTranspose
    assert layers.SeparableConvolution2D is layers.SeparableConv2D


# -- argument errors: Keras's messages, naming the layer --------------------------------------------
KERAS_ERRORS = [
    (lambda: layers.Conv2D(5, 3, groups=2, name="L"),
     "The number of filters must be evenly divisible by the number of groups. Received: groups=2, filters=5."),
    (lambda: layers.Conv2D(4, 3, groups=0, name="L"),
     "The number of groups must be a positive integer. Received: groups=0."),
    (lambda: layers.Conv2D(0, 3, name="L"), "Expected a strictly positive integer. Received filters=0."),
    (lambda: layers.SeparableConv2D(0, 3, name="L"), "Expected a strictly positive integer. Received filters=0."),
    (lambda: layers.Conv2DTranspose(-2, 3, name="L"), "Expected a strictly positive integer. Received filters=-2."),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0, name="L"),
     "Invalid value for argument `depth_multiplier` of layer 'L'. Expected a strictly positive integer. "
     "Received depth_multiplier=0."),
    (lambda: layers.SeparableConv2D(4, 3, depth_multiplier=-1, name="L"), "Received depth_multiplier=-1."),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2, name="L"),
     "`output_padding` must be strictly less than `strides` for all dimensions. At dimension 0, `output_padding` "
     "is 2 but `strides` is 2. Received: output_padding=(2, 2), strides=(2, 2)"),
    (lambda: layers.Conv2DTranspose(4, 3, strides=(1, 2), output_padding=(0, 2), name="L"),
     "At dimension 1, `output_padding` is 2 but `strides` is 2."),
    (lambda: layers.Conv2DTranspose(4, 3, output_padding=-1, name="L"), "output_padding=-1"),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, dilation_rate=2, name="L"),
     "strides > 1 cannot be combined with dilation_rate > 1"),
    (lambda: layers.Conv2DTranspose(4, 4, strides=2, padding="same", output_padding=0, name="L"),
     "padding='same' with output_padding=0 and an even (dilated) kernel size 4"),
    (lambda: layers.DepthwiseConv2D(0, name="L"), "kernel_size=0"),
    (lambda: layers.SeparableConv2D(4, 3, strides=0, name="L"), "strides=0"),
    (lambda: layers.SeparableConv2D(4, 3, padding="full", name="L"), "padding='full'"),
    (lambda: layers.DepthwiseConv2D(3, data_format="channels_first", name="L"), "data_format='channels_first'"),
]


@pytest.mark.parametrize("make, message", KERAS_ERRORS)
def test_bad_arguments_raise_keras_messages_naming_the_layer(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert message in str(error.value) and "'L'" in str(error.value)


def test_input_channels_not_divisible_by_groups():
    inputs = keras.Input((5, 5, 4))
    with pytest.raises(ValueError, match=r"'g': The number of input channels must be evenly divisible by the number "
                                         r"of groups. Received groups=3, but the input has 4 channels"):
        layers.Conv2D(6, 3, groups=3, name="g")(inputs)


def test_input_too_small_and_without_channels_name_the_layer():
    with pytest.raises(ValueError, match=r"'dw'.*\(None, 2, 2, 3\)"):
        layers.DepthwiseConv2D(3, name="dw").build_for((None, 2, 2, 3))
    with pytest.raises(ValueError, match=r"'sep'.*\(None, 8, 8\)"):
        layers.SeparableConv2D(4, 3, name="sep").build_for((None, 8, 8))
    with pytest.raises(ValueError, match=r"'up'.*\(None, 8, 8, None\)"):
        layers.Conv2DTranspose(4, 3, name="up").build_for((None, 8, 8, None))


def test_keras_arguments_it_does_not_take():
    with pytest.raises(TypeError, match="groups"):  # Keras: Unrecognized keyword arguments ... {'groups': 2}
        layers.Conv2DTranspose(4, 3, groups=2)
