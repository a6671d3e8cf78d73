"""Keras 3's `.keras` and `.weights.h5` files in cnnkit: files real Keras 3.15 wrote
(tests/fixtures/keras, made by tests/fixtures/make_keras_files.py) load with Keras's predictions,
compile settings and optimizer state; cnnkit's own `.keras` files have Keras's layout and load
back identically; broken, tampered and unsupported files are clear ModelFileErrors.

(Opening cnnkit's files with Keras itself: test_keras_files_with_keras.py.)
"""

import zipfile

import numpy as np
import pytest

import cnnkit as keras
from cnnkit import callbacks, layers, models
from cnnkit.saving import ModelFileError
from _keras_files import (
    EXPECTED, FIXTURES, TRAIN_IMAGES, TRAIN_LABELS, ChannelScale, custom_layer_model, edit_h5, h5_layout,
    nested_model, outputs, read_json, residual_bn, rewrite, seed_convnet, train_steps,
)

KERAS_FILES = ["seed_convnet", "residual_bn", "custom_layer"]


# -- files written by Keras 3 -------------------------------------------------------------
@pytest.mark.parametrize("name", KERAS_FILES)
def test_keras_files_load_with_kerass_predictions(name):
    model = models.load_model(FIXTURES / f"{name}.keras")
    np.testing.assert_allclose(outputs(model), EXPECTED[f"{name}_predictions"], rtol=0, atol=1e-5)
    assert model.optimizer.iterations == int(EXPECTED[f"{name}_iterations"])


def test_compile_settings_come_back_as_keras_saved_them():
    seed = models.load_model(FIXTURES / "seed_convnet.keras")
    assert type(seed.optimizer).__name__ == "RMSprop"
    assert seed.optimizer.get_config()["learning_rate"] == pytest.approx(1e-3)
    assert type(seed.loss).__name__ == "SparseCategoricalCrossentropy" and seed.compiled_metrics == ["accuracy"]

    residual = models.load_model(FIXTURES / "residual_bn.keras")  # loss saved as an object, metrics by name
    config = residual.optimizer.get_config()
    assert type(residual.optimizer).__name__ == "Adam" and config["learning_rate"] == pytest.approx(2e-3)
    assert (config["beta_1"], config["beta_2"], config["epsilon"]) == (0.9, 0.999, 1e-7)
    assert type(residual.loss).__name__ == "SparseCategoricalCrossentropy" and not residual.loss.from_logits

    custom = models.load_model(FIXTURES / "custom_layer.keras")  # metric saved as an object
    assert type(custom.optimizer).__name__ == "SGD" and custom.optimizer.get_config()["momentum"] == 0.9
    assert custom.compiled_metrics == ["sparse_categorical_accuracy"]
    assert isinstance(custom.get_layer("channel_scale"), ChannelScale)
    assert custom.get_layer("channel_scale").initial_value == 0.5


def test_adam_state_continues_training_as_keras_does():
    """One more step from the restored Adam state gives Keras's weights; a fresh Adam does not."""
    restored = models.load_model(FIXTURES / "residual_bn.keras")
    restored.train_on_batch(TRAIN_IMAGES, TRAIN_LABELS)
    after = EXPECTED["residual_bn_after_step"]
    assert np.abs(outputs(restored) - after).max() < 1e-4

    fresh = models.load_model(FIXTURES / "residual_bn.keras", compile=False)
    fresh.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
    fresh.train_on_batch(TRAIN_IMAGES, TRAIN_LABELS)
    assert np.abs(outputs(fresh) - after).max() > 3e-4  # the test above can tell


