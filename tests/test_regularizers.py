"""cnnkit.regularizers and the losses they add, against Keras 3.15's numbers (TensorFlow backend):
penalties on fixed weights, `layer.losses` / `model.losses` (values and order), the loss fit,
train_on_batch and evaluate report, weights after training, configs, save and load."""

import numpy as np
import pytest
import torch

import cnnkit as keras
from cnnkit import layers, regularizers
from cnnkit.regularizers import L1, L1L2, L2, OrthogonalRegularizer


def floats(tensors):
    return [float(value.detach()) if isinstance(value, torch.Tensor) else float(value) for value in tensors]


def seed_weights(model, scale):
    """Every weight, in get_weights() order, from default_rng(0) * scale (as the Keras scripts did)."""
    rng = np.random.default_rng(0)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") * scale for w in model.get_weights()])
    return model


def fixed_arrays():
    """m (4, 3) then k (2, 2, 3, 4), both from default_rng(0), float32."""
    rng = np.random.default_rng(0)
    m = rng.standard_normal((4, 3)).astype("float32")
    k = rng.standard_normal((2, 2, 3, 4)).astype("float32")
    return torch.from_numpy(m), torch.from_numpy(k)


# -- penalties -----------------------------------------------------------------------------------
def test_penalties_match_keras():
    m, k = fixed_arrays()
    # from Keras 3.15, TensorFlow backend
    expected = {
        "L1(0.3) on m": (L1(0.3), m, 2.0355782508850098),
        "L2() on m": (L2(), m, 0.05956190079450607),
        "L1L2(0.01, 0.02) on m": (L1L2(0.01, 0.02), m, 0.18697640299797058),
        "L1L2() on m": (L1L2(), m, 0.0),
        "Orthogonal(0.1) rows on m": (OrthogonalRegularizer(0.1), m, 0.047001201659440994),
        "Orthogonal(0.1) columns on m": (OrthogonalRegularizer(0.1, mode="columns"), m, 0.06872635334730148),
        "L1() on k": (L1(), k, 0.37134191393852234),
    }
    for what, (regularizer, weight, value) in expected.items():
        assert float(regularizer(weight)) == pytest.approx(value, rel=1e-6, abs=1e-12), what


def test_penalties_by_hand():
    x = torch.tensor([[1.0, -2.0], [3.0, 0.0]])
    assert float(L1(0.5)(x)) == pytest.approx(3.0)
    assert float(L2(0.5)(x)) == pytest.approx(7.0)
    assert float(L1L2(1.0, 1.0)(x)) == pytest.approx(6.0 + 14.0)
    # rows (1,0) and (0,1): orthogonal, no penalty; parallel rows: factor * 0.5 * 2 / 1
    assert float(OrthogonalRegularizer(1.0)(torch.eye(2))) == pytest.approx(0.0)
    assert float(OrthogonalRegularizer(1.0)(torch.tensor([[1.0, 1.0], [2.0, 2.0]]))) == pytest.approx(1.0)


def test_penalties_differentiate():
    weight = torch.tensor([[1.0, -2.0]], requires_grad=True)
    (L1(0.5)(weight) + L2(0.25)(weight)).backward()
    assert weight.grad.tolist() == [[0.5 + 0.5, -0.5 - 1.0]]


def test_keras_defaults_and_configs():
    # from Keras 3.15: L1 and OrthogonalRegularizer keep their factor as a float32
    assert L1().get_config() == {"l1": 0.009999999776482582}
    assert L1(0.3).get_config() == {"l1": 0.30000001192092896}
    assert L2().get_config() == {"l2": 0.01}
    assert L2(1).get_config() == {"l2": 1.0}
    assert L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert OrthogonalRegularizer().get_config() == {"factor": 0.009999999776482582, "mode": "rows"}
    assert regularizers.l1 is L1 and regularizers.l2 is L2 and regularizers.l1_l2 is L1L2
    assert regularizers.orthogonal_regularizer is OrthogonalRegularizer
    assert float(regularizers.Regularizer()(torch.ones(3))) == 0.0


