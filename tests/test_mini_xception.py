"""The mini-Xception of "Deep Learning with Python" (2nd ed., chapter 9) as a Functional model.

Keras's numbers were recorded with Keras 3.15.1 (TensorFlow backend) on the same model, built by
`build` below with `keras` in place of `cnnkit`: its summary, weights set by `seed_weights` and
the prediction for `images()`. Augmentation in front, as in the book; inference skips it.
"""

import hashlib

import numpy as np
import pytest

import cnnkit as keras
from cnnkit import layers


def build():
    inputs = keras.Input((180, 180, 3), name="image")
    augmentation = keras.Sequential([layers.RandomFlip("horizontal", name="flip"),
                                     layers.RandomRotation(0.1, name="rotate"),
                                     layers.RandomZoom(0.2, name="zoom")], name="augmentation")
    x = augmentation(inputs)
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    x = layers.Conv2D(32, 5, use_bias=False, name="stem")(x)
    for size in [32, 64, 128, 256, 512]:
        residual = x
        for i in (1, 2):
            x = layers.BatchNormalization(name=f"b{size}_bn{i}")(x)
            x = layers.Activation("relu", name=f"b{size}_relu{i}")(x)
            x = layers.SeparableConv2D(size, 3, padding="same", use_bias=False, name=f"b{size}_sep{i}")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"b{size}_pool")(x)
        residual = layers.Conv2D(size, 1, strides=2, padding="same", use_bias=False,
                                 name=f"b{size}_shortcut")(residual)
        x = layers.add([x, residual], name=f"b{size}_add")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="classifier")(x)
    return keras.Model(inputs, outputs, name="mini_xception")


def seed_weights(model):
    """Layer by layer from default_rng(0): kernels N(0, 1/fan_in); BatchNormalization near identity."""
    rng = np.random.default_rng(0)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, variance = (rng.standard_normal(w.shape).astype("float32") * 0.1 for w in weights)
            weights = [1 + gamma, beta, mean, 1 + abs(variance)]
        else:
            weights = [(rng.standard_normal(w.shape) / np.sqrt(np.prod(w.shape[:-1]))).astype("float32")
                       for w in weights]
        layer.set_weights(weights)
    return model


def images():
    return np.random.default_rng(1).uniform(0, 255, (2, 180, 180, 3)).astype("float32")


# Keras 3.15.1: (name, class, output shape, params) of each `model.layers` row of the summary.
KERAS_ROWS = [
    ("image", "InputLayer", (None, 180, 180, 3), 0),
    ("augmentation", "Sequential", (None, 180, 180, 3), 0),
    ("rescale", "Rescaling", (None, 180, 180, 3), 0),
    ("stem", "Conv2D", (None, 176, 176, 32), 2400),
    ("b32_bn1", "BatchNormalization", (None, 176, 176, 32), 128),
    ("b32_relu1", "Activation", (None, 176, 176, 32), 0),
    ("b32_sep1", "SeparableConv2D", (None, 176, 176, 32), 1312),
    ("b32_bn2", "BatchNormalization", (None, 176, 176, 32), 128),
    ("b32_relu2", "Activation", (None, 176, 176, 32), 0),
    ("b32_sep2", "SeparableConv2D", (None, 176, 176, 32), 1312),
    ("b32_pool", "MaxPooling2D", (None, 88, 88, 32), 0),
    ("b32_shortcut", "Conv2D", (None, 88, 88, 32), 1024),
    ("b32_add", "Add", (None, 88, 88, 32), 0),
    ("b64_bn1", "BatchNormalization", (None, 88, 88, 32), 128),
    ("b64_relu1", "Activation", (None, 88, 88, 32), 0),
    ("b64_sep1", "SeparableConv2D", (None, 88, 88, 64), 2336),
    ("b64_bn2", "BatchNormalization", (None, 88, 88, 64), 256),
    ("b64_relu2", "Activation", (None, 88, 88, 64), 0),
    ("b64_sep2", "SeparableConv2D", (None, 88, 88, 64), 4672),
    ("b64_pool", "MaxPooling2D", (None, 44, 44, 64), 0),
    ("b64_shortcut", "Conv2D", (None, 44, 44, 64), 2048),
    ("b64_add", "Add", (None, 44, 44, 64), 0),
    ("b128_bn1", "BatchNormalization", (None, 44, 44, 64), 256),
    ("b128_relu1", "Activation", (None, 44, 44, 64), 0),
    ("b128_sep1", "SeparableConv2D", (None, 44, 44, 128), 8768),
    ("b128_bn2", "BatchNormalization", (None, 44, 44, 128), 512),
    ("b128_relu2", "Activation", (None, 44, 44, 128), 0),
    ("b128_sep2", "SeparableConv2D", (None, 44, 44, 128), 17536),
    ("b128_pool", "MaxPooling2D", (None, 22, 22, 128), 0),
    ("b128_shortcut", "Conv2D", (None, 22, 22, 128), 8192),
    ("b128_add", "Add", (None, 22, 22, 128), 0),
    ("b256_bn1", "BatchNormalization", (None, 22, 22, 128), 512),
    ("b256_relu1", "Activation", (None, 22, 22, 128), 0),
    ("b256_sep1", "SeparableConv2D", (None, 22, 22, 256), 33920),
    ("b256_bn2", "BatchNormalization", (None, 22, 22, 256), 1024),
    ("b256_relu2", "Activation", (None, 22, 22, 256), 0),
    ("b256_sep2", "SeparableConv2D", (None, 22, 22, 256), 67840),
    ("b256_pool", "MaxPooling2D", (None, 11, 11, 256), 0),
    ("b256_shortcut", "Conv2D", (None, 11, 11, 256), 32768),
    ("b256_add", "Add", (None, 11, 11, 256), 0),
    ("b512_bn1", "BatchNormalization", (None, 11, 11, 256), 1024),
    ("b512_relu1", "Activation", (None, 11, 11, 256), 0),
    ("b512_sep1", "SeparableConv2D", (None, 11, 11, 512), 133376),
    ("b512_bn2", "BatchNormalization", (None, 11, 11, 512), 2048),
    ("b512_relu2", "Activation", (None, 11, 11, 512), 0),
    ("b512_sep2", "SeparableConv2D", (None, 11, 11, 512), 266752),
    ("b512_pool", "MaxPooling2D", (None, 6, 6, 512), 0),
    ("b512_shortcut", "Conv2D", (None, 6, 6, 512), 131072),
    ("b512_add", "Add", (None, 6, 6, 512), 0),
    ("gap", "GlobalAveragePooling2D", (None, 512), 0),
    ("dropout", "Dropout", (None, 512), 0),
    ("classifier", "Dense", (None, 1), 513),
]
KERAS_TOTALS = [" Total params: 721,857 (2.75 MB)", " Trainable params: 718,849 (2.74 MB)",
                " Non-trainable params: 3,008 (11.75 KB)"]
