"""BatchNormalization against numbers Keras 3.15 printed for the same input."""

import numpy as np
import pytest
import torch

from cnnkit import layers, models

# x = (arange(24).reshape(2, 2, 2, 3) % 7) / 3; Keras: BatchNormalization()(x, training=True)
X = (np.arange(24, dtype="float32").reshape(2, 2, 2, 3) % 7) / 3.0
KERAS_TRAINING_ROWS = [[-1.2383488, -0.8809110, -0.4599930], [0.1769069, 0.6292220, 1.1171259],
                       [1.5921627, -1.3842887, -0.9856994]]
KERAS_MOVING_MEAN = [0.00875, 0.0091666663, 0.0095833326]
KERAS_MOVING_VARIANCE = [0.99498266, 0.99437499, 0.99401045]
KERAS_INFERENCE_ROWS_AFTER = [[-0.0087676, 0.3249189, 0.6587288], [0.9932472, 1.3272395, 1.6612328]]


def built_layer():
    layer = layers.BatchNormalization()
    layer.build_for((None, 2, 2, 3))
    return layer


def test_training_output_and_moving_statistics_match_keras():
    layer = built_layer()
    out = layer(torch.from_numpy(X), training=True).detach().numpy().reshape(-1, 3)
    np.testing.assert_allclose(out[:3], KERAS_TRAINING_ROWS, atol=1e-5)
    gamma, beta, moving_mean, moving_variance = layer.get_weights()
    np.testing.assert_allclose(moving_mean, KERAS_MOVING_MEAN, rtol=1e-6)
    np.testing.assert_allclose(moving_variance, KERAS_MOVING_VARIANCE, rtol=1e-6)
    inference = layer(torch.from_numpy(X)).detach().numpy().reshape(-1, 3)  # inference by default, as in Keras
    np.testing.assert_allclose(inference[:2], KERAS_INFERENCE_ROWS_AFTER, atol=1e-5)


def test_weights_counts_and_gradients_as_in_keras():
    layer = built_layer()
    assert layer.count_params() == 12
    assert [p.requires_grad for p in layer.parameters()] == [True, True, False, False]
    layer.trainable = True  # re-enabling training must not make the moving statistics trainable
    assert [p.requires_grad for p in layer.parameters()] == [True, True, False, False]
    x = torch.from_numpy(X).requires_grad_()
    layer(x, training=True).square().sum().backward()
    reference = torch.from_numpy(X).requires_grad_()
    mean, variance = reference.mean((0, 1, 2)), reference.var((0, 1, 2), unbiased=False)
    ((reference - mean) / torch.sqrt(variance + 1e-3)).square().sum().backward()
    torch.testing.assert_close(x.grad, reference.grad, atol=1e-5, rtol=1e-4)


def test_frozen_layer_uses_moving_statistics_in_training():
    layer = built_layer()
    layer.trainable = False
    out = layer(torch.from_numpy(X), training=True)
    torch.testing.assert_close(out, torch.from_numpy(X) / np.sqrt(1 + 1e-3))
    assert layer.get_weights()[2].tolist() == [0.0, 0.0, 0.0]


def test_in_a_model_after_dense_and_config_round_trip():
    model = models.Sequential([layers.Input((4,)), layers.Dense(3), layers.BatchNormalization(momentum=0.9)])
    assert model.output_shape == (None, 3)
    layer = model.layers[-1]
    clone = layers.BatchNormalization.from_config(layer.get_config())
    assert (clone.momentum, clone.epsilon, clone.axis) == (0.9, 1e-3, -1)


@pytest.mark.parametrize("kwargs, message", [({"axis": 1}, "axis -1 only"), ({"momentum": 2}, "momentum"),
                                              ({"epsilon": 0}, "epsilon")])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.BatchNormalization(**kwargs)


def test_get_weights_returns_copies_that_training_leaves_alone():
    layer = built_layer()
    before = layer.get_weights()
    layer(torch.from_numpy(X), training=True)
    assert before[2].tolist() == [0.0, 0.0, 0.0]


def test_a_batch_of_one_vector_trains_as_in_keras_variance_zero(fresh_names):
    """torch's batch_norm refuses one value per channel in training; Keras's output is beta."""
    layer = layers.BatchNormalization(momentum=0.5, beta_initializer="ones")
    layer.build_for((None, 3))
    x = torch.tensor([[1.0, -2.0, 4.0]], requires_grad=True)
    out = layer(x, training=True)
    np.testing.assert_array_equal(out.detach().numpy(), [[1.0, 1.0, 1.0]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0, 0.0]])
    np.testing.assert_allclose(layer.moving_mean.detach().numpy(), [0.5, -1.0, 2.0])
    np.testing.assert_allclose(layer.moving_variance.detach().numpy(), [0.5, 0.5, 0.5])