def test_get_and_serialize():
    assert regularizers.get(None) is None
    assert type(regularizers.get("l1")) is L1 and type(regularizers.get("l2")) is L2
    assert regularizers.get("l1l2").get_config() == {"l1": 0.0, "l2": 0.0}  # Keras's snake case of L1L2
    assert regularizers.get("L1L2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert type(regularizers.get("orthogonal_regularizer")) is OrthogonalRegularizer
    assert type(regularizers.get(L2)) is L2
    given = L1(0.2)
    assert regularizers.get(given) is given
    assert regularizers.serialize(L2(0.5)) == {  # from Keras 3.15
        "module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.5}, "registered_name": None}
    assert regularizers.serialize(None) is None
    back = regularizers.get(regularizers.serialize(L1L2(0.1, 0.2)))
    assert type(back) is L1L2 and back.get_config() == {"l1": 0.1, "l2": 0.2}
    assert regularizers.deserialize({"class_name": "L2", "config": {"l2": 0.3}}).get_config() == {"l2": 0.3}


def test_errors_as_keras():
    # Keras 3.15 does not know "l1_l2" as a name either (its snake case of L1L2 is "l1l2")
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: l1_l2"):
        regularizers.get("l1_l2")
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: foo"):
        regularizers.get("foo")
    with pytest.raises(ValueError, match="Invalid value for argument l2: expected a non-negative float.Received: l2=-1"):
        L2(-1)
    with pytest.raises(ValueError, match="l1=nan"):
        L1(float("nan"))
    with pytest.raises(ValueError, match='Expected one of {"rows", "columns"}. Received: mode=x'):
        OrthogonalRegularizer(mode="x")
    with pytest.raises(ValueError, match="must have rank 2"):
        OrthogonalRegularizer()(torch.ones(2, 2, 2))
    with pytest.raises(ValueError, match="Unknown regularizer 'Nope'"):
        regularizers.deserialize({"class_name": "Nope", "config": {}})


def test_custom_regularizers_serialize_as_keras():
    @keras.saving.register_keras_serializable(package="tests")
    class Doubled(regularizers.Regularizer):
        def __init__(self, a=1.0):
            self.a = a

        def __call__(self, x):
            return 2 * self.a * x.sum()

        def get_config(self):
            return {"a": self.a}

    entry = regularizers.serialize(Doubled(0.5))
    assert entry == {"module": __name__, "class_name": "Doubled", "config": {"a": 0.5},
                     "registered_name": "tests>Doubled"}
    assert regularizers.get(entry).a == 0.5

    def summed(x):
        return x.sum()

    # from Keras 3.15: functions are written by name
    assert regularizers.serialize(summed) == {"module": "builtins", "class_name": "function", "config": "summed",
                                              "registered_name": "function"}
    layer = layers.Dense(2, kernel_regularizer=summed, kernel_initializer="ones")
    layer.build_for((None, 3))
    assert floats(layer.losses) == [6.0]


# -- layer.losses --------------------------------------------------------------------------------
def test_dense_losses_as_keras():
    layer = layers.Dense(3, kernel_regularizer=L1(0.01), bias_regularizer="l2", activity_regularizer=L2(0.01))
    layer.build_for((None, 5))
    rng = np.random.default_rng(0)
    layer.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.1 + 0.05 for w in layer.get_weights()])
    x = np.random.default_rng(1).standard_normal((4, 5)).astype("float32")
    # from Keras 3.15, TensorFlow backend: weight penalties exist once built; each call's activity
    # penalty (divided by its batch size) replaces the last one; add_loss adds until the next call
    assert floats(layer.losses) == pytest.approx([0.011373201385140419, 8.965263987192884e-06], rel=1e-6)
    layer(x)
    assert floats(layer.losses) == pytest.approx(
        [0.0001506265252828598, 0.011373201385140419, 8.965263987192884e-06], rel=1e-6)
    layer(x[:2])
    assert floats(layer.losses) == pytest.approx(
        [0.00010737241245806217, 0.011373201385140419, 8.965263987192884e-06], rel=1e-6)
    layer.add_loss(torch.tensor(1.5))
    assert floats(layer.losses) == pytest.approx(
        [0.00010737241245806217, 1.5, 0.011373201385140419, 8.965263987192884e-06], rel=1e-6)


def test_activity_penalty_is_divided_by_the_batch_size():
    layer = layers.Dense(1, kernel_initializer="ones", activity_regularizer=L1(1.0))
    layer(np.full((4, 2), 3.0, "float32"))
    assert floats(layer.losses) == [pytest.approx(4 * 6.0 / 4)]
    layer(np.zeros((0, 2), "float32"))
    assert floats(layer.losses) == [0.0]


