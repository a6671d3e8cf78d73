"""Add, Subtract, Multiply, Average, Maximum, Minimum and Concatenate against Keras's numbers, shapes and messages."""

import re

import numpy as np
import pytest
import torch

from cnnkit.layers import merging
from cnnkit.layers.merging.merge import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract

A = np.arange(24, dtype="float32").reshape(2, 3, 4)
B = A[:, ::-1] + 0.5                                               # half-integers: never ties with A
C = 10.25 - 3 * np.arange(8, dtype="float32").reshape(2, 1, 4)     # (2, 1, 4): broadcasts along axis 1
D = np.arange(8, dtype="float32").reshape(2, 4) - 3.5              # rank 2: expanded to (2, 1, 4)
W = np.arange(24, dtype="float32").reshape(2, 3, 4) % 5 + 1        # upstream gradient: loss = sum(output * W)

# From Keras 3.15, TensorFlow backend: layer()([A, B, C]) (Subtract: [A, C]), flattened, and the
# gradients of sum(output * W) with respect to each input (tf.GradientTape), flattened.
KERAS_MERGES = {
    Add: ((2, 3, 4), [18.75, 17.75, 16.75, 15.75, 18.75, 17.75, 16.75, 15.75, 18.75, 17.75, 16.75, 15.75, 30.75,
        29.75, 28.75, 27.75, 30.75, 29.75, 28.75, 27.75, 30.75, 29.75, 28.75, 27.75],
          [[1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0,
              2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0,
              3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0], [10.0, 8.0, 6.0, 9.0, 6.0, 9.0, 12.0, 10.0]]),
    Multiply: ((2, 3, 4), [0.0, 68.875, 89.25, 43.125, 184.5, 199.375, 165.75, 65.625, 41.0, 97.875, 106.25, 48.125,
        -430.5, -1327.625, -2441.25, -3789.375, -462.0, -1413.125, -2580.75, -3982.875, -437.5, -1346.625, -2472.25,
        -3832.375],
               [[87.125, 137.75, 133.875, 57.5, 230.625, 39.875, 55.25, 28.125, 20.5, 54.375, 10.625, 8.75,
                   -107.625, -408.5, -871.875, -252.625, -57.75, -249.375, -573.5, -1048.125, -21.875, -128.25,
                   -337.125, -666.5], [0.0, 14.5, 25.5, 15.0, 205.0, 36.25, 51.0, 26.25, 328.0, 326.25, 42.5, 27.5,
                   -63.0, -247.0, -542.5, -161.25, -56.0, -242.25, -558.0, -1021.25, -35.0, -199.5, -511.5, -989.0],
                   [106.0, 114.0, 166.0, 372.5, 1516.0, 2577.5, 3864.0, 3631.0]]),
    Average: ((2, 3, 4), [6.25, 5.9166665, 5.5833335, 5.25, 6.25, 5.9166665, 5.5833335, 5.25, 6.25, 5.9166665,
        5.5833335, 5.25, 10.25, 9.916667, 9.583333, 9.25, 10.25, 9.916667, 9.583333, 9.25, 10.25, 9.916667,
        9.583333, 9.25],
              [[0.33333334, 0.6666667, 1.0, 1.3333334, 1.6666666, 0.33333334, 0.6666667, 1.0, 1.3333334, 1.6666666,
                  0.33333334, 0.6666667, 1.0, 1.3333334, 1.6666666, 0.33333334, 0.6666667, 1.0, 1.3333334,
                  1.6666666, 0.33333334, 0.6666667, 1.0, 1.3333334], [0.33333334, 0.6666667, 1.0, 1.3333334,
                  1.6666666, 0.33333334, 0.6666667, 1.0, 1.3333334, 1.6666666, 0.33333334, 0.6666667, 1.0,
                  1.3333334, 1.6666666, 0.33333334, 0.6666667, 1.0, 1.3333334, 1.6666666, 0.33333334, 0.6666667,
                  1.0, 1.3333334], [3.3333335, 2.6666665, 2.0, 3.0000002, 2.0, 3.0000002, 4.0, 3.3333335]]),
    Maximum: ((2, 3, 4), [10.25, 9.5, 10.5, 11.5, 10.25, 7.25, 6.5, 7.5, 10.25, 9.0, 10.0, 11.0, 20.5, 21.5, 22.5,
        23.5, 16.5, 17.5, 18.5, 19.5, 20.0, 21.0, 22.0, 23.0],
              [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                  1.0, 2.0, 3.0, 4.0], [0.0, 2.0, 3.0, 4.0, 0.0, 0.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0, 3.0, 4.0, 5.0,
                  1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.0, 0.0, 0.0], [10.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]),
    Minimum: ((2, 3, 4), [0.0, 1.0, 2.0, 1.25, 4.0, 5.0, 4.25, 1.25, 0.5, 1.5, 2.5, 1.25, -1.75, -4.75, -7.75,
        -10.75, -1.75, -4.75, -7.75, -10.75, -1.75, -4.75, -7.75, -10.75],
              [[1.0, 2.0, 3.0, 0.0, 5.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                  0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 4.0, 5.0, 1.0, 0.0, 0.0, 0.0, 0.0,
                  0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 2.0, 9.0, 6.0, 9.0, 12.0, 10.0]]),
    Subtract: ((2, 3, 4), [-10.25, -6.25, -2.25, 1.75, -6.25, -2.25, 1.75, 5.75, -2.25, 1.75, 5.75, 9.75, 13.75,
        17.75, 21.75, 25.75, 17.75, 21.75, 25.75, 29.75, 21.75, 25.75, 29.75, 33.75],
               [[1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0,
                   1.0, 2.0, 3.0, 4.0], [-10.0, -8.0, -6.0, -9.0, -6.0, -9.0, -12.0, -10.0]]),
}

