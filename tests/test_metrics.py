"""Metrics: accuracy resolution, streaming means, per-sample functions."""

import numpy as np
import pytest
import torch

from cnnkit import metrics


@pytest.mark.parametrize("loss, output_size, function", [
    ("categorical_crossentropy", 10, metrics.categorical_accuracy),
    ("sparse_categorical_crossentropy", 10, metrics.sparse_categorical_accuracy),
    ("binary_crossentropy", 1, metrics.binary_accuracy),
    ("mean_squared_error", 1, metrics.binary_accuracy),  # one output: binary, as Keras decides by shape
    ("mean_squared_error", 10, metrics.categorical_accuracy),
])
def test_accuracy_resolves_as_keras(loss, output_size, function):
    metric = metrics.get("accuracy", loss, output_size)
    assert metric.fn is function and metric.name == "accuracy"


def test_accuracy_resolves_from_a_loss_object():
    from cnnkit import losses
    metric = metrics.get("acc", losses.SparseCategoricalCrossentropy(), 3)
    assert metric.fn is metrics.sparse_categorical_accuracy and metric.name == "acc"


def test_categorical_accuracy_by_hand():
    y_true = torch.tensor([[0, 1, 0], [1, 0, 0], [0, 0, 1.0]])
    y_pred = torch.tensor([[0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]])
    assert metrics.categorical_accuracy(y_true, y_pred).tolist() == [1.0, 0.0, 1.0]


def test_sparse_categorical_accuracy_takes_vectors_and_columns():
    y_pred = torch.tensor([[0.1, 0.8, 0.1], [0.2, 0.7, 0.1]])
    assert metrics.sparse_categorical_accuracy(torch.tensor([1, 0]), y_pred).tolist() == [1.0, 0.0]
    assert metrics.sparse_categorical_accuracy(torch.tensor([[1], [1]]), y_pred).tolist() == [1.0, 1.0]


def test_binary_accuracy_thresholds_at_one_half():
    y_true = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    y_pred = torch.tensor([[0.6, 0.5], [0.4, 0.2]])
    assert metrics.binary_accuracy(y_true, y_pred).tolist() == [1.0, 0.5]


def test_mean_weights_its_values():
    mean = metrics.Mean("loss")
    assert mean.result() == 0.0
    mean.update_state(torch.tensor(1.0), 3)
    mean.update_state(torch.tensor(3.0), 1)
    assert mean.result() == pytest.approx(1.5) and mean.count == 4
    mean.reset_state()
    assert mean.result() == 0.0 and mean.count == 0


def test_wrapper_accumulates_over_batches():
    metric = metrics.get("accuracy", "categorical_crossentropy", 2)
    metric.update_state(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.9, 0.1]]))
    metric.update_state(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.2, 0.8], [0.3, 0.7]]))
    assert metric.result() == pytest.approx(2 / 3)


@pytest.mark.parametrize("name, expected", [("mae", [0.15, 0.45]), ("mse", [0.025, 0.225])])
def test_error_metrics_by_name(name, expected):
    metric = metrics.get(name)
    values = metric.fn(torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.tensor([[0.9, 0.2], [0.3, 0.6]]))
    np.testing.assert_allclose(values.numpy(), expected, rtol=1e-5)


def test_callables_and_instances():
    def hits(y_true, y_pred):
        return (y_true == y_pred).float()

    assert metrics.get(hits).name == "hits"
    instance = metrics.Mean("x")
    assert metrics.get(instance) is instance


def test_unknown_metric_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown metric 'acuracy'.*accuracy"):
        metrics.get("acuracy")
