"""UpSampling2D, ZeroPadding2D, Cropping2D, Reshape, Permute, Identity and Dense on any rank, against Keras.

Literal expected values are from Keras 3.15, TensorFlow backend, computed once with the same inputs
and weights.
"""

import json

import numpy as np
import pytest
import torch

import cnnkit as keras
from cnnkit import layers, models

# A 2x3 image, one channel.
IMAGE = np.array([[1.0, 2.0, 4.0], [-1.0, 0.5, 3.0]], "float32").reshape(1, 2, 3, 1)


def run(layer, inputs):
    """The layer's output on `inputs` (NumPy), checking it against the shape the layer predicts."""
    inputs = np.asarray(inputs, "float32")
    expected_shape = layer.build_for((None, *inputs.shape[1:]))
    with torch.no_grad():
        outputs = layer(torch.from_numpy(inputs))
    assert outputs.shape[1:] == expected_shape[1:]
    return outputs.numpy()


def config_of(layer):
    """`get_config()` as it reads after JSON (tuples become lists), as a saved file holds it."""
    return json.loads(json.dumps(layer.get_config()))


def save_and_load(model, tmp_path):
    path = tmp_path / "model.cnnkit"
    model.save(path)
    return models.load_model(path)


# -- UpSampling2D ------------------------------------------------------------------------------
def test_up_sampling_nearest_repeats_rows_and_columns():
    x = np.arange(1, 13, dtype="float32").reshape(1, 2, 3, 2)
    expected = np.repeat(np.repeat(x, 3, axis=1), 2, axis=2)
    np.testing.assert_array_equal(run(layers.UpSampling2D((3, 2)), x), expected)


@pytest.mark.parametrize("factor", [2, 3, 5, 7, 11])
def test_up_sampling_nearest_is_exact_for_any_factor(factor):
    x = np.arange(1, 1 + 13 * 13, dtype="float32").reshape(1, 13, 13, 1)
    expected = np.repeat(np.repeat(x, factor, axis=1), factor, axis=2)
    np.testing.assert_array_equal(run(layers.UpSampling2D(factor), x), expected)


def test_up_sampling_bilinear_uses_half_pixel_centres():
    # [0, 1] doubled: output pixel centres 0.25, 0.75, 1.25, 1.75 sit at -0.25, 0.25, 0.75, 1.25 in
    # input pixels, clamped at the edges (TensorFlow's half_pixel_centers, not align_corners).
    x = np.array([0.0, 1.0], "float32").reshape(1, 1, 2, 1)
    out = run(layers.UpSampling2D((1, 2), interpolation="bilinear"), x)
    np.testing.assert_allclose(out[0, 0, :, 0], [0.0, 0.25, 0.75, 1.0])


# Keras 3.15, TensorFlow backend: UpSampling2D(size, interpolation=...)(IMAGE)[0, :, :, 0]
KERAS_UP_SAMPLING = [
    ((2, 2), "bilinear", [[1.0, 1.25, 1.75, 2.5, 3.5, 4.0], [0.5, 0.78125, 1.34375, 2.15625, 3.21875, 3.75],
                          [-0.5, -0.15625, 0.53125, 1.46875, 2.65625, 3.25],
                          [-1.0, -0.625, 0.125, 1.125, 2.375, 3.0]]),
    ((3, 2), "bilinear", [[1.0, 1.25, 1.75, 2.5, 3.5, 4.0], [1.0, 1.25, 1.75, 2.5, 3.5, 4.0],
                          [0.333333, 0.625, 1.208333, 2.041667, 3.125, 3.666667],
                          [-0.333333, -0.0, 0.666667, 1.583333, 2.75, 3.333333],
                          [-1.0, -0.625, 0.125, 1.125, 2.375, 3.0], [-1.0, -0.625, 0.125, 1.125, 2.375, 3.0]]),
    ((3, 2), "area", [[1.0, 1.0, 2.0, 2.0, 4.0, 4.0]] * 3 + [[-1.0, -1.0, 0.5, 0.5, 3.0, 3.0]] * 3),
]


