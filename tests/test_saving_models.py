"""Saving every kind of model in the `.cnnkit` file: Functional graphs (residual, multi-input and
multi-output, nested and shared layers), subclassed models and custom layers (registered or passed
as custom_objects), frozen layers; the Functional config in Keras 3's own schema (recorded from
Keras 3.15); configs that must never run code, hang or crash; and files of format 1."""

import json
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import save as safetensors_bytes

import cnnkit
from cnnkit import Input, Model, layers, models
from cnnkit.saving import ModelFileError
from cnnkit.saving.model_config import compile_config

RNG = np.random.default_rng(0)


# ------------------------------------------------------------------ helpers
def summary_text(model):
    chunks = []
    model.summary(print_fn=chunks.append)
    return "".join(chunks)


def round_trip(model, tmp_path, **load_kwargs):
    path = tmp_path / f"{model.name}.cnnkit"
    model.save(path)
    return models.load_model(path, **load_kwargs)


def read_config(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def as_list(outputs):
    return outputs if isinstance(outputs, list) else [outputs]


def assert_same_model(model, restored, x):
    """Same name, layers (names, order, trainable flags), summary, weights and predictions."""
    assert type(restored) is type(model) and restored.name == model.name
    assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]
    assert [layer.trainable for layer in restored.layers] == [layer.trainable for layer in model.layers]
    assert summary_text(restored) == summary_text(model)
    assert [path for path, *_ in restored.weight_entries()] == [path for path, *_ in model.weight_entries()]
    for saved, loaded in zip(model.get_weights(), restored.get_weights(), strict=True):
        assert np.array_equal(saved, loaded)
    for saved, loaded in zip(as_list(model.predict(x, verbose=0)), as_list(restored.predict(x, verbose=0)),
                             strict=True):
        assert np.array_equal(saved, loaded)


def assert_same_compile_settings(model, restored):
    assert restored.compiled and compile_config(restored) == compile_config(model)
    assert restored.optimizer.get_config() == model.optimizer.get_config()
    assert int(restored.optimizer.iterations) == int(model.optimizer.iterations) > 0


def assert_trains_identically(model, restored, x, y, epochs=2):
    """The restored model continues training exactly as the unsaved one does (optimizer state included)."""
    cnnkit.set_random_seed(7)
    expected = model.fit(x, y, epochs=epochs, batch_size=4, verbose=0).history
    cnnkit.set_random_seed(7)
    found = restored.fit(x, y, epochs=epochs, batch_size=4, verbose=0).history
    assert found == expected
    for saved, loaded in zip(model.get_weights(), restored.get_weights(), strict=True):
        assert np.array_equal(saved, loaded)


def fit_once(model, x, y):
    cnnkit.set_random_seed(3)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)


def images(n=8, size=6, channels=2):
    return RNG.random((n, size, size, channels), dtype=np.float32)


def one_hot(n=8, classes=3):
    return np.eye(classes, dtype=np.float32)[RNG.integers(0, classes, n)]


# ------------------------------------------------------------------ Functional round trips
def residual_model():
    image = Input((6, 6, 2), name="image")
    x = layers.Conv2D(4, 3, padding="same", name="conv")(image)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    skip = layers.Conv2D(4, 1, name="skip")(image)
    x = layers.add([x, skip], name="add")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return Model(image, layers.Dense(3, activation="softmax", name="out")(x), name="residual")


def test_residual_model_with_batch_norm_round_trips(fresh_names, seeded, tmp_path):
    model = residual_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = images(), one_hot()
    fit_once(model, x, y)
    restored = round_trip(model, tmp_path)
    assert type(restored).__name__ == "Functional"
    assert_same_model(model, restored, x)
    assert_same_compile_settings(model, restored)
    bn = restored.get_layer("bn")
    assert [w.requires_grad for w in bn.weights] == [True, True, False, False]
    assert_trains_identically(model, restored, x, y)