def test_a_model_without_compile_loads_uncompiled():
    model = models.load_model(FIXTURES / "residual_bn.keras", compile=False)
    assert not model.compiled and model.optimizer is None
    np.testing.assert_allclose(outputs(model), EXPECTED["residual_bn_predictions"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("safe_mode", [True, False])
def test_a_lambda_layer_is_refused_as_kerass_safe_mode_does(safe_mode):
    with pytest.raises(ModelFileError, match=r"lambda_layer\.keras: config\.json: the model holds a Lambda layer "
                                             r"\('lambda'\), stored as Python bytecode.*safe_mode=True"):
        models.load_model(FIXTURES / "lambda_layer.keras", safe_mode=safe_mode)


def test_weights_h5_from_keras_load_into_the_same_model_built_in_cnnkit(tmp_path):
    path = tmp_path / "seed.weights.h5"
    with zipfile.ZipFile(FIXTURES / "seed_convnet.keras") as archive:
        path.write_bytes(archive.read("model.weights.h5"))
    model = seed_convnet()  # other layer names than Keras's: the layout names layers by class and position
    model.load_weights(path)
    np.testing.assert_allclose(outputs(model), EXPECTED["seed_convnet_predictions"], rtol=0, atol=1e-5)


# -- files written by cnnkit --------------------------------------------------------------
@pytest.mark.parametrize("name", KERAS_FILES)
def test_cnnkit_writes_kerass_weights_layout_and_configs(name, tmp_path):
    """Loaded from Keras's file and saved again, a model has the same datasets (paths, shapes, group
    names) and the same layer configs, but for keys of newer Keras versions that cnnkit leaves out."""
    keras_file = FIXTURES / f"{name}.keras"
    models.load_model(keras_file).save(tmp_path / "again.keras")
    assert h5_layout(tmp_path / "again.keras") == h5_layout(keras_file)

    newer = {"InputLayer": {"ragged", "optional"}, "Dense": {"quantization_config"},
             "BatchNormalization": {"renorm", "renorm_momentum", "renorm_clipping"}}
    theirs, ours = read_json(keras_file), read_json(tmp_path / "again.keras")
    assert [layer["class_name"] for layer in ours["config"]["layers"]] == \
           [layer["class_name"] for layer in theirs["config"]["layers"]]
    for their_layer, our_layer in zip(theirs["config"]["layers"], ours["config"]["layers"]):
        their_config, our_config = their_layer["config"], our_layer["config"]
        if isinstance(their_config.get("dtype"), dict):
            their_config["dtype"].pop("shared_object_id", None)
        for config in (their_config, our_config):  # Keras 3.15's initializers add two axis keys at None
            for value in config.values():
                if isinstance(value, dict) and value.get("module") == "keras.initializers":
                    value["config"] = {k: v for k, v in value["config"].items() if v is not None or k == "seed"}
        assert set(their_config) - set(our_config) <= newer.get(their_layer["class_name"], set())
        assert {key: their_config[key] for key in our_config} == our_config, their_layer["name"]
        their_calls, our_calls = their_layer.get("inbound_nodes", []), our_layer.get("inbound_nodes", [])
        assert [call["args"] for call in our_calls] == [call["args"] for call in their_calls]
    assert read_json(tmp_path / "again.keras", "metadata.json")["keras_version"].startswith("3.")


@pytest.mark.parametrize("build", [seed_convnet, residual_bn, custom_layer_model, nested_model],
                         ids=["sequential", "residual_bn", "custom_layer", "nested"])
def test_round_trip_cnnkit_keras_cnnkit(build, fresh_names, seeded, tmp_path):
    model = train_steps(build())
    model.save(tmp_path / "model.keras")
    restored = models.load_model(tmp_path / "model.keras")
    assert type(restored) is type(model) and restored.name == model.name
    assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(outputs(restored), outputs(model))
    assert restored.optimizer.get_config() == pytest.approx(model.optimizer.get_config())
    assert restored.compiled_metrics == model.compiled_metrics and type(restored.loss) is type(model.loss)
    assert restored.optimizer.iterations == model.optimizer.iterations == 2
    for slot, tensors in model.optimizer._slots.items():
        for mine, theirs in zip(tensors, restored.optimizer._slots[slot]):
            np.testing.assert_array_equal(theirs.numpy(), mine.numpy())
    for twin in (model, restored):  # and they go on the same way (Dropout drawing the same numbers)
        keras.utils.set_random_seed(7)
        train_steps(twin, 1)
    np.testing.assert_allclose(outputs(restored), outputs(model), rtol=0, atol=1e-6)


def test_registered_subclassed_model_round_trips(fresh_names, seeded, tmp_path):
    @keras.saving.register_keras_serializable(package="keras_files_test")
    class TwoDense(keras.Model):
        def __init__(self, hidden=5, **kwargs):
            super().__init__(**kwargs)
            self.hidden = hidden
            self.first = layers.Dense(hidden, activation="relu")
            self.norm = layers.BatchNormalization()
            self.out = layers.Dense(3, activation="softmax")

        def call(self, inputs, training=None):
            return self.out(self.norm(self.first(inputs), training=training))

    model = TwoDense(hidden=6, name="two_dense")
    model.build((None, 4))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).random((8, 4), dtype=np.float32), np.arange(8) % 3
    model.train_on_batch(x, y)
    model.save(tmp_path / "sub.keras")
    datasets, _ = h5_layout(tmp_path / "sub.keras")
    assert sorted(datasets) == sorted([  # the layers by attribute name, the optimizer's 2 + 2 x 6 variables
        "first/vars/0", "first/vars/1", "norm/vars/0", "norm/vars/1", "norm/vars/2", "norm/vars/3",
        *[f"optimizer/vars/{i}" for i in range(2 + 2 * 6)], "out/vars/0", "out/vars/1"])
    restored = models.load_model(tmp_path / "sub.keras")
    assert type(restored) is TwoDense and restored.hidden == 6
    np.testing.assert_array_equal(outputs(restored, x), outputs(model, x))


def test_a_mixed_precision_model_keeps_its_policy(fresh_names, tmp_path):
    model = residual_bn()
    model.dtype_policy = "mixed_bfloat16"
    model.save(tmp_path / "mixed.keras")
    policies = {layer["config"]["dtype"]["config"]["name"] for layer in read_json(tmp_path / "mixed.keras")["config"]
                ["layers"] if layer["class_name"] != "InputLayer"}
    assert policies == {"mixed_bfloat16"}
    assert models.load_model(tmp_path / "mixed.keras").dtype_policy.name == "mixed_bfloat16"
    assert models.load_model(FIXTURES / "residual_bn.keras").dtype_policy.name == "float32"


def test_save_weights_and_load_weights_with_weights_h5(fresh_names, seeded, tmp_path):
    model = train_steps(residual_bn(), 1)
    model.save_weights(tmp_path / "w.weights.h5")
    datasets, names = h5_layout(tmp_path / "w.weights.h5")
    assert datasets["layers/batch_normalization_1/vars/3"] == (8,) and names["layers/conv2d_2/vars"] == "conv_b"
    assert datasets["optimizer/vars/0"] == () and len([p for p in datasets if p.startswith("optimizer/")]) == 2 + 2 * 11
    fresh = residual_bn()
    fresh.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(outputs(fresh), outputs(model))
    assert fresh.optimizer.iterations == 1  # a compiled model takes the optimizer state too, as in Keras
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        model.save_weights(tmp_path / "w.keras")
    with pytest.raises(ModelFileError, match=r"w\.weights\.h5: the weights do not match the model's layers"):
        seed_convnet().load_weights(tmp_path / "w.weights.h5")


def test_model_checkpoint_writes_keras_files(fresh_names, seeded, tmp_path):
    model = custom_layer_model()
    checkpoints = [callbacks.ModelCheckpoint(tmp_path / "epoch{epoch}.keras"),
                   callbacks.ModelCheckpoint(tmp_path / "epoch{epoch}.weights.h5", save_weights_only=True)]
    model.fit(TRAIN_IMAGES, TRAIN_LABELS, epochs=2, batch_size=16, verbose=0, callbacks=checkpoints)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "epoch1.keras", "epoch1.weights.h5", "epoch2.keras", "epoch2.weights.h5"]
    np.testing.assert_array_equal(outputs(models.load_model(tmp_path / "epoch2.keras")), outputs(model))
    weights_only = custom_layer_model()
    weights_only.load_weights(tmp_path / "epoch2.weights.h5")
    np.testing.assert_array_equal(outputs(weights_only), outputs(model))