@pytest.mark.parametrize("size, interpolation, expected", KERAS_UP_SAMPLING)
def test_up_sampling_matches_keras(size, interpolation, expected):
    out = run(layers.UpSampling2D(size, interpolation=interpolation), IMAGE)
    np.testing.assert_allclose(out[0, :, :, 0], expected, atol=2e-6)


def test_up_sampling_bilinear_gradient_matches_keras():
    x = torch.tensor(IMAGE, requires_grad=True)
    weights = torch.arange(24, dtype=torch.float32).reshape(1, 4, 6, 1)
    (layers.UpSampling2D(interpolation="bilinear")(x) * weights).sum().backward()
    # Keras 3.15 (TensorFlow): gradient of sum(UpSampling2D(bilinear)(IMAGE) * weights)
    np.testing.assert_allclose(x.grad[0, :, :, 0].numpy(), [[17.5, 25.0, 32.5], [59.5, 67.0, 74.5]], rtol=1e-6)


def test_up_sampling_nearest_gradient_sums_each_block():
    x = torch.zeros(1, 2, 3, 1, requires_grad=True)
    layers.UpSampling2D((2, 3))(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1, 2, 3, 1), 6.0))


def test_up_sampling_channels_are_independent_and_output_channels_last():
    x = torch.randn(2, 3, 4, 5)
    out = layers.UpSampling2D(2, interpolation="bilinear")(x)
    assert out.shape == (2, 6, 8, 5) and out.is_contiguous()
    alone = layers.UpSampling2D(2, interpolation="bilinear")(x[..., 2:3])
    torch.testing.assert_close(out[..., 2:3], alone)


def test_up_sampling_shapes_and_config():
    assert layers.UpSampling2D().build_for((None, 7, 7, 16)) == (None, 14, 14, 16)
    assert layers.UpSampling2D((2, 3)).build_for((None, None, 5, 1)) == (None, None, 15, 1)
    # Keras 3.15 get_config() of UpSampling2D(3, interpolation="Bilinear"), less its dtype policy.
    assert config_of(layers.UpSampling2D(3, interpolation="Bilinear", name="up")) == {
        "name": "up", "trainable": True, "size": [3, 3], "data_format": "channels_last", "interpolation": "bilinear"}
    layer = layers.UpSampling2D(np.int64(2), interpolation="area", name="up")
    assert layers.UpSampling2D.from_config(layer.get_config()).get_config() == layer.get_config()


@pytest.mark.parametrize("kwargs, fragment", [
    ({"size": 0}, "size=0"),
    ({"size": (1, 2, 3)}, "size=(1, 2, 3)"),
    ({"size": 1.5}, "size=1.5"),
    ({"interpolation": "foo"}, "interpolation='foo'"),
    ({"interpolation": "bicubic"}, "does not support 'bicubic'"),
    ({"interpolation": "lanczos3"}, "does not support 'lanczos3'"),
    ({"data_format": "channels_first"}, "data_format='channels_first'"),
])
def test_up_sampling_bad_arguments_name_the_layer_and_the_value(kwargs, fragment):
    with pytest.raises(ValueError) as error:
        layers.UpSampling2D(name="up", **kwargs)
    assert fragment in str(error.value) and "'up'" in str(error.value)


def test_up_sampling_needs_images():
    with pytest.raises(ValueError, match=r"'up'.*ndim=4.*\(None, 3, 4\)"):
        layers.UpSampling2D(name="up")(keras.Input((3, 4)))


# -- ZeroPadding2D -----------------------------------------------------------------------------
def test_zero_padding_matches_keras():
    x = np.array([[[1, 2], [3, 4]], [[11, 12], [13, 14]]], "float32").reshape(1, 2, 2, 2)
    out = run(layers.ZeroPadding2D(((1, 0), (2, 1))), x)
    zero = [0.0, 0.0]
    # Keras 3.15 (TensorFlow): ZeroPadding2D(((1, 0), (2, 1)))(x)
    np.testing.assert_array_equal(out, [[[zero] * 5, [zero, zero, [1, 2], [3, 4], zero],
                                         [zero, zero, [11, 12], [13, 14], zero]]])