def test_activity_regularizer_is_settable_on_any_layer():
    layer = layers.Flatten()
    layer.activity_regularizer = "l1"
    layer(np.ones((2, 3), "float32"))
    assert floats(layer.losses) == [pytest.approx(0.01 * 6 / 2)]
    assert layer.get_config()["activity_regularizer"]["class_name"] == "L1"
    layer.activity_regularizer = None
    layer(np.ones((2, 3), "float32"))
    assert layer.losses == [] and not layer._forward_hooks and "activity_regularizer" not in layer.get_config()


def test_add_loss_accepts_tensors_only():
    with pytest.raises(ValueError, match="`add_loss\\(\\)` can only be called from inside"):
        layers.Dense(1).add_loss(1.0)


def test_add_loss_in_call_is_kept_for_one_outer_call():
    class Penalized(layers.Layer):
        def call(self, inputs):
            self.add_loss(inputs.abs().mean())
            return inputs

    shared = Penalized()
    inputs = keras.Input((2,))
    model = keras.Model(inputs, shared(layers.Dense(2, kernel_initializer="ones")(shared(inputs))))
    model(np.ones((3, 2), "float32"))
    assert floats(model.losses) == [1.0, 2.0]  # both calls of the shared layer, in order
    model(np.ones((3, 2), "float32"))
    assert floats(model.losses) == [1.0, 2.0]  # the next outer call starts afresh


def build_net():
    """The Keras script's model: Conv2D(3, 2, relu) + MaxPooling2D + Flatten + Dense(2, softmax)
    with weight and activity regularizers, weights from default_rng(0) * 0.3."""
    inputs = keras.Input((5, 5, 1), name="image")
    x = layers.Conv2D(3, 2, activation="relu", kernel_regularizer=L2(0.01), bias_regularizer=L1(0.02),
                      activity_regularizer=L1(0.001), name="conv")(inputs)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(2, activation="softmax", kernel_regularizer=L1L2(0.01, 0.02),
                           activity_regularizer=L2(0.05), name="dense")(x)
    return seed_weights(keras.Model(inputs, outputs, name="net"), 0.3)


X = np.random.default_rng(1).standard_normal((6, 5, 5, 1)).astype("float32")
Y = np.eye(2, dtype="float32")[[0, 1, 1, 1, 0, 0]]


def test_model_losses_as_keras():
    model = build_net()
    model(X)
    # from Keras 3.15: activity penalties (conv, dense), then conv kernel, conv bias, dense kernel
    assert floats(model.losses) == pytest.approx([0.002046114532276988, 0.02997422032058239, 0.005360571667551994,
                                                  0.022738400846719742, 0.056392062455415726], rel=1e-6)


def test_frozen_weights_add_no_penalty():
    model = build_net()
    model.get_layer("conv").trainable = False
    assert floats(model.losses) == pytest.approx([0.056392062455415726], rel=1e-6)  # from Keras 3.15


def test_nested_model_losses_in_keras_order():
    inner = keras.Sequential([layers.Dense(2, activity_regularizer=L1(0.1), name="a"),
                              layers.Dense(2, activity_regularizer=L1(0.2), name="b")], name="inner")
    inputs = keras.Input((3,))
    outputs = layers.Dense(1, activity_regularizer=L1(0.3), kernel_regularizer=L1(1.0), name="c")(inner(inputs))
    model = seed_weights(keras.Model(inputs, outputs), 0.3)
    model(np.ones((2, 3), "float32"))
    # from Keras 3.15: b, a (Keras visits a nested model's layers last first), c, then c's kernel
    assert floats(model.losses) == pytest.approx(
        [0.22044236958026886, 0.08447865396738052, 0.06371719390153885, 0.5934535264968872], rel=1e-6)


# -- the loss fit minimizes and reports ----------------------------------------------------------
def compiled(model):
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    return model


def test_evaluate_and_train_on_batch_report_the_total_as_keras():
    model = compiled(build_net())
    # from Keras 3.15: crossentropy + sum(model.losses), before the update
    assert model.evaluate(X, Y, batch_size=6, verbose=0) == pytest.approx(0.8782244324684143, rel=1e-6)
    assert model.train_on_batch(X, Y) == pytest.approx(0.8782244324684143, rel=1e-6)
    assert model.evaluate(X, Y, batch_size=6, verbose=0) == pytest.approx(0.857513427734375, rel=1e-6)


