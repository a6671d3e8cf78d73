"""Dense, Flatten, Activation, Dropout, Input and the activations, against Keras's numbers."""

import numpy as np
import pytest
import torch

from cnnkit import activations, layers, models

POINTS = [-3.0, -1.0, 0.0, 0.5, 2.0]

# keras.activations.get(name)(POINTS), Keras 3.15.1 (/work/kerasenv), computed once.
KERAS_ACTIVATIONS = {
    "relu": [0.0, 0.0, 0.0, 0.5, 2.0],
    "sigmoid": [0.0474259, 0.2689414, 0.5, 0.6224594, 0.8807971],
    "tanh": [-0.9950547, -0.7615942, 0.0, 0.4621171, 0.9640276],
    "linear": [-3.0, -1.0, 0.0, 0.5, 2.0],
    "elu": [-0.950213, -0.6321205, 0.0, 0.5, 2.0],
    "selu": [-1.6705687, -1.1113307, 0.0, 0.5253505, 2.101402],
    "gelu": [-0.0040497, -0.1586553, 0.0, 0.3457312, 1.9544997],
    "swish": [-0.1422776, -0.2689414, 0.0, 0.3112297, 1.7615942],
    "softplus": [0.0485874, 0.3132617, 0.6931472, 0.974077, 2.1269281],
    "softmax": [0.0047618, 0.0351854, 0.095644, 0.1576902, 0.7067186],
}


@pytest.mark.parametrize("name", sorted(KERAS_ACTIVATIONS))
def test_activation_by_name_matches_keras(name):
    values = activations.get(name)(torch.tensor(POINTS))
    np.testing.assert_allclose(values.numpy(), KERAS_ACTIVATIONS[name], atol=1e-6)


@pytest.mark.parametrize("name", sorted(KERAS_ACTIVATIONS))
def test_activation_layer_and_serialize(name):
    layer = layers.Activation(name)
    np.testing.assert_allclose(layer(torch.tensor([POINTS])).numpy()[0], KERAS_ACTIVATIONS[name], atol=1e-6)
    assert layer.get_config()["activation"] == name


def test_softmax_is_over_the_last_axis():
    values = activations.get("softmax")(torch.zeros(2, 3, 4))
    np.testing.assert_allclose(values.numpy(), np.full((2, 3, 4), 0.25))


def test_none_is_linear_and_callables_pass_through():
    x = torch.tensor(POINTS)
    assert activations.get(None)(x) is x
    assert activations.get(torch.abs) is torch.abs


@pytest.mark.parametrize("identifier", ["rleu", "ReLU", 3])
def test_unknown_activation_lists_the_known_ones(identifier):
    with pytest.raises(ValueError, match=r"Unknown activation .*relu, softmax"):
        activations.get(identifier)


def test_custom_activation_cannot_be_serialized():
    with pytest.raises(ValueError, match="custom callable"):
        layers.Dense(2, activation=torch.abs).get_config()


# -- Dense ------------------------------------------------------------------------------------
def test_dense_by_hand():
    layer = layers.Dense(2)
    layer.build_for((None, 3))
    layer.set_weights([np.array([[1, 2], [3, 4], [5, 6]], "float32"), np.array([0.5, -0.5], "float32")])
    out = layer(torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, -1.0]])).detach().numpy()
    np.testing.assert_array_equal(out, [[9.5, 11.5], [-3.5, -4.5]])


def test_dense_over_the_last_axis_of_3d_inputs():
    layer = layers.Dense(2, use_bias=False)
    assert layer.build_for((None, 4, 3)) == (None, 4, 2)
    layer.set_weights([np.ones((3, 2), "float32")])
    assert layer(torch.ones(5, 4, 3)).shape == (5, 4, 2)


def test_dense_keras_layout_and_count():
    layer = layers.Dense(64)
    layer.build_for((None, 576))
    assert [w.shape for w in layer.get_weights()] == [(576, 64), (64,)]
    assert layer.count_params() == 36928