@pytest.mark.parametrize("padding, expected", [
    (None, ((1, 1), (1, 1))), (2, ((2, 2), (2, 2))), ((1, 2), ((1, 1), (2, 2))), ([1, 2], ((1, 1), (2, 2))),
    (((1, 2), (3, 0)), ((1, 2), (3, 0))), ((1, (2, 0)), ((1, 1), (2, 0))), (np.int64(3), ((3, 3), (3, 3))),
])
def test_zero_padding_forms_as_keras(padding, expected):
    layer = layers.ZeroPadding2D() if padding is None else layers.ZeroPadding2D(padding)
    assert layer.padding == expected
    (top, bottom), (left, right) = expected
    assert layer.build_for((None, 5, 6, 3)) == (None, 5 + top + bottom, 6 + left + right, 3)


def test_zero_padding_gradient_is_the_inner_part():
    x = torch.zeros(1, 2, 3, 1, requires_grad=True)
    weights = torch.arange(5 * 4, dtype=torch.float32).reshape(1, 5, 4, 1)
    (layers.ZeroPadding2D(((2, 1), (0, 1)))(x) * weights).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), weights[:, 2:4, 0:3].numpy())


def test_zero_padding_config():
    # Keras 3.15 get_config() of ZeroPadding2D(((1, 2), (3, 0))), less its dtype policy.
    layer = layers.ZeroPadding2D(((1, 2), (3, 0)), name="pad")
    assert config_of(layer) == {"name": "pad", "trainable": True, "padding": [[1, 2], [3, 0]],
                                "data_format": "channels_last"}
    clone = layers.ZeroPadding2D.from_config(config_of(layer))
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("padding, fragment", [
    (-1, "cannot be negative. Received: padding=-1"),
    ((1, 2, 3), "Received: padding=(1, 2, 3)"),
    (1.5, "Received: padding=1.5"),
    ("ab", "Received: padding='ab'"),
    (((1, 2), (3,)), "2nd (width) entry"),
    (((1, -2), (0, 0)), "1st (height) entry"),
    ((-1, 0), "1st (height) entry"),
])
def test_zero_padding_bad_arguments(padding, fragment):
    with pytest.raises(ValueError) as error:
        layers.ZeroPadding2D(padding, name="pad")
    assert fragment in str(error.value) and "'pad'" in str(error.value)


# -- Cropping2D --------------------------------------------------------------------------------
def test_cropping_matches_keras():
    x = np.arange(1, 1 + 4 * 5 * 2, dtype="float32").reshape(1, 4, 5, 2)
    # Keras 3.15 (TensorFlow): Cropping2D(((1, 2), (0, 3)))(x)
    np.testing.assert_array_equal(run(layers.Cropping2D(((1, 2), (0, 3))), x), [[[[11, 12], [13, 14]]]])


@pytest.mark.parametrize("cropping", [((0, 0), (0, 0)), ((1, 0), (0, 2)), ((0, 2), (1, 0)), ((1, 1), (2, 1))])
def test_cropping_by_slicing(cropping):
    x = np.arange(5 * 6 * 2, dtype="float32").reshape(1, 5, 6, 2)
    (top, bottom), (left, right) = cropping
    np.testing.assert_array_equal(run(layers.Cropping2D(cropping), x), x[:, top:5 - bottom, left:6 - right])


def test_cropping_shapes_config_and_view():
    layer = layers.Cropping2D(((2, 2), (4, 4)), name="crop")
    assert layer.build_for((None, 28, 28, 3)) == (None, 24, 20, 3)
    assert layers.Cropping2D(1).build_for((None, None, 5, 2)) == (None, None, 3, 2)
    # Keras 3.15 get_config(), less its dtype policy.
    assert config_of(layers.Cropping2D(name="crop")) == {"name": "crop", "trainable": True,
                                                         "cropping": [[0, 0], [0, 0]], "data_format": "channels_last"}
    assert layers.Cropping2D((1, 2)).cropping == ((1, 1), (2, 2))
    assert layers.Cropping2D.from_config(config_of(layer)).get_config() == layer.get_config()
    x = torch.randn(2, 5, 6, 3)
    assert layers.Cropping2D(1)(x).data_ptr() == x[:, 1, 1].data_ptr()  # a view: no copy


