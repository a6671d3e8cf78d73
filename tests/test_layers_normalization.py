"""LayerNormalization and GroupNormalization against Keras 3's numbers, weights and configs."""

import json

import numpy as np
import pytest
import torch

import cnnkit as keras
from cnnkit import layers, models

X3 = (np.arange(24, dtype="float32").reshape(2, 3, 4) % 5) / 2.0 - 0.7
X4 = (np.arange(48, dtype="float32").reshape(2, 2, 3, 4) % 7) / 3.0
GAMMA4 = np.array([1.0, 2.0, -1.0, 0.5], "float32")
BETA4 = np.array([0.1, 0.0, -0.2, 0.3], "float32")

# All expected values: from Keras 3.15, TensorFlow backend, same inputs and weights (set_weights).
KERAS_LN_DEFAULT = [  # LayerNormalization()(X3), weights [GAMMA4, BETA4]
    [[-1.2394993, -0.8929995, -0.6464998, 0.9697497], [1.6198885, -2.3642712, 0.3066295, 0.3844383],
     [0.7319503, 2.5278008, 1.0639004, -0.015975]],
    [[-0.0688765, 1.0132591, -1.3821355, -0.4599443], [-1.2394993, -0.8929995, -0.6464998, 0.9697497],
     [-1.2394993, -0.8929995, -0.6464998, 0.9697497]]]
KERAS_LN_AXIS1 = [  # LayerNormalization(axis=1, epsilon=1e-5, center=False)(X3), gamma [1, 2, 3]
    [[-1.3728034, -0.3922295, 1.2247081, 1.2247081], [1.9611478, -1.9611478, 0.0, 0.0],
     [1.1766887, 4.1184101, -3.6741245, -3.6741242]],
    [[1.2247081, 1.2247081, 1.2247083, -1.3728034], [0.0, 0.0, 2e-07, 1.9611478],
     [-3.6741245, -3.6741242, -3.6741242, 1.1766887]]]
KERAS_LN_AXES_1_3 = [  # LayerNormalization(axis=[1, 3])(X4), gamma and beta (2, 4) from default_rng(0)
    [[[-0.8378922, -1.1871111, -0.6992017, 0.0786362], [-0.677555, -1.3662825, 0.221288, -0.1698212],
      [-0.7997292, -1.2379141, -0.4010211, 0.1359782]],
     [[-3.0236177, 0.4242581, -2.6373076, -1.2936875], [-1.8416921, -0.3442801, -0.9743857, -0.0091791],
      [-3.4032481, -0.695648, -2.2415037, -0.9294732]]],
    [[[-0.7455617, -1.3093686, 0.015871, 0.2158109], [-0.8378922, -1.1871111, -0.6992017, 0.0786362],
      [-0.677555, -1.3662825, 0.221288, -0.1698212]],
     [[-1.4340286, -0.5796658, -1.6797113, -0.4172032], [-3.0236177, 0.4242581, -2.6373076, -1.2936875],
      [-1.8416921, -0.3442801, -0.9743857, -0.0091791]]]]
KERAS_GN_2 = [  # GroupNormalization(groups=2)(X4), weights [GAMMA4, BETA4]
    [[[-1.2620678, -1.7901464, 0.1154895, 0.4126748], [0.6059108, 1.9458106, -2.0478668, -0.3985839],
      [-0.7950732, -0.8561571, -0.4253496, 0.6830944]],
     [[1.0729053, 2.8798001, 1.1971678, -0.1281643], [-0.3280785, 0.0778322, -0.9661888, 0.9535139],
      [1.5399001, -2.7241356, 0.6563286, 0.1422552]]],
    [[[0.1, 1.1223094, -1.0542686, 0.971211], [-1.5834639, -2.2446184, 0.4101918, 0.2389808],
      [0.6611547, 2.2446187, -1.5424221, -0.4932494]],
     [[-1.0223093, -1.1223092, -0.0779617, 0.4830576], [1.2223094, 3.3669279, 1.3864987, -0.2491726],
      [-0.4611546, 0.0, -0.5661151, 0.7271343]]]]
