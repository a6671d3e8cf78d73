"""ReLU, LeakyReLU, PReLU, ELU and Softmax layers against Keras's values, gradients and configs.

Literal expected values are from Keras 3.15, TensorFlow backend, computed once with the same inputs
and weights (gradients with tf.GradientTape).
"""

import json
import warnings

import numpy as np
import pytest
import torch

import cnnkit as keras
from cnnkit import layers, models

POINTS = [-3.0, -1.5, -0.5, 0.0, 0.25, 0.5, 1.0, 2.0, 7.0]


def values_and_gradients(layer, points=POINTS):
    x = torch.tensor(points, requires_grad=True)
    y = layer(x)
    y.sum().backward()
    return y.detach().numpy(), x.grad.numpy()


def config_of(layer):
    return json.loads(json.dumps(layer.get_config()))


def sample_images():
    """(2, 2, 3, 4) inputs: default_rng(1) normal values rounded to 4 decimals (none is 0)."""
    return np.random.default_rng(1).standard_normal((2, 2, 3, 4)).astype("float32").round(4)


# -- ReLU --------------------------------------------------------------------------------------
# Keras 3.15 (TensorFlow): ReLU(**kwargs)(POINTS) and the gradient of its sum.
KERAS_RELU = [
    ({}, [0.0, 0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 2.0, 7.0], [0, 0, 0, 0, 1, 1, 1, 1, 1]),
    ({"max_value": 6.0}, [0.0, 0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 2.0, 6.0], [0, 0, 0, 0, 1, 1, 1, 1, 0]),
    ({"max_value": 1.0}, [0.0, 0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 1.0, 1.0], [0, 0, 0, 0, 1, 1, 1, 0, 0]),
    ({"negative_slope": 0.1}, [-0.3, -0.15, -0.05, 0.0, 0.25, 0.5, 1.0, 2.0, 7.0],
     [0.1, 0.1, 0.1, 0.1, 1, 1, 1, 1, 1]),
    ({"threshold": 0.5}, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 7.0], [0, 0, 0, 0, 0, 0, 1, 1, 1]),
    ({"max_value": 1.5, "negative_slope": 0.2, "threshold": 0.5}, [-0.7, -0.4, -0.2, -0.1, -0.05, 0.0, 1.0, 1.5, 1.5],
     [0.2, 0.2, 0.2, 0.2, 0.2, 0.0, 1.0, 0.0, 0.0]),
    ({"negative_slope": 0.3, "threshold": 1.0}, [-1.2, -0.75, -0.45, -0.3, -0.225, -0.15, 0.0, 2.0, 7.0],
     [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.0, 1.0, 1.0]),
]


@pytest.mark.parametrize("kwargs, expected, gradient", KERAS_RELU)
def test_relu_values_and_gradients_match_keras(kwargs, expected, gradient):
    values, grads = values_and_gradients(layers.ReLU(**kwargs))
    np.testing.assert_allclose(values, expected, atol=1e-6)
    np.testing.assert_allclose(grads, gradient, atol=1e-6)


def test_relu_config_as_keras():
    # Keras 3.15 get_config(), less its dtype policy.
    assert layers.ReLU(name="r").get_config() == {"name": "r", "trainable": True, "max_value": None,
                                                  "negative_slope": 0.0, "threshold": 0.0}
    layer = layers.ReLU(max_value=6, negative_slope=0.1, threshold=0.5, name="r")
    assert config_of(layer) == {"name": "r", "trainable": True, "max_value": 6.0, "negative_slope": 0.1,
                                "threshold": 0.5}
    assert layers.ReLU.from_config(config_of(layer)).get_config() == layer.get_config()


@pytest.mark.parametrize("kwargs, fragment", [
    ({"max_value": -1}, "max_value=-1"),
    ({"negative_slope": -0.1}, "negative_slope=-0.1"),
    ({"negative_slope": None}, "negative_slope=None"),
    ({"threshold": -1}, "threshold=-1"),
    ({"threshold": None}, "threshold=None"),
    ({"max_value": "6"}, "max_value='6'"),
])
def test_relu_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError) as error:
        layers.ReLU(name="r", **kwargs)
    assert f"Received: {fragment}" in str(error.value) and "'r'" in str(error.value)