@pytest.mark.parametrize("cropping, fragment", [
    (-1, "cannot be negative. Received: cropping=-1"),
    ((1, 2, 3), "Received: cropping=(1, 2, 3)"),
    (1.5, "Received: cropping=1.5"),
    (((1, -2), (0, 0)), "1st (height) entry"),
])
def test_cropping_bad_arguments(cropping, fragment):
    with pytest.raises(ValueError) as error:
        layers.Cropping2D(cropping, name="crop")
    assert fragment in str(error.value) and "'crop'" in str(error.value)


def test_cropping_everything_raises_as_keras():
    with pytest.raises(ValueError, match=r"'crop'.*less than the height and width.*input_shape=\(None, 3, 4, 1\)"):
        layers.Cropping2D(((2, 1), (0, 0)), name="crop")(keras.Input((3, 4, 1)))
    layer = layers.Cropping2D(((2, 1), (0, 0)), name="crop")
    layer(torch.zeros(1, 5, 4, 1))
    with pytest.raises(ValueError, match=r"inputs.shape=\(1, 3, 4, 1\)"):
        layer(torch.zeros(1, 3, 4, 1))


# -- Reshape -----------------------------------------------------------------------------------
def test_reshape_is_row_major_and_resolves_minus_one():
    x = np.arange(24, dtype="float32").reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(run(layers.Reshape((4, -1)), x), x.reshape(1, 4, 6))
    np.testing.assert_array_equal(run(layers.Reshape((-1,)), x), x.reshape(1, 24))


def test_reshape_shapes_as_keras():
    # Keras 3.15 compute_output_shape / symbolic output shapes.
    assert layers.Reshape((2, -1)).build_for((None, 4, 4)) == (None, 2, 8)
    assert layers.Reshape((2, -1)).build_for((None, None, 4)) == (None, 2, None)
    assert layers.Reshape((2, 2)).build_for((None, 4)) == (None, 2, 2)
    assert layers.Reshape((7, -1))(keras.Input((28, 28))).shape == (None, 7, 112)


def test_reshape_works_on_an_empty_batch_and_unknown_sizes():
    assert layers.Reshape((4, -1))(torch.zeros(0, 2, 3, 4)).shape == (0, 4, 6)
    layer = layers.Reshape((2, -1))
    layer.build_for((None, None, 4))
    assert layer(torch.zeros(3, 5, 4)).shape == (3, 2, 10)


def test_reshape_config():
    # Keras 3.15 get_config() of Reshape((3, -1)), less its dtype policy.
    layer = layers.Reshape((3, -1), name="r")
    assert config_of(layer) == {"name": "r", "trainable": True, "target_shape": [3, -1]}
    assert layers.Reshape.from_config(config_of(layer)).target_shape == (3, -1)
    assert layers.Reshape([np.int64(2), 2]).target_shape == (2, 2)


@pytest.mark.parametrize("target_shape, fragment", [
    ((-1, -1), "at most one unknown dimension (-1)"),
    ((-2, 3), "non-negative integer"),
    (3, "Received: target_shape=3"),
    ((2, 1.5), "Received: target_shape=(2, 1.5)"),
])
def test_reshape_bad_target_shape(target_shape, fragment):
    with pytest.raises(ValueError) as error:
        layers.Reshape(target_shape, name="r")
    assert fragment in str(error.value) and "'r'" in str(error.value)