def test_the_same_model_saves_to_the_same_bytes(fresh_names, seeded, tmp_path):
    model = train_steps(residual_bn(), 1)
    model.save(tmp_path / "a.keras")
    model.save(tmp_path / "b.keras")
    assert (tmp_path / "a.keras").read_bytes() == (tmp_path / "b.keras").read_bytes()


def test_extensions_choose_the_format(fresh_names, tmp_path):
    model = seed_convnet()
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.cnnkit")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
    with zipfile.ZipFile(tmp_path / "m.cnnkit") as archive:
        assert "model.safetensors" in archive.namelist()
    with pytest.raises(ValueError, match=r"Keras 2's legacy HDF5 format.*Use a `\.keras` file"):
        model.save(tmp_path / "m.h5")
    (tmp_path / "renamed.cnnkit").write_bytes((tmp_path / "m.keras").read_bytes())
    with pytest.raises(ModelFileError, match=r"looks like a Keras \.keras file: give it the \.keras extension"):
        models.load_model(tmp_path / "renamed.cnnkit")


# -- broken and unsupported files ---------------------------------------------------------
SEED = FIXTURES / "seed_convnet.keras"


def test_truncated_file(tmp_path):
    data = SEED.read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"cut\.keras: not a readable Keras \.keras model file \(a zip archive\)"):
        models.load_model(tmp_path / "cut.keras")