def two_in_two_out_model():
    image = Input((6, 6, 1), name="image")
    meta = Input((3,), name="meta")
    x = layers.Conv2D(3, 3, activation="relu", name="conv")(image)
    x = layers.Flatten(name="flat")(x)
    x = layers.concatenate([x, layers.Dense(4, activation="relu", name="meta_dense")(meta)], name="merged")
    label = layers.Dense(3, activation="softmax", name="label")(x)
    score = layers.Dense(1, name="score")(x)
    return Model([image, meta], [label, score], name="two_by_two")


def test_two_inputs_two_outputs_with_dict_losses_round_trip(fresh_names, seeded, tmp_path):
    model = two_in_two_out_model()
    model.compile(optimizer=cnnkit.optimizers.SGD(learning_rate=0.05, momentum=0.9),
                  loss={"label": "categorical_crossentropy", "score": "mse"},
                  loss_weights={"label": 1.0, "score": 0.5},
                  metrics={"label": ["accuracy"], "score": ["mae"]})
    x = {"image": images(channels=1), "meta": RNG.random((8, 3), dtype=np.float32)}
    y = {"label": one_hot(), "score": RNG.random((8, 1), dtype=np.float32)}
    fit_once(model, x, y)
    restored = round_trip(model, tmp_path)
    assert restored.input_names == ["image", "meta"] and restored.output_names == ["label", "score"]
    assert_same_model(model, restored, x)
    assert_same_compile_settings(model, restored)
    assert restored._compile_arguments["loss_weights"] == {"label": 1.0, "score": 0.5}
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    found = restored.evaluate(x, y, verbose=0, return_dict=True)
    assert found == expected and set(found) == {
        "loss", "label_loss", "score_loss", "label_accuracy", "score_mae"}
    assert_trains_identically(model, restored, x, y)


def test_dict_inputs_and_outputs_keep_their_keys(fresh_names, seeded, tmp_path):
    a, b = Input((3,), name="a"), Input((2,), name="b")
    merged = layers.concatenate([a, b], name="cat")
    # Input keys are the inputs' names (Keras warns otherwise); output keys need not be the layers' names.
    model = Model({"a": a, "b": b}, {"main": layers.Dense(2, name="d_main")(merged),
                                     "aux": layers.Dense(1, name="d_aux")(merged)}, name="dicts")
    model.compile(optimizer="adam", loss={"main": "mse", "aux": "mae"}, loss_weights={"main": 1.0, "aux": 0.2})
    x = {"a": RNG.random((8, 3), dtype=np.float32), "b": RNG.random((8, 2), dtype=np.float32)}
    y = {"main": RNG.random((8, 2), dtype=np.float32), "aux": RNG.random((8, 1), dtype=np.float32)}
    fit_once(model, x, y)
    restored = round_trip(model, tmp_path)
    assert list(restored.input) == ["a", "b"] and list(restored.output) == ["main", "aux"]
    config = read_config(tmp_path / "dicts.cnnkit")["model"]["config"]
    assert config["input_layers"] == {"a": ["a", 0, 0], "b": ["b", 0, 0]}  # as Keras writes them
    assert config["output_layers"] == {"main": ["d_main", 0, 0], "aux": ["d_aux", 0, 0]}
    for key in ("main", "aux"):
        assert np.array_equal(model.predict(x, verbose=0)[key], restored.predict(x, verbose=0)[key])
    assert_same_compile_settings(model, restored)
    assert restored.evaluate(x, y, verbose=0, return_dict=True) == model.evaluate(x, y, verbose=0, return_dict=True)


def nested_and_shared_model():
    inner = models.Sequential([layers.Input((4,)), layers.Dense(6, activation="relu", name="inner_dense"),
                               layers.BatchNormalization(name="inner_bn")], name="inner")
    shared = layers.Dense(6, activation="relu", name="shared")
    inputs = Input((4,), name="features")
    x = inner(inputs, training=False)  # the nested BatchNormalization always uses its moving statistics
    x = shared(shared(x))  # one layer, two calls, one set of weights
    return Model(inputs, layers.Dense(2, name="out")(x), name="nested")


