"""MaxPooling2D and AveragePooling2D against hand-computed values, Keras's numbers and NumPy."""

import itertools
import math

import numpy as np
import pytest
import torch

from cnnkit import layers
from cnnkit.layers._padding import same_padding


def pool(layer, inputs):
    inputs = np.asarray(inputs, "float32")
    expected_shape = layer.build_for(inputs.shape)
    with torch.no_grad():
        outputs = layer(torch.from_numpy(inputs)).numpy()
    assert outputs.shape == expected_shape
    return outputs


def square(size, sign=1.0):
    return sign * np.arange(1, size * size + 1, dtype="float32").reshape(1, size, size, 1)


def numpy_pooling(x, pool_size, strides, padding, reduce):
    """Reference: each window's max/mean over its real (unpadded) cells, TensorFlow's geometry."""
    _, height, width, _ = x.shape
    starts = []
    for length, window, stride in zip((height, width), pool_size, strides):
        if padding == "valid":
            count, before = (length - window) // stride + 1, 0
        else:
            count = math.ceil(length / stride)
            before = max((count - 1) * stride + window - length, 0) // 2
        starts.append([i * stride - before for i in range(count)])
    out = np.empty((x.shape[0], len(starts[0]), len(starts[1]), x.shape[3]), x.dtype)
    for (i, top), (j, left) in itertools.product(enumerate(starts[0]), enumerate(starts[1])):
        window = x[:, max(top, 0):top + pool_size[0], max(left, 0):left + pool_size[1], :]
        out[:, i, j, :] = reduce(window, axis=(1, 2))
    return out


# -- hand-computed -------------------------------------------------------------------------
def test_max_valid_by_hand():
    x = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 9, 6, 7], [2, 1, 3, 4]], "float32").reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(pool(layers.MaxPooling2D(2), x)[0, :, :, 0], [[5, 8], [9, 7]])


def test_average_valid_by_hand():
    x = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 9, 6, 7], [2, 1, 3, 4]], "float32").reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(pool(layers.AveragePooling2D(2), x)[0, :, :, 0], [[3.25, 2.75], [3, 5]])


def test_valid_drops_the_odd_last_row_and_column():
    # 5x5 with 2x2 windows: rows/cols 0-1 and 2-3; row and column 4 are never seen.
    np.testing.assert_array_equal(pool(layers.MaxPooling2D(2), square(5))[0, :, :, 0], [[7, 9], [17, 19]])


def test_max_same_ignores_padding_for_negative_inputs():
    # 3x3 of -1..-9, 2x2 "same": the last row and column are windows of real cells only (never 0).
    out = pool(layers.MaxPooling2D(2, padding="same"), square(3, sign=-1.0))
    np.testing.assert_array_equal(out[0, :, :, 0], [[-1, -3], [-7, -9]])


def test_average_same_divides_by_real_cells():
    # 3x3 of 1..9, 2x2 "same": (1+2+4+5)/4=3, (3+6)/2=4.5, (7+8)/2=7.5, 9/1=9
    out = pool(layers.AveragePooling2D(2, padding="same"), square(3))
    np.testing.assert_array_equal(out[0, :, :, 0], [[3, 4.5], [7.5, 9]])


# -- Keras's numbers (Keras 3.15.1, computed once) ---------------------------------------------
KERAS_CASES = [
    (layers.MaxPooling2D, dict(pool_size=2, padding="same"), square(5, -1.0),
     [[-1, -3, -5], [-11, -13, -15], [-21, -23, -25]]),
    (layers.MaxPooling2D, dict(pool_size=3, strides=2, padding="same"), square(5, -1.0),
     [[-1, -2, -4], [-6, -7, -9], [-16, -17, -19]]),
    (layers.AveragePooling2D, dict(pool_size=3, strides=1, padding="same"), square(4),
     [[3.5, 4, 5, 5.5], [5.5, 6, 7, 7.5], [9.5, 10, 11, 11.5], [11.5, 12, 13, 13.5]]),
    (layers.AveragePooling2D, dict(pool_size=2, padding="same"), square(5),
     [[4, 6, 7.5], [14, 16, 17.5], [21.5, 23.5, 25]]),
    (layers.AveragePooling2D, dict(pool_size=2, strides=1), square(5),
     [[4, 5, 6, 7], [9, 10, 11, 12], [14, 15, 16, 17], [19, 20, 21, 22]]),
]


@pytest.mark.parametrize("cls, kwargs, x, expected", KERAS_CASES)
def test_matches_keras(cls, kwargs, x, expected):
    np.testing.assert_array_equal(pool(cls(**kwargs), x)[0, :, :, 0], expected)