# -- LeakyReLU ---------------------------------------------------------------------------------
def test_leaky_relu_default_slope_is_keras_3s():
    # Keras 3.15: LeakyReLU()(POINTS); the layer's default slope is 0.3 (the function's is 0.2).
    values, grads = values_and_gradients(layers.LeakyReLU())
    np.testing.assert_allclose(values, [-0.9, -0.45, -0.15, 0.0, 0.25, 0.5, 1.0, 2.0, 7.0], atol=1e-6)
    np.testing.assert_allclose(grads, [0.3, 0.3, 0.3, 0.3, 1, 1, 1, 1, 1], atol=1e-6)
    values, _ = values_and_gradients(layers.LeakyReLU(negative_slope=0.1))
    np.testing.assert_allclose(values, [-0.3, -0.15, -0.05, 0.0, 0.25, 0.5, 1.0, 2.0, 7.0], atol=1e-6)


def test_leaky_relu_config_and_deprecated_alpha():
    # Keras 3.15 get_config(), less its dtype policy.
    assert layers.LeakyReLU(name="l").get_config() == {"name": "l", "trainable": True, "negative_slope": 0.3}
    with pytest.warns(UserWarning, match="`alpha` of LeakyReLU is deprecated"):
        layer = layers.LeakyReLU(alpha=0.2)
    assert layer.negative_slope == 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert layers.LeakyReLU.from_config(layer.get_config()).negative_slope == 0.2


@pytest.mark.parametrize("slope", [-1, None, "0.3"])
def test_leaky_relu_bad_slope(slope):
    with pytest.raises(ValueError, match=rf"'l'.*Received: negative_slope={slope!r}"):
        layers.LeakyReLU(negative_slope=slope, name="l")


# -- ELU ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha, expected, gradient", [
    # Keras 3.15 (TensorFlow): ELU(alpha)(POINTS) and the gradient of its sum.
    (1.0, [-0.950213, -0.77687, -0.393469, 0.0, 0.25, 0.5, 1.0, 2.0, 7.0],
     [0.049787, 0.22313, 0.606531, 1.0, 1, 1, 1, 1, 1]),
    (0.5, [-0.475106, -0.388435, -0.196735, 0.0, 0.25, 0.5, 1.0, 2.0, 7.0],
     [0.024894, 0.111565, 0.303265, 0.5, 1, 1, 1, 1, 1]),
])
def test_elu_values_and_gradients_match_keras(alpha, expected, gradient):
    values, grads = values_and_gradients(layers.ELU(alpha=alpha))
    np.testing.assert_allclose(values, expected, atol=1e-6)
    np.testing.assert_allclose(grads, gradient, atol=1e-6)


def test_elu_config():
    # Keras 3.15 get_config() of ELU(alpha=0.5), less its dtype policy.
    layer = layers.ELU(alpha=0.5, name="e")
    assert layer.get_config() == {"name": "e", "trainable": True, "alpha": 0.5}
    assert layers.ELU.from_config(config_of(layer)).alpha == 0.5
    with pytest.raises(ValueError, match=r"'e'.*Received: alpha='1'"):
        layers.ELU(alpha="1", name="e")