# From Keras 3.15, TensorFlow backend: layer()([D, A]), inputs of rank 2 and 3.
KERAS_MIXED_RANKS = {
    Add: [-3.5, -1.5, 0.5, 2.5, 0.5, 2.5, 4.5, 6.5, 4.5, 6.5, 8.5, 10.5, 12.5, 14.5, 16.5, 18.5, 16.5, 18.5, 20.5,
        22.5, 20.5, 22.5, 24.5, 26.5],
    Subtract: [-3.5, -3.5, -3.5, -3.5, -7.5, -7.5, -7.5, -7.5, -11.5, -11.5, -11.5, -11.5, -11.5, -11.5, -11.5,
        -11.5, -15.5, -15.5, -15.5, -15.5, -19.5, -19.5, -19.5, -19.5],
    Maximum: list(range(24)),
}

# From Keras 3.15, TensorFlow backend: Concatenate(axis)(inputs), flattened; gradients of
# sum(output * Wc) with Wc = arange(output size).reshape(output shape) % 5 + 1.
KERAS_CONCATENATE = [
    (-1, (A, B), (2, 3, 8),
     [0.0, 1.0, 2.0, 3.0, 8.5, 9.5, 10.5, 11.5, 4.0, 5.0, 6.0, 7.0, 4.5, 5.5, 6.5, 7.5, 8.0, 9.0, 10.0, 11.0, 0.5,
         1.5, 2.5, 3.5, 12.0, 13.0, 14.0, 15.0, 20.5, 21.5, 22.5, 23.5, 16.0, 17.0, 18.0, 19.0, 16.5, 17.5, 18.5,
         19.5, 20.0, 21.0, 22.0, 23.0, 12.5, 13.5, 14.5, 15.5],
     [[1.0, 2.0, 3.0, 4.0, 4.0, 5.0, 1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 5.0, 1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 1.0, 1.0, 2.0,
         3.0, 4.0], [5.0, 1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 1.0, 1.0, 2.0, 3.0, 4.0, 4.0, 5.0, 1.0, 2.0, 2.0, 3.0, 4.0,
         5.0, 5.0, 1.0, 2.0, 3.0]]),
    (1, (A, C), (2, 4, 4),
     [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 10.25, 7.25, 4.25, 1.25, 12.0, 13.0, 14.0, 15.0,
         16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, -1.75, -4.75, -7.75, -10.75],
     [[1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0,
         2.0, 3.0], [3.0, 4.0, 5.0, 1.0, 4.0, 5.0, 1.0, 2.0]]),
    (0, (A, B), (4, 3, 4),
     [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0,
         20.0, 21.0, 22.0, 23.0, 8.5, 9.5, 10.5, 11.5, 4.5, 5.5, 6.5, 7.5, 0.5, 1.5, 2.5, 3.5, 20.5, 21.5, 22.5,
         23.5, 16.5, 17.5, 18.5, 19.5, 12.5, 13.5, 14.5, 15.5],
     [[1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0,
         3.0, 4.0], [5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0,
         4.0, 5.0, 1.0, 2.0, 3.0]]),
]