def test_fit_minimizes_and_reports_the_total_as_keras():
    model = compiled(build_net())
    history = model.fit(X, Y, batch_size=3, epochs=2, shuffle=False, verbose=0, validation_data=(X[:4], Y[:4]))
    # from Keras 3.15, TensorFlow backend
    assert history.history["loss"] == pytest.approx([0.8765483498573303, 0.8384910225868225], rel=1e-6)
    assert history.history["val_loss"] == pytest.approx([1.0323379039764404, 0.9754437804222107], rel=1e-6)
    kernel, bias, dense_kernel, dense_bias = model.get_weights()
    np.testing.assert_allclose(kernel.reshape(-1), [
        0.04341739, -0.00596917, 0.19276513, 0.05167872, -0.16431992, 0.09146987,
        0.4079347, 0.29319683, -0.18108942, -0.37312204, -0.20263705, 0.00717331], atol=2e-7)
    np.testing.assert_allclose(bias, [-0.68122363, -0.07878064, -0.38085625], atol=2e-7)
    np.testing.assert_allclose(dense_kernel.reshape(-1), [
        -0.2328383, -0.13607685, -0.14790475, 0.17604901, 0.30380383, -0.03397106, 0.40170437, -0.19466971,
        0.08520954, 0.27734455, 0.01944494, -0.21119215, -0.25935042, -0.13995108, 0.05737903, -0.2904394,
        -0.06895786, -0.03185245, 0.15981872, 0.05527584, 0.07107459, -0.15918736, -0.03236767, 0.2255541],
        atol=2e-7)
    np.testing.assert_allclose(dense_bias, [0.365852, -0.29554233], atol=2e-7)


def test_weight_penalties_with_the_fused_softmax_loss():
    """Conv2D(relu) + MaxPooling2D and a softmax Dense into crossentropy run as exact rewrites;
    the weight penalties are added all the same."""
    model = keras.Sequential([
        keras.Input((5, 5, 1)), layers.Conv2D(3, 2, activation="relu", kernel_regularizer=L2(0.05)),
        layers.MaxPooling2D(2), layers.Flatten(),
        layers.Dense(2, activation="softmax", kernel_regularizer=L1(0.01), bias_regularizer=L2(0.1))])
    model = compiled(seed_weights(model, 0.3))
    # from Keras 3.15, TensorFlow backend
    assert floats(model.losses) == pytest.approx(
        [0.02680285833775997, 0.03886684402823448, 0.03434024378657341], rel=1e-6)
    assert model.train_on_batch(X, Y) == pytest.approx(0.861723005771637, rel=1e-6)
    assert model.train_on_batch(X, Y) == pytest.approx(0.833912193775177, rel=1e-6)


def test_models_without_penalties_skip_them():
    from cnnkit.engine.step import LossHead

    model = compiled(keras.Sequential([keras.Input((3,)), layers.Dense(2, activation="softmax")]))
    assert LossHead(model).penalized is False and LossHead(model).fused
    assert LossHead(compiled(build_net())).penalized


# -- the convolutions ------------------------------------------------------------------------------
@pytest.mark.parametrize("make, expected", [
    (lambda: layers.SeparableConv2D(3, 2, depth_multiplier=2, depthwise_regularizer=L1(0.1),
                                    pointwise_regularizer=L2(0.2), bias_regularizer=L1(0.3)),
     [0.5653631091117859, 0.31648945808410645, 0.25313088297843933]),
    (lambda: layers.DepthwiseConv2D(2, depth_multiplier=2, depthwise_regularizer=L2(0.1), bias_regularizer=L1(0.2)),
     [0.33745843172073364, 0.23147030174732208]),
    (lambda: layers.Conv2DTranspose(3, 2, strides=2, kernel_regularizer=L1(0.1), bias_regularizer=L2(0.2)),
     [0.806683361530304, 0.0688943862915039]),
], ids=["separable", "depthwise", "transpose"])
def test_convolution_penalties_as_keras(make, expected):
    model = keras.Sequential([keras.Input((5, 5, 2)), make(), layers.GlobalAveragePooling2D()])
    assert floats(seed_weights(model, 0.5).losses) == pytest.approx(expected, rel=1e-6)  # from Keras 3.15


def test_orthogonal_regularizer_sees_the_keras_kernel():
    layer = layers.Dense(3, kernel_regularizer=OrthogonalRegularizer(0.1))
    layer.build_for((None, 4))
    m, _ = fixed_arrays()
    layer.set_weights([m.numpy(), np.zeros(3, "float32")])
    assert floats(layer.losses) == pytest.approx([0.047001201659440994], rel=1e-6)  # rows of (4, 3), Keras