KERAS_GN_INSTANCE = [  # GroupNormalization(groups=-1, epsilon=1e-5)(X4), default weights
    [[[-1.3887167, -0.8669127, -0.3380578, 0.2927655], [0.4629056, 1.0245332, 1.6902889, -1.4638276],
      [-0.9258111, -0.3940513, 0.1690289, 0.8782966]],
     [[0.9258111, 1.4973947, -1.3522311, -0.8782966], [-0.4629055, 0.0788102, 0.6761156, 1.4638276],
      [1.3887167, -1.3397743, -0.8451445, -0.2927655]]],
    [[[0.2927655, 0.2927656, 0.8451445, 1.3397741], [-1.4638276, -1.4638276, -0.6761154, -0.0788103],
      [0.8782966, 0.8782966, 1.3522313, -1.4973948]],
     [[-0.8782966, -0.8782965, -0.1690288, 0.3940512], [1.4638276, 1.4638276, -1.6902888, -1.0245333],
      [-0.2927655, -0.2927655, 0.338058, 0.8669126]]]]
KERAS_LN_KEYS = {"name", "trainable", "axis", "epsilon", "center", "scale", "rms_scaling", "beta_initializer",
                 "gamma_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"}
KERAS_GN_KEYS = KERAS_LN_KEYS - {"rms_scaling"} | {"groups"}


def built(layer, shape):
    layer.build_for(shape)
    return layer


def run(layer, x):
    return layer(torch.from_numpy(x)).detach().numpy()


# -- LayerNormalization ---------------------------------------------------------------------
def test_layer_normalization_over_the_last_axis_matches_keras():
    layer = built(layers.LayerNormalization(), (None, 3, 4))
    assert [w.shape for w in layer.get_weights()] == [(4,), (4,)]
    layer.set_weights([GAMMA4, BETA4])
    np.testing.assert_allclose(run(layer, X3), KERAS_LN_DEFAULT, atol=2e-6)
    assert layer(torch.from_numpy(X3), training=True).shape == (2, 3, 4)  # the same in training


def test_layer_normalization_over_a_middle_axis_matches_keras():
    layer = built(layers.LayerNormalization(axis=1, epsilon=1e-5, center=False), (None, 3, 4))
    assert [w.shape for w in layer.get_weights()] == [(3,)] and layer.count_params() == 3
    layer.set_weights([np.array([1.0, 2.0, 3.0], "float32")])
    np.testing.assert_allclose(run(layer, X3), KERAS_LN_AXIS1, atol=2e-6)


def test_layer_normalization_over_two_separate_axes_matches_keras():
    layer = built(layers.LayerNormalization(axis=[3, 1]), (None, 2, 3, 4))
    assert [w.shape for w in layer.get_weights()] == [(2, 4), (2, 4)]
    assert layer.get_config()["axis"] == [1, 3]  # sorted once built, as Keras
    rng = np.random.default_rng(0)
    layer.set_weights([rng.standard_normal((2, 4)).astype("float32"), rng.standard_normal((2, 4)).astype("float32")])
    np.testing.assert_allclose(run(layer, X4), KERAS_LN_AXES_1_3, atol=2e-6)


def test_layer_normalization_by_hand_and_its_gradient():
    x = torch.from_numpy(X4).requires_grad_()
    layer = layers.LayerNormalization(axis=(-2, -1), epsilon=0.5)
    out = layer(x)
    assert layer.count_params() == 24 and layer.get_config()["axis"] == [-2, -1]
    reference = torch.from_numpy(X4).requires_grad_()
    mean = reference.mean((-2, -1), keepdim=True)
    variance = reference.var((-2, -1), unbiased=False, keepdim=True)
    expected = (reference - mean) / torch.sqrt(variance + 0.5)
    torch.testing.assert_close(out, expected)
    (out * torch.arange(48.0).reshape(X4.shape)).sum().backward()
    (expected * torch.arange(48.0).reshape(X4.shape)).sum().backward()
    torch.testing.assert_close(x.grad, reference.grad)