# From Keras 3.15, TensorFlow backend: layer.build(shapes); layer.compute_output_shape(shapes).
KERAS_SHAPES = [
    (Add, {}, [(None, 1, 4), (None, 3, 4)], (None, 3, 4)),
    (Add, {}, [(None, 3, 1), (None, 1, 4)], (None, 3, 4)),
    (Add, {}, [(None, 4), (None, 3, 4)], (None, 3, 4)),
    (Multiply, {}, [(None, None, 4), (None, 3, 4), (None, 1, 4)], (None, None, 4)),
    (Maximum, {}, [(None, 3, 4), (5, 1, 4)], (5, 3, 4)),
    (Minimum, {}, [(None, 3, 4)], (None, 3, 4)),
    (Subtract, {}, [(None, 8, 8, 16), (None, 1, 1, 16)], (None, 8, 8, 16)),
    (Average, {}, [(None, 1, 4), (None, 3, 1), (None, 3, 4)], (None, 3, 4)),
    (Concatenate, {}, [(None, 3, 4), (None, 3, 2)], (None, 3, 6)),
    (Concatenate, {"axis": 1}, [(None, 3, 4), (None, 2, 4)], (None, 5, 4)),
    (Concatenate, {}, [(None, None, 4), (None, 3, 2)], (None, None, 6)),
    (Concatenate, {}, [(None, 3, None), (None, 3, 2)], (None, 3, None)),
    (Concatenate, {}, [(None, 3, 4), (5, 3, 4)], (None, 3, 8)),
    (Concatenate, {"axis": 0}, [(2, 3, 4), (5, 3, 4)], (7, 3, 4)),
    (Concatenate, {"axis": -3}, [(None, 3, 4), (None, 3, 4)], (None, 3, 4)),
    (Concatenate, {}, [(None, 3, 4)], (None, 3, 4)),
]

