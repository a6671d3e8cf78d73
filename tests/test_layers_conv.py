"""Conv2D: hand-computed values, Keras's numbers, a torch NCHW reference, shapes, errors."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnkit import layers

KERNEL_1234 = np.array([[1, 2], [3, 4]], "float32").reshape(2, 2, 1, 1)


def conv(inputs, keras_kernel, bias=None, **kwargs):
    """Runs a cnnkit Conv2D with the given Keras-layout kernel on NHWC inputs."""
    inputs = np.asarray(inputs, "float32")
    layer = layers.Conv2D(keras_kernel.shape[-1], keras_kernel.shape[:2], use_bias=bias is not None, **kwargs)
    expected_shape = layer.build_for(inputs.shape)
    layer.set_weights([keras_kernel] if bias is None else [keras_kernel, bias])
    with torch.no_grad():
        outputs = layer(torch.from_numpy(inputs))
    assert tuple(outputs.shape) == expected_shape
    return outputs.numpy()


def square(size):
    """1, 2, ..., size*size as one (1, size, size, 1) image."""
    return np.arange(1, size * size + 1, dtype="float32").reshape(1, size, size, 1)


def tf_same_padding(length, window, stride, dilation):
    """TensorFlow's "same": out = ceil(n / s), the odd padded cell at the end."""
    span = (window - 1) * dilation + 1
    total = max((math.ceil(length / stride) - 1) * stride + span - length, 0)
    return total // 2, total - total // 2


def torch_reference(x_nhwc, keras_kernel, bias, strides, padding, dilation):
    """The same convolution written directly in torch, NCHW, with explicit padding."""
    x = torch.from_numpy(x_nhwc).permute(0, 3, 1, 2)
    kernel = torch.from_numpy(keras_kernel).permute(3, 2, 0, 1)
    if padding == "same":
        (top, bottom), (left, right) = (
            tf_same_padding(n, k, s, d)
            for n, k, s, d in zip(x.shape[2:], keras_kernel.shape[:2], strides, dilation))
        x = F.pad(x, (left, right, top, bottom))
    y = F.conv2d(x, kernel, torch.from_numpy(bias), strides, 0, dilation)
    return y.permute(0, 2, 3, 1).numpy()


# -- hand-computed ---------------------------------------------------------------------------
def test_valid_3x3_input_2x2_kernel_by_hand():
    # [[1 2 3] [4 5 6] [7 8 9]] * [[1 2] [3 4]]: 1+4+12+20=37, 2+6+15+24=47, 4+10+21+32=67, 5+12+24+36=77
    out = conv(square(3), KERNEL_1234, bias=np.array([0.5], "float32"))
    np.testing.assert_array_equal(out[0, :, :, 0], [[37.5, 47.5], [67.5, 77.5]])


def test_two_channels_in_two_filters_out_by_hand():
    x = np.zeros((1, 1, 1, 2), "float32")
    x[0, 0, 0] = [2.0, 3.0]
    kernel = np.array([[1.0, 10.0], [100.0, 1000.0]], "float32").reshape(1, 1, 2, 2)  # (kh, kw, in, out)
    out = conv(x, kernel, bias=np.array([1.0, -1.0], "float32"))
    # filter 0: 2*1 + 3*100 + 1 = 303; filter 1: 2*10 + 3*1000 - 1 = 3019
    np.testing.assert_array_equal(out[0, 0, 0], [303.0, 3019.0])


def test_same_stride_1_pads_bottom_right_by_hand():
    # 3x3 input, 2x2 kernel, "same": one padded row at the bottom, one column at the right.
    out = conv(square(3), KERNEL_1234, padding="same")
    # last column: 3*1 + 6*3 = 21, 6*1 + 9*3 = 33; last row: 7*1 + 8*2 = 23, 8*1 + 9*2 = 26; corner 9
    np.testing.assert_array_equal(out[0, :, :, 0], [[37, 47, 21], [67, 77, 33], [23, 26, 9]])


