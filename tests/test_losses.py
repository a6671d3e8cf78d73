"""Losses against hand-computed numbers and Keras's, the fused softmax path, target checks."""

import math

import numpy as np
import pytest
import torch

from cnnkit import layers, losses, models
from cnnkit.engine.step import LossHead

ONE_HOT = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
LABELS = torch.tensor([1, 0])
PROBABILITIES = torch.tensor([[0.2, 0.7, 0.1], [0.5, 0.3, 0.2]])
BINARY_TRUE = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
BINARY_PRED = torch.tensor([[0.9, 0.2], [0.3, 0.6]])


def per_sample(name, y_true, y_pred, **kwargs):
    return losses.get(name).__class__(**kwargs).call(y_true, y_pred).numpy()


def test_categorical_crossentropy_by_hand():
    # -ln 0.7 and -ln 0.5
    np.testing.assert_allclose(per_sample("categorical_crossentropy", ONE_HOT, PROBABILITIES),
                               [-math.log(0.7), math.log(2)], rtol=1e-6)


def test_categorical_crossentropy_normalizes_and_clips_as_keras():
    # Keras rescales predictions to sum to 1 and clips at 1e-7: a zero probability costs -ln(1e-7).
    y_pred = torch.tensor([[2.0, 2.0, 0.0]])
    np.testing.assert_allclose(per_sample("categorical_crossentropy", torch.tensor([[1.0, 0, 0]]), y_pred),
                               [math.log(2)], rtol=1e-6)
    np.testing.assert_allclose(per_sample("categorical_crossentropy", torch.tensor([[0, 0, 1.0]]), y_pred),
                               [-math.log(1e-7)], rtol=1e-5)


def test_categorical_crossentropy_from_logits_matches_keras():
    values = per_sample("categorical_crossentropy", ONE_HOT, PROBABILITIES, from_logits=True)
    np.testing.assert_allclose(values, [0.7679495811462402, 0.9398310780525208], rtol=1e-6)


def test_categorical_label_smoothing_by_hand():
    smoothed = [0.1 / 3, 0.9 + 0.1 / 3, 0.1 / 3]
    expected = -sum(t * math.log(p) for t, p in zip(smoothed, [0.2, 0.7, 0.1]))
    values = per_sample("categorical_crossentropy", ONE_HOT[:1], PROBABILITIES[:1], label_smoothing=0.1)
    np.testing.assert_allclose(values, [expected], rtol=1e-6)


def test_sparse_categorical_crossentropy_by_hand():
    np.testing.assert_allclose(per_sample("sparse_categorical_crossentropy", LABELS, PROBABILITIES),
                               [-math.log(0.7), math.log(2)], rtol=1e-6)
    np.testing.assert_allclose(per_sample("sparse_categorical_crossentropy", LABELS, PROBABILITIES, from_logits=True),
                               [0.7679495811462402, 0.9398310780525208], rtol=1e-6)


def test_sparse_functional_form_takes_float_and_column_labels_as_keras():
    for labels in (np.array([1.0, 0.0]), np.array([[1], [0]])):
        values = losses.sparse_categorical_crossentropy(labels, PROBABILITIES.numpy())
        np.testing.assert_allclose(values.numpy(), [-math.log(0.7), math.log(2)], rtol=1e-6)


def test_binary_crossentropy_by_hand():
    # sample 1: -(ln 0.9 + ln 0.8) / 2; sample 2: -(ln 0.7 + ln 0.4) / 2
    expected = [-(math.log(0.9) + math.log(0.8)) / 2, -(math.log(0.7) + math.log(0.4)) / 2]
    np.testing.assert_allclose(per_sample("binary_crossentropy", BINARY_TRUE, BINARY_PRED), expected, rtol=1e-6)


def test_binary_crossentropy_from_logits_matches_keras():
    values = per_sample("binary_crossentropy", BINARY_TRUE, BINARY_PRED, from_logits=True)
    np.testing.assert_allclose(values, [0.5696463584899902, 0.9459216594696045], rtol=1e-6)