# -- Softmax -----------------------------------------------------------------------------------
# Keras 3.15 (TensorFlow): Softmax(axis)(sample_images()), rounded to 7 decimals.
KERAS_SOFTMAX = {
    -1: [[[[0.2640739, 0.4250594, 0.2600903, 0.0507763], [0.3859054, 0.2438596, 0.0912125, 0.2790225],
           [0.2600008, 0.242302, 0.1857654, 0.3119318]],
          [[0.127138, 0.2256248, 0.1639684, 0.4832689], [0.344805, 0.2473438, 0.1516202, 0.256231],
           [0.1236743, 0.0931258, 0.4474887, 0.3357112]]],
         [[[0.0387978, 0.0882844, 0.4901752, 0.3827427], [0.1113166, 0.1117292, 0.7473836, 0.0295705],
           [0.05597, 0.629683, 0.1558847, 0.1584623]],
          [[0.1936834, 0.0623102, 0.3828812, 0.3611252], [0.1384064, 0.238506, 0.439481, 0.1836064],
           [0.2486256, 0.3017952, 0.2842484, 0.1653308]]]],
    1: [[[[0.7468912, 0.7280002, 0.692642, 0.1298823], [0.7038502, 0.6767552, 0.5609208, 0.698107],
          [0.588193, 0.638694, 0.2199942, 0.3869858]],
         [[0.2531088, 0.2719998, 0.307358, 0.8701177], [0.2961498, 0.3232447, 0.4390792, 0.3018929],
          [0.4118071, 0.361306, 0.7800058, 0.6130142]]],
        [[[0.1000022, 0.4400646, 0.4152509, 0.370237], [0.8086094, 0.7110523, 0.8993298, 0.4582972],
          [0.4306254, 0.8751519, 0.6481917, 0.7630366]],
         [[0.8999978, 0.5599354, 0.5847491, 0.629763], [0.1913905, 0.2889478, 0.1006702, 0.541703],
          [0.5693746, 0.1248481, 0.3518083, 0.2369635]]]],
    (1, 2): [[[[0.1799079, 0.301853, 0.1800729, 0.0297975], [0.3148968, 0.2074188, 0.0756382, 0.1961195],
               [0.1833588, 0.1781169, 0.1331347, 0.1894877]],
              [[0.0609678, 0.1127801, 0.0799069, 0.1996218], [0.132495, 0.0990713, 0.0592083, 0.0848109],
               [0.1283736, 0.1007599, 0.472039, 0.3001626]]],
             [[[0.0175459, 0.0138689, 0.0590836, 0.1302882], [0.3268881, 0.1139717, 0.5849654, 0.0653625],
               [0.1809857, 0.7072965, 0.1343506, 0.3856957]],
              [[0.1579088, 0.0176467, 0.0832005, 0.2216166], [0.0773715, 0.0463143, 0.0654805, 0.0772579],
               [0.2393, 0.100902, 0.0729193, 0.119779]]]],
}


@pytest.mark.parametrize("axis", [-1, 1, (1, 2)], ids=str)
def test_softmax_matches_keras(axis):
    out = layers.Softmax(axis=axis)(sample_images()).numpy()
    np.testing.assert_allclose(out, KERAS_SOFTMAX[axis], atol=2e-7)


# Keras 3.15 (TensorFlow): gradient of sum(Softmax(axis)(sample_images()) * arange(48).reshape(2, 2, 3, 4) / 10).
KERAS_SOFTMAX_GRADIENTS = {
    -1: [[[[-0.028984, -0.004147, 0.023471, 0.00966], [-0.048753, -0.006422, 0.006719, 0.048456],
           [-0.04029, -0.013318, 0.008366, 0.045242]],
          [[-0.02547, -0.022638, -5.5e-05, 0.048164], [-0.045489, -0.007897, 0.010321, 0.043065],
           [-0.024676, -0.009268, 0.000213, 0.033731]]],
         [[[-0.008601, -0.010743, -0.01063, 0.029974], [-0.01887, -0.007767, 0.02278, 0.003858],
           [-0.00793, -0.026248, 0.009091, 0.025087]],
          [[-0.037022, -0.005679, 0.003391, 0.039311], [-0.02309, -0.015939, 0.014578, 0.024451],
           [-0.033969, -0.011054, 0.018013, 0.02701]]]],
    (1, 2): [[[[-0.146543, -0.217585, -0.228956, -0.035924], [-0.130539, -0.066546, -0.065916, -0.157995],
               [-0.002667, 0.014101, -0.062768, -0.076858]],
              [[0.0235, 0.054041, -0.00571, -0.001119], [0.104069, 0.0871, 0.019452, 0.033449],
               [0.152181, 0.128889, 0.343898, 0.238447]]],
             [[[-0.018729, -0.0126, -0.040881, -0.125573], [-0.218175, -0.057956, -0.17076, -0.036852],
               [-0.048401, -0.076748, 0.014521, -0.063182]],
              [[0.020934, 0.005144, 0.042273, 0.052343], [0.041206, 0.032026, 0.059462, 0.049151],
               [0.223164, 0.110134, 0.095385, 0.124114]]]],
}


