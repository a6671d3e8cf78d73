"""What the `.keras` tests share: the fixtures Keras 3 wrote (tests/fixtures/make_keras_files.py),
the cnnkit twin of their custom layer, a few models to save, and readers for the files' parts."""

import io
import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import torch

import cnnkit as keras
from cnnkit import layers
from cnnkit.saving import register_keras_serializable

FIXTURES = Path(__file__).parent / "fixtures" / "keras"
EXPECTED = dict(np.load(FIXTURES / "expected.npz", allow_pickle=False))
IMAGES = EXPECTED["images"].astype("float32") / 255  # 16 MNIST test images, (16, 28, 28, 1)
TRAIN_IMAGES = EXPECTED["train_images"].astype("float32") / 255
TRAIN_LABELS = EXPECTED["train_labels"]


@register_keras_serializable(package="cnnkit_fixtures")
class ChannelScale(layers.Layer):
    """The fixture script's custom layer, in cnnkit: each channel times a learned factor."""

    def __init__(self, initial_value=1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_value = initial_value

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), name="scale",
                                     initializer=lambda shape: torch.full(shape, float(self.initial_value)))

    def call(self, inputs):
        return inputs * self.scale

    def get_config(self):
        return {**super().get_config(), "initial_value": self.initial_value}


def outputs(model, x=IMAGES):
    """The model's inference on `x`, as NumPy."""
    with torch.no_grad():
        return model(x, training=False).numpy()


def read_json(path, entry="config.json"):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(entry))


def h5_bytes(path):
    """The HDF5 bytes of a `.keras` file's weights, or of a `.weights.h5` file."""
    if str(path).endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            return archive.read("model.weights.h5")
    return Path(path).read_bytes()


def h5_layout(path):
    """`{dataset path: shape}` and `{group path: its "name" attribute}` of a file's HDF5 weights."""
    datasets, names = {}, {}
    with h5py.File(io.BytesIO(h5_bytes(path)), "r") as file:
        def visit(name, item):
            if isinstance(item, h5py.Dataset):
                datasets[name] = item.shape
            elif "name" in item.attrs:
                names[name] = str(item.attrs["name"])
        file.visititems(visit)
    return datasets, names


def rewrite(path, target, config=None, weights=None, entries=None):
    """A copy of the `.keras` file at `path` with `config` (a dict), `weights` (HDF5 bytes) or other
    `entries` ({name: bytes}) replaced."""
    with zipfile.ZipFile(path) as archive:
        replaced = {name: archive.read(name) for name in archive.namelist()}
    if config is not None:
        replaced["config.json"] = json.dumps(config).encode()
    if weights is not None:
        replaced["model.weights.h5"] = weights
    entries = {**replaced, **(entries or {})}
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return target


def edit_h5(path, edit):
    """The HDF5 weights of `path` after `edit(h5py.File)` changed them, as bytes."""
    buffer = io.BytesIO(h5_bytes(path))
    with h5py.File(buffer, "r+") as file:
        edit(file)
    return buffer.getvalue()


# -- models to save ----------------------------------------------------------------------
def seed_convnet():
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="seed_convnet")
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def residual_bn(dropout=0.0):
    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inputs)
    y = layers.Conv2D(8, 3, padding="same", name="conv_a")(x)
    y = layers.BatchNormalization(name="bn_a")(y)
    y = layers.Activation("relu", name="relu_a")(y)
    y = layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv_b")(y)
    y = layers.BatchNormalization(name="bn_b")(y)
    x = layers.Activation("relu", name="relu_out")(layers.Add(name="skip")([x, y]))
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if dropout:
        x = layers.Dropout(dropout, name="drop")(x)
    outputs = layers.Dense(10, activation="softmax", name="probs")(x)
    model = keras.Model(inputs, outputs, name="residual_bn")
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def custom_layer_model():
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(4, 3, activation="relu")(inputs)
    x = ChannelScale(0.5, name="channel_scale")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.25)(x)
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x), name="custom_layer")
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    return model


def nested_model():
    """A Sequential block used as a layer of a Functional model, with BatchNormalization inside."""
    block = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3, activation="relu"),
                              layers.BatchNormalization()], name="block")
    inputs = keras.Input((28, 28, 1))
    x = layers.GlobalMaxPooling2D()(block(inputs))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x), name="nested")
    model.compile(optimizer=keras.optimizers.RMSprop(momentum=0.5, centered=True),
                  loss="sparse_categorical_crossentropy")
    return model


WIDE_LAYERS = ("Rescaling", "ZeroPadding2D", "DepthwiseConv2D", "SeparableConv2D", "LayerNormalization", "PReLU",
               "Conv2DTranspose", "Cropping2D", "GroupNormalization", "LeakyReLU", "UpSampling2D", "SpatialDropout2D",
               "GaussianNoise", "Permute", "Reshape", "Softmax")


def wide_model():
    """One model through many of cnnkit's other layers (those of WIDE_LAYERS), weights far from their
    initial values."""
    inputs = keras.Input((28, 28, 1), name="digits")
    x = layers.Rescaling(0.5, offset=0.1)(inputs)
    x = layers.ZeroPadding2D(1)(x)
    x = layers.Conv2D(4, 3, strides=2)(x)
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(x)
    x = layers.SeparableConv2D(6, 3, padding="same")(x)
    x = layers.LayerNormalization()(x)
    x = layers.PReLU()(x)
    x = layers.Conv2DTranspose(4, 3, strides=2)(x)
    x = layers.Cropping2D(4)(x)
    x = layers.GroupNormalization(groups=2)(x)
    x = layers.LeakyReLU(0.1)(x)
    x = layers.UpSampling2D(1)(x)
    x = layers.SpatialDropout2D(0.2)(x)
    x = layers.GaussianNoise(0.1)(x)
    x = layers.AveragePooling2D(4)(x)
    x = layers.Permute((2, 1, 3))(x)
    x = layers.Reshape((-1,))(x)
    outputs = layers.Softmax()(layers.Dense(10)(x))
    model = keras.Model(inputs, outputs, name="wide")
    rng = np.random.default_rng(0)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.3 + (1.0 if w.ndim == 1 else 0.0)
                       for w in model.get_weights()])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def train_steps(model, steps=2):
    for _ in range(steps):
        model.train_on_batch(TRAIN_IMAGES, TRAIN_LABELS)
    return model