def test_binary_label_smoothing_by_hand():
    # targets 1 -> 0.9 and 0 -> 0.1 with label_smoothing=0.2
    expected = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1) + 0.1 * math.log(0.2) + 0.9 * math.log(0.8)) / 2
    values = per_sample("binary_crossentropy", BINARY_TRUE[:1], BINARY_PRED[:1], label_smoothing=0.2)
    np.testing.assert_allclose(values, [expected], rtol=1e-6)


@pytest.mark.parametrize("name", ["mean_squared_error", "mse"])
def test_mean_squared_error_by_hand(name):
    # (0.1^2 + 0.2^2) / 2 = 0.025 and (0.3^2 + 0.6^2) / 2 = 0.225
    np.testing.assert_allclose(per_sample(name, BINARY_TRUE, BINARY_PRED), [0.025, 0.225], rtol=1e-5)


@pytest.mark.parametrize("name", ["mean_absolute_error", "mae"])
def test_mean_absolute_error_by_hand(name):
    np.testing.assert_allclose(per_sample(name, BINARY_TRUE, BINARY_PRED), [0.15, 0.45], rtol=1e-6)


def test_call_is_the_mean_over_samples():
    loss = losses.get("mean_absolute_error")
    assert float(loss(BINARY_TRUE, BINARY_PRED)) == pytest.approx(0.3)


def test_functional_forms():
    values = losses.categorical_crossentropy(ONE_HOT.numpy(), PROBABILITIES.numpy())
    np.testing.assert_allclose(values.numpy(), [-math.log(0.7), math.log(2)], rtol=1e-6)
    np.testing.assert_allclose(losses.mean_squared_error([[1.0, 0.0]], [[0.9, 0.2]]).numpy(), [0.025], rtol=1e-5)


def test_extreme_logits_stay_finite():
    # log(softmax([1000, 0])) is -inf for the second class; Keras's crossentropy from logits gives 1000.
    logits = torch.tensor([[1000.0, 0.0]])
    value = per_sample("categorical_crossentropy", torch.tensor([[0.0, 1.0]]), logits, from_logits=True)
    np.testing.assert_allclose(value, [1000.0])
    value = per_sample("sparse_categorical_crossentropy", torch.tensor([1]), logits, from_logits=True)
    np.testing.assert_allclose(value, [1000.0])


# -- the fused softmax + crossentropy path -------------------------------------------------------
def softmax_model(kernel, bias, activation="softmax"):
    model = models.Sequential([layers.Input((2,)), layers.Dense(2, activation=activation)])
    model.set_weights([np.asarray(kernel, "float32"), np.asarray(bias, "float32")])
    return model


@pytest.mark.parametrize("name, targets", [
    ("categorical_crossentropy", torch.tensor([[0.0, 1.0], [1.0, 0.0]])),
    ("sparse_categorical_crossentropy", torch.tensor([1, 0])),
])
def test_fused_equals_unfused_for_moderate_values(name, targets):
    model = softmax_model([[0.5, -1.0], [2.0, 0.3]], [0.1, -0.2])
    loss = losses.get(name)
    head = fused_head(model, loss)
    assert head.fused
    x = torch.tensor([[1.0, 2.0], [-1.0, 0.5]])
    with torch.no_grad():
        (predictions,), fused, _ = head(x, [targets])
        unfused = loss(targets, model(x))
        np.testing.assert_allclose(float(fused), float(unfused), rtol=1e-6)
        np.testing.assert_allclose(predictions.numpy(), model(x).numpy(), rtol=1e-6)


def test_fused_loss_is_exact_where_probabilities_round_to_zero():
    model = softmax_model([[1000.0, 0.0], [0.0, 0.0]], [0.0, 0.0])  # logits [1000, 0] for x = [1, 0]
    loss = losses.get("categorical_crossentropy")
    x, y = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    (predictions,), value, _ = fused_head(model, loss)(x, [y])
    assert float(value.detach()) == pytest.approx(1000.0)
    value.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    np.testing.assert_allclose(predictions.numpy(), [[1.0, 0.0]])


def test_fused_binary_crossentropy_with_sigmoid():
    model = softmax_model([[1.0, -2.0], [0.5, 3.0]], [0.0, 0.1], activation="sigmoid")
    loss = losses.get("binary_crossentropy")
    head = fused_head(model, loss)
    assert head.fused
    x, y = torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 0.0]])
    with torch.no_grad():
        np.testing.assert_allclose(float(head(x, [y])[1]), float(loss(y, model(x))), rtol=1e-5)