@pytest.mark.parametrize("axis", [-1, (1, 2)], ids=str)
def test_softmax_gradients_match_keras(axis):
    x = torch.tensor(sample_images(), requires_grad=True)
    (layers.Softmax(axis=axis)(x) * torch.arange(48.0).reshape(2, 2, 3, 4) / 10).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), KERAS_SOFTMAX_GRADIENTS[axis], atol=2e-6)


def test_softmax_config_and_errors():
    # Keras 3.15 get_config(), less its dtype policy.
    assert layers.Softmax(name="s").get_config() == {"name": "s", "trainable": True, "axis": -1}
    layer = layers.Softmax(axis=(1, 2), name="s")
    assert layer.get_config() == {"name": "s", "trainable": True, "axis": (1, 2)}
    assert layers.Softmax.from_config(config_of(layer)).axis == (1, 2)
    assert layers.Softmax(axis=np.int64(1)).axis == 1
    with pytest.raises(ValueError, match=r"'s'.*Received: axis='x'"):
        layers.Softmax(axis="x", name="s")
    with pytest.raises(ValueError, match=r"'s'.*\(None, 4\)"):
        layers.Softmax(axis=2, name="s")(keras.Input((4,)))


# -- PReLU -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, shape, count", [
    # Keras 3.15: PReLU(**kwargs).build((None, 2, 3, 4)): weight shapes and count_params().
    ({}, (2, 3, 4), 24),
    ({"shared_axes": [1, 2]}, (1, 1, 4), 4),
    ({"shared_axes": 1}, (1, 3, 4), 12),
])
def test_prelu_weight_layout_as_keras(kwargs, shape, count):
    layer = layers.PReLU(name="p", **kwargs)
    layer.build_for((None, 2, 3, 4))
    assert [w.shape for w in layer.get_weights()] == [shape] and layer.count_params() == count
    assert [path for path, *_ in layer.weight_entries()] == ["alpha"]
    np.testing.assert_array_equal(layer.get_weights()[0], np.zeros(shape))  # "Zeros" by default


def test_prelu_initializer_by_keras_class_name():
    layer = layers.PReLU(alpha_initializer="Ones")
    layer.build_for((None, 3))
    np.testing.assert_array_equal(layer.get_weights()[0], [1, 1, 1])


PRELU_CHANNEL_ALPHA = np.array([[[0.1, -0.2, 0.5, 2.0]]], "float32")


def test_prelu_per_channel_values_and_gradients_match_keras():
    layer = layers.PReLU(shared_axes=[1, 2])
    layer.build_for((None, 2, 3, 4))
    layer.set_weights([PRELU_CHANNEL_ALPHA])
    x = torch.tensor(sample_images(), requires_grad=True)
    out = layer(x)
    (out * torch.arange(24.0).reshape(2, 3, 4)).sum().backward()
    # Keras 3.15 (TensorFlow): output [0, 1], and gradients of sum(output * arange(24).reshape(2, 3, 4)).
    np.testing.assert_allclose(out[0, 1].detach().numpy(), [
        [-0.07365, 0.03258, -0.24105, 0.5988], [0.0397, 0.0585, -0.39095, -0.5144], [0.0081, 0.05512, 1.2941, 1.0067]],
        atol=1e-6)
    np.testing.assert_allclose(layer.alpha.grad.numpy(), [[[-39.6312, -47.8065, -25.6912, -47.4431]]], rtol=1e-5)
    np.testing.assert_allclose(x.grad[1].numpy(), [
        [[0.0, -0.2, 1.0, 6.0], [4.0, 5.0, 6.0, 14.0], [0.8, 9.0, 10.0, 11.0]],
        [[1.2, -2.6, 14.0, 15.0], [1.6, -3.4, 9.0, 38.0], [2.0, 21.0, 22.0, 46.0]]], atol=1e-5)
    assert out.is_contiguous()