def test_nested_sequential_and_shared_layer_round_trip(fresh_names, seeded, tmp_path):
    model = nested_and_shared_model()
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    x, y = RNG.random((8, 4), dtype=np.float32), RNG.random((8, 2), dtype=np.float32)
    fit_once(model, x, y)
    restored = round_trip(model, tmp_path)
    assert_same_model(model, restored, x)
    assert_same_compile_settings(model, restored)
    inner = restored.get_layer("inner")
    assert type(inner).__name__ == "Sequential" and [l.name for l in inner.layers] == ["inner_dense", "inner_bn"]
    assert len(restored.get_layer("shared")._inbound_nodes) == 2 and restored.count_params() == model.count_params()
    config = read_config(tmp_path / "nested.cnnkit")["model"]["config"]
    inner_entry, shared_entry = config["layers"][1], config["layers"][2]
    assert inner_entry["inbound_nodes"][0]["kwargs"] == {"training": False}
    assert [node["args"][0]["config"]["keras_history"] for node in shared_entry["inbound_nodes"]] == [
        ["inner", 0, 0], ["shared", 0, 0]]
    moving_mean = inner.get_layer("inner_bn").moving_mean.detach().clone()
    assert_trains_identically(model, restored, x, y)
    assert torch.equal(inner.get_layer("inner_bn").moving_mean, moving_mean)  # training=False was kept


