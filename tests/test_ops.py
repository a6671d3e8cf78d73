"""cnnkit.ops against values and dtypes computed by Keras, argument handling, NumPy input, gradients."""

import warnings

import numpy as np
import pytest
import torch

from cnnkit import ops

X = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]], dtype="float32")
I = np.array([[1, 2, 3], [4, 5, 6]], dtype="int32")

# Values and dtypes from Keras 3.15, TensorFlow backend (keras.ops on the same float32/int32 inputs).
KERAS = {
    "mean": (1.0, "float32"),
    "mean_axis0": ([1.0, 1.0, 1.0], "float32"),
    "mean_keepdims": ([[1.0]], "float32"),
    "mean_int": ([2.0, 5.0], "float32"),
    "sum_axis1": ([2.5, 3.5], "float32"),
    "sum_int": (21, "int32"),
    "sum_bool": (2, "int32"),
    "max_axis0": ([1.5, 4.0, 3.0], "float32"),
    "min_keepdims": ([[-2.0], [-1.0]], "float32"),
    "max_initial": (10.0, "float32"),
    "max_tuple": (4.0, "float32"),
    "std": (2.1015865802764893, "float32"),
    "var_axis1": ([4.388888835906982, 4.388888835906982], "float32"),
    "std_int_axis0": ([1.5, 1.5, 1.5], "float32"),
    "argmax_axis1": ([2, 1], "int32"),
    "argmin": (1, "int32"),
    "argmax_keepdims": ([[0, 1, 0]], "int32"),
    "abs": ([[1.5, 2.0, 3.0], [0.5, 4.0, 1.0]], "float32"),
    "sqrt": ([1.0, 1.4142135381698608, 3.0], "float32"),
    "sqrt_int": ([2.0, 1.4142135381698608], "float32"),
    "square": ([[2.25, 4.0, 9.0], [0.25, 16.0, 1.0]], "float32"),
    "exp": ([[4.481688976287842, 0.1353352814912796, 20.08553695678711],
             [1.6487212181091309, 54.598148345947266, 0.3678794503211975]], "float32"),
    "log": ([-0.6931471824645996, 0.0, 2.3025851249694824], "float32"),
    "clip": ([[1.5, -1.0, 2.0], [0.5, 2.0, -1.0]], "float32"),
    "maximum": ([[1.5, 0.5, 3.0], [0.5, 4.0, 0.5]], "float32"),
    "minimum": ([[0.5, -2.0, -1.0], [0.5, -2.0, -1.0]], "float32"),
    "where": ([[1.5, 0.0, 3.0], [0.5, 4.0, 0.0]], "float32"),
    "matmul": ([[15.25, -10.25], [-10.25, 17.25]], "float32"),
    "softmax": ([[0.18142607808113098, 0.0054785930551588535, 0.8130953311920166],
                 [0.02912176214158535, 0.9643803238868713, 0.006497942842543125]], "float32"),
    "softmax_axis0": ([[0.7310585379600525, 0.00247262348420918, 0.9820137619972229],
                       [0.2689414322376251, 0.9975274205207825, 0.017986208200454712]], "float32"),
    "softmax_tuple": ([[0.055113594979047775, 0.001664286362938583, 0.2470020055770874],
                       [0.020275156944990158, 0.6714209914207458, 0.0045239985920488834]], "float32"),
    "relu": ([[1.5, 0.0, 3.0], [0.5, 4.0, 0.0]], "float32"),
    "sigmoid": ([[0.8175745010375977, 0.11920291930437088, 0.9525741338729858],
                 [0.622459352016449, 0.9820137619972229, 0.2689414322376251]], "float32"),
    "normalize": ([[0.38411062955856323, -0.5121474862098694, 0.7682212591171265],
                   [0.12038585543632507, 0.9630868434906006, -0.24077171087265015]], "float32"),
    "normalize_order1": ([[0.23076923191547394, -0.3076923191547394, 0.4615384638309479],
                          [0.09090909361839294, 0.7272727489471436, -0.1818181872367859]], "float32"),
    "normalize_axis0": ([[0.9486832618713379, -0.4472135901451111, 0.9486832618713379],
                         [0.3162277638912201, 0.8944271802902222, -0.3162277638912201]], "float32"),
    "normalize_eps": ([[0.15000000596046448, -0.20000000298023224, 0.30000001192092896],
                       [0.05000000074505806, 0.4000000059604645, -0.10000000149011612]], "float32"),
    "normalize_zeros": ([[0.0, 0.0]], "float32"),
    "one_hot": ([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]], "float32"),
    "one_hot_axis0": ([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]], "float32"),
    "one_hot_int": ([[[0, 1, 0]], [[0, 0, 0]]], "int32"),
    "arange": ([0, 1, 2, 3, 4], "int32"),
    "arange_float": ([1.0, 1.5, 2.0, 2.5], "float32"),
    "arange_step": ([2, 5, 8], "int32"),
    "cast": ([1, -1, 0], "int32"),
    "cast_bool": ([False, True], "bool"),
    "transpose": ([[1.5, 0.5], [-2.0, 4.0], [3.0, -1.0]], "float32"),
    "concatenate": ([[1, 2, 3], [4, 5, 6], [1, 2, 3]], "int32"),
    "stack_axis1": ([[1, 4], [2, 5], [3, 6]], "int32"),
}