# From Keras 3.15, TensorFlow backend: the ValueError of layer.build(shapes).
KERAS_ERRORS = [
    (Add, {}, (None, 3, 4),
     "A merge layer should be called on a list of inputs. Received: input_shape=(None, 3, 4) (not a list of shapes)"),
    (Add, {}, [(None, 3, 4), (None, 2, 4)], "Inputs have incompatible shapes. Received shapes (3, 4) and (2, 4)"),
    (Maximum, {}, [(None, 4), (None, 3, 5)], "Inputs have incompatible shapes. Received shapes (3, 5) and (4,)"),
    (Multiply, {}, [(None, 3, 4), (None, 1, 4), (None, 2, 4)],
     "Inputs have incompatible shapes. Received shapes (3, 4) and (2, 4)"),
    (Average, {}, [(2, 3, 4), (3, 3, 4)],
     "Cannot merge tensors with different batch sizes. Received tensors with shapes [(2, 3, 4), (3, 3, 4)]"),
    (Subtract, {}, [(None, 3, 4)],
     "A `Subtract` layer should be called on exactly 2 inputs. Received: input_shape=[(None, 3, 4)]"),
    (Subtract, {}, [(None, 3, 4), (None, 1, 4), (None, 3, 1)],
     "A `Subtract` layer should be called on exactly 2 inputs. "
     "Received: input_shape=[(None, 3, 4), (None, 1, 4), (None, 3, 1)]"),
    (Concatenate, {}, [(None, 3, 4), (None, 2, 4)],
     "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
     "Received: input_shape=[(None, 3, 4), (None, 2, 4)]"),
    (Concatenate, {"axis": 1}, [(None, 3, 4), (None, 3, 5)],
     "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
     "Received: input_shape=[(None, 3, 4), (None, 3, 5)]"),
    (Concatenate, {}, [(None, 3, 4), (None, 4)],
     "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
     "Received: input_shape=[(None, 3, 4), (None, 4)]"),
    (Concatenate, {}, [(2, 3, 4), (5, 3, 4)],
     "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
     "Received: input_shape=[(2, 3, 4), (5, 3, 4)]"),
    (Concatenate, {}, [(None, 1, 4), (None, 3, 4)],  # no broadcasting in a concatenation
     "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
     "Received: input_shape=[(None, 1, 4), (None, 3, 4)]"),
    (Concatenate, {}, [(None, 3, 4), (None, 3, 4), (None, 2, 4)],
     "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
     "Received: input_shape=[(None, 3, 4), (None, 3, 4), (None, 2, 4)]"),
    (Concatenate, {}, [],
     "A `Concatenate` layer should be called on a list of at least 1 input. Received: input_shape=[]"),
    (Concatenate, {}, (None, 3, 4),
     "A `Concatenate` layer should be called on a list of at least 1 input. Received: input_shape=(None, 3, 4)"),
]

ELEMENTWISE = [Add, Subtract, Multiply, Average, Maximum, Minimum]


def tensors(*arrays, requires_grad=False):
    return [torch.tensor(a.copy(), requires_grad=requires_grad) for a in arrays]


def merge_inputs(layer_class):
    return (A, C) if layer_class is Subtract else (A, B, C)


@pytest.mark.parametrize("layer_class", ELEMENTWISE, ids=lambda c: c.__name__)
def test_elementwise_values_match_keras_exactly(layer_class):
    shape, values, _ = KERAS_MERGES[layer_class]
    arrays = merge_inputs(layer_class)
    layer = layer_class()
    assert layer.build_for([(None, *a.shape[1:]) for a in arrays]) == (None, *shape[1:])
    with torch.no_grad():
        output = layer.call(tensors(*arrays))
    assert tuple(output.shape) == shape
    np.testing.assert_array_equal(output.numpy().ravel(), np.asarray(values, "float32"))


@pytest.mark.parametrize("layer_class", ELEMENTWISE, ids=lambda c: c.__name__)
def test_gradients_flow_to_every_input_as_in_keras(layer_class):
    _, _, keras_grads = KERAS_MERGES[layer_class]
    inputs = tensors(*merge_inputs(layer_class), requires_grad=True)
    (layer_class().forward(inputs) * torch.from_numpy(W)).sum().backward()
    for x, expected in zip(inputs, keras_grads, strict=True):
        np.testing.assert_allclose(x.grad.numpy().ravel(), expected, rtol=1e-6)


