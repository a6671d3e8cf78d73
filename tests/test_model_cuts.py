"""Models cut from another model's graph, as convnet courses use them to look inside: the
activation model, the classifier from the last convolution on, and gradient ascent on an input."""

import numpy as np
import torch

import cnnkit as keras
from _keras_oracle import ORACLE, build_chain, chain_layers, model_inputs, seed_weights

KERAS_OUTPUTS = np.array(ORACLE["chain"]["outputs"], dtype=np.float32)


def check_activation_model(model):
    activations = keras.Model(model.input, [layer.output for layer in model.layers])
    x = model_inputs(model)
    outputs = activations.predict(x, verbose=0)
    assert len(outputs) == len(model.layers)
    assert [o.shape[1:] for o in outputs] == [tuple(layer.output.shape[1:]) for layer in model.layers]
    np.testing.assert_allclose(outputs[-1], KERAS_OUTPUTS, rtol=1e-5, atol=1e-6)
    return activations, outputs


def test_activation_model_from_a_functional_model():
    model = build_chain()
    activations, outputs = check_activation_model(model)
    assert [layer.name for layer in activations.layers] == ORACLE["chain"]["layer_names"]
    np.testing.assert_array_equal(outputs[0], model_inputs(model))  # the InputLayer's output is the input
    flatten = model.layers.index(model.get_layer("flatten"))
    np.testing.assert_array_equal(outputs[flatten], outputs[flatten - 1].reshape(2, -1))


def test_activation_model_from_a_sequential_model():
    """The chain as a Sequential has the same weights in the same order: Keras's numbers again."""
    model = seed_weights(keras.Sequential([keras.Input((28, 28, 1)), *chain_layers()], name="chain"))
    np.testing.assert_allclose(model.predict(model_inputs(model), verbose=0), KERAS_OUTPUTS, rtol=1e-5, atol=1e-6)
    activations, outputs = check_activation_model(model)
    assert [layer.name for layer in activations.layers][1:] == ORACLE["chain"]["layer_names"][1:]


def test_classifier_cut_at_the_last_convolution():
    """`Model(last_conv.output, x)` with x from calling the remaining layers on that tensor."""
    model = build_chain()
    last_conv = model.get_layer("conv3")
    features = keras.Model(model.input, last_conv.output)
    x = last_conv.output
    for name in ("flatten", "predictions"):
        x = model.get_layer(name)(x)
    classifier = keras.Model(last_conv.output, x)
    assert [layer.name for layer in classifier.layers] == ["flatten", "predictions"]
    assert classifier.count_params() == 576 * 10 + 10
    conv_output = features.predict(model_inputs(model), verbose=0)
    assert conv_output.shape == (2, 3, 3, 64)
    np.testing.assert_allclose(classifier.predict(conv_output, verbose=0), KERAS_OUTPUTS, rtol=1e-5, atol=1e-6)
    # The gradient of a class score with respect to the last convolution's output (Grad-CAM's start).
    conv = torch.tensor(conv_output, requires_grad=True)
    classifier(conv)[:, 2].sum().backward()
    assert conv.grad.shape == (2, 3, 3, 64) and conv.grad.abs().sum() > 0
    np.testing.assert_allclose(model.predict(model_inputs(model), verbose=0), KERAS_OUTPUTS, rtol=1e-5, atol=1e-6)


def test_gradient_ascent_raises_a_filters_mean_activation():
    model = build_chain()
    feature_extractor = keras.Model(model.input, model.get_layer("conv2").output)
    image = torch.tensor(np.random.default_rng(9).uniform(0, 1, (1, 28, 28, 1)).astype("float32"),
                         requires_grad=True)
    means = []
    for _ in range(5):
        activation = feature_extractor(image)[..., 3].mean()
        means.append(activation.item())
        image.grad = None
        activation.backward()
        with torch.no_grad():
            image += image.grad / (image.grad.norm() + 1e-8)
    assert all(later > earlier for earlier, later in zip(means, means[1:])), means
    assert means[-1] > 2 * means[0]