# -- Keras's numbers (Keras 3.15.1, /work/kerasenv, computed once) ----------------------------
KERAS_SAME = [
    (4, 1, 1, KERNEL_1234, [[44, 54, 64, 28], [84, 94, 104, 44], [124, 134, 144, 60], [41, 44, 47, 16]]),
    (4, 2, 1, KERNEL_1234, [[44, 64], [124, 144]]),
    (5, 1, 1, KERNEL_1234, [[51, 61, 71, 81, 35], [101, 111, 121, 131, 55], [151, 161, 171, 181, 75],
                            [201, 211, 221, 231, 95], [65, 68, 71, 74, 25]]),
    (5, 2, 1, KERNEL_1234, [[51, 71, 35], [151, 171, 75], [65, 71, 25]]),
    (7, 3, 1, np.arange(1, 10, dtype="float32").reshape(3, 3, 1, 1),
     [[162, 328, 262], [828, 1257, 828], [662, 928, 562]]),
    (5, 2, 1, np.arange(1, 17, dtype="float32").reshape(4, 4, 1, 1),
     [[819, 1246, 623], [1874, 2596, 1222], [619, 806, 329]]),
    (5, 1, 2, KERNEL_1234, [[28, 50, 57, 64, 27], [52, 92, 102, 112, 46], [82, 142, 152, 162, 66],
                            [112, 192, 202, 212, 86], [34, 52, 55, 58, 19]]),
]


@pytest.mark.parametrize("size, stride, dilation, kernel, expected", KERAS_SAME)
def test_same_padding_matches_keras(size, stride, dilation, kernel, expected):
    out = conv(square(size), kernel, strides=stride, dilation_rate=dilation, padding="same")
    np.testing.assert_array_equal(out[0, :, :, 0], expected)


# -- against torch, over many geometries ------------------------------------------------------
GEOMETRIES = [
    (padding, size, kernel, stride, 1)
    for padding, size, kernel, stride in itertools.product(("valid", "same"), (5, 6, 7, 8), (1, 2, 3, 4), (1, 2, 3))
    if padding == "same" or size >= kernel
] + [(padding, size, kernel, 1, 2) for padding in ("valid", "same") for size in (7, 8) for kernel in (2, 3)]


@pytest.mark.parametrize("padding, size, kernel, stride, dilation", GEOMETRIES)
def test_matches_torch_reference(padding, size, kernel, stride, dilation):
    rng = np.random.default_rng(size * 100 + kernel * 10 + stride)
    x = rng.standard_normal((2, size, size + 1, 3)).astype("float32")  # height != width
    keras_kernel = rng.standard_normal((kernel, kernel, 3, 4)).astype("float32")
    bias = rng.standard_normal(4).astype("float32")
    out = conv(x, keras_kernel, bias, strides=stride, padding=padding, dilation_rate=dilation)
    expected = torch_reference(x, keras_kernel, bias, (stride, stride), padding, (dilation, dilation))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_rectangular_kernel_and_strides_match_torch_reference():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 9, 6, 2)).astype("float32")
    keras_kernel = rng.standard_normal((2, 3, 2, 5)).astype("float32")
    bias = np.zeros(5, "float32")
    for padding in ("valid", "same"):
        out = conv(x, keras_kernel, bias, strides=(2, 3), padding=padding)
        np.testing.assert_allclose(out, torch_reference(x, keras_kernel, bias, (2, 3), padding, (1, 1)), atol=1e-5)


def test_activation_is_applied_after_the_bias():
    out = conv(square(3), KERNEL_1234, bias=np.array([-50.0], "float32"), activation="relu")
    np.testing.assert_array_equal(out[0, :, :, 0], [[0, 0], [17, 27]])