@pytest.mark.parametrize("layer_class", sorted(KERAS_MIXED_RANKS, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_lower_rank_input_gets_axes_after_the_batch_as_in_keras(layer_class):
    layer = layer_class()
    assert layer.build_for([(None, 4), (None, 3, 4)]) == (None, 3, 4)
    output = layer.call(tensors(D, A))
    assert tuple(output.shape) == (2, 3, 4)
    np.testing.assert_array_equal(output.numpy().ravel(), np.asarray(KERAS_MIXED_RANKS[layer_class], "float32"))


@pytest.mark.parametrize("axis, arrays, shape, values, keras_grads", KERAS_CONCATENATE, ids=lambda v: None)
def test_concatenate_values_and_gradients_match_keras(axis, arrays, shape, values, keras_grads):
    layer = Concatenate(axis=axis)
    layer.build_for([a.shape for a in arrays])
    inputs = tensors(*arrays, requires_grad=True)
    output = layer.call(inputs)
    assert tuple(output.shape) == shape
    np.testing.assert_array_equal(output.detach().numpy().ravel(), values)
    (output * (torch.arange(output.numel()).reshape(shape) % 5 + 1)).sum().backward()
    for x, expected in zip(inputs, keras_grads, strict=True):
        np.testing.assert_array_equal(x.grad.numpy().ravel(), expected)


@pytest.mark.parametrize("layer_class, kwargs, shapes, expected", KERAS_SHAPES,
                         ids=[f"{c.__name__}-{s}" for c, _, s, _ in KERAS_SHAPES])
def test_output_shapes_match_keras(layer_class, kwargs, shapes, expected):
    assert layer_class(**kwargs).build_for(shapes) == expected


@pytest.mark.parametrize("layer_class, kwargs, shapes, message", KERAS_ERRORS,
                         ids=[f"{c.__name__}-{s}" for c, _, s, _ in KERAS_ERRORS])
def test_keras_error_messages(layer_class, kwargs, shapes, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        layer_class(**kwargs).build_for(shapes)


def test_shapes_may_come_as_a_tuple_of_shapes_or_torch_sizes():
    assert Add().build_for(((None, 1, 4), (None, 3, 4))) == (None, 3, 4)
    assert Concatenate().build_for([torch.Size([2, 3, 4]), torch.Size([2, 3, 1])]) == (2, 3, 5)


def test_a_single_input_is_accepted_as_in_keras():
    # Keras 3 takes a list of one input (Keras 2 asked for at least 2); Add returns it unchanged.
    x = torch.tensor(A)
    assert Add().build_for([(None, 3, 4)]) == (None, 3, 4)
    assert Add().call([x]) is x
    np.testing.assert_array_equal(Average().call([x]).numpy(), A)


def test_an_empty_list_is_a_clear_error():
    # Keras fails with an IndexError here; cnnkit gives the message Keras meant to give.
    with pytest.raises(ValueError, match="at least 1 input. Received 0 inputs"):
        Add().build_for([])


def test_call_on_a_single_tensor_says_it_wants_a_list():
    with pytest.raises(ValueError, match=re.escape(
            "A merge layer should be called on a list of inputs. "
            "Received: inputs=Tensor(shape=(2, 3, 4), dtype=torch.float32) (not a list of tensors)")):
        Add().call(torch.tensor(A))
    with pytest.raises(ValueError, match="should be called on a list of inputs"):
        Concatenate().call(torch.tensor(A))


def test_subtract_call_with_three_tensors():
    with pytest.raises(ValueError, match=re.escape("A `Subtract` layer should be called on exactly 2 inputs. "
                                                   "Received: inputs with shapes [(2, 3, 4), (2, 3, 4), (2, 1, 4)]")):
        Subtract().call(tensors(A, B, C))


def test_concatenate_axis_is_checked():
    with pytest.raises(ValueError, match=r"Argument `axis` of layer 'cat' must be an int. Received: axis='x'"):
        Concatenate(axis="x", name="cat")
    # Keras fails here with an IndexError (or TensorFlow's error when called).
    with pytest.raises(ValueError, match=re.escape("must be in [-3, 3) for inputs of rank 3. Received: axis=3")):
        Concatenate(axis=3).build_for([(None, 3, 4), (None, 3, 4)])
    with pytest.raises(ValueError, match=re.escape("Received: axis=-4")):
        Concatenate(axis=-4).build_for([(None, 3, 4), (None, 3, 4)])


def test_nan_wins_in_maximum_and_minimum_as_in_keras():
    a = torch.tensor([[1.0, 2.0, 3.0, np.nan, 0.0]])
    b = torch.tensor([[1.0, 5.0, 0.0, 1.0, np.nan]])
    # From Keras 3.15, TensorFlow backend.
    np.testing.assert_array_equal(Maximum().call([a, b]).numpy(), [[1.0, 5.0, 3.0, np.nan, np.nan]])
    np.testing.assert_array_equal(Minimum().call([a, b]).numpy(), [[1.0, 2.0, 0.0, np.nan, np.nan]])


def test_tied_maximum_splits_the_gradient():
    # Not Keras-on-TensorFlow, which gives a tie's whole gradient to the first input ([1, 0]);
    # torch's rule, as Keras on its torch backend.
    a, b = torch.tensor([2.0], requires_grad=True), torch.tensor([2.0], requires_grad=True)
    Maximum().call([a, b]).sum().backward()
    assert a.grad.item() == b.grad.item() == 0.5


def test_in_place_accumulation_leaves_the_inputs_alone():
    # Add/Multiply/Average write into their own running result after the first step, never into an input.
    arrays = (A, B, C, B)
    for layer_class, reference in ((Add, lambda *x: ((x[0] + x[1]) + x[2]) + x[3]),
                                   (Multiply, lambda *x: ((x[0] * x[1]) * x[2]) * x[3]),
                                   (Average, lambda *x: (((x[0] + x[1]) + x[2]) + x[3]) / 4)):
        inputs = tensors(*arrays)
        output = layer_class().call(inputs)
        np.testing.assert_array_equal(output.numpy(), reference(*arrays))
        for x, array in zip(inputs, arrays):
            np.testing.assert_array_equal(x.numpy(), array)
    # A later input larger than the running result (broadcast): computed out of place.
    output = Add().call(tensors(C, C, A))
    np.testing.assert_array_equal(output.numpy(), (C + C) + A)


def test_gradients_through_in_place_accumulation():
    inputs = tensors(A, B, C, requires_grad=True)
    Multiply().call(inputs + [inputs[0]]).sum().backward()
    np.testing.assert_allclose(inputs[2].grad.numpy(), (A * B * A).sum(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(inputs[0].grad.numpy(), 2 * A * B * C, rtol=1e-6)


def test_configs_as_keras_without_its_dtype(fresh_names):
    # From Keras 3.15: {'name': 'add', 'trainable': True, 'dtype': {...DTypePolicy float32...}} and, for
    # Concatenate, 'axis': -1 last. cnnkit layers have no dtype policy.
    for layer_class in ELEMENTWISE:
        name = layer_class.__name__.lower()
        assert layer_class().get_config() == {"name": name, "trainable": True}
    assert Concatenate().get_config() == {"name": "concatenate", "trainable": True, "axis": -1}
    config = Concatenate(axis=1, name="joined").get_config()
    assert config == {"name": "joined", "trainable": True, "axis": 1}
    clone = Concatenate.from_config(config)
    assert (clone.name, clone.axis) == ("joined", 1)


def test_no_weights():
    layer = Concatenate()
    layer.build_for([(None, 3), (None, 2)])
    assert layer.weights == [] and layer.count_params() == 0


@pytest.mark.parametrize("function, layer_class, arrays, kwargs", [
    (merging.add, Add, (A, B, C), {}),
    (merging.subtract, Subtract, (A, C), {}),
    (merging.multiply, Multiply, (A, B, C), {}),
    (merging.average, Average, (A, B, C), {}),
    (merging.maximum, Maximum, (A, B, C), {}),
    (merging.minimum, Minimum, (A, B, C), {}),
    (merging.concatenate, Concatenate, (A, C), {"axis": 1}),
], ids=lambda v: getattr(v, "__name__", None))
def test_functional_helpers_equal_their_layers(function, layer_class, arrays, kwargs):
    expected = layer_class(**kwargs).call(tensors(*arrays))
    np.testing.assert_array_equal(function(tensors(*arrays), name="merged", **kwargs).numpy(),
                                  expected.numpy())
