"""cnnkit.constraints and their application after each optimizer step, against Keras 3.15's numbers
(TensorFlow backend): projections of fixed weights, weights after constrained training steps
(on Keras's layout of every convolution kind), configs, save and load."""

import numpy as np
import pytest
import torch

import cnnkit as keras
from cnnkit import constraints, layers
from cnnkit.constraints import MaxNorm, MinMaxNorm, NonNeg, UnitNorm

# default_rng(0): m (4, 3), then k (2, 2, 3, 4), float32
_RNG = np.random.default_rng(0)
M = _RNG.standard_normal((4, 3)).astype("float32")
K = _RNG.standard_normal((2, 2, 3, 4)).astype("float32")


def project(constraint, array):
    return constraint(torch.from_numpy(array)).numpy()


# -- projections ----------------------------------------------------------------------------------
def test_projections_match_keras():
    # from Keras 3.15, TensorFlow backend
    np.testing.assert_allclose(project(MaxNorm(), M), M * (1 / (1 + 1e-7 / np.linalg.norm(M, axis=0))), rtol=1e-6)
    np.testing.assert_allclose(project(MinMaxNorm(0.5, 1.0, rate=0.7), M), [
        [0.08595959097146988, -0.11297161877155304, 0.6321735382080078],
        [0.07171840965747833, -0.45808637142181396, 0.356937438249588],
        [0.8915224671363831, 0.8099116683006287, -0.6946706175804138],
        [-0.8651469945907593, -0.5330032706260681, 0.04079366847872734]], rtol=1e-6)
    np.testing.assert_allclose(project(UnitNorm(), M), [
        [0.06891504675149918, -0.10477166622877121, 0.6286382079124451],
        [0.05749768391251564, -0.42483654618263245, 0.35494133830070496],
        [0.7147464156150818, 0.751124918460846, -0.6907857656478882],
        [-0.6936008334159851, -0.49431565403938293, 0.04056553542613983]], rtol=1e-6)
    np.testing.assert_allclose(project(UnitNorm(axis=1), M), [
        [0.1888170689344406, -0.19839027523994446, 0.9617635011672974],
        [0.1602141261100769, -0.8181288242340088, 0.5522648096084595],
        [0.7415050864219666, 0.5385470390319824, -0.4001712203025818],
        [-0.896702229976654, -0.44166436791419983, 0.029284389689564705]], rtol=1e-6)
    np.testing.assert_array_equal(project(NonNeg(), M), np.maximum(M, 0))
    expected_k = np.array([  # MaxNorm(1.5, axis=[0, 1, 2]) on a Conv2D kernel: each filter's norm at most 1.5
        -0.9951024651527405, -0.1205039843916893, -0.5505252480506897, -0.3238496780395508,
        -0.23294034600257874, -0.17420877516269684, 0.18188539147377014, 0.4610578417778015,
        -0.05501224100589752, 0.7526077032089233, -0.2939266562461853, 0.15545745193958282,
        0.38668105006217957, 0.05177919566631317, -0.3285267651081085, -0.4076386094093323,
        -0.19590453803539276, 0.12127697467803955, -0.44611555337905884, -0.09250915795564651,
        -0.06814756989479065, 0.29788175225257874, 0.09485048800706863, 0.15716572105884552,
        -0.27983564138412476, -0.07138736546039581, 0.3464118242263794, 0.6604788899421692,
        -0.5388742089271545, 0.8338245153427124, 0.594696044921875, 0.3455396890640259,
        0.11318578571081161, -0.17289942502975464, 0.6442492008209229, 0.8669360876083374,
        0.7710914015769958, 0.7243202924728394, 0.15791411697864532, -0.534386157989502,
        -0.001906348392367363, 0.36156702041625977, -0.5692826509475708, 0.174745112657547,
        0.18397967517375946, 0.38335976004600525, -0.5232210159301758, -0.2926419675350189]).reshape(K.shape)
    np.testing.assert_allclose(project(MaxNorm(1.5, axis=[0, 1, 2]), K), expected_k, rtol=1e-6, atol=1e-7)


def test_projections_by_hand():
    w = torch.tensor([[3.0, 0.3], [4.0, 0.4]])  # column norms 5 and 0.5
    np.testing.assert_allclose(MaxNorm(1.0)(w).numpy(), [[0.6, 0.3], [0.8, 0.4]], rtol=1e-6)
    np.testing.assert_allclose(MinMaxNorm(1.0, 2.0)(w).numpy(), [[1.2, 0.6], [1.6, 0.8]], rtol=1e-6)
    np.testing.assert_allclose(UnitNorm()(w).numpy(), [[0.6, 0.6], [0.8, 0.8]], rtol=1e-6)
    assert constraints.Constraint()(w) is w