def test_prelu_per_value_values_and_gradients_match_keras():
    layer = layers.PReLU()
    layer.build_for((None, 2, 3))
    layer.set_weights([np.array([[0.1, -0.2, 0.5], [2.0, 0.3, 1.0]], "float32")])
    x = torch.tensor(sample_images()[:, 0, :2, :3], requires_grad=True)
    out = layer(x)
    (out * torch.arange(1.0, 7.0).reshape(2, 3)).sum().backward()
    # Keras 3.15 (TensorFlow): the same PReLU, output and gradients of sum(output * arange(1, 7).reshape(2, 3)).
    np.testing.assert_allclose(out.detach().numpy(), [
        [[0.3456, 0.8216, 0.3304], [0.9054, 0.4464, -0.537]],
        [[-0.27112, 0.3778, -0.0874], [0.2136, 0.2173, 2.1178]]], atol=1e-6)
    np.testing.assert_allclose(layer.alpha.grad.numpy(), [[-2.7112, -3.778, -0.5244], [0.0, 0.0, -3.222]], rtol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), [[[1, 2, 3], [4, 5, 6]], [[0.1, -0.4, 1.5], [4, 5, 6]]], atol=1e-6)


def test_prelu_config():
    layer = layers.PReLU(shared_axes=1, name="p")
    # Keras 3.15 get_config(), less its dtype policy; the initializer as a cnnkit name (Keras writes
    # {"class_name": "Zeros", ...}).
    assert layer.get_config() == {"name": "p", "trainable": True, "alpha_initializer": "zeros",
                                  "alpha_regularizer": None, "alpha_constraint": None, "shared_axes": [1]}
    assert layers.PReLU.from_config(config_of(layer)).get_config() == layer.get_config()


def test_prelu_regularizer_and_constraint_as_keras():
    layer = layers.PReLU(alpha_regularizer="l2", alpha_constraint="non_neg", shared_axes=[1, 2], name="p")
    inputs = keras.Input((2, 3, 4))
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights([PRELU_CHANNEL_ALPHA])
    # Keras 3.15 (TensorFlow): the same layer's losses, config, and train_on_batch (sgd, mse, zero targets).
    np.testing.assert_allclose([float(loss.detach()) for loss in layer.losses], [0.043], rtol=1e-6)
    config = config_of(layer)
    assert config["alpha_regularizer"] == {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01},
                                           "registered_name": None}
    assert config["alpha_constraint"] == {"module": "keras.constraints", "class_name": "NonNeg", "config": {},
                                          "registered_name": None}
    assert layers.PReLU.from_config(config).get_config() == layer.get_config()
    model.compile(optimizer="sgd", loss="mse")
    loss = model.train_on_batch(sample_images(), np.zeros((2, 2, 3, 4), "float32"))
    np.testing.assert_allclose(loss, 0.740245, rtol=1e-5)
    np.testing.assert_allclose(layer.get_weights()[0], [[[0.099571, 0.0, 0.499657, 1.995993]]], atol=1e-6)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"alpha_initializer": "nope"}, "alpha_initializer='nope'"),
    ({"shared_axes": 0}, "shared_axes=0"),
    ({"shared_axes": [1, "2"]}, "shared_axes=[1, '2']"),
])
def test_prelu_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError) as error:
        layers.PReLU(name="p", **kwargs)
    assert fragment in str(error.value) and "'p'" in str(error.value)


