"""Subclassed models and custom layers against Keras 3's recorded numbers, and one SGD step
checked against a hand-written NumPy backward pass."""

import numpy as np
import pytest

import cnnkit as keras
from _keras_oracle import ORACLE, MyModel, Scale, seed_weights, summary_text, weight_paths

RECORD = ORACLE["subclassed"]
X = np.random.default_rng(1).standard_normal((2, 3)).astype("float32")  # the oracle's input


def built_model():
    model = MyModel(name="my_model")
    model(np.zeros((1, 3), dtype="float32"))
    return seed_weights(model)


def test_summary_before_build_as_keras():
    record = RECORD["summary_before_build"]
    assert summary_text(MyModel(name="my_model"), record) == record["text"]


def test_summary_after_an_eager_build():
    # Keras shows the batch of the call that built the model, (1, 4); cnnkit shows (None, 4),
    # as for every other model. Everything else is Keras's text.
    expected = RECORD["summary"]["text"].replace("(1, 4)   ", "(None, 4)").replace("(1, 2)   ", "(None, 2)")
    assert "(None, 4)" in expected and "(None, 2)" in expected
    assert summary_text(built_model(), RECORD["summary"]) == expected


def test_structure_and_outputs_as_keras():
    model = built_model()
    assert model.count_params() == RECORD["count_params"]
    assert [layer.name for layer in model.layers] == RECORD["layer_names"]
    assert [list(w.shape) for w in model.get_weights()] == RECORD["weight_shapes"]
    # Keras prefixes a subclassed model's weight paths with the model's name.
    assert [f"my_model/{path}" for path in weight_paths(model)] == RECORD["weight_paths"]
    np.testing.assert_allclose(model.predict(X, verbose=0), np.array(RECORD["outputs"]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model(X).detach().numpy(), np.array(RECORD["outputs"]), rtol=1e-5, atol=1e-7)


def sgd_step(weights, x, y, learning_rate):
    """One SGD step on mean squared error for Dense(relu) -> Dense, by hand."""
    w1, b1, w2, b2 = weights
    pre = x @ w1 + b1
    hidden = np.maximum(pre, 0)
    out = hidden @ w2 + b2
    grad_out = 2 * (out - y) / out.size
    grad_pre = (grad_out @ w2.T) * (pre > 0)
    grads = [x.T @ grad_pre, grad_pre.sum(0), hidden.T @ grad_out, grad_out.sum(0)]
    return np.mean((out - y) ** 2), [w - learning_rate * g for w, g in zip(weights, grads)]


def test_fit_evaluate_predict_on_a_subclassed_model():
    model = built_model()
    model.compile(keras.optimizers.SGD(learning_rate=0.1), "mse")
    y = np.ones((2, 2), "float32")
    expected_loss, expected_weights = sgd_step(model.get_weights(), X, y, 0.1)
    # The loss before the step comes from Keras's outputs.
    np.testing.assert_allclose(expected_loss, np.mean((np.array(RECORD["outputs"]) - 1) ** 2), rtol=1e-5)
    history = model.fit(X, y, batch_size=2, epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [expected_loss], rtol=1e-5)
    for ours, theirs in zip(model.get_weights(), expected_weights):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    w1, b1, w2, b2 = expected_weights
    predicted = np.maximum(X @ w1 + b1, 0) @ w2 + b2
    np.testing.assert_allclose(model.predict(X, verbose=0), predicted, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.evaluate(X, y, verbose=0), np.mean((predicted - y) ** 2), rtol=1e-5)


def test_fit_builds_an_unbuilt_subclassed_model():
    model = MyModel(name="my_model")
    model.compile("sgd", "mse")
    model.fit(X, np.zeros((2, 2), "float32"), verbose=0)
    assert model.built and model.count_params() == RECORD["count_params"]


def test_custom_layer_as_keras():
    record = RECORD["custom_layer"]
    scale = Scale(name="scale_layer")
    config_before = scale.get_config()
    scale(np.zeros((1, 3), dtype="float32"))
    config = scale.get_config()
    # Keras's config also holds activity_regularizer, dtype and autocast; cnnkit keeps name and trainable.
    for key in ("name", "trainable"):
        assert key in record["get_config_keys_before_build"] and key in record["get_config_keys"]
        assert config_before[key] == config[key] == record["get_config"][key]
    assert [name for name, _ in scale.named_parameters()] == record["weight_names"]
    assert [f"scale_layer/{path}" for path in weight_paths(scale)] == record["weight_paths"]
    assert len(scale.trainable_weights) == record["trainable_weight_count"]
    np.testing.assert_array_equal(scale.get_weights()[0], np.ones(3))


def test_custom_layer_trains_in_a_functional_model():
    inputs = keras.Input((3,), name="x")
    model = keras.Model(inputs, Scale(name="scale")(inputs))
    assert model.count_params() == 3
    model.compile(keras.optimizers.SGD(learning_rate=0.5), "mse")
    y = np.zeros((2, 3), "float32")
    model.fit(X, y, batch_size=2, verbose=0)
    # d/ds_j mean((x s - y)^2) = 2 / 6 * sum_n (x_nj s_j - y_nj) x_nj, at s = 1.
    gradient = 2 / 6 * ((X - y) * X).sum(0)
    np.testing.assert_allclose(model.get_weights()[0], 1 - 0.5 * gradient, rtol=1e-5)


def test_add_weight_rejects_a_duplicate_name():
    class Twice(keras.layers.Layer):
        def build(self, input_shape):
            self.add_weight(shape=(1,), name="w")
            self.add_weight(shape=(1,), name="w")

        def call(self, inputs):
            return inputs

    with pytest.raises(ValueError, match="already has a weight or attribute named 'w'"):
        Twice(name="twice")(np.zeros((1, 2), "float32"))