def test_hdf5_missing_a_weight(tmp_path):
    weights = edit_h5(SEED, lambda file: file.__delitem__("layers/dense_1/vars/1"))
    with pytest.raises(ModelFileError, match=r"model\.weights\.h5: the weights do not match the model's layers\. "
                                             r"Missing: layers/dense_1/vars/1 \(weight 'bias' of layer "
                                             r"'dense_1'\); unexpected: none\."):
        models.load_model(rewrite(SEED, tmp_path / "bad.keras", weights=weights))


def test_hdf5_with_an_extra_weight(tmp_path):
    weights = edit_h5(SEED, lambda file: file["layers/flatten/vars"].create_dataset("0", data=np.zeros(3)))
    with pytest.raises(ModelFileError, match=r"Missing: none; unexpected: layers/flatten/vars/0\."):
        models.load_model(rewrite(SEED, tmp_path / "bad.keras", weights=weights))


def test_shapes_that_disagree_with_the_config(tmp_path):
    config = read_json(SEED)
    config["config"]["layers"][-1]["config"]["units"] = 12
    with pytest.raises(ModelFileError, match=r"'layers/dense_1/vars/0' \(weight 'kernel' of layer 'dense_1'\) has "
                                             r"shape \(64, 10\) in the file, but the model expects \(64, 12\)"):
        models.load_model(rewrite(SEED, tmp_path / "bad.keras", config=config))


def test_a_config_naming_an_unknown_class(tmp_path):
    config = read_json(SEED)
    config["config"]["layers"][2]["class_name"] = "FancyPooling2D"
    with pytest.raises(ModelFileError, match=r"config\.json: .*unknown layer class 'FancyPooling2D'"):
        models.load_model(rewrite(SEED, tmp_path / "bad.keras", config=config))


@pytest.mark.parametrize("part, edit, message", [
    ("optimizer", lambda c: c["compile_config"]["optimizer"].update(class_name="Nadam"),
     r"optimizer 'Nadam' is not one cnnkit has \(it has SGD, RMSprop, Adam, AdamW\)"),
    ("loss", lambda c: c["compile_config"].update(loss={"module": "keras.losses", "class_name": "Huber",
                                                        "config": {"delta": 1.0}}),
     r"loss 'Huber' cannot be rebuilt by cnnkit"),
    ("metric", lambda c: c["compile_config"].update(metrics=[{"module": "keras.metrics", "class_name": "AUC",
                                                              "config": {}}]),
     r"metric 'AUC' .* is not one cnnkit has"),
    ("schedule", lambda c: c["compile_config"]["optimizer"]["config"].update(
        learning_rate={"class_name": "ExponentialDecay", "config": {}}),
     r"learning-rate schedule 'ExponentialDecay' cannot be rebuilt"),
    ("channels_first", lambda c: c["config"]["layers"][2]["config"].update(data_format="channels_first"),
     r"layer 2: cannot rebuild layer MaxPooling2D .*Received: data_format='channels_first'"),
    ("sparse input", lambda c: c["config"]["layers"][0]["config"].update(sparse=True),
     r"layer '.*' \(InputLayer\): the Keras setting sparse=True is not supported by cnnkit \(cnnkit supports "
     r"only sparse=False\)"),
    ("initializer", lambda c: c["config"]["layers"][1]["config"].update(
        kernel_initializer={"module": "keras.initializers", "class_name": "Orthogonal", "config": {"gain": 1.0}}),
     r"layer 'conv2d' \(Conv2D\): kernel_initializer: initializer 'Orthogonal'.* is not one cnnkit has"),
    ("unknown key", lambda c: c["config"]["layers"][-1]["config"].update(lora_rank=4),
     r"layer 'dense_1' \(Dense\): the Keras setting lora_rank=4 is not supported by cnnkit \(cnnkit supports only "
     r"lora_rank=None\)"),
])
def test_what_cnnkit_cannot_honour_is_a_clear_error(part, edit, message, tmp_path):
    config = read_json(SEED)
    edit(config)
    with pytest.raises(ModelFileError, match=message):
        models.load_model(rewrite(SEED, tmp_path / "bad.keras", config=config))