def test_no_fusion_for_other_pairs():
    model = softmax_model([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], activation="relu")
    assert not fused_head(model, losses.get("categorical_crossentropy")).fused
    assert not fused_head(softmax_model(np.eye(2), [0, 0]), losses.get("mse")).fused
    assert not fused_head(softmax_model(np.eye(2), [0, 0]), losses.CategoricalCrossentropy(from_logits=True)).fused


def fused_head(model, loss):
    model.compile(loss=loss)
    return LossHead(model)


class DoubledDense(layers.Dense):
    """A subclass whose own call() differs from its parent's: softmax(2 * logits)."""

    def call(self, inputs):
        return self.activation(2 * self.preactivation(inputs))


@pytest.mark.parametrize("hooked", [False, True])
def test_training_computes_the_function_predict_computes(hooked):
    """The fused loss must not skip a subclass's call() or a hook: fit's loss is the loss of
    predict's outputs (before the fix, training used Dense's plain logits here)."""
    last = (layers.Dense if hooked else DoubledDense)(2, activation="softmax")
    if hooked:
        last.register_forward_hook(lambda module, args, output: output * 0.5 + 0.25)
    model = models.Sequential([layers.Input((2,)), last])
    model.set_weights([np.array([[1.0, -1.0], [0.5, 2.0]], "float32"), np.array([0.1, -0.2], "float32")])
    head = fused_head(model, losses.get("categorical_crossentropy"))
    assert not head.fused
    x, y = np.array([[1.0, 2.0], [-1.0, 0.5]], "float32"), np.array([[0.0, 1.0], [1.0, 0.0]], "float32")
    expected = float(losses.get("categorical_crossentropy")(torch.from_numpy(y), torch.from_numpy(
        model.predict(x, verbose=0))))
    assert model.test_on_batch(x, y) == pytest.approx(expected, rel=1e-6)


# -- lookup, config and targets -------------------------------------------------------------------
def test_get_by_name_class_instance_and_config():
    assert isinstance(losses.get("categorical_crossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get("MSE"), losses.MeanSquaredError)
    assert isinstance(losses.get(losses.BinaryCrossentropy), losses.BinaryCrossentropy)
    instance = losses.CategoricalCrossentropy(label_smoothing=0.1)
    assert losses.get(instance) is instance
    clone = losses.get(losses.serialize(instance))
    assert isinstance(clone, losses.CategoricalCrossentropy) and clone.label_smoothing == 0.1


def test_unknown_loss_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown loss 'categorical_crossentropyy'.*categorical_crossentropy"):
        losses.get("categorical_crossentropyy")


def test_integer_labels_with_categorical_crossentropy_suggest_the_fixes():
    with pytest.raises(ValueError) as error:
        losses.get("categorical_crossentropy").prepare_targets(np.array([1, 2, 3]), (None, 10))
    message = str(error.value)
    assert "sparse_categorical_crossentropy" in message and "to_categorical" in message and "(3,)" in message


def test_sparse_labels_out_of_range():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\).*from 0 to 10"):
        losses.get("sparse_categorical_crossentropy").prepare_targets(np.array([0, 10]), (None, 10))
    with pytest.raises(ValueError, match=r"from -1 to 3"):
        losses.get("sparse_categorical_crossentropy").prepare_targets(np.array([-1, 3]), (None, 10))


def test_sparse_labels_accept_columns_and_integral_floats_but_not_one_hot():
    loss = losses.get("sparse_categorical_crossentropy")
    assert loss.prepare_targets(np.array([[1], [2]]), (None, 3)).tolist() == [1, 2]
    assert loss.prepare_targets(np.array([1.0, 2.0]), (None, 3)).tolist() == [1, 2]
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        loss.prepare_targets(np.eye(3), (None, 3))


def test_binary_targets_as_a_vector_for_one_output():
    targets = losses.get("binary_crossentropy").prepare_targets(np.array([0, 1, 1]), (None, 1))
    assert targets.shape == (3, 1) and targets.dtype == torch.float32
    with pytest.raises(ValueError, match=r"\(None, 2\).*\(3,\)"):
        losses.get("mse").prepare_targets(np.array([0, 1, 1]), (None, 2))
