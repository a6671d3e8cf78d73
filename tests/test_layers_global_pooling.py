"""GlobalAveragePooling2D and GlobalMaxPooling2D against Keras's numbers, shapes, configs and messages."""

import numpy as np
import pytest
import torch

from cnnkit.layers.pooling.global_pooling2d import (
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
)

X = (np.arange(48, dtype="float32").reshape(2, 3, 4, 2) % 7) - 3   # integers -3..3, tied maxima
X2 = np.arange(90, dtype="float32").reshape(2, 5, 3, 3) / 7         # means that round

# From Keras 3.15, TensorFlow backend: layer()(x), flattened, and the gradient of
# sum(output * channel_weights) (tf.GradientTape), flattened; channel weights [1, 2] and [1, 2, 3].
KERAS_POOLING = {
    (GlobalAveragePooling2D, "X"): (
        (2, 2), [-0.16666667, -0.33333334, -0.083333336, 0.33333334],
        # every cell of a channel gets weight / (3 * 4)
        np.tile([0.083333336, 0.16666667], 24)),
    (GlobalAveragePooling2D, "X2"): (
        (2, 3), [3.0000002, 3.142857, 3.2857141, 9.428572, 9.571428, 9.714285],
        np.tile([0.06666667, 0.13333334, 0.2], 30)),
    (GlobalMaxPooling2D, "X"): (
        (2, 2), [3.0, 3.0, 3.0, 3.0],
        # sample 0, channel 0 has its maximum 3 twice: each gets half of the gradient
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0,
         0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0,
         0.0, 0.0, 0.0, 0.0]),
    (GlobalMaxPooling2D, "X2"): (
        (2, 3), [6.0, 6.142857, 6.285714, 12.428572, 12.571428, 12.714286],
        [0.0] * 42 + [1.0, 2.0, 3.0] + [0.0] * 42 + [1.0, 2.0, 3.0]),
}
INPUTS = {"X": (X, [1.0, 2.0]), "X2": (X2, [1.0, 2.0, 3.0])}
LAYERS = [GlobalAveragePooling2D, GlobalMaxPooling2D]


@pytest.mark.parametrize("layer_class, name", sorted(KERAS_POOLING, key=str), ids=str)
def test_values_and_gradients_match_keras(layer_class, name):
    shape, values, keras_grad = KERAS_POOLING[layer_class, name]
    array, channel_weights = INPUTS[name]
    layer = layer_class()
    assert layer.build_for((None, *array.shape[1:])) == (None, shape[1])
    x = torch.tensor(array, requires_grad=True)
    output = layer.call(x)
    assert tuple(output.shape) == shape
    np.testing.assert_allclose(output.detach().numpy().ravel(), values, rtol=1e-6)
    (output * torch.tensor(channel_weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy().ravel(), keras_grad, rtol=1e-6)


@pytest.mark.parametrize("layer_class", LAYERS, ids=lambda c: c.__name__)
def test_keepdims_keeps_height_and_width_as_ones(layer_class):
    # From Keras 3.15: layer(keepdims=True)(X).shape == (2, 1, 1, 2); values as without keepdims.
    layer = layer_class(keepdims=True)
    assert layer.build_for((None, 3, 4, 2)) == (None, 1, 1, 2)
    output = layer.call(torch.tensor(X))
    assert tuple(output.shape) == (2, 1, 1, 2)
    np.testing.assert_allclose(output.numpy().ravel(), KERAS_POOLING[layer_class, "X"][1], rtol=1e-6)


@pytest.mark.parametrize("layer_class", LAYERS, ids=lambda c: c.__name__)
def test_output_shapes_match_keras(layer_class):
    # From Keras 3.15: compute_output_shape.
    assert layer_class().build_for((None, 7, 5, 3)) == (None, 3)
    assert layer_class(keepdims=True).build_for((None, 7, 5, 3)) == (None, 1, 1, 3)
    assert layer_class(keepdims=True).build_for((None, None, None, 3)) == (None, 1, 1, 3)
    assert layer_class().build_for((8, None, None, 3)) == (8, 3)


@pytest.mark.parametrize("layer_class", LAYERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("shape", [(None, 3, 4), (1, 2, 3, 4, 5)])
def test_input_must_have_rank_4(layer_class, shape):
    # From Keras 3.15: "Input 0 with name 'None' of layer 'global_average_pooling2d' is incompatible with the
    # layer: expected ndim=4, found ndim=3. Full shape received: (None, 3, 4)" (and ndim=5 for the second).
    with pytest.raises(ValueError, match=rf"Input 0 of layer 'pool' .*expected ndim=4, found ndim={len(shape)}"):
        layer_class(name="pool").build_for(shape)


@pytest.mark.parametrize("layer_class, name", [(GlobalAveragePooling2D, "global_average_pooling2d"),
                                               (GlobalMaxPooling2D, "global_max_pooling2d")])
def test_config_as_keras_without_its_dtype(fresh_names, layer_class, name):
    # From Keras 3.15: {'name': 'global_average_pooling2d', 'trainable': True, 'dtype': {...},
    # 'data_format': 'channels_last', 'keepdims': False}; cnnkit layers have no dtype policy.
    assert layer_class().get_config() == {"name": name, "trainable": True,
                                          "data_format": "channels_last", "keepdims": False}
    config = layer_class(data_format="channels_last", keepdims=True, name="head").get_config()
    assert config == {"name": "head", "trainable": True, "data_format": "channels_last", "keepdims": True}
    clone = layer_class.from_config(config)
    assert (clone.name, clone.keepdims, clone.data_format) == ("head", True, "channels_last")


def test_keras_aliases():
    assert GlobalAvgPool2D is GlobalAveragePooling2D and GlobalMaxPool2D is GlobalMaxPooling2D


@pytest.mark.parametrize("layer_class", LAYERS, ids=lambda c: c.__name__)
def test_arguments_are_checked(layer_class):
    # Keras also takes "channels_first"; cnnkit is channels-last only.
    with pytest.raises(ValueError, match="supports data_format='channels_last' only"):
        layer_class(data_format="channels_first")
    # Keras stores any value (and then treats it as true or false); cnnkit asks for a bool.
    with pytest.raises(ValueError, match=r"Argument `keepdims` of layer 'p' must be True or False. Received: keepdims='yes'"):
        layer_class(keepdims="yes", name="p")


def test_no_weights():
    layer = GlobalAveragePooling2D()
    layer.build_for((None, 7, 7, 512))
    assert layer.weights == [] and layer.count_params() == 0