def test_keras_only_settings_at_their_defaults_are_accepted(tmp_path):
    """Keras's BatchNormalization(axis=3) on images is cnnkit's axis -1; default-valued extras are dropped."""
    config = read_json(FIXTURES / "residual_bn.keras")
    bn = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "BatchNormalization")
    bn["config"].update(axis=3, renorm=False, synchronized=False)
    model = models.load_model(rewrite(FIXTURES / "residual_bn.keras", tmp_path / "ok.keras", config=config))
    np.testing.assert_allclose(outputs(model), EXPECTED["residual_bn_predictions"], rtol=0, atol=1e-5)


def test_links_in_the_hdf5_file_are_refused(tmp_path):
    import h5py

    def link(file):
        del file["layers/dense_1/vars/1"]
        file["layers/dense_1/vars/1"] = h5py.SoftLink("/layers/dense/vars/1")

    weights = edit_h5(SEED, link)
    with pytest.raises(ModelFileError, match=r"'/layers/dense_1/vars/1' is a SoftLink; links are not allowed"):
        models.load_model(rewrite(SEED, tmp_path / "bad.keras", weights=weights))


def test_keras_2_hdf5_and_garbage_weights_are_refused(tmp_path):
    import h5py

    legacy = tmp_path / "old.h5"
    with h5py.File(legacy, "w") as file:
        file.attrs["layer_names"] = [b"dense"]
    with pytest.raises(ModelFileError, match=r"Keras 2 \(legacy HDF5\) file"):
        seed_convnet().load_weights(legacy)
    with pytest.raises(ModelFileError, match=r"model\.weights\.h5: not a readable HDF5 file"):
        models.load_model(rewrite(SEED, tmp_path / "bad.keras", weights=b"not hdf5"))


def test_entries_that_are_not_json(tmp_path):
    target = rewrite(SEED, tmp_path / "bad.keras", entries={"metadata.json": b"{not json"})
    with pytest.raises(ModelFileError, match=r"bad\.keras: metadata\.json: not valid JSON"):
        models.load_model(target)


# -- hostile files (issue 15) -------------------------------------------------------------
@pytest.mark.parametrize("edit", [
    lambda c: c["config"]["layers"][1]["config"].update(kernel_initializer={"class_name": "HeNormal", "config": 3}),
    lambda c: c["config"]["layers"][1]["config"].update(kernel_initializer=[]),
    lambda c: c["config"]["layers"][1]["config"].update(dtype={"class_name": "DTypePolicy", "config": 1}),
    lambda c: c["compile_config"].update(loss={"class_name": "Huber", "config": [1]}),
])
def test_type_confused_keras_configs_are_model_file_errors(edit, tmp_path):
    """Found by the fuzzer: AttributeError and TypeError ('unhashable type: list') from config.json."""
    config = read_json(SEED)
    edit(config)
    with pytest.raises(ModelFileError, match=r"bad\.keras: config\.json"):
        models.load_model(rewrite(SEED, tmp_path / "bad.keras", config=config))


def test_a_keras_config_asking_for_more_weights_than_the_file_holds_is_refused_before_building(tmp_path):
    config = read_json(SEED)
    config["config"]["layers"][-1]["config"]["units"] = 10**7
    with pytest.raises(ModelFileError, match=r"config\.json: .*building the model it describes asks for more than"):
        models.load_model(rewrite(SEED, tmp_path / "big.keras", config=config))