@pytest.mark.parametrize("units", [0, -1, 2.5, True, "8"])
def test_dense_bad_units_name_layer_and_value(units):
    with pytest.raises(ValueError, match=rf"'my_dense'.*units={units!r}"):
        layers.Dense(units, name="my_dense")


def test_dense_on_unknown_last_dimension_names_the_layer():
    with pytest.raises(ValueError, match=r"'d'.*\(None, None\)"):
        layers.Dense(2, name="d").build_for((None, None))


# -- Flatten and the Keras weight layouts ---------------------------------------------------
def test_flatten_is_channels_last_row_major():
    x = torch.arange(2 * 2 * 3, dtype=torch.float32).reshape(1, 2, 2, 3)
    np.testing.assert_array_equal(layers.Flatten()(x).numpy(), np.arange(12).reshape(1, 12))
    assert layers.Flatten().build_for((None, 3, 3, 64)) == (None, 576)


def test_flatten_after_conv_matches_numpy_channels_last_order():
    model = models.Sequential([layers.Input((3, 3, 1)), layers.Conv2D(2, 1, use_bias=False), layers.Flatten()])
    model.set_weights([np.array([[[[1.0, -1.0]]]], "float32")])  # filter 0 copies, filter 1 negates
    x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    expected = np.stack([x[0, :, :, 0], -x[0, :, :, 0]], axis=-1).reshape(1, 18)  # (h, w, c) order
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)


def tiny_keras_weights():
    """Weights and inputs of the Keras reference model, from a fixed NumPy stream."""
    rng = np.random.RandomState(0)
    shapes = [(2, 2, 2, 3), (3,), (18, 2), (2,)]
    weights = [np.round(rng.uniform(-1, 1, shape), 2).astype("float32") for shape in shapes]
    inputs = np.round(rng.uniform(-1, 1, (3, 4, 3, 2)), 2).astype("float32")
    return weights, inputs


def test_conv_flatten_dense_with_keras_weights_predicts_as_keras():
    # keras.Sequential([Input((4, 3, 2)), Conv2D(3, 2), Flatten(), Dense(2)]).set_weights(w).predict(x)
    keras_predictions = [[3.404196, -0.27783802], [-4.5610514, -1.8136746], [1.3228681, 1.2645059]]
    weights, inputs = tiny_keras_weights()
    model = models.Sequential([layers.Input((4, 3, 2)), layers.Conv2D(3, 2), layers.Flatten(), layers.Dense(2)])
    model.set_weights(weights)
    np.testing.assert_allclose(model.predict(inputs, verbose=0), keras_predictions, rtol=1e-5, atol=1e-6)
    for got, given in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, given)


# -- Dropout, Input ---------------------------------------------------------------------------
def test_dropout_scales_in_training_and_passes_through_in_inference():
    torch.manual_seed(0)
    layer = layers.Dropout(0.5)
    x = torch.ones(1000)
    out = layer(x, training=True)
    assert set(out.unique().tolist()) == {0.0, 2.0}
    assert 400 < int((out == 0).sum()) < 600
    assert layer(x) is x  # inference by default, as in Keras
    assert layer(x, training=False) is x


@pytest.mark.parametrize("rate", [-0.1, 1.5, "half"])
def test_dropout_bad_rate(rate):
    with pytest.raises(ValueError, match=rf"'drop'.*rate={rate!r}"):
        layers.Dropout(rate, name="drop")


def test_input_declares_the_shape():
    model = models.Sequential([layers.Input(shape=(28, 28, 1)), layers.Flatten()])
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 784)


def test_input_shape_must_be_a_tuple():
    with pytest.raises(ValueError, match="shape=28"):
        layers.Input(28)


def test_layer_rejects_other_dtypes():
    with pytest.raises(ValueError, match="float16"):
        layers.Dense(2, dtype="float16")


def test_trainable_false_freezes_the_weights():
    layer = layers.Dense(2)
    layer.trainable = False
    layer.build_for((None, 3))
    assert not any(p.requires_grad for p in layer.parameters())