# The same calls on cnnkit.ops, with the inputs given to Keras.
CALLS = {
    "mean": lambda: ops.mean(X),
    "mean_axis0": lambda: ops.mean(X, axis=0),
    "mean_keepdims": lambda: ops.mean(X, axis=(0, 1), keepdims=True),
    "mean_int": lambda: ops.mean(I, axis=1),
    "sum_axis1": lambda: ops.sum(X, axis=1),
    "sum_int": lambda: ops.sum(I),
    "sum_bool": lambda: ops.sum(np.array([True, False, True])),
    "max_axis0": lambda: ops.max(X, axis=0),
    "min_keepdims": lambda: ops.min(X, axis=1, keepdims=True),
    "max_initial": lambda: ops.max(X, initial=10.0),
    "max_tuple": lambda: ops.max(X, axis=(0, 1)),
    "std": lambda: ops.std(X),
    "var_axis1": lambda: ops.var(X, axis=1),
    "std_int_axis0": lambda: ops.std(I, axis=0),
    "argmax_axis1": lambda: ops.argmax(X, axis=1),
    "argmin": lambda: ops.argmin(X),
    "argmax_keepdims": lambda: ops.argmax(X, axis=0, keepdims=True),
    "abs": lambda: ops.abs(X),
    "sqrt": lambda: ops.sqrt(np.array([1.0, 2.0, 9.0], "float32")),
    "sqrt_int": lambda: ops.sqrt(np.array([4, 2], "int32")),
    "square": lambda: ops.square(X),
    "exp": lambda: ops.exp(X),
    "log": lambda: ops.log(np.array([0.5, 1.0, 10.0], "float32")),
    "clip": lambda: ops.clip(X, -1.0, 2.0),
    "maximum": lambda: ops.maximum(X, 0.5),
    "minimum": lambda: ops.minimum(X, X[::-1].copy()),
    "where": lambda: ops.where(X > 0, X, 0.0),
    "matmul": lambda: ops.matmul(X, X.T.copy()),
    "softmax": lambda: ops.softmax(X),
    "softmax_axis0": lambda: ops.softmax(X, axis=0),
    "softmax_tuple": lambda: ops.softmax(X, axis=(0, 1)),
    "relu": lambda: ops.relu(X),
    "sigmoid": lambda: ops.sigmoid(X),
    "normalize": lambda: ops.normalize(X),
    "normalize_order1": lambda: ops.normalize(X, order=1),
    "normalize_axis0": lambda: ops.normalize(X, axis=0),
    "normalize_eps": lambda: ops.normalize(X, epsilon=10.0),
    "normalize_zeros": lambda: ops.normalize(np.zeros((1, 2), "float32")),
    "one_hot": lambda: ops.one_hot(np.array([0, 2, -1]), 3),
    "one_hot_axis0": lambda: ops.one_hot(np.array([0, 2]), 3, axis=0),
    "one_hot_int": lambda: ops.one_hot(np.array([[1], [3]]), 3, dtype="int32"),
    "arange": lambda: ops.arange(5),
    "arange_float": lambda: ops.arange(1.0, 3.0, 0.5),
    "arange_step": lambda: ops.arange(2, 9, 3),
    "cast": lambda: ops.cast(np.array([1.7, -1.7, 0.0], "float32"), "int32"),
    "cast_bool": lambda: ops.cast(np.array([0.0, 2.0], "float32"), "bool"),
    "transpose": lambda: ops.transpose(X),
    "concatenate": lambda: ops.concatenate([I, I[:1]], axis=0),
    "stack_axis1": lambda: ops.stack([I[0], I[1]], axis=1),
}