def test_layer_normalization_config_as_keras(fresh_names):
    layer = layers.LayerNormalization(epsilon=1e-5, scale=False)
    config = layer.get_config()
    assert set(config) == KERAS_LN_KEYS
    assert config["axis"] == -1 and config["rms_scaling"] is False  # an int until built, as Keras
    assert config["beta_initializer"] == "zeros" and config["gamma_regularizer"] is None
    layer.build_for((None, 5))
    assert layer.get_config()["axis"] == [-1]
    assert [w.shape for w in layer.get_weights()] == [(5,)]  # beta only
    clone = layers.LayerNormalization.from_config(json.loads(json.dumps(layer.get_config())))
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("kwargs, error, message", [
    ({"axis": "x"}, TypeError, r"'layer_norm'.*list/tuple of ints.*'x'"),
    ({"epsilon": 0}, ValueError, r"`epsilon` of layer 'layer_norm'.*epsilon=0"),
    ({"gamma_regularizer": "l3"}, ValueError, r"`gamma_regularizer` of layer 'layer_norm'.*l3"),
    ({"beta_constraint": "positive"}, ValueError, r"`beta_constraint` of layer 'layer_norm'.*positive"),
    ({"rms_scaling": True}, ValueError, r"'layer_norm'.*rms_scaling"),
    ({"beta_initializer": "zero"}, ValueError, r"`beta_initializer` of layer 'layer_norm'.*'zero'.*zeros"),
])
def test_layer_normalization_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        layers.LayerNormalization(name="layer_norm", **kwargs)


def test_layer_normalization_bad_axes_for_the_input():
    with pytest.raises(ValueError, match=r"axis 3 is out of bounds for input shape \(None, 2, 3\)"):
        layers.LayerNormalization(axis=3).build_for((None, 2, 3))
    with pytest.raises(ValueError, match="batch axis"):
        layers.LayerNormalization(axis=0).build_for((None, 2, 3))


# -- GroupNormalization ---------------------------------------------------------------------
def test_group_normalization_matches_keras_channel_grouping():
    layer = built(layers.GroupNormalization(groups=2), (None, 2, 3, 4))
    assert [w.shape for w in layer.get_weights()] == [(4,), (4,)]
    layer.set_weights([GAMMA4, BETA4])
    out = layer(torch.from_numpy(X4).requires_grad_())  # as after a convolution
    np.testing.assert_allclose(out.detach().numpy(), KERAS_GN_2, atol=2e-6)
    assert out.is_contiguous()  # channels-last in, channels-last out


def test_group_normalization_minus_one_is_instance_normalization_as_keras():
    layer = built(layers.GroupNormalization(groups=-1, epsilon=1e-5), (None, 2, 3, 4))
    assert layer.get_config()["groups"] == 4
    np.testing.assert_allclose(run(layer, X4), KERAS_GN_INSTANCE, atol=2e-6)


