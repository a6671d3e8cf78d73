"""Training multi-input / multi-output graphs against Keras 3's recorded numbers: fit's history,
evaluate's dict and list, a loss as a dict, a list or one for all; dict inputs and outputs; a
`training` argument recorded in the graph."""

import numpy as np
import pytest

import cnnkit as keras
from cnnkit import layers
from _keras_oracle import ORACLE, build_two_io, seed_weights, two_io_data

COMPILE = {
    "training_dict_form": dict(
        optimizer="sgd",
        loss={"label": "sparse_categorical_crossentropy", "score": "mse"},
        loss_weights={"label": 1.0, "score": 0.5},
        metrics={"label": ["accuracy"], "score": ["mae"]},
    ),
    "training_list_form": dict(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"],
                               metrics=[["accuracy"], ["mae"]]),
    "training_single_loss": dict(optimizer="sgd", loss="mse"),
}


def targets(form, labels, score):
    if form == "training_dict_form":
        return {"label": labels, "score": score}
    if form == "training_list_form":
        return [labels, score]
    return [np.eye(3, dtype="float32")[labels], score]


@pytest.mark.parametrize("form", sorted(COMPILE))
def test_fit_and_evaluate_match_keras(form):
    """One epoch of SGD from Keras's weights: same history keys and values, same evaluate dict and
    list order (loss, each output's loss, metrics)."""
    record = ORACLE["two_io"][form]
    assert record["compile"] == COMPILE[form]
    model = build_two_io()
    x, labels, score = two_io_data()
    y = targets(form, labels, score)
    model.compile(**COMPILE[form])
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    assert list(history.history) == record["history_keys_in_order"]
    for key, values in record["history"].items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-5, err_msg=key)
    as_dict = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    assert list(as_dict) == record["evaluate_dict_keys"]
    np.testing.assert_allclose([as_dict[k] for k in record["evaluate_dict_keys"]],
                               [record["evaluate_dict"][k] for k in record["evaluate_dict_keys"]], rtol=1e-5)
    as_list = model.evaluate(x, y, batch_size=4, verbose=0)
    assert len(as_list) == record["evaluate_list_len"]
    np.testing.assert_allclose(as_list, record["evaluate_list"], rtol=1e-5)
    names_in_list_order = [[key for key in as_dict if np.isclose(as_dict[key], value, rtol=1e-6)] for value in as_list]
    assert names_in_list_order == record["evaluate_list_names_by_value"]


def test_a_dict_loss_must_name_the_outputs():
    model = build_two_io()
    with pytest.raises(ValueError, match=r"\['labels'\].*\['label', 'score'\]"):
        model.compile("sgd", {"labels": "mse", "score": "mse"})


def _dict_model():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    h = layers.Concatenate(name="cat")([a, b])
    outputs = {"first": layers.Dense(1, name="d1")(h), "second": layers.Dense(2, name="d2")(h)}
    return seed_weights(keras.Model({"a": a, "b": b}, outputs, name="dm"))


def test_dict_inputs_and_outputs_in_predict_and_fit():
    """As Keras 3 (recorded with 3.15.1): predict returns a dict by output key; losses, targets
    and logs go by those keys while `output_names` stays the layer names."""
    model = _dict_model()
    k1, b1, k2, b2 = model.get_weights()
    rng = np.random.default_rng(1)
    x = {"b": rng.standard_normal((4, 2)).astype("float32"), "a": rng.standard_normal((4, 3)).astype("float32")}
    h = np.concatenate([x["a"], x["b"]], axis=1)
    predicted = model.predict(x, verbose=0)
    assert sorted(predicted) == ["first", "second"]
    np.testing.assert_allclose(predicted["first"], h @ k1 + b1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predicted["second"], h @ k2 + b2, rtol=1e-5, atol=1e-6)
    assert sorted(model.predict_on_batch(x)) == ["first", "second"]
    assert model.output_names == ["d1", "d2"]
    model.compile("sgd", {"first": "mse", "second": "mse"})
    y = {"second": np.zeros((4, 2), "float32"), "first": np.zeros((4, 1), "float32")}
    history = model.fit(x, y, batch_size=4, verbose=0)
    assert list(history.history) == ["first_loss", "loss", "second_loss"]
    first, second = np.mean((h @ k1 + b1) ** 2), np.mean((h @ k2 + b2) ** 2)
    np.testing.assert_allclose([history.history[k][0] for k in ("first_loss", "second_loss", "loss")],
                               [first, second, first + second], rtol=1e-5)


def test_training_false_recorded_in_the_graph_holds_during_fit():
    """`bn(x, training=False)`: fit uses (and keeps) the moving statistics, while gamma and beta train."""
    def build(pinned):
        inputs = keras.Input((3,), name="x")
        bn = layers.BatchNormalization(name="bn")
        x = bn(inputs, training=False) if pinned else bn(inputs)
        model = keras.Model(inputs, layers.Dense(1, name="out")(x))
        model.compile("sgd", "mse")
        return model

    x = np.random.default_rng(1).normal(5.0, 2.0, (16, 3)).astype("float32")
    y = np.ones((16, 1), "float32")
    for pinned in (True, False):
        model = build(pinned)
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
        gamma, beta, moving_mean, moving_variance = model.get_layer("bn").get_weights()
        assert (np.array_equal(moving_mean, np.zeros(3)) and np.array_equal(moving_variance, np.ones(3))) == pinned
        assert not np.array_equal(beta, np.zeros(3))


def test_training_true_recorded_in_the_graph_holds_in_predict():
    """Monte Carlo dropout: `Dropout(0.5)(x, training=True)` drops units in predict too."""
    inputs = keras.Input((1000,), name="x")
    model = keras.Model(inputs, layers.Dropout(0.5, name="drop")(inputs, training=True))
    predicted = model.predict(np.ones((2, 1000), "float32"), verbose=0)
    assert set(np.unique(predicted)) == {0.0, 2.0}