@pytest.mark.parametrize("case", sorted(KERAS))
def test_values_and_dtypes_match_keras(case):
    expected, dtype = KERAS[case]
    result = CALLS[case]()
    assert isinstance(result, torch.Tensor)
    assert str(result.dtype) == f"torch.{dtype}"
    np.testing.assert_allclose(ops.convert_to_numpy(result), np.array(expected), rtol=1e-6, atol=1e-7)


def test_every_public_op_is_checked_against_keras_or_by_hand():
    by_hand = {"convert_to_tensor", "convert_to_numpy", "shape", "zeros", "ones", "reshape",
               "expand_dims", "squeeze"}
    against_keras = {name for name in ops.__all__
                     if any(case == name or case.startswith(name + "_") for case in KERAS)}
    assert set(ops.__all__) - against_keras - by_hand == set()


# Conversion and dtypes.


def test_convert_to_tensor_follows_keras_default_dtypes():
    assert ops.convert_to_tensor(np.array([1.0, 2.0])).dtype == torch.float32  # float64 data -> floatx
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == torch.float32
    assert ops.convert_to_tensor([1, 2]).dtype == torch.int32  # Python ints, as Keras
    assert ops.convert_to_tensor(np.array([1, 2], dtype="int64")).dtype == torch.int64  # NumPy ints keep width
    assert ops.convert_to_tensor([True, False]).dtype == torch.bool
    assert ops.convert_to_tensor(np.array([1.0], dtype="float16")).dtype == torch.float16
    assert ops.convert_to_tensor([1, 2], dtype="float32").dtype == torch.float32


def test_convert_to_tensor_returns_a_tensor_as_is():
    x = torch.ones(2, dtype=torch.float64, requires_grad=True)
    assert ops.convert_to_tensor(x) is x
    assert ops.convert_to_tensor(x, dtype="float32").dtype == torch.float32
    with pytest.raises(ValueError, match="dense tensors only"):
        ops.convert_to_tensor(x, sparse=True)


