"""Freezing against Keras 3's recorded behaviour: trainable / non-trainable weights, weights left
alone by fit, a wholly frozen model, nested models and BatchNormalization.

One deliberate difference: in Keras 3, freezing a layer after a fit without compiling again
still trains it (its compiled train function keeps the old weight list: the oracle's case B).
In cnnkit freezing takes effect at once; unfreezing takes effect at the next compile (the
optimizer keeps the weights it was built for)."""

import warnings

import numpy as np
import pytest

from _keras_oracle import ORACLE, build_bn_model, build_nested, build_tiny, fit_tiny, model_inputs, weight_paths

RECORD = ORACLE["freezing"]


def changed(before, after):
    return not all(np.array_equal(a, b) for a, b in zip(before, after))


def fit_logging_warnings(model):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_tiny(model)
    return [f"{w.category.__name__}: {w.message}" for w in caught]


def test_freeze_a_layer_after_compile_before_fit():
    record = RECORD["A_freeze_after_compile_before_fit"]
    model = build_tiny()
    d1, d2 = model.get_layer("d1"), model.get_layer("d2")
    d1_before, d2_before = d1.get_weights(), d2.get_weights()
    d1.trainable = False
    assert fit_logging_warnings(model) == record["log"]["warnings"]
    assert changed(d1_before, d1.get_weights()) == record["d1_changed"]
    assert changed(d2_before, d2.get_weights()) == record["d2_changed"]
    assert len(model.trainable_weights) == record["trainable_weights"]


def test_freeze_after_fit_then_recompile():
    record = RECORD["C_freeze_after_fit_then_recompile"]
    model = build_tiny()
    d1, d2 = model.get_layer("d1"), model.get_layer("d2")
    fit_tiny(model)
    d1.trainable = False
    model.compile("sgd", "mse")
    d1_before, d2_before = d1.get_weights(), d2.get_weights()
    fit_tiny(model)
    assert changed(d1_before, d1.get_weights()) == record["d1_changed_in_second_fit"]
    assert changed(d2_before, d2.get_weights()) == record["d2_changed_in_second_fit"]


def test_freezing_after_fit_takes_effect_without_recompiling():
    """cnnkit's rule, where Keras 3 (case B) would still train d1."""
    assert RECORD["B_freeze_after_fit_no_recompile"]["d1_changed_in_second_fit"] is True  # Keras's artifact
    model = build_tiny()
    d1, d2 = model.get_layer("d1"), model.get_layer("d2")
    fit_tiny(model)
    d1_before, d2_before = d1.get_weights(), d2.get_weights()
    d1.trainable = False
    fit_tiny(model)
    assert not changed(d1_before, d1.get_weights())
    assert changed(d2_before, d2.get_weights())


def test_unfreezing_takes_effect_at_the_next_compile():
    model = build_tiny(compile=False)
    d1 = model.get_layer("d1")
    d1.trainable = False
    model.compile("sgd", "mse")
    fit_tiny(model)
    d1.trainable = True
    before = d1.get_weights()
    fit_tiny(model)
    assert not changed(before, d1.get_weights())
    model.compile("sgd", "mse")
    fit_tiny(model)
    assert changed(before, d1.get_weights())


def test_whole_model_frozen_after_compile():
    record = RECORD["whole_model_frozen"]
    model = build_tiny()
    before = model.get_weights()
    model.trainable = False
    assert len(model.trainable_weights) == record["trainable_weights"]
    assert len(model.non_trainable_weights) == record["non_trainable_weights"]
    assert {layer.name: layer.trainable for layer in model.layers} == record["layer_trainable"]
    assert fit_logging_warnings(model) == record["log"]["warnings"]
    assert changed(before, model.get_weights()) == record["fit_changed_weights"]


