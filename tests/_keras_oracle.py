"""Keras 3's recorded behaviour (tests/fixtures/keras_oracle.json) and the oracle's models built in cnnkit.

The conventions are the oracle's (see make_keras_oracle.py): weights from
`np.random.default_rng(0)` times 0.1 in `get_weights()` order, the i-th input (1-based) from
`np.random.default_rng(i)`, both float32. Each `build_*` below is the cnnkit twin of the
script's function of that name, with the same layer names, so its numbers are Keras's.
"""

import json
from pathlib import Path

import numpy as np

import cnnkit as keras
from cnnkit import layers

ORACLE = json.loads((Path(__file__).parent / "fixtures" / "keras_oracle.json").read_text())


def seed_weights(model):
    """Every weight, in `get_weights()` order, from default_rng(0) * 0.1, as the oracle did."""
    rng = np.random.default_rng(0)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.1 for w in model.get_weights()])
    return model


def model_inputs(model, batch=2):
    """Input i (1-based, `model.inputs` order) from default_rng(i): one array, or a list for several."""
    arrays = [np.random.default_rng(i).standard_normal((batch, *tensor.shape[1:])).astype("float32")
              for i, tensor in enumerate(model.inputs, start=1)]
    return arrays[0] if len(arrays) == 1 else arrays


def summary_text(model, record):
    """The text `model.summary` gives with the recorded kwargs and line_length."""
    chunks = []
    model.summary(print_fn=chunks.append, **{**record["kwargs"], "line_length": record["line_length"]})
    assert len(chunks) == 1, "Keras hands the whole summary to print_fn in one call"
    return chunks[0]


def output_shapes(model):
    """`{layer name: shape of layer.output}` as lists, None for unknown sizes (the oracle's form)."""
    return {layer.name: list(layer.output.shape) for layer in model.layers}


def weight_paths(model):
    return [path for path, *_ in model.weight_entries()]


def build_chain():
    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv3")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return seed_weights(keras.Model(inputs, outputs, name="chain"))


def chain_layers():
    """The chain's layers, unbuilt, for a Sequential twin."""
    return [
        layers.Conv2D(32, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(64, 3, activation="relu", name="conv2"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Conv2D(64, 3, activation="relu", name="conv3"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, activation="softmax", name="predictions"),
    ]


def build_residual():
    inputs = keras.Input((8, 8, 3), name="image")
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_a")(inputs)
    y = layers.Conv2D(4, 3, padding="same", name="conv_b")(x)
    z = layers.add([x, y], name="add")
    z = layers.GlobalAveragePooling2D(name="gap")(z)
    outputs = layers.Dense(3, activation="softmax", name="predictions")(z)
    return seed_weights(keras.Model(inputs, outputs, name="residual"))


def build_two_io():
    image = keras.Input((6, 6, 1), name="image")
    meta = keras.Input((5,), name="meta")
    x = layers.Conv2D(2, 3, activation="relu", name="conv")(image)
    flat = layers.Flatten(name="flatten")(x)
    x = layers.Concatenate(name="concat")([flat, meta])
    x = layers.Dense(8, activation="relu", name="hidden")(x)
    label = layers.Dense(3, activation="softmax", name="label")(x)
    score = layers.Dense(1, name="score")(x)
    return seed_weights(keras.Model([image, meta], [label, score], name="two_io"))


def two_io_data(n=8):
    """The oracle's training data: ([image, meta], labels, score)."""
    rng = np.random.default_rng(3)
    image = rng.standard_normal((n, 6, 6, 1)).astype("float32")
    meta = rng.standard_normal((n, 5)).astype("float32")
    labels = np.random.default_rng(4).integers(0, 3, size=(n,)).astype("int64")
    score = np.random.default_rng(5).standard_normal((n, 1)).astype("float32")
    return [image, meta], labels, score


def build_nested():
    conv_base = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            layers.Conv2D(2, 3, activation="relu", name="inner_conv"),
            layers.MaxPooling2D(2, name="inner_pool"),
        ],
        name="conv_base",
    )
    inputs = keras.Input((8, 8, 1), name="image")
    x = conv_base(inputs)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(2, name="logits")(x)
    return seed_weights(keras.Model(inputs, outputs, name="nested"))


def build_tiny(compile=True):
    inputs = keras.Input((4,), name="x")
    x = layers.Dense(3, name="d1")(inputs)
    outputs = layers.Dense(1, name="d2")(x)
    model = seed_weights(keras.Model(inputs, outputs, name="tiny"))
    if compile:
        model.compile("sgd", "mse")
    return model


def tiny_data(n=8):
    x = np.random.default_rng(6).standard_normal((n, 4)).astype("float32")
    y = np.random.default_rng(7).standard_normal((n, 1)).astype("float32")
    return x, y


def fit_tiny(model):
    """One epoch as the oracle's freezing section ran it."""
    x, y = tiny_data()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)


def build_bn_model():
    inputs = keras.Input((4, 4, 3), name="image")
    x = layers.BatchNormalization(name="bn")(inputs)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(2, name="dense")(x)
    return seed_weights(keras.Model(inputs, outputs, name="bn_model"))


class MyModel(keras.Model):
    """The oracle's subclassed model."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(4, activation="relu", name="hidden")
        self.out = layers.Dense(2, name="out")

    def call(self, inputs, training=None):
        return self.out(self.hidden(inputs))


class Scale(keras.layers.Layer):
    """The oracle's custom layer: one trainable weight per input channel."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", trainable=True, name="scale")

    def call(self, inputs):
        return inputs * self.scale