def test_read_only_arrays_are_copied_without_a_warning():
    view = np.broadcast_to(np.arange(3.0), (2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ops.convert_to_tensor(view).tolist() == [[0.0, 1.0, 2.0]] * 2


def test_convert_to_numpy_detaches_and_widens_bfloat16():
    x = torch.tensor([1.5, 2.0], requires_grad=True)
    assert ops.convert_to_numpy(x).tolist() == [1.5, 2.0]
    assert ops.convert_to_numpy(x.to(torch.bfloat16)).dtype == np.float32
    assert isinstance(ops.convert_to_numpy([1, 2]), np.ndarray)


@pytest.mark.parametrize("name, expected", [("float32", torch.float32), ("int32", torch.int32),
                                            ("bool", torch.bool), ("bfloat16", torch.bfloat16),
                                            (np.float16, torch.float16), (torch.int64, torch.int64)])
def test_dtype_names(name, expected):
    assert ops.zeros(2, dtype=name).dtype == expected


def test_unknown_dtype_names_the_argument():
    with pytest.raises(ValueError, match=r"Received: dtype='float33'"):
        ops.cast([1.0], "float33")
    with pytest.raises(ValueError, match=r"Received: dtype=<object"):
        ops.ones(2, dtype=object())


def test_shape_zeros_ones():
    assert ops.shape(np.zeros((2, 3))) == (2, 3)
    assert type(ops.shape(torch.zeros(4, 5))) is tuple
    assert ops.shape([[1, 2, 3]]) == (1, 3)
    assert ops.zeros((2, 3)).dtype == torch.float32 and ops.zeros((2, 3)).sum() == 0
    assert ops.ones(3, dtype="int32").tolist() == [1, 1, 1]


# Shapes, axes, keepdims.


def test_reshape_expand_dims_squeeze_shapes():
    x = np.arange(6, dtype="float32")
    assert ops.shape(ops.reshape(x, (3, -1))) == (3, 2)
    assert ops.shape(ops.reshape(ops.reshape(x, (2, 3)), -1)) == (6,)
    assert ops.shape(ops.expand_dims(np.zeros((2, 3)), -1)) == (2, 3, 1)
    assert ops.shape(ops.expand_dims(np.zeros((2, 3)), (0, 2))) == (1, 2, 1, 3)  # as Keras
    assert ops.shape(ops.squeeze(np.zeros((1, 2, 1, 3)))) == (2, 3)
    assert ops.shape(ops.squeeze(np.zeros((1, 2, 1, 3)), axis=(0, 2))) == (2, 3)
    assert ops.shape(ops.squeeze(np.zeros((1, 2, 1, 3)), axis=-2)) == (1, 2, 3)
    assert ops.shape(ops.transpose(np.zeros((2, 3, 4)))) == (4, 3, 2)
    assert ops.shape(ops.transpose(np.zeros((2, 3, 4)), axes=(2, 0, 1))) == (4, 2, 3)
    assert ops.shape(ops.concatenate([np.ones((2, 1)), np.zeros((2, 3))], axis=-1)) == (2, 4)


def test_axis_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"Received: axis=1"):
        ops.squeeze(np.zeros((1, 3)), axis=1)
    with pytest.raises(ValueError, match=r"Received: axis=3"):
        ops.expand_dims(np.zeros((2, 3)), 3)
    with pytest.raises(ValueError, match=r"Received: axis=\(1, 1\)"):
        ops.expand_dims(np.zeros((2, 3)), (1, 1))


def test_reductions_keepdims_and_axis_tuples():
    x = torch.arange(24.0).reshape(2, 3, 4)
    for op in (ops.mean, ops.sum, ops.max, ops.min, ops.std, ops.var):
        assert ops.shape(op(x, axis=(0, 2), keepdims=True)) == (1, 3, 1), op.__name__
        assert ops.shape(op(x, axis=[0, 2])) == (3,), op.__name__
        assert ops.shape(op(x)) == (), op.__name__
    np.testing.assert_allclose(ops.std(x, axis=(0, 2)).numpy(), np.std(x.numpy(), axis=(0, 2)), rtol=1e-6)
    assert ops.shape(ops.sum(x, axis=())) == (2, 3, 4)  # as NumPy: no axes, no reduction


def test_argmax_takes_the_first_of_ties_and_flattens_without_axis():
    assert ops.argmax(np.array([1, 3, 3])).item() == 1
    assert ops.argmax(np.array([[1, 5, 3], [7, 2, 9]])).item() == 5
    assert ops.argmin(np.array([True, False])).item() == 1


def test_binary_ops_keep_the_tensor_dtype_with_python_numbers():
    ints = torch.tensor([1, 5], dtype=torch.int32)
    assert ops.maximum(ints, 2).dtype == torch.int32  # Keras: int32 [2, 5]
    assert ops.maximum(ints, 2.5).tolist() == [2.5, 5.0]  # Keras: float32
    assert ops.where(np.array([True, False]), 1, 0).dtype == torch.int32
    assert ops.clip(ints, 0, 1).tolist() == [1, 1] and ops.clip(ints, 0, 1).dtype == torch.int32
    assert ops.concatenate([np.ones(1, "int32"), np.zeros(1, "float32")]).dtype == torch.float32
    assert ops.matmul(np.ones((2, 2), "int32"), np.ones(2, "float32")).dtype == torch.float32
    half = torch.ones(2, dtype=torch.float16)
    assert ops.minimum(half, 0.5).dtype == torch.float16


def test_where_with_condition_alone_gives_nonzero_indices():
    rows, cols = ops.where(np.array([[0, 1], [1, 0]]))
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    with pytest.raises(ValueError, match="both be given or both be None. Received: x2=None"):
        ops.where(np.array([True]), 1.0)


def test_unary_ops_on_ints_follow_keras():
    assert ops.abs(np.array([-1, 2], "int32")).dtype == torch.int32
    assert ops.square(np.array([-3, 2], "int32")).tolist() == [9, 4]
    assert ops.exp(np.array([0, 1], "int32")).dtype == torch.float32
    assert ops.relu(np.array([-1, 0, 2], "int32")).tolist() == [0, 0, 2]


def test_one_hot_and_normalize_validate_their_arguments():
    with pytest.raises(ValueError, match=r"Received: num_classes=0"):
        ops.one_hot([1], 0)
    with pytest.raises(ValueError, match=r"Received: order=0"):
        ops.normalize(X, order=0)
    assert ops.one_hot(np.array([1.0, 0.0]), 2).tolist() == [[0.0, 1.0], [1.0, 0.0]]  # float labels cast


def test_numpy_and_python_inputs_are_accepted_everywhere():
    assert ops.mean([1, 2]).item() == 1.5
    assert ops.softmax([0.0, 0.0]).tolist() == [0.5, 0.5]
    assert ops.sum(np.array([[1.0, 2.0]])).dtype == torch.float32  # float64 NumPy -> float32


# Gradients.


def test_normalize_backward_matches_the_formula_and_is_finite_at_zero():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]], requires_grad=True)
    ops.normalize(x)[:, 0].sum().backward()
    # d(x0/|x|)/dx = (|x|^2 e0 - x0 x) / |x|^3 = [16, -12] / 125 for [3, 4]; below epsilon, x / eps.
    np.testing.assert_allclose(x.grad[0].numpy(), [16 / 125, -12 / 125], rtol=1e-6)
    np.testing.assert_allclose(x.grad[1].numpy(), [1e7, 0.0], rtol=1e-6)


def test_gradients_flow_through_the_ops():
    x = torch.tensor(X, requires_grad=True)
    loss = (ops.mean(ops.square(x)) + ops.max(x) + ops.sum(ops.softmax(x, axis=(0, 1)) * x)
            + ops.std(x) + ops.matmul(x, ops.transpose(x)).sum() + ops.sigmoid(ops.clip(x, -1, 2)).sum())
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    check = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: ops.normalize(t, order=1), (check,))
    assert torch.autograd.gradcheck(lambda t: ops.softmax(t, axis=(0, 1)), (check,))


# Missing ops.


def test_a_missing_op_says_what_cnnkit_implements():
    with pytest.raises(AttributeError, match=r"cnnkit.ops has no op 'einsum'.*cnnkit.ops.__all__"):
        ops.einsum
    assert not hasattr(ops, "some_op_we_lack")
    assert all(callable(getattr(ops, name)) for name in ops.__all__)
