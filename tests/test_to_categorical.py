"""to_categorical against hand-written one-hot arrays, and its errors."""

import numpy as np
import pytest
import torch

from cnnkit.utils.categorical import to_categorical


def test_vector_infers_num_classes():
    out = to_categorical([0, 2, 1])
    expected = np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0]], dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_explicit_num_classes_pads_columns():
    expected = np.array([[0, 1, 0, 0, 0], [0, 0, 0, 0, 1]], dtype=np.float32)
    np.testing.assert_array_equal(to_categorical(np.array([1, 4], np.uint8), 5), expected)


def test_column_vector_is_squeezed():
    out = to_categorical(np.array([[1], [0], [3]]))
    expected = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=np.float32)
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out, expected)


def test_matrix_keeps_its_shape_and_adds_a_class_axis():
    out = to_categorical([[0, 1], [2, 0]])
    expected = np.array([[[1, 0, 0], [0, 1, 0]], [[0, 0, 1], [1, 0, 0]]], dtype=np.float32)
    np.testing.assert_array_equal(out, expected)


def test_only_the_last_size_one_axis_is_dropped():
    assert to_categorical(np.zeros((2, 1, 1), int), 2).shape == (2, 1, 2)
    assert to_categorical([1]).shape == (1, 2)  # 1-D input: nothing dropped


def test_scalar_and_whole_floats_and_tensors():
    np.testing.assert_array_equal(to_categorical(3, 5), [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(to_categorical([1.0, 0.0]), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(to_categorical(torch.tensor([1, 0])), [[0, 1], [1, 0]])


def test_dtype_argument():
    assert to_categorical([0, 1], dtype="float64").dtype == np.float64


def test_label_too_large_is_a_value_error():
    with pytest.raises(ValueError, match=r"labels in \[0, 2\] for num_classes=3.*label 3"):
        to_categorical([0, 3], num_classes=3)


def test_negative_label_is_a_value_error():
    with pytest.raises(ValueError, match="label -1"):
        to_categorical([0, -1])


def test_fractional_label_is_a_value_error():
    with pytest.raises(ValueError, match="whole-number labels. Received: 0.5"):
        to_categorical([0.5, 1.0])


def test_bad_num_classes():
    with pytest.raises(ValueError, match="at least 1"):
        to_categorical([], num_classes=0)
    with pytest.raises(TypeError, match="num_classes=2.5"):
        to_categorical([0], num_classes=2.5)
    with pytest.raises(ValueError, match="pass num_classes"):
        to_categorical([])
    assert to_categorical([], num_classes=3).shape == (0, 3)