# -- configs, save and load ------------------------------------------------------------------------
def test_configs_as_keras():
    config = layers.Dense(3, kernel_regularizer="l2", bias_regularizer=L1L2(0.1, 0.2), activity_regularizer="l1",
                          name="d").get_config()
    # Keras 3.15's keys, in its order (less dtype, and quantization_config which cnnkit does not have)
    assert list(config) == ["name", "trainable", "activity_regularizer", "units", "activation", "use_bias",
                            "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                            "kernel_constraint", "bias_constraint"]
    assert config["activity_regularizer"] == {"module": "keras.regularizers", "class_name": "L1",
                                              "config": {"l1": 0.009999999776482582}, "registered_name": None}
    assert config["kernel_regularizer"]["config"] == {"l2": 0.01}
    assert config["bias_regularizer"]["config"] == {"l1": 0.1, "l2": 0.2}
    assert "activity_regularizer" not in layers.Dense(3).get_config()
    conv = layers.Conv2D(3, 3, kernel_regularizer="l1").get_config()
    assert list(conv)[-5:] == ["kernel_regularizer", "bias_regularizer", "activity_regularizer",
                               "kernel_constraint", "bias_constraint"]
    assert conv["activity_regularizer"] is None and conv["kernel_regularizer"]["class_name"] == "L1"
    assert list(layers.Conv2D(3, 3, activity_regularizer="l2").get_config())[2] == "activity_regularizer"


@pytest.mark.parametrize("cls, arguments", [
    (layers.Dense, {"units": 2}), (layers.Conv2D, {"filters": 2, "kernel_size": 3}),
    (layers.SeparableConv2D, {"filters": 2, "kernel_size": 3, "depthwise_regularizer": "l1",
                              "pointwise_regularizer": L2(0.3)}),
    (layers.DepthwiseConv2D, {"kernel_size": 3, "depthwise_regularizer": "l2"}),
    (layers.Conv2DTranspose, {"filters": 2, "kernel_size": 3}),
])
def test_config_round_trip(cls, arguments):
    options = {"bias_regularizer": L1L2(0.1, 0.2), "activity_regularizer": "l2"}
    if cls in (layers.Dense, layers.Conv2D, layers.Conv2DTranspose):
        options["kernel_regularizer"] = OrthogonalRegularizer(0.5, "columns")
    layer = cls(**arguments, **options)
    config = layer.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    assert type(clone.activity_regularizer) is L2 and clone.bias_regularizer.get_config() == {"l1": 0.1, "l2": 0.2}


def test_save_and_load_keep_the_penalties(tmp_path):
    model = compiled(build_net())
    model.fit(X, Y, batch_size=3, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "net.cnnkit")
    loaded = keras.models.load_model(tmp_path / "net.cnnkit")
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert floats(loaded.losses) == floats(model.losses)
    assert loaded.evaluate(X, Y, verbose=0) == model.evaluate(X, Y, verbose=0)
    assert loaded.get_layer("dense").get_config() == model.get_layer("dense").get_config()


def test_add_loss_of_a_shared_layer_in_a_fused_training_step():
    """With a softmax Dense into crossentropy the step runs the graph for logits (an exact rewrite);
    the step is still one outer call: both calls of a shared layer add their loss."""
    class Penalized(layers.Layer):
        def call(self, inputs):
            self.add_loss(inputs.abs().sum())
            return inputs

    shared = Penalized()
    inputs = keras.Input((2,))
    x = shared(layers.Dense(2, kernel_initializer="ones", use_bias=False)(shared(inputs)))
    model = keras.Model(inputs, layers.Dense(2, activation="softmax", kernel_initializer="zeros")(x))
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="categorical_crossentropy")
    x_batch, y_batch = np.ones((1, 2), "float32"), np.eye(2, dtype="float32")[:1]
    from cnnkit.engine.step import LossHead

    assert LossHead(model).fused
    # crossentropy of a uniform softmax, ln 2, plus |x| summed (2) and |Dense(x)| summed (4)
    assert model.train_on_batch(x_batch, y_batch) == pytest.approx(np.log(2) + 2 + 4, rel=1e-6)
    assert floats(model.losses) == [2.0, 4.0]