# ------------------------------------------------------------------ subclassed models and custom layers
@cnnkit.saving.register_keras_serializable(package="test_saving_models")
class RegisteredNet(Model):
    """A subclassed model with constructor arguments and the default get_config."""

    def __init__(self, hidden=6, classes=3, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(hidden, activation="relu", name="hidden")
        self.norm = layers.BatchNormalization(name="norm")
        self.classifier = layers.Dense(classes, activation="softmax", name="classifier")

    def call(self, inputs, training=None):
        return self.classifier(self.norm(self.hidden(inputs), training=training))


class UnregisteredNet(RegisteredNet):
    """The same model, not registered: it loads only through custom_objects."""


def test_registered_subclassed_model_loads_without_custom_objects(fresh_names, seeded, tmp_path):
    model = RegisteredNet(hidden=5, name="registered_net")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = RNG.random((8, 4), dtype=np.float32), one_hot()
    fit_once(model, x, y)
    restored = round_trip(model, tmp_path)
    entry = read_config(tmp_path / "registered_net.cnnkit")["model"]
    assert entry["registered_name"] == "test_saving_models>RegisteredNet"
    assert entry["config"] == {"hidden": 5, "name": "registered_net", "trainable": True}  # the arguments given
    assert restored.hidden.units == 5
    assert_same_model(model, restored, x)
    assert_same_compile_settings(model, restored)
    assert_trains_identically(model, restored, x, y)


def test_unregistered_subclassed_model_needs_custom_objects(fresh_names, seeded, tmp_path):
    model = UnregisteredNet(classes=2, name="plain_net")
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x, y = RNG.random((8, 4), dtype=np.float32), one_hot(classes=2)
    fit_once(model, x, y)
    model.save(tmp_path / "plain.cnnkit")
    with pytest.raises(ModelFileError, match=r"plain\.cnnkit.*unknown layer class 'UnregisteredNet'.*"
                                             r"custom_objects=\{'UnregisteredNet': UnregisteredNet\}"):
        models.load_model(tmp_path / "plain.cnnkit")
    restored = models.load_model(tmp_path / "plain.cnnkit", custom_objects={"UnregisteredNet": UnregisteredNet})
    assert type(restored) is UnregisteredNet and restored.classifier.units == 2
    assert_same_model(model, restored, x)
    assert_same_compile_settings(model, restored)
    assert_trains_identically(model, restored, x, y)


@cnnkit.saving.register_keras_serializable(package="test_saving_models")
class Gain(layers.Layer):
    """A registered custom layer: a trainable gain per channel and a non-trainable offset."""

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def build(self, input_shape):
        self.gain = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gain")
        self.offset = self.add_weight(shape=(input_shape[-1],), initializer="zeros", trainable=False,
                                      name="offset")

    def call(self, inputs):
        return inputs * self.gain * self.scale + self.offset


class Shift(layers.Layer):
    """An unregistered custom layer with `add_weight` and its own get_config."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.shift = self.add_weight(shape=(self.units,), initializer="glorot_uniform", name="shift")

    def call(self, inputs):
        return inputs + self.shift

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def custom_layer_model():
    inputs = Input((4,), name="features")
    x = Gain(scale=0.5, name="gain")(inputs)
    x = Shift(4, name="shift")(x)
    return Model(inputs, layers.Dense(2, name="out")(x), name="custom_layers")


def test_custom_layers_with_weights_round_trip(fresh_names, seeded, tmp_path):
    model = custom_layer_model()
    with torch.no_grad():
        model.get_layer("gain").offset.fill_(0.25)  # a non-trainable weight that must be saved too
    model.compile(optimizer="adam", loss="mse")
    x, y = RNG.random((8, 4), dtype=np.float32), RNG.random((8, 2), dtype=np.float32)
    fit_once(model, x, y)
    model.save(tmp_path / "custom.cnnkit")
    with pytest.raises(ModelFileError, match=r"unknown layer class 'Shift'.*custom_objects=\{'Shift': Shift\}"):
        models.load_model(tmp_path / "custom.cnnkit")
    restored = models.load_model(tmp_path / "custom.cnnkit", custom_objects={"Shift": Shift})  # Gain: registered
    gain = restored.get_layer("gain")
    assert type(gain) is Gain and gain.scale == 0.5 and type(restored.get_layer("shift")) is Shift
    assert [path for path, *_ in restored.weight_entries()][:3] == ["gain/gain", "gain/offset", "shift/shift"]
    assert gain.offset.requires_grad is False and float(gain.offset[0]) == 0.25
    assert_same_model(model, restored, x)
    assert_same_compile_settings(model, restored)
    assert_trains_identically(model, restored, x, y)


# ------------------------------------------------------------------ freezing
def test_frozen_layers_stay_frozen(fresh_names, seeded, tmp_path):
    model = nested_and_shared_model()
    model.get_layer("inner").trainable = False  # recursive: inner_dense and inner_bn
    model.get_layer("shared").trainable = False
    model.compile(optimizer="adam", loss="mse")
    x, y = RNG.random((8, 4), dtype=np.float32), RNG.random((8, 2), dtype=np.float32)
    fit_once(model, x, y)
    restored = round_trip(model, tmp_path)
    inner = restored.get_layer("inner")
    assert [l.trainable for l in [inner, *inner.layers, restored.get_layer("shared"), restored.get_layer("out")]] \
        == [False, False, False, False, True]
    assert len(restored.trainable_weights) == 2 and len(restored.non_trainable_weights) == 8
    assert_same_model(model, restored, x)  # the summary's Trainable / Non-trainable lines included
    frozen = [w.detach().clone() for w in restored.non_trainable_weights]
    assert_trains_identically(model, restored, x, y)
    assert all(torch.equal(a, b) for a, b in zip(frozen, restored.non_trainable_weights, strict=True))


def test_layer_frozen_after_compile_keeps_the_optimizer_state(fresh_names, seeded, tmp_path):
    """Freezing without compiling again: the optimizer keeps its slots for every weight it was
    built for (as in Keras), and the file restores exactly that optimizer."""
    model = nested_and_shared_model()
    model.compile(optimizer="adam", loss="mse")
    x, y = RNG.random((8, 4), dtype=np.float32), RNG.random((8, 2), dtype=np.float32)
    fit_once(model, x, y)
    model.get_layer("shared").trainable = False
    fit_once(model, x, y)
    restored = round_trip(model, tmp_path)
    assert restored.get_layer("shared").trainable is False
    assert_same_compile_settings(model, restored)
    assert restored.optimizer.variables_state().keys() == model.optimizer.variables_state().keys()
    assert_trains_identically(model, restored, x, y)


def test_frozen_whole_model_and_frozen_inner_layer(fresh_names, tmp_path):
    model = residual_model()
    model.trainable = False
    restored = round_trip(model, tmp_path)
    assert restored.trainable is False and not any(layer.trainable for layer in restored.layers)
    assert restored.trainable_weights == [] and summary_text(restored) == summary_text(model)
    inner = models.Sequential([layers.Input((3,)), layers.Dense(2, name="a"), layers.Dense(2, name="b")],
                              name="partly")
    inner.get_layer("a").trainable = False  # one inner layer frozen, the model itself trainable
    restored = round_trip(inner, tmp_path)
    assert [restored.trainable, *(l.trainable for l in restored.layers)] == [True, False, True]


# ------------------------------------------------------------------ Keras 3's schema
def keras_tensor(shape, history):
    """A tensor in `inbound_nodes`, as Keras 3 writes it."""
    return {"class_name": "__keras_tensor__",
            "config": {"shape": shape, "dtype": "float32", "keras_history": history}}


WITH_BUILD = ["module", "class_name", "config", "registered_name", "build_config", "name", "inbound_nodes"]
NO_BUILD = ["module", "class_name", "config", "registered_name", "name", "inbound_nodes"]
FUNCTIONAL_ENTRY = {"module": "keras.src.models.functional", "class_name": "Functional",
                    "registered_name": "Functional"}
FUNCTIONAL_KEYS = ["name", "trainable", "layers", "input_layers", "output_layers"]

# Recorded from Keras 3.15 (TensorFlow backend): `keras.saving.serialize_keras_object(model)` for the
# graphs that `schema_models` builds; each layer as [name, class_name, entry keys, inbound_nodes].
KERAS_SCHEMA = {
    "residual": {
        "layers": [
            ["image", "InputLayer", NO_BUILD, []],
            ["conv", "Conv2D", WITH_BUILD,
             [{"args": [keras_tensor([None, 8, 8, 3], ["image", 0, 0])], "kwargs": {}}]],
            ["bn", "BatchNormalization", WITH_BUILD,
             [{"args": [keras_tensor([None, 8, 8, 4], ["conv", 0, 0])], "kwargs": {"training": False}}]],
            ["skip", "Conv2D", WITH_BUILD,
             [{"args": [keras_tensor([None, 8, 8, 3], ["image", 0, 0])], "kwargs": {}}]],
            ["add", "Add", WITH_BUILD,
             [{"args": [[keras_tensor([None, 8, 8, 4], ["bn", 0, 0]), keras_tensor([None, 8, 8, 4], ["skip", 0, 0])]],
               "kwargs": {}}]],
            ["gap", "GlobalAveragePooling2D", NO_BUILD,
             [{"args": [keras_tensor([None, 8, 8, 4], ["add", 0, 0])], "kwargs": {}}]],
            ["out", "Dense", WITH_BUILD, [{"args": [keras_tensor([None, 4], ["gap", 0, 0])], "kwargs": {}}]],
        ],
        "input_layers": ["image", 0, 0],
        "output_layers": ["out", 0, 0],
        "build_configs": {"conv": {"input_shape": [None, 8, 8, 3]}, "bn": {"input_shape": [None, 8, 8, 4]},
                          "skip": {"input_shape": [None, 8, 8, 3]},
                          "add": {"input_shape": [[None, 8, 8, 4], [None, 8, 8, 4]]},
                          "out": {"input_shape": [None, 4]}},
    },
    "two": {
        "layers": [
            ["a", "InputLayer", NO_BUILD, []],
            ["b", "InputLayer", NO_BUILD, []],
            ["cat", "Concatenate", WITH_BUILD,
             [{"args": [[keras_tensor([None, 3], ["a", 0, 0]), keras_tensor([None, 4], ["b", 0, 0])]], "kwargs": {}}]],
            ["o1", "Dense", WITH_BUILD, [{"args": [keras_tensor([None, 7], ["cat", 0, 0])], "kwargs": {}}]],
            ["o2", "Dense", WITH_BUILD, [{"args": [keras_tensor([None, 7], ["cat", 0, 0])], "kwargs": {}}]],
        ],
        "input_layers": [["a", 0, 0], ["b", 0, 0]],
        "output_layers": [["o1", 0, 0], ["o2", 0, 0]],
        "build_configs": {"cat": {"input_shape": [[None, 3], [None, 4]]}, "o1": {"input_shape": [None, 7]},
                          "o2": {"input_shape": [None, 7]}},
    },
    "dicts": {  # the same graph as "two", with dict inputs and outputs: only the ends differ
        "input_layers": {"a": ["a", 0, 0], "b": ["b", 0, 0]},
        "output_layers": {"o1": ["o1", 0, 0], "o2": ["o2", 0, 0]},
    },
    "nested": {
        "layers": [
            ["i", "InputLayer", NO_BUILD, []],
            ["inner", "Sequential", WITH_BUILD,
             [{"args": [keras_tensor([None, 3], ["i", 0, 0])], "kwargs": {"mask": None}}]],
            ["shared", "Dense", WITH_BUILD,
             [{"args": [keras_tensor([None, 3], ["inner", 0, 0])], "kwargs": {}},
              {"args": [keras_tensor([None, 3], ["shared", 0, 0])], "kwargs": {}}]],
        ],
        "input_layers": ["i", 0, 0],
        "output_layers": ["shared", 1, 0],
        "build_configs": {"inner": {"input_shape": [None, 3]}, "shared": {"input_shape": [None, 3]}},
    },
}


def schema_models():
    image = Input((8, 8, 3), name="image")
    x = layers.BatchNormalization(name="bn")(layers.Conv2D(4, 3, padding="same", name="conv")(image), training=False)
    x = layers.add([x, layers.Conv2D(4, 1, name="skip")(image)], name="add")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    residual = Model(image, layers.Dense(2, name="out")(x), name="residual")
    a, b = Input((3,), name="a"), Input((4,), name="b")
    merged = layers.concatenate([a, b], name="cat")
    o1, o2 = layers.Dense(2, name="o1")(merged), layers.Dense(1, name="o2")(merged)
    two = Model([a, b], [o1, o2], name="two")
    dicts = Model({"a": a, "b": b}, {"o1": o1, "o2": o2}, name="dicts")
    inner = models.Sequential([Input((3,)), layers.Dense(3, name="d1")], name="inner")
    shared = layers.Dense(3, name="shared")
    i = Input((3,), name="i")
    nested = Model(i, shared(shared(inner(i))), name="nested")
    return {"residual": residual, "two": two, "dicts": dicts, "nested": nested}


@pytest.mark.parametrize("graph", sorted(KERAS_SCHEMA))
def test_functional_config_follows_keras_3_schema(fresh_names, tmp_path, graph):
    model = schema_models()[graph]
    model.save(tmp_path / "m.cnnkit")
    entry = read_config(tmp_path / "m.cnnkit")["model"]
    expected = {**KERAS_SCHEMA["two"], **KERAS_SCHEMA[graph]}
    assert {key: entry[key] for key in FUNCTIONAL_ENTRY} == FUNCTIONAL_ENTRY
    config = entry["config"]
    assert list(config) == FUNCTIONAL_KEYS and config["name"] == graph and config["trainable"] is True
    assert config["input_layers"] == expected["input_layers"]
    assert config["output_layers"] == expected["output_layers"]
    # cnnkit writes no None-valued call arguments (Keras's {"mask": None} on a nested model), and a
    # build_config for every built layer (Keras: only for those with their own build()).
    found = [[layer["name"], layer["class_name"], [key for key in layer if key != "build_config"],
              layer["inbound_nodes"]] for layer in config["layers"]]
    assert found == [[name, class_name, [key for key in keys if key != "build_config"],
                      [{**node, "kwargs": {k: v for k, v in node["kwargs"].items() if v is not None}}
                       for node in nodes]]
                     for name, class_name, keys, nodes in expected["layers"]]
    for name, build_config in expected["build_configs"].items():
        assert next(layer for layer in config["layers"] if layer["name"] == name)["build_config"] == build_config
    restored = models.load_model(tmp_path / "m.cnnkit")
    assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]


def test_custom_classes_are_named_as_keras_names_them(fresh_names, tmp_path):
    model = custom_layer_model()
    model.save(tmp_path / "m.cnnkit")
    config = read_config(tmp_path / "m.cnnkit")["model"]["config"]
    entries = {layer["name"]: layer for layer in config["layers"]}
    # Keras 3: a registered class by its "package>name", an unregistered one by its class name
    # (its reader needs that to find it in custom_objects), Keras's own classes by None.
    assert entries["gain"]["registered_name"] == "test_saving_models>Gain"
    assert entries["shift"]["registered_name"] == "Shift" and entries["shift"]["module"] == __name__
    assert (entries["out"]["module"], entries["out"]["registered_name"]) == ("keras.layers", None)


# ------------------------------------------------------------------ configs that must not run code, hang or crash
def history_of(config, layer_index, tensor_index=0):
    """The keras_history list of one input tensor of a layer's first call, to tamper with."""
    args = config["model"]["config"]["layers"][layer_index]["inbound_nodes"][0]["args"][0]
    return (args[tensor_index] if isinstance(args, list) else args)["config"]["keras_history"]


def layer_entry(config, index):
    return config["model"]["config"]["layers"][index]


# The "two" graph's layers: 0 a, 1 b, 2 cat (on a and b), 3 o1 (on cat), 4 o2 (on cat).
TAMPERED = {
    "a layer class named by its module path": (
        lambda c: layer_entry(c, 3).update(class_name="os.system"), r"layer 3: unknown layer class 'os\.system'"),
    "a module and class to import": (
        lambda c: layer_entry(c, 3).update(module="os", class_name="system"), r"layer 3: unknown layer class 'system'"),
    "the model's class": (
        lambda c: c["model"].update(class_name="os.system", registered_name=None),
        r"model: unknown layer class 'os\.system'"),
    "a registered name nobody registered": (
        lambda c: layer_entry(c, 3).update(class_name="Payload", registered_name="evil>Payload"),
        r"unknown layer class 'Payload' \(registered as 'evil>Payload'\).*register_keras_serializable"),
    "a call on a layer that does not exist": (
        lambda c: history_of(c, 3).__setitem__(0, "ghost"),
        r"layer 'o1' is called on tensors \[\['ghost', 0, 0\]\] that are never produced: no layer is named"),
    "calls that form a cycle": (
        lambda c: history_of(c, 2).__setitem__(0, "o1"),  # cat on o1, o1 on cat
        r"layer 'cat' is called on tensors \[\['o1', 0, 0\]\] that are never produced: the calls form a cycle"),
    "a layer called on its own output": (
        lambda c: history_of(c, 3).__setitem__(0, "o1"), r"layer 'o1' is called on .* the calls form a cycle"),
    "a call that was never recorded": (
        lambda c: history_of(c, 3).__setitem__(1, 7), r"tensors \[\['cat', 7, 0\]\] that are never produced"),
    "a malformed history": (
        lambda c: history_of(c, 3).__setitem__(0, ["cat"]), r"expected a layer history \[layer name, node index"),
    "inbound_nodes that are not calls": (
        lambda c: layer_entry(c, 3).update(inbound_nodes="cat"), r"layer 'o1': 'inbound_nodes' must be a list of"),
    "an output no layer produces": (
        lambda c: c["model"]["config"].update(output_layers=[["o1", 0, 0], ["o3", 0, 0]]),
        r"output \['o3', 0, 0\] is not produced by any layer of the config"),
    "no layers": (lambda c: c["model"]["config"].update(layers=None), r"a Functional config needs a list of 'layers'"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_tampered_configs_are_model_file_errors(fresh_names, tmp_path, monkeypatch, case):
    edit, message = TAMPERED[case]
    schema_models()["two"].save(tmp_path / "two.cnnkit")
    with zipfile.ZipFile(tmp_path / "two.cnnkit") as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(entries["config.json"])
    edit(config)
    entries["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "tampered.cnnkit", "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    monkeypatch.setattr("os.system", lambda *args: pytest.fail("loading ran os.system"))
    with pytest.raises(ModelFileError, match=rf"tampered\.cnnkit: config\.json: .*{message}"):
        models.load_model(tmp_path / "tampered.cnnkit")


def test_configs_nested_too_deeply_are_model_file_errors(fresh_names, tmp_path):
    from cnnkit.saving.model_config import model_from_config

    config = schema_models()["two"].get_config()
    args = config["layers"][3]["inbound_nodes"][0]["args"]
    for _ in range(5000):
        args = [args]
    config["layers"][3]["inbound_nodes"][0]["args"] = args
    entry = {"class_name": "Functional", "registered_name": "Functional", "config": config}
    with pytest.raises(ModelFileError, match="entry 'model' is nested too deeply"):
        model_from_config(entry)
    path = tmp_path / "deep.cnnkit"
    with zipfile.ZipFile(path, "w") as archive:  # JSON deeper than its parser goes
        archive.writestr("config.json", '{"model": ' + "[" * 100_000 + "]" * 100_000 + "}")
        archive.writestr("model.safetensors", safetensors_bytes({}))
    with pytest.raises(ModelFileError, match=r"deep\.cnnkit: entry 'config\.json' is not valid JSON"):
        models.load_model(path)


# ------------------------------------------------------------------ format 1
def test_format_1_sequential_file_still_loads(fresh_names, tmp_path):
    """A file as cnnkit 0.1.0 wrote it before format 2: the model entry is the Sequential's own
    fields, each layer `{"class_name", "config"}` (see the old `model_config` writer)."""
    config = {
        "format": "cnnkit.model", "format_version": 1, "cnnkit_version": "0.1.0",
        "model": {
            "class_name": "Sequential", "name": "old", "build_input_shape": [None, 4, 4, 1],
            "layers": [
                {"class_name": "InputLayer", "config": {"name": "input_layer", "shape": [4, 4, 1], "batch_size": None}},
                {"class_name": "Conv2D", "config": {
                    "name": "conv", "trainable": True, "filters": 2, "kernel_size": [3, 3], "strides": [1, 1],
                    "padding": "valid", "dilation_rate": [1, 1], "activation": "relu", "use_bias": True,
                    "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros"}},
                {"class_name": "Flatten", "config": {"name": "flat", "trainable": True}},
                {"class_name": "Dense", "config": {
                    "name": "out", "trainable": False, "units": 3, "activation": "softmax", "use_bias": True,
                    "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros"}},
            ],
            "dtype_policy": "float32",
        },
        "compile": {
            "optimizer": {"class_name": "Adam", "config": {
                "name": "adam", "learning_rate": 0.01, "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                "clipvalue": None, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}},
            "loss": {"class_name": "CategoricalCrossentropy", "config": {
                "name": "categorical_crossentropy", "from_logits": False, "label_smoothing": 0.0}},
            "metrics": ["accuracy"],
        },
        "optimizer_state": False,
    }
    weights = {"conv/kernel": RNG.standard_normal((3, 3, 1, 2)), "conv/bias": RNG.standard_normal(2),
               "out/kernel": RNG.standard_normal((8, 3)), "out/bias": RNG.standard_normal(3)}
    weights = {key: torch.tensor(value, dtype=torch.float32) for key, value in weights.items()}
    path = tmp_path / "old.cnnkit"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config, indent=2))
        archive.writestr("model.safetensors", safetensors_bytes(weights, {"layers": '["conv", "out"]'}))
    restored = models.load_model(path)
    assert type(restored) is models.Sequential and restored.name == "old"
    assert [layer.name for layer in restored.layers] == ["conv", "flat", "out"]
    assert restored.input_shape == (None, 4, 4, 1) and restored.get_layer("out").trainable is False
    assert restored.dtype_policy.name == "float32" and restored.compiled_metrics == ["accuracy"]
    assert restored.optimizer.get_config()["learning_rate"] == 0.01
    same = models.Sequential([layers.Input((4, 4, 1)), layers.Conv2D(2, 3, activation="relu"), layers.Flatten(),
                              layers.Dense(3, activation="softmax")])
    same.set_weights([weights[key].numpy() for key in ("conv/kernel", "conv/bias", "out/kernel", "out/bias")])
    x = images(4, size=4, channels=1)
    assert np.array_equal(restored.predict(x, verbose=0), same.predict(x, verbose=0))
    restored.save(tmp_path / "new.cnnkit")  # and it saves as format 2
    assert read_config(tmp_path / "new.cnnkit")["format_version"] == 2
    assert_same_model(restored, models.load_model(tmp_path / "new.cnnkit"), x)