def test_get_serialize_and_defaults():
    # Keras 3.15's defaults and configs
    assert MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    assert UnitNorm().get_config() == {"axis": 0} and NonNeg().get_config() == {}
    assert constraints.max_norm is MaxNorm and constraints.min_max_norm is MinMaxNorm
    assert constraints.non_neg is NonNeg and constraints.unit_norm is UnitNorm
    for name, cls in (("max_norm", MaxNorm), ("min_max_norm", MinMaxNorm), ("non_neg", NonNeg),
                      ("unit_norm", UnitNorm), ("MaxNorm", MaxNorm)):
        assert type(constraints.get(name)) is cls
    assert constraints.get(None) is None
    assert constraints.serialize(MaxNorm(3)) == {  # from Keras 3.15
        "module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": 3, "axis": 0},
        "registered_name": None}
    back = constraints.get(constraints.serialize(MinMaxNorm(0.1, 0.2, 0.5, [0, 1])))
    assert type(back) is MinMaxNorm and back.get_config() == {"min_value": 0.1, "max_value": 0.2, "rate": 0.5,
                                                              "axis": [0, 1]}
    with pytest.raises(ValueError, match="Could not interpret constraint identifier: maxnorm"):
        constraints.get("maxnorm")


# -- applied after each optimizer step ----------------------------------------------------------------
X = np.random.default_rng(1).standard_normal((6, 5, 5, 1)).astype("float32")
Y = np.eye(2, dtype="float32")[[0, 1, 1, 1, 0, 0]]


def seed_weights(model, scale):
    rng = np.random.default_rng(0)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") * scale for w in model.get_weights()])
    return model


def build_constrained_net():
    inputs = keras.Input((5, 5, 1), name="image")
    x = layers.Conv2D(3, 2, activation="relu", kernel_regularizer="l2", bias_regularizer=keras.regularizers.L1(0.02),
                      activity_regularizer=keras.regularizers.L1(0.001), kernel_constraint=MaxNorm(0.5, axis=[0, 1, 2]),
                      bias_constraint=NonNeg(), name="conv")(inputs)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(2, activation="softmax", kernel_regularizer=keras.regularizers.L1L2(0.01, 0.02),
                           activity_regularizer=keras.regularizers.L2(0.05), kernel_constraint=UnitNorm(),
                           bias_constraint=MinMaxNorm(0.1, 0.2, rate=0.5), name="dense")(x)
    model = seed_weights(keras.Model(inputs, outputs, name="net"), 0.3)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    return model


def test_fit_applies_constraints_after_each_step_as_keras():
    model = build_constrained_net()
    history = model.fit(X, Y, batch_size=3, epochs=2, shuffle=False, verbose=0)
    # from Keras 3.15, TensorFlow backend
    assert history.history["loss"] == pytest.approx([0.8226850628852844, 0.8366567492485046], rel=1e-6)
    kernel, bias, dense_kernel, dense_bias = model.get_weights()
    np.testing.assert_allclose(kernel.reshape(-1), [
        0.05559279, 0.00143499, 0.17345692, 0.03552514, -0.1662171, 0.12986545,
        0.32898736, 0.297808, -0.20997481, -0.34625822, -0.20513278, 0.00639646], atol=2e-7)
    np.testing.assert_allclose(bias, [0.0, 0.0, 0.00379231], atol=2e-7)
    np.testing.assert_allclose(dense_kernel.reshape(-1), [
        -0.3748484, -0.19466636, -0.20607723, 0.26519415, 0.45403013, -0.05614781, 0.59127057, -0.3053933,
        0.12497408, 0.45089048, 0.01765902, -0.32841545, -0.40209973, -0.21143109, 0.07667582, -0.45754203,
        -0.11433279, -0.04381341, 0.218786, 0.11206695, 0.1105174, -0.26242173, -0.06803846, 0.38315624],
        atol=2e-7)
    np.testing.assert_allclose(dense_bias, [0.16209847, -0.12716019], atol=2e-7)
    # and what the constraints promise
    assert np.all(np.linalg.norm(kernel.reshape(-1, 3), axis=0) <= 0.5 + 1e-6)
    np.testing.assert_allclose(np.linalg.norm(dense_kernel, axis=0), 1.0, rtol=1e-5)


def unchanged_but_constrained(layer, input_shape=(5, 5, 2)):
    """The weights after one SGD step with learning rate 0: only the constraints change them."""
    model = seed_weights(keras.Sequential([keras.Input(input_shape), layer, layers.GlobalAveragePooling2D()]), 0.5)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    x = np.random.default_rng(2).standard_normal((2, *input_shape)).astype("float32")
    model.train_on_batch(x, np.zeros((2, model.output_shape[-1]), "float32"))
    return [w.reshape(-1) for w in model.get_weights()]