# sha256 of the whole text Keras hands to print_fn (line_length 108, its default for graph models).
KERAS_SUMMARY_SHA256 = "235f4f21cf48d460127a0fea1adf3ddf5af9a3ba47045cc47b597b5ce8e34985"
# Keras's prediction for images() with seed_weights, and the first 8 GlobalAveragePooling2D features.
KERAS_OUTPUT = [0.57937, 0.5854453]
KERAS_FEATURES = [[0.2306351, 0.557759, -0.1535422, 0.02760094, 0.9863703, 0.4239324, 0.05153402, -0.01882788],
                  [0.158262, 0.4985356, -0.1211306, 0.0439405, 0.8835579, 0.4433943, 0.02709475, 0.05421603]]


@pytest.fixture(scope="module")
def model():
    return seed_weights(build())


def summary_text(model):
    chunks = []
    model.summary(print_fn=chunks.append, line_length=108)
    return "".join(chunks)


def test_summary_rows_and_total_as_keras(model):
    rows = [(layer.name, type(layer).__name__, tuple(layer.output.shape), layer.count_params())
            for layer in model.layers]
    assert rows == KERAS_ROWS
    assert model.count_params() == 721_857
    text = summary_text(model)
    assert text.splitlines()[-3:] == KERAS_TOTALS
    assert hashlib.sha256(text.encode()).hexdigest() == KERAS_SUMMARY_SHA256


def test_prediction_as_keras_with_the_same_weights(model):
    x = images()
    np.testing.assert_allclose(np.asarray(model.predict(x, verbose=0))[:, 0], KERAS_OUTPUT, rtol=1e-5, atol=1e-6)
    features = keras.Model(model.input, model.get_layer("gap").output).predict(x, verbose=0)
    np.testing.assert_allclose(np.asarray(features)[:, :8], KERAS_FEATURES, rtol=1e-4, atol=1e-5)


def test_one_training_step_changes_every_weight(seeded):
    """Trainable weights by the update, BatchNormalization's moving statistics by the batch's."""
    model = seed_weights(build())
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 255, (2, 180, 180, 3)).astype("float32")
    loss = model.train_on_batch(x, np.array([[0.0], [1.0]], "float32"))
    assert np.isfinite(np.asarray(loss, dtype="float64")).all()
    after = model.get_weights()
    assert len(after) == len(before) == 68  # stem, 10 BatchNormalization x 4, 10 separable x 2, 5 shortcuts, dense x 2
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))