def test_group_normalization_one_group_by_hand():
    layer = layers.GroupNormalization(groups=1, epsilon=0.0 + 1e-3)
    out = run(layer, X4)
    flat = X4.reshape(2, -1)
    expected = (flat - flat.mean(1, keepdims=True)) / np.sqrt(flat.var(1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(out.reshape(2, -1), expected, atol=1e-5)


@pytest.mark.parametrize("groups", [0, -2, 2.5, "4"])
def test_group_normalization_bad_groups(groups):
    with pytest.raises(ValueError, match=rf"`groups` of layer 'gn'.*Received: groups={groups!r}"):
        layers.GroupNormalization(groups=groups, name="gn")


@pytest.mark.parametrize("shape, message", [((None, 2, 3, 5), r"groups \(4\) must divide the number of channels \(5\)"),
                                            ((None, 2, 3, 2), r"groups \(4\) cannot be more than .* channels \(2\)"),
                                            ((None, 2, None), "should have a defined dimension")])
def test_group_normalization_groups_must_fit_the_channels(shape, message):
    with pytest.raises(ValueError, match=message):
        layers.GroupNormalization(groups=4).build_for(shape)


def test_group_normalization_config_and_numpy_groups(fresh_names):
    layer = layers.GroupNormalization(groups=np.int64(4), epsilon=1e-5, center=False)
    config = layer.get_config()
    assert set(config) == KERAS_GN_KEYS and config["groups"] == 4 and type(config["groups"]) is int
    clone = layers.GroupNormalization.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config


# -- regularizers and constraints ----------------------------------------------------------
def test_weight_regularizer_penalties_as_keras():
    layer = layers.LayerNormalization(gamma_regularizer="l2", beta_regularizer=keras.regularizers.L1(0.1))
    layer.build_for((None, 3, 4))
    layer.set_weights([GAMMA4, BETA4])
    np.testing.assert_allclose([float(loss.detach()) for loss in layer.losses], [0.0625, 0.06], rtol=1e-6)  # Keras's
    group = layers.GroupNormalization(groups=2, gamma_regularizer=keras.regularizers.L1L2(l1=0.01, l2=0.02))
    group.build_for((None, 2, 3, 4))
    group.set_weights([GAMMA4, BETA4])
    np.testing.assert_allclose([float(loss.detach()) for loss in group.losses], [0.17], rtol=1e-6)  # Keras's
    assert group.get_config()["gamma_regularizer"] == {  # Keras's entry
        "module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02},
        "registered_name": None}


def test_gamma_constraint_applies_after_each_step(fresh_names):
    """Also: group normalization right on a model's input trains (torch's CPU kernel crashed there)."""
    layer = layers.GroupNormalization(groups=2, gamma_constraint="non_neg")
    model = models.Sequential([keras.Input((2, 3, 4)), layer, layers.Flatten(), layers.Dense(1)])
    layer.set_weights([GAMMA4, BETA4])
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).standard_normal((4, 2, 3, 4)).astype("float32")
    model.fit(x, np.ones((4, 1), "float32"), epochs=1, verbose=0)
    gamma = layer.get_weights()[0]
    assert gamma[2] == 0.0 and (gamma[[0, 1, 3]] > 0).all()  # Keras: [0.996, 1.998, 0.0, 0.500]
    assert layer.get_config()["gamma_constraint"] == {"module": "keras.constraints", "class_name": "NonNeg",
                                                      "config": {}, "registered_name": None}


# -- in models ------------------------------------------------------------------------------
def test_parameter_count_as_keras(fresh_names):
    model = models.Sequential([keras.Input((8, 8, 16)), layers.GroupNormalization(groups=4),
                               layers.LayerNormalization()])
    assert model.count_params() == 64  # Keras: 64
    assert [path for path, *_ in model.weight_entries()] == [
        "group_normalization/gamma", "group_normalization/beta", "layer_normalization/gamma",
        "layer_normalization/beta"]


def test_save_and_load_inside_a_model(fresh_names, tmp_path):
    inputs = keras.Input((6, 6, 3))
    x = layers.Conv2D(8, 3)(inputs)
    x = layers.GroupNormalization(groups=4, epsilon=1e-4)(x)
    x = layers.LayerNormalization(axis=[1, 2, 3], center=False, gamma_regularizer="l2")(x)
    model = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(x)))
    rng = np.random.default_rng(1)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") for w in model.get_weights()])
    images = rng.standard_normal((3, 6, 6, 3)).astype("float32")
    model.save(tmp_path / "m.cnnkit")
    restored = models.load_model(tmp_path / "m.cnnkit")
    np.testing.assert_array_equal(restored.predict(images, verbose=0), model.predict(images, verbose=0))
    assert restored.layers[3].get_config() == model.layers[3].get_config()