# -- against NumPy, over many geometries ---------------------------------------------------------
CASES = [
    (padding, size, window, stride)
    for padding, size, window, stride in itertools.product(("valid", "same"), (4, 5, 6, 7), (1, 2, 3), (1, 2, 3))
]


@pytest.mark.parametrize("padding, size, window, stride", CASES)
@pytest.mark.parametrize("cls, reduce", [(layers.MaxPooling2D, np.max), (layers.AveragePooling2D, np.mean)])
def test_matches_numpy_reference(cls, reduce, padding, size, window, stride):
    rng = np.random.default_rng(size * 100 + window * 10 + stride)
    x = (rng.standard_normal((2, size, size + 1, 3)) - 3).astype("float32")  # mostly negative
    out = pool(cls(window, strides=stride, padding=padding), x)
    expected = numpy_pooling(x, (window, window), (stride, stride), padding, reduce)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_rectangular_pool_and_strides_match_numpy():
    x = np.random.default_rng(1).standard_normal((1, 7, 6, 2)).astype("float32")
    for padding in ("valid", "same"):
        layer = layers.AveragePooling2D((3, 2), strides=(2, 3), padding=padding)
        np.testing.assert_allclose(pool(layer, x), numpy_pooling(x, (3, 2), (2, 3), padding, np.mean), rtol=1e-6)


@pytest.mark.parametrize("size, window, stride", [(176, 3, 2), (11, 3, 2), (7, 3, 1), (6, 2, 1), (9, 4, 3)])
def test_max_same_gradients_match_explicit_padding(size, window, stride):
    """Where torch's ceil mode gives "same"'s windows the input is not copied into a padded tensor,
    and the gradient is the one of -inf padding (the mini-Xception's 176x176, 3x3 stride 2 case first)."""
    layer = layers.MaxPooling2D(window, strides=stride, padding="same")
    x = torch.randn(2, size, size + 1, 3, requires_grad=True)
    out = layer(x, training=True)
    before_after = [same_padding(n, window, stride) for n in (size, size + 1)]
    padded = torch.nn.functional.pad(x.permute(0, 3, 1, 2), (*before_after[1], *before_after[0]), value=-math.inf)
    reference = torch.nn.functional.max_pool2d(padded, window, stride).permute(0, 2, 3, 1)
    assert torch.equal(out, reference)
    grad = torch.randn_like(out)
    assert torch.equal(torch.autograd.grad(out, x, grad)[0], torch.autograd.grad(reference, x, grad)[0])


def test_max_same_pools_without_a_padded_copy(monkeypatch):
    monkeypatch.setattr(torch.nn.functional, "pad", lambda *args, **kwargs: pytest.fail("padded a copy"))
    assert pool(layers.MaxPooling2D(3, strides=2, padding="same"), square(6)).shape == (1, 3, 3, 1)


# -- shapes, defaults, errors -------------------------------------------------------------------
def test_strides_default_to_pool_size():
    layer = layers.MaxPooling2D((3, 2))
    assert layer.strides == (3, 2)
    assert layer.build_for((None, 9, 9, 4)) == (None, 3, 4, 4)


@pytest.mark.parametrize("cls", [layers.MaxPooling2D, layers.AveragePooling2D])
def test_seed_shapes(cls):
    assert cls((2, 2)).build_for((None, 26, 26, 32)) == (None, 13, 13, 32)
    assert cls((2, 2)).build_for((None, 11, 11, 64)) == (None, 5, 5, 64)
    assert cls(2, padding="same").build_for((None, 11, 11, 64)) == (None, 6, 6, 64)
    assert cls(2).count_params() == 0


def test_config():
    config = layers.MaxPooling2D(3, strides=1, padding="same", name="p").get_config()
    assert config["pool_size"] == [3, 3] and config["strides"] == [1, 1] and config["padding"] == "same"
    assert config["name"] == "p"


@pytest.mark.parametrize("kwargs, fragment", [
    ({"padding": "vaild"}, "padding='vaild'"),
    ({"pool_size": 0}, "pool_size=0"),
    ({"pool_size": 2, "strides": -1}, "strides=-1"),
])
def test_bad_arguments_name_the_layer_and_the_value(kwargs, fragment):
    with pytest.raises(ValueError) as error:
        layers.MaxPooling2D(name="my_pool", **kwargs)
    assert fragment in str(error.value) and "my_pool" in str(error.value)


def test_pool_larger_than_input_names_the_layer():
    with pytest.raises(ValueError, match=r"'p'.*\(None, 1, 1, 3\)"):
        layers.MaxPooling2D(2, name="p").build_for((None, 1, 1, 3))


def test_flat_input_names_the_layer():
    with pytest.raises(ValueError, match=r"'p'.*\(None, 64\)"):
        layers.AveragePooling2D(2, name="p").build_for((None, 64))