def test_whole_model_frozen_before_compile():
    record = RECORD["whole_model_frozen_then_compile"]
    model = build_tiny()
    model.trainable = False
    model.compile("sgd", "mse")
    before = model.get_weights()
    assert fit_logging_warnings(model) == record["log"]["warnings"]
    assert changed(before, model.get_weights()) == record["fit_changed_weights"]


def test_frozen_nested_model():
    record = ORACLE["nested"]
    model = build_nested()
    conv_base = model.get_layer("conv_base")

    def counts():
        return {
            "trainable_weights": len(model.trainable_weights),
            "non_trainable_weights": len(model.non_trainable_weights),
            "trainable_params": sum(w.numel() for w in model.trainable_weights),
            "non_trainable_params": sum(w.numel() for w in model.non_trainable_weights),
            "trainable_paths": [path for path, *_, w in model.weight_entries() if w.requires_grad],
            "non_trainable_paths": [path for path, *_, w in model.weight_entries() if not w.requires_grad],
        }

    assert counts() == record["counts_before_freeze"]
    conv_base.trainable = False
    assert counts() == record["counts_after_freeze"]
    assert {layer.name: layer.trainable for layer in conv_base.layers} == record["inner_layer_trainable_after_freeze"]
    base_before, head_before = conv_base.get_weights(), model.get_layer("logits").get_weights()
    model.compile("sgd", "mse")
    model.fit(model_inputs(model), np.ones((2, 2), "float32"), verbose=0)
    assert not changed(base_before, conv_base.get_weights())
    assert changed(head_before, model.get_layer("logits").get_weights())


def test_batch_normalization_weights_as_keras():
    record = ORACLE["batchnorm_counts"]
    model = build_bn_model()
    assert [type(layer).__name__ for layer in model.layers] == record["layer_classes"]
    assert model.count_params() == record["count_params"]
    assert [list(w.shape) for w in model.get_weights()] == record["weight_shapes"]
    assert weight_paths(model) == record["weight_paths"]
    entries = model.weight_entries()
    assert [name for _, _, name, w in entries if w.requires_grad] == record["trainable_weight_names"]
    assert [path for path, *_, w in entries if w.requires_grad] == record["trainable_weight_paths"]
    assert [name for _, _, name, w in entries if not w.requires_grad] == record["non_trainable_weight_names"]
    assert [path for path, *_, w in entries if not w.requires_grad] == record["non_trainable_weight_paths"]
    assert [name for _, _, name, _ in entries] == record["weight_names"]
    assert [name for _, _, name, _ in model.get_layer("bn").weight_entries()] == record["bn_weight_names"]
    assert (len(model.trainable_weights), len(model.non_trainable_weights)) == (
        record["trainable_weights"], record["non_trainable_weights"])
    outputs = model(model_inputs(model), training=True)
    np.testing.assert_allclose(outputs.detach().numpy(), np.array(record["outputs_training_true"]),
                               rtol=1e-5, atol=1e-6)


def test_frozen_batch_normalization():
    record = ORACLE["batchnorm_counts"]["after_bn_frozen"]
    model = build_bn_model()
    bn = model.get_layer("bn")
    bn.trainable = False
    entries = model.weight_entries()
    assert [path for path, *_, w in entries if w.requires_grad] == record["trainable_weight_paths"]
    assert [path for path, *_, w in entries if not w.requires_grad] == record["non_trainable_weight_paths"]
    before = bn.get_weights()
    before[3] = np.abs(before[3])  # the seeded moving variance is negative: make inference finite
    bn.set_weights(before)
    model.compile("sgd", "mse")
    model.fit(model_inputs(model), np.ones((2, 2), "float32"), verbose=0)
    # Frozen BatchNormalization runs in inference mode: its moving statistics stay too.
    for ours, theirs in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("value", [False, True])
def test_model_trainable_is_recursive(value):
    model = build_nested()
    model.trainable = False
    model.trainable = value
    assert all(layer.trainable == value for layer in model.get_layer("conv_base").layers)
    assert len(model.trainable_weights) == (4 if value else 0)