def test_gradients_match_torch():
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.standard_normal((2, 6, 6, 2)), dtype=torch.float32)
    layer = layers.Conv2D(3, 3, strides=2, padding="same")
    layer.build_for(tuple(x.shape))
    layer(x).square().sum().backward()
    kernel = torch.tensor(layer.get_weights()[0]).permute(3, 2, 0, 1).requires_grad_()
    bias = torch.tensor(layer.get_weights()[1]).requires_grad_()
    padded = F.pad(x.permute(0, 3, 1, 2), (0, 1, 0, 1))  # 6 -> 3 with k=3, s=2: total 1, after
    F.conv2d(padded, kernel, bias, 2).square().sum().backward()
    np.testing.assert_allclose(layer.kernel.grad.permute(2, 3, 1, 0), kernel.grad.permute(2, 3, 1, 0), rtol=1e-5)
    np.testing.assert_allclose(layer.bias.grad, bias.grad, rtol=1e-5)


# -- shapes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("padding, size, kernel, stride, expected", [
    ("valid", 28, 3, 1, 26), ("valid", 13, 3, 1, 11), ("valid", 5, 3, 1, 3), ("valid", 7, 2, 2, 3),
    ("valid", 8, 3, 3, 2), ("same", 7, 2, 2, 4), ("same", 8, 3, 3, 3), ("same", 1, 3, 1, 1),
])
def test_compute_output_shape(padding, size, kernel, stride, expected):
    layer = layers.Conv2D(6, kernel, strides=stride, padding=padding)
    assert layer.compute_output_shape((None, size, size, 2)) == (None, expected, expected, 6)
    assert layer.build_for((None, size, size, 2)) == (None, expected, expected, 6)


def test_dilated_output_shape():
    layer = layers.Conv2D(1, 3, dilation_rate=2)  # span 5
    assert layer.build_for((None, 9, 5, 1)) == (None, 5, 1, 1)


def test_unknown_spatial_sizes_stay_unknown():
    assert layers.Conv2D(2, 3).compute_output_shape((None, None, None, 1)) == (None, None, None, 2)


def test_output_is_channels_last_and_contiguous():
    layer = layers.Conv2D(4, 3, padding="same")
    layer.build_for((None, 5, 5, 2))
    out = layer(torch.zeros(3, 5, 5, 2))
    assert out.shape == (3, 5, 5, 4) and out.is_contiguous()


def test_keras_kernel_layout():
    layer = layers.Conv2D(32, (3, 5))
    layer.build_for((None, 28, 28, 1))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 5, 1, 32) and bias.shape == (32,)
    assert layer.count_params() == 3 * 5 * 32 + 32


def test_no_bias():
    layer = layers.Conv2D(8, 3, use_bias=False)
    layer.build_for((None, 5, 5, 2))
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 2, 8)]


def test_config_round_trip():
    layer = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="c")
    config = layer.get_config()
    assert config["kernel_size"] == [3, 3] and config["strides"] == [2, 2] and config["activation"] == "relu"
    clone = layers.Conv2D.from_config(config)
    assert clone.get_config() == config


# -- argument errors -------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, fragment", [
    ({"filters": 4, "kernel_size": 3, "padding": "vaild"}, "padding='vaild'"),
    ({"filters": 4, "kernel_size": 0}, "kernel_size=0"),
    ({"filters": -1, "kernel_size": 3}, "filters=-1"),
    ({"filters": 4, "kernel_size": (3, 3, 3)}, "kernel_size=(3, 3, 3)"),
    ({"filters": 4, "kernel_size": 3, "strides": 0}, "strides=0"),
    ({"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, "data_format='channels_first'"),
    ({"filters": 4, "kernel_size": 3, "activation": "rleu"}, "'rleu'"),
])
def test_bad_arguments_name_the_layer_and_the_value(kwargs, fragment):
    with pytest.raises(ValueError) as error:
        layers.Conv2D(name="my_conv", **kwargs)
    assert fragment in str(error.value)
    if "activation" not in kwargs:
        assert "my_conv" in str(error.value)


def test_strides_with_dilation_raise():
    with pytest.raises(ValueError, match=r"strides > 1 cannot be combined with dilation_rate > 1"):
        layers.Conv2D(4, 3, strides=2, dilation_rate=2)


def test_input_without_channels_axis_names_the_layer():
    with pytest.raises(ValueError, match=r"'c1'.*\(None, 28, 28\)"):
        layers.Conv2D(4, 3, name="c1").build_for((None, 28, 28))