@pytest.mark.parametrize("target_shape, fragment", [
    ((3, 5), "must be unchanged. Received: input_shape=(4, 4), target_shape=(3, 5)"),
    ((3, -1), "cannot be divided"),
    ((0, -1), "cannot be divided"),
])
def test_reshape_size_mismatch_raises_as_keras(target_shape, fragment):
    with pytest.raises(ValueError) as error:
        layers.Reshape(target_shape, name="r")(keras.Input((4, 4)))
    assert fragment in str(error.value) and "'r'" in str(error.value)


# -- Permute -----------------------------------------------------------------------------------
def test_permute_matches_keras():
    x = np.arange(24, dtype="float32").reshape(1, 2, 3, 4)
    # Keras 3.15 (TensorFlow): Permute((3, 1, 2))(x)
    expected = [[[[0, 4, 8], [12, 16, 20]], [[1, 5, 9], [13, 17, 21]], [[2, 6, 10], [14, 18, 22]],
                 [[3, 7, 11], [15, 19, 23]]]]
    np.testing.assert_array_equal(run(layers.Permute((3, 1, 2)), x), expected)


def test_permute_shapes_and_config():
    assert layers.Permute((3, 1, 2))(keras.Input((3, 4, 5))).shape == (None, 5, 3, 4)
    assert layers.Permute((2, 1)).build_for((None, None, 64)) == (None, 64, None)
    # Keras 3.15 get_config() of Permute((2, 1)), less its dtype policy.
    layer = layers.Permute([2, 1], name="p")
    assert config_of(layer) == {"name": "p", "trainable": True, "dims": [2, 1]}
    assert layers.Permute.from_config(config_of(layer)).dims == (2, 1)


@pytest.mark.parametrize("dims", [(0, 1), (1, 3), (1, 1), 2, ("a", 1)])
def test_permute_bad_dims(dims):
    with pytest.raises(ValueError, match=r"'p'.*consecutive and start from 1. Received: dims="):
        layers.Permute(dims, name="p")


def test_permute_wrong_rank_names_the_layer():
    with pytest.raises(ValueError, match=r"'p'.*ndim=3.*\(None, 3, 4, 5\)"):
        layers.Permute((2, 1), name="p")(keras.Input((3, 4, 5)))


# -- Identity ----------------------------------------------------------------------------------
def test_identity_returns_its_inputs():
    x = torch.randn(2, 3)
    assert layers.Identity()(x) is x
    a, b = keras.Input((3,)), keras.Input((4, 5))
    outputs = layers.Identity()([a, b])
    assert [tuple(t.shape) for t in outputs] == [(None, 3), (None, 4, 5)]
    # Keras 3.15 get_config() of Identity(), less its dtype policy.
    assert layers.Identity(name="i").get_config() == {"name": "i", "trainable": True}


# -- Dense on inputs of any rank ---------------------------------------------------------------
DENSE_KERNEL = (np.arange(6, dtype="float32").reshape(2, 3) - 2.5) / 4
DENSE_BIAS = np.array([0.1, -0.2, 0.3], "float32")


def dense_inputs():
    return np.random.default_rng(2).standard_normal((2, 4, 5, 2)).astype("float32").round(3)