DEPTHWISE_AFTER = [  # from Keras 3.15: MaxNorm(0.3, axis=[0, 1]) on the depthwise kernel (2, 2, 2, 2)
    0.015143699944019318, -0.029561199247837067, 0.09545300155878067, 0.026171600446105003,
    -0.06451939791440964, 0.08091440051794052, 0.19435709714889526, 0.23628750443458557,
    -0.08476240187883377, -0.28316420316696167, -0.09289710223674774, 0.010310400277376175,
    -0.28004148602485657, -0.04895919933915138, -0.18569910526275635, -0.18269360065460205]


def test_separable_constraints_on_keras_layouts():
    weights = unchanged_but_constrained(layers.SeparableConv2D(
        3, 2, depth_multiplier=2, depthwise_constraint=MaxNorm(0.3, axis=[0, 1]),
        pointwise_constraint=UnitNorm(axis=[0, 1, 2]), bias_constraint=NonNeg()))
    # from Keras 3.15, TensorFlow backend
    np.testing.assert_allclose(weights[0], DEPTHWISE_AFTER, atol=2e-7)
    np.testing.assert_allclose(weights[1], [
        -0.40184780955314636, -0.3552100956439972, 0.21392430365085602, 0.7697286009788513,
        -0.14434650540351868, 0.7101507186889648, -0.49113941192626953, 0.3947513997554779,
        0.46953320503234863, 0.06941299885511398, -0.8349615931510925, -0.47902050614356995], atol=2e-7)
    np.testing.assert_allclose(weights[2], [0.0, 0.11009760200977325, 0.0], atol=2e-7)


def test_depthwise_constraints_on_keras_layouts():
    weights = unchanged_but_constrained(layers.DepthwiseConv2D(
        2, depth_multiplier=2, depthwise_constraint=MaxNorm(0.3, axis=[0, 1]), bias_constraint=NonNeg()))
    np.testing.assert_allclose(weights[0], DEPTHWISE_AFTER, atol=2e-7)  # from Keras 3.15
    np.testing.assert_allclose(weights[1], [0.0, 0.0, 0.20581530034542084, 0.521256685256958], atol=2e-7)


def test_transpose_constraints_on_keras_layouts():
    weights = unchanged_but_constrained(layers.Conv2DTranspose(
        3, 2, strides=2, kernel_constraint=MaxNorm(0.4, axis=[0, 1, 3]), bias_constraint=NonNeg()))
    # from Keras 3.15: the kernel is (kh, kw, filters, in) there, so axis 2 is the filters
    np.testing.assert_allclose(weights[0], [
        0.016455600038170815, -0.017289899289608, 0.10055570304393768, 0.01647079922258854,
        -0.1610454022884369, 0.10871110111474991, 0.17066769301891327, 0.12395410239696503,
        -0.11049669981002808, -0.19868959486484528, -0.18738320469856262, 0.012424400076270103,
        -0.3043003976345062, -0.028635499998927116, -0.19562609493732452, -0.11497659981250763,
        -0.16362780332565308, -0.0950935035943985, 0.05387429893016815, 0.1364443004131317,
        -0.020181799307465553, 0.2145545929670334, -0.1999862939119339, 0.10567910224199295], atol=2e-7)
    np.testing.assert_allclose(weights[1], [0.45173510909080505, 0.04700620099902153, 0.0], atol=2e-7)


def test_frozen_weights_are_left_alone():
    frozen = layers.Dense(2, kernel_constraint=NonNeg(), bias_constraint=NonNeg(), trainable=False)
    model = keras.Sequential([keras.Input((3,)), frozen, layers.Dense(1, bias_constraint=NonNeg())])
    seed_weights(model, 1.0)
    before = model.get_weights()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    model.train_on_batch(np.ones((2, 3), "float32"), np.zeros((2, 1), "float32"))
    after = model.get_weights()
    for old, new in zip(before[:3], after[:3]):
        np.testing.assert_array_equal(old, new)
    np.testing.assert_array_equal(after[3], np.maximum(before[3], 0))


def test_constraints_config_round_trip_and_save(tmp_path):
    model = build_constrained_net()
    dense = model.get_layer("dense")
    config = dense.get_config()
    assert config["kernel_constraint"] == {"module": "keras.constraints", "class_name": "UnitNorm",
                                           "config": {"axis": 0}, "registered_name": None}
    assert layers.Dense.from_config(config).get_config() == config
    model.save(tmp_path / "net.cnnkit")
    loaded = keras.models.load_model(tmp_path / "net.cnnkit")
    for trained in (model, loaded):
        trained.fit(X, Y, batch_size=6, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(loaded.get_layer("dense").get_weights()[0], axis=0), 1.0, rtol=1e-5)