def test_a_broken_hdf5_superblock_is_a_model_file_error(fresh_names, tmp_path):
    """Found by the fuzzer: one flipped bit in the superblock made h5py raise OverflowError."""
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    model.save_weights(tmp_path / "w.weights.h5")
    data = bytearray((tmp_path / "w.weights.h5").read_bytes())
    data[49] ^= 1
    (tmp_path / "w.weights.h5").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"w\.weights\.h5: not a readable HDF5 file"):
        model.load_weights(tmp_path / "w.weights.h5")


def test_a_weight_stored_as_long_double_is_refused(tmp_path):
    """Found by the fuzzer: a flipped byte made a float32 dataset float128, which torch cannot take."""
    def widen(file):
        data = file["layers/dense_1/vars/1"][()]
        del file["layers/dense_1/vars/1"]
        file["layers/dense_1/vars"].create_dataset("1", data=data.astype(np.longdouble))
    weights = edit_h5(SEED, widen)
    with pytest.raises(ModelFileError, match=r"'layers/dense_1/vars/1' \(weight 'bias' of layer 'dense_1'\) holds "
                                             r"float128, not numbers of up to 64 bits"):
        models.load_model(rewrite(SEED, tmp_path / "bad.keras", weights=weights))


@pytest.mark.parametrize("offset, bits", [(23666, 1), (19816, 2)])
def test_a_dataset_whose_type_numpy_lacks_is_a_model_file_error(fresh_names, tmp_path, offset, bits):
    """Found by the fuzzer: one flipped bit in a datatype message made h5py's `dataset.dtype` raise ValueError
    ("Insufficient precision in available types to represent (31, 23, 8, 0, 23)") or TypeError ("Unknown
    string encoding (value 2)")."""
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                              layers.BatchNormalization(), layers.MaxPooling2D(2), layers.Flatten(),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(np.random.rand(8, 8, 8, 1).astype("float32"), np.arange(8) % 3, epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    data = bytearray((tmp_path / "w.weights.h5").read_bytes())
    data[offset] ^= bits  # in the datatype message of a dataset (h5py 3.16)
    (tmp_path / "w.weights.h5").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"w\.weights\.h5"):
        model.load_weights(tmp_path / "w.weights.h5")


def test_a_committed_datatype_in_place_of_a_weight_is_refused(tmp_path):
    """Found by the fuzzer: a flipped bit turned a dataset into a named datatype (AttributeError: no 'external')."""
    def replace(file):
        del file["layers/dense_1/vars/1"]
        file["layers/dense_1/vars/1"] = np.dtype("float32")  # a committed datatype
    weights = edit_h5(SEED, replace)
    with pytest.raises(ModelFileError, match=r"'/layers/dense_1/vars/1' is a Datatype; a weights file holds only "
                                             r"groups and datasets"):
        models.load_model(rewrite(SEED, tmp_path / "bad.keras", weights=weights))


def test_a_weights_dataset_declaring_more_than_it_stores_is_refused(tmp_path):
    """A few-KB .weights.h5 whose dataset declares 10**10 values with no data written (or gzip-compressed
    data, a bomb inside the HDF5 the zip's ratio check never sees) is refused before anything is read."""
    h5py = pytest.importorskip("h5py")
    model = keras.Sequential([keras.layers.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "r+") as file:
        name = next(n for n, item in _walk(file) if isinstance(item, h5py.Dataset) and item.shape == (3, 2))
        del file[name]
        file.create_dataset(name, shape=(3, 2), dtype="float32", compression="gzip", data=np.ones((3, 2), "float32"))
    with pytest.raises(ModelFileError, match="chunked or compressed"):
        model.load_weights(path)
    with h5py.File(path, "r+") as file:
        del file[name]
        file.create_dataset(name, shape=(3, 2), dtype="float32")  # declared, never written: no storage
    with pytest.raises(ModelFileError, match="stores fewer bytes"):
        model.load_weights(path)


def _walk(group, prefix=""):
    for key, item in group.items():
        yield f"{prefix}{key}", item
        if hasattr(item, "items"):
            yield from _walk(item, f"{prefix}{key}/")