def test_dense_on_4d_inputs_matches_keras():
    inputs = keras.Input((4, 5, 2))
    layer = layers.Dense(3, activation="relu")
    model = keras.Model(inputs, layer(inputs))
    assert model.output.shape == (None, 4, 5, 3) and layer.count_params() == 9
    layer.set_weights([DENSE_KERNEL, DENSE_BIAS])
    out = model.predict(dense_inputs(), verbose=0)
    # Keras 3.15 (TensorFlow): the same Dense(3, "relu") on (2, 4, 5, 2) inputs.
    np.testing.assert_allclose(out[0, 0], [[0.0, 0.0, 0.0], [0.053, 0.0, 0.0], [0.0, 0.0, 0.79],
                                           [0.399875, 0.212125, 0.824375], [0.0, 0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(out[1, 3], [[0.0, 0.0, 0.105625], [0.6235, 0.2575, 0.6915], [0.0, 0.0, 0.0],
                                           [0.874, 0.7945, 1.515], [0.0, 0.0, 0.51575]], atol=1e-6)
    np.testing.assert_allclose(out.sum(), 30.117748, rtol=1e-6)


def test_dense_on_4d_inputs_gradients():
    layer = layers.Dense(3)
    layer.build_for((None, 4, 5, 2))
    layer.set_weights([DENSE_KERNEL, DENSE_BIAS])
    x = torch.tensor(dense_inputs(), requires_grad=True)
    upstream = torch.linspace(-1, 1, 2 * 4 * 5 * 3).reshape(2, 4, 5, 3)
    (layer(x) * upstream).sum().backward()
    x_np, up_np = dense_inputs(), upstream.numpy()
    np.testing.assert_allclose(layer.kernel.grad.numpy(), np.einsum("bhwi,bhwo->io", x_np, up_np), rtol=1e-5)
    np.testing.assert_allclose(layer.bias.grad.numpy(), up_np.sum(axis=(0, 1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), up_np @ DENSE_KERNEL.T, rtol=1e-5, atol=1e-6)


# -- in a model: Keras's numbers, save and load ------------------------------------------------
def reshaping_model():
    inputs = keras.Input((3, 4, 2))
    x = layers.ZeroPadding2D(((1, 0), (2, 1)), name="pad")(inputs)
    x = layers.Cropping2D(((0, 1), (1, 2)), name="crop")(x)
    x = layers.UpSampling2D((1, 2), name="up_nearest")(x)
    x = layers.UpSampling2D((2, 1), interpolation="bilinear", name="up_bilinear")(x)
    x = layers.Permute((2, 1, 3), name="permute")(x)
    x = layers.Reshape((8, -1), name="reshape")(x)
    x = layers.Identity(name="identity")(x)
    model = keras.Model(inputs, layers.Dense(2, name="dense")(x))
    kernel = ((np.arange(24, dtype="float32").reshape(12, 2) % 7) - 3) / 5
    model.get_layer("dense").set_weights([kernel, np.array([0.5, -0.25], "float32")])
    return model


# Keras 3.15 (TensorFlow): the same model's predict on default_rng(1) inputs, rounded to 5 decimals.
KERAS_RESHAPING_MODEL = [
    [[0.5, -0.25], [0.5, -0.25], [0.37765, -0.44025], [0.37765, -0.44025], [0.62235, 0.13], [0.62235, 0.13],
     [0.0489, 0.354], [0.0489, 0.354]],
    [[0.5, -0.25], [0.5, -0.25], [-0.05285, -0.7865], [-0.05285, -0.7865], [0.69615, -0.52675],
     [0.69615, -0.52675], [0.82225, 0.0235], [0.82225, 0.0235]],
]


def test_reshaping_model_matches_keras_and_saves(tmp_path):
    model = reshaping_model()
    assert [tuple(layer.output.shape) for layer in model.layers] == [  # Keras 3.15's output shapes
        (None, 3, 4, 2), (None, 4, 7, 2), (None, 3, 4, 2), (None, 3, 8, 2), (None, 6, 8, 2), (None, 8, 6, 2),
        (None, 8, 12), (None, 8, 12), (None, 8, 2)]
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 2)).astype("float32").round(3)
    predictions = model.predict(x, verbose=0)
    np.testing.assert_allclose(predictions, KERAS_RESHAPING_MODEL, atol=1e-5)
    restored = save_and_load(model, tmp_path)
    assert [type(layer).__name__ for layer in restored.layers] == [type(layer).__name__ for layer in model.layers]
    assert [layer.get_config() for layer in restored.layers[1:]] == [layer.get_config() for layer in model.layers[1:]]
    np.testing.assert_array_equal(restored.predict(x, verbose=0), predictions)


def test_reshaping_model_trains_a_step():
    model = reshaping_model()
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(1).standard_normal((4, 3, 4, 2)).astype("float32")
    before = model.get_layer("dense").get_weights()[0]
    model.train_on_batch(x, np.zeros((4, 8, 2), "float32"))
    assert not np.array_equal(model.get_layer("dense").get_weights()[0], before)