def test_prelu_input_checks():
    with pytest.raises(ValueError, match=r"'p'.*shared_axes.*\(None, 3, 4\)"):
        layers.PReLU(shared_axes=[3], name="p")(keras.Input((3, 4)))
    with pytest.raises(ValueError, match=r"'p'.*known sizes.*\(None, None, 4\)"):
        layers.PReLU(name="p")(keras.Input((None, 4)))
    assert layers.PReLU(shared_axes=1)(keras.Input((None, 4))).shape == (None, None, 4)
    layer = layers.PReLU(name="p")
    layer(keras.Input((3, 4)))
    with pytest.raises(ValueError, match=r"'p'.*alpha \(3, 4\)"):
        layer(keras.Input((5, 4)))


# -- in a model: Keras's numbers, save and load ------------------------------------------------
def activations_model():
    inputs = keras.Input((2, 3, 4))
    x = layers.ReLU(max_value=1.5, negative_slope=0.2, threshold=0.5, name="relu")(inputs)
    x = layers.LeakyReLU(name="leaky")(x)
    x = layers.PReLU(shared_axes=[1, 2], name="prelu_channels")(x)
    x = layers.ELU(alpha=0.5, name="elu")(x)
    x = layers.PReLU(name="prelu_full")(x)
    model = keras.Model(inputs, layers.Softmax(axis=(1, 2), name="softmax")(x))
    model.get_layer("prelu_channels").set_weights([np.array([[[0.5, -1.0, 2.0, 0.25]]], "float32")])
    model.get_layer("prelu_full").set_weights([(np.arange(24, dtype="float32").reshape(2, 3, 4) - 12) / 8])
    return model


# Keras 3.15 (TensorFlow): the same model's predict on default_rng(3) inputs, rounded to 6 decimals.
KERAS_ACTIVATIONS_MODEL = [
    [[[0.402511, 0.102976, 0.178828, 0.169106], [0.091685, 0.077766, 0.090735, 0.167565],
      [0.091277, 0.329586, 0.077567, 0.167002]],
     [[0.089812, 0.082105, 0.074949, 0.166221], [0.235503, 0.07798, 0.347382, 0.16584],
      [0.089211, 0.329586, 0.23054, 0.164267]]],
    [[[0.099479, 0.14592, 0.345417, 0.082246], [0.099018, 0.221862, 0.084291, 0.081946],
      [0.43734, 0.158073, 0.077433, 0.311382]],
     [[0.097584, 0.221862, 0.074683, 0.080683], [0.169645, 0.20095, 0.072758, 0.080154],
      [0.096935, 0.051334, 0.345417, 0.363588]]],
]


def test_activations_model_matches_keras_and_saves(tmp_path):
    model = activations_model()
    # Keras 3.15: weight paths and parameter count of the same model.
    assert [path for path, *_ in model.weight_entries()] == ["prelu_channels/alpha", "prelu_full/alpha"]
    assert model.count_params() == 28
    x = (np.random.default_rng(3).standard_normal((2, 2, 3, 4)) * 2).astype("float32").round(3)
    predictions = model.predict(x, verbose=0)
    np.testing.assert_allclose(predictions, KERAS_ACTIVATIONS_MODEL, atol=1e-6)
    path = tmp_path / "model.cnnkit"
    model.save(path)
    restored = models.load_model(path)
    assert [layer.get_config() for layer in restored.layers[1:]] == [layer.get_config() for layer in model.layers[1:]]
    np.testing.assert_array_equal(restored.predict(x, verbose=0), predictions)


def test_prelu_learns_in_fit():
    model = activations_model()
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(4).standard_normal((8, 2, 3, 4)).astype("float32")
    before = model.get_layer("prelu_full").get_weights()[0]
    model.fit(x, np.full((8, 2, 3, 4), 1 / 24, "float32"), epochs=1, batch_size=4, verbose=0)
    assert not np.array_equal(model.get_layer("prelu_full").get_weights()[0], before)
