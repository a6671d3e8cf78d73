"""cnnkit.saving: the .cnnkit zip, safetensors weights, atomic writes, and a clear error for every broken file."""

import contextlib
import io
import json
import os
import re
import time
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import cnnkit
from cnnkit import layers, models
from cnnkit.saving import ModelFileError, model_file
from cnnkit.saving.registry import builtin_layer_classes


def tiny_model(filters=4):
    model = models.Sequential([
        layers.Input((6, 6, 1)),
        layers.Conv2D(filters, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ], name="tiny")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def tiny_data(n=32):
    generator = np.random.default_rng(0)
    x = generator.random((n, 6, 6, 1), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[generator.integers(0, 3, n)]
    return x, y


@pytest.fixture
def trained(fresh_names, seeded):
    model = tiny_model()
    x, y = tiny_data()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    return model, x, y


def entries_of(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_entries(path, entries):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def with_config(source, target, edit):
    """Copies a model file, changing its parsed config.json with `edit(config)`."""
    entries = entries_of(source)
    config = json.loads(entries["config.json"])
    edit(config)
    entries["config.json"] = json.dumps(config).encode()
    write_entries(target, entries)


# ------------------------------------------------------------------ round trips
def test_load_model_predicts_identically_and_keeps_compile_settings(trained, tmp_path):
    model, x, _ = trained
    model.save(tmp_path / "digits.cnnkit")
    restored = models.load_model(tmp_path / "digits.cnnkit")
    assert np.array_equal(model.predict(x, verbose=0), restored.predict(x, verbose=0))
    assert restored.name == "tiny" and [l.name for l in restored.layers] == [l.name for l in model.layers]
    assert restored.optimizer.get_config() == model.optimizer.get_config()
    assert restored.loss.get_config() == model.loss.get_config()
    assert restored.compiled_metrics == ["accuracy"]
    assert restored.optimizer.iterations == model.optimizer.iterations == 4
    assert sorted(entries_of(tmp_path / "digits.cnnkit")) == ["config.json", "model.safetensors", "optimizer.safetensors"]


def test_training_continues_identically_after_load(trained, tmp_path):
    model, x, y = trained
    model.save(tmp_path / "m.cnnkit")
    restored = models.load_model(tmp_path / "m.cnnkit")
    cnnkit.set_random_seed(7)
    original_history = model.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    cnnkit.set_random_seed(7)
    restored_history = restored.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    assert original_history == restored_history
    for a, b in zip(model.get_weights(), restored.get_weights()):
        assert np.array_equal(a, b)


def test_config_records_versions_layers_and_compile(trained, tmp_path):
    model, _, _ = trained
    model.save(tmp_path / "m.cnnkit", include_optimizer=False)
    entries = entries_of(tmp_path / "m.cnnkit")
    assert "optimizer.safetensors" not in entries
    config = json.loads(entries["config.json"])
    assert config["format_version"] == 2 and config["cnnkit_version"] == cnnkit.__version__
    assert config["model"]["config"]["build_input_shape"] == [None, 6, 6, 1]
    assert [e["class_name"] for e in config["model"]["config"]["layers"]] == [
        "InputLayer", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense"]
    assert config["compile"]["optimizer"]["class_name"] == "Adam"
    assert config["compile"]["loss"] == {"class_name": "CategoricalCrossentropy", "config": {
        "name": "categorical_crossentropy", "from_logits": False, "label_smoothing": 0.0}}
    assert models.load_model(tmp_path / "m.cnnkit").optimizer.iterations == 0


def test_same_model_saves_to_the_same_bytes(trained, tmp_path):
    model, _, _ = trained
    model.save(tmp_path / "a.cnnkit")
    model.save(tmp_path / "b.cnnkit")
    assert (tmp_path / "a.cnnkit").read_bytes() == (tmp_path / "b.cnnkit").read_bytes()


def test_uncompiled_model_loads_uncompiled(fresh_names, tmp_path):
    model = models.Sequential([layers.Input((4,)), layers.Dense(2)])
    model.save(tmp_path / "m.cnnkit")
    restored = models.load_model(tmp_path / "m.cnnkit")
    assert restored.loss is None and restored.output_shape == (None, 2)


def test_every_public_layer_round_trips_through_its_config():
    examples = [layers.InputLayer((5, 5, 2), name="in"), layers.Conv2D(3, (2, 3), strides=2, padding="same",
                activation="tanh", use_bias=False), layers.Dense(4, activation="relu"), layers.Dropout(0.3, seed=1),
                layers.Flatten(), layers.Activation("sigmoid"), layers.MaxPooling2D(3, strides=1),
                layers.AveragePooling2D(2, padding="same"),
                layers.BatchNormalization(momentum=0.9, epsilon=1e-5, center=False, gamma_initializer="zeros"),
                layers.GlobalAveragePooling2D(keepdims=True), layers.GlobalMaxPooling2D(), layers.Add(),
                layers.Subtract(), layers.Multiply(), layers.Average(), layers.Maximum(), layers.Minimum(),
                layers.Concatenate(axis=1),
                layers.SeparableConv2D(4, 3, depth_multiplier=2), layers.DepthwiseConv2D(3, strides=2, dilation_rate=2),
                layers.Conv2DTranspose(4, 3, strides=2, output_padding=1),
                layers.LayerNormalization(axis=[1, 2], epsilon=1e-5), layers.GroupNormalization(groups=4, center=False),
                layers.SpatialDropout2D(0.2, seed=3), layers.GaussianNoise(0.1, seed=1), layers.GaussianDropout(0.3),
                layers.Rescaling(1 / 255, offset=-1), layers.Normalization(mean=[1.0], variance=[2.0]),
                layers.Resizing(8, 9, interpolation="nearest", crop_to_aspect_ratio=True), layers.CenterCrop(4, 5),
                layers.UpSampling2D(3, interpolation="bilinear"), layers.ZeroPadding2D(((1, 2), (3, 4))),
                layers.Cropping2D((1, 2)), layers.Reshape((-1, 3)), layers.Permute((2, 1, 3)), layers.Identity(),
                layers.ReLU(max_value=6.0, negative_slope=0.1), layers.LeakyReLU(0.2), layers.PReLU(shared_axes=[1, 2]),
                layers.ELU(0.5), layers.Softmax(axis=1),
                layers.RandomFlip("horizontal", seed=1), layers.RandomRotation(0.1, fill_mode="wrap", seed=2),
                layers.RandomZoom(0.2, seed=3), layers.RandomTranslation(0.1, 0.2, seed=4),
                layers.RandomContrast(0.3, seed=5), layers.RandomBrightness(0.2, seed=6), layers.RandomCrop(4, 4, seed=7)]
    assert {type(layer) for layer in examples} == set(builtin_layer_classes().values())
    as_saved = lambda config: json.loads(json.dumps(config))  # noqa: E731  (tuples become lists)
    for layer in examples:
        clone = type(layer).from_config(as_saved(layer.get_config()))
        assert as_saved(clone.get_config()) == as_saved(layer.get_config())


def test_save_weights_uses_keras_layouts_and_loads_back(trained, tmp_path):
    model, x, _ = trained
    model.save_weights(tmp_path / "w.safetensors")
    stored = load_file(tmp_path / "w.safetensors")
    assert {k: tuple(v.shape) for k, v in stored.items()} == {
        "conv2d/kernel": (3, 3, 1, 4), "conv2d/bias": (4,), "dense/kernel": (36, 3), "dense/bias": (3,)}
    assert np.array_equal(stored["conv2d/kernel"].numpy(), model.layers[0].get_weights()[0])
    fresh = tiny_model()
    fresh.load_weights(tmp_path / "w.safetensors")
    assert np.array_equal(model.predict(x, verbose=0), fresh.predict(x, verbose=0))


def test_load_weights_names_the_mismatched_weight(trained, tmp_path):
    model, _, _ = trained
    model.save_weights(tmp_path / "w.safetensors")
    other = models.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(8, 3, padding="same", name="conv2d"),
                               layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3, name="dense")])
    with pytest.raises(ModelFileError, match=r"weight 'conv2d/kernel' has shape \(3, 3, 1, 4\) in the file, "
                                             r"but layer 'conv2d' of model '.*' expects \(3, 3, 1, 8\)"):
        other.load_weights(tmp_path / "w.safetensors")


class Scale(layers.Layer):
    """A custom layer for custom_objects."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_custom_layers_load_through_custom_objects(fresh_names, tmp_path):
    model = models.Sequential([layers.Input((3,)), Scale(3.0), layers.Dense(2)])
    model.save(tmp_path / "custom.cnnkit")
    with pytest.raises(ModelFileError, match=r"unknown layer class 'Scale'.*custom_objects=\{'Scale': Scale\}"):
        models.load_model(tmp_path / "custom.cnnkit")
    restored = models.load_model(tmp_path / "custom.cnnkit", custom_objects={"Scale": Scale})
    x = np.ones((2, 3), dtype=np.float32)
    assert restored.layers[0].factor == 3.0
    assert np.array_equal(model.predict(x, verbose=0), restored.predict(x, verbose=0))


# -------------------------------------------------------------- atomic writes
def test_crash_mid_save_leaves_the_old_file_intact(trained, tmp_path, monkeypatch):
    model, x, y = trained
    path = tmp_path / "m.cnnkit"
    model.save(path)
    before = path.read_bytes()
    model.fit(x, y, epochs=1, verbose=0)
    real_writestr, calls = zipfile.ZipFile.writestr, []

    def crash_on_second_entry(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real_writestr(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", crash_on_second_entry)
    with pytest.raises(OSError, match="simulated"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.cnnkit"]


# ------------------------------------------------------------- broken files
@pytest.fixture
def saved(trained, tmp_path):
    trained[0].save(tmp_path / "good.cnnkit")
    return tmp_path / "good.cnnkit"


def test_truncated_file(saved, tmp_path):
    data = saved.read_bytes()
    (tmp_path / "cut.cnnkit").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"cut.cnnkit: not a readable cnnkit model file.*truncated"):
        models.load_model(tmp_path / "cut.cnnkit")


def test_not_a_zip(tmp_path):
    (tmp_path / "text.cnnkit").write_bytes(b"definitely not a zip")
    with pytest.raises(ModelFileError, match="not a readable cnnkit model file"):
        models.load_model(tmp_path / "text.cnnkit")


def test_config_not_json(saved, tmp_path):
    entries = entries_of(saved)
    entries["config.json"] = b"{not json"
    write_entries(tmp_path / "bad.cnnkit", entries)
    with pytest.raises(ModelFileError, match=r"entry 'config.json' is not valid JSON"):
        models.load_model(tmp_path / "bad.cnnkit")


def test_missing_entry(saved, tmp_path):
    entries = entries_of(saved)
    del entries["model.safetensors"]
    write_entries(tmp_path / "bad.cnnkit", entries)
    with pytest.raises(ModelFileError, match=r"missing entries \['model.safetensors'\]"):
        models.load_model(tmp_path / "bad.cnnkit")


def test_corrupted_weights_entry(saved, tmp_path):
    entries = entries_of(saved)
    entries["model.safetensors"] = entries["model.safetensors"][:40]
    write_entries(tmp_path / "bad.cnnkit", entries)
    with pytest.raises(ModelFileError, match=r"model.safetensors: not a valid safetensors file"):
        models.load_model(tmp_path / "bad.cnnkit")


def test_flipped_byte_is_caught_by_the_zip_checksum(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    offset = data.index(b"model.safetensors") + 200  # inside the stored weights
    data[offset] ^= 0xFF
    (tmp_path / "flipped.cnnkit").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"corrupted|not a readable"):
        models.load_model(tmp_path / "flipped.cnnkit")


@pytest.mark.parametrize("key, value, message", [
    ("format_version", 3, r"format version 3 is not supported; this cnnkit \(.*\) reads format versions 1 to 2"),
    ("cnnkit_version", "99.0.0", r"written by cnnkit 99.0.0, newer than this cnnkit"),
    ("format", "something.else", r"does not declare format 'cnnkit.model'"),
])
def test_wrong_versions_and_format(saved, tmp_path, key, value, message):
    with_config(saved, tmp_path / "bad.cnnkit", lambda config: config.update({key: value}))
    with pytest.raises(ModelFileError, match=message):
        models.load_model(tmp_path / "bad.cnnkit")


def test_unknown_layer_class(saved, tmp_path):
    def rename(config):
        config["model"]["config"]["layers"][1]["class_name"] = "os.system"
    with_config(saved, tmp_path / "bad.cnnkit", rename)
    with pytest.raises(ModelFileError, match=r"layer 1: unknown layer class 'os.system'. Known layers: Activation"):
        models.load_model(tmp_path / "bad.cnnkit")


def test_bad_layer_argument(saved, tmp_path):
    def bad_argument(config):
        config["model"]["config"]["layers"][1]["config"]["filters"] = -1
    with_config(saved, tmp_path / "bad.cnnkit", bad_argument)
    with pytest.raises(ModelFileError, match=r"layer 1: cannot rebuild layer Conv2D.*filters=-1"):
        models.load_model(tmp_path / "bad.cnnkit")


def test_weights_disagreeing_with_config(saved, tmp_path):
    def more_filters(config):
        config["model"]["config"]["layers"][1]["config"]["filters"] = 32
    with_config(saved, tmp_path / "bad.cnnkit", more_filters)
    with pytest.raises(ModelFileError, match=(
            r"weight 'conv2d/kernel' has shape \(3, 3, 1, 4\) in the file, "
            r"but layer 'conv2d' built from the config expects \(3, 3, 1, 32\)")):
        models.load_model(tmp_path / "bad.cnnkit")


def _replace_weights(source, target, edit):
    entries = entries_of(source)
    tensors = model_file.tensors_from_bytes(entries["model.safetensors"], "test")
    edit(tensors)
    entries["model.safetensors"] = model_file.tensors_to_bytes(tensors)
    write_entries(target, entries)


def test_missing_weight_key(saved, tmp_path):
    _replace_weights(saved, tmp_path / "bad.cnnkit", lambda t: t.pop("dense/bias"))
    with pytest.raises(ModelFileError, match=r"Missing weights: \['dense/bias'\]; unexpected weights: none"):
        models.load_model(tmp_path / "bad.cnnkit")


def test_extra_weight_key(saved, tmp_path):
    _replace_weights(saved, tmp_path / "bad.cnnkit", lambda t: t.update({"dense/gamma": torch.ones(3)}))
    with pytest.raises(ModelFileError, match=r"Missing weights: none; unexpected weights: \['dense/gamma'\]"):
        models.load_model(tmp_path / "bad.cnnkit")


def test_optimizer_state_not_matching(saved, tmp_path):
    entries = entries_of(saved)
    state = model_file.tensors_from_bytes(entries["optimizer.safetensors"], "test")
    del state["momentum.0"]
    entries["optimizer.safetensors"] = model_file.tensors_to_bytes(state)
    write_entries(tmp_path / "bad.cnnkit", entries)
    with pytest.raises(ModelFileError, match=r"optimizer.safetensors: the optimizer state does not match.*momentum.0"):
        models.load_model(tmp_path / "bad.cnnkit")


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)


def test_no_pickle_in_the_saving_code():
    import cnnkit.saving as package
    folder = os.path.dirname(package.__file__)
    for name in os.listdir(folder):
        if name.endswith(".py"):
            text = io.open(os.path.join(folder, name)).read()
            assert "import pickle" not in text and "torch.load(" not in text, name


def test_saved_files_get_the_usual_permissions_not_the_temporary_files(trained, tmp_path):
    model, _, _ = trained
    mask = os.umask(0o022)
    try:
        model.save(tmp_path / "m.cnnkit")
    finally:
        os.umask(mask)
    assert (tmp_path / "m.cnnkit").stat().st_mode & 0o777 == 0o644


# ------------------------------------------------- hostile files: limits and zip hygiene (issue 15)
@pytest.fixture
def limits():
    """Restores the reading limits a test changes."""
    previous = cnnkit.saving.get_limits()
    yield cnnkit.saving.set_limits
    cnnkit.saving.set_limits(**previous)


def hostile_zip(path, entries, extra):
    """`entries` (stored), plus `extra`: a ZipInfo and its bytes (its flag bits set in the central
    directory afterwards: zipfile clears them when writing)."""
    flag_bits = extra[0].flag_bits
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        archive.writestr(extra[0], extra[1])
    data = bytearray(path.read_bytes())
    last = data.rindex(b"PK\x01\x02")  # the central header of the entry written last
    data[last + 8:last + 10] = (int.from_bytes(data[last + 8:last + 10], "little") | flag_bits).to_bytes(2, "little")
    path.write_bytes(bytes(data))


def zip_info(name, external_attr=0, flag_bits=0):
    info = zipfile.ZipInfo(name)
    info.external_attr, info.flag_bits = external_attr, flag_bits
    return info


@pytest.mark.parametrize("info, problem", [
    (zip_info("/etc/config.json"), "has an absolute or '..' path"),
    (zip_info("../config.json"), "has an absolute or '..' path"),
    (zip_info("a\\..\\..\\x"), "has an absolute or '..' path"),
    (zip_info("link", external_attr=0o120777 << 16), "is a symbolic link"),
    (zip_info("notes.txt", flag_bits=0x1), "is encrypted"),
    (zip_info("config.json"), "appears twice"),
])
def test_hostile_zip_entries_refuse_the_file(saved, tmp_path, info, problem):
    path = tmp_path / "hostile.cnnkit"
    with pytest.warns(UserWarning) if info.filename == "config.json" else contextlib.nullcontext():  # "Duplicate name"
        hostile_zip(path, entries_of(saved), (info, b"x"))
    with pytest.raises(ModelFileError, match=rf"hostile.cnnkit: entry '.*' {re.escape(problem)}; refusing the file"):
        models.load_model(path)


def test_unexpected_entries_are_ignored_never_read(saved, tmp_path):
    path = tmp_path / "extra.cnnkit"
    hostile_zip(path, entries_of(saved), (zip_info("assets/notes.txt"), b"not read"))
    models.load_model(path)


def test_compression_cnnkit_does_not_write_is_refused(saved, tmp_path):
    path = tmp_path / "bzip.cnnkit"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as archive:
        for name, data in entries_of(saved).items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="uses compression method 12 .only stored and deflated"):
        models.load_model(path)


def test_a_zip_header_declaring_more_compressed_bytes_than_the_file_is_refused(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    directory = data.index(b"PK\x01\x02")  # the first central header: config.json's compressed size at +20
    data[directory + 20:directory + 24] = (10**8).to_bytes(4, "little")
    (tmp_path / "lying.cnnkit").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"entry 'config.json' declares 100000000 compressed bytes, more than"):
        models.load_model(tmp_path / "lying.cnnkit")


@pytest.mark.parametrize("cut", [1, 2])
def test_bytes_cut_from_the_start_are_a_model_file_error(saved, tmp_path, cut):
    """Found by the fuzzer: zipfile then seeks to a negative offset (ValueError, OSError)."""
    (tmp_path / "cut.cnnkit").write_bytes(saved.read_bytes()[cut:])
    with pytest.raises(ModelFileError, match=r"cut.cnnkit: (entry 'config.json' is corrupted|not a readable)"):
        models.load_model(tmp_path / "cut.cnnkit")


def test_entries_over_the_limits_are_refused_before_reading(saved, tmp_path, limits):
    size = len(entries_of(saved)["model.safetensors"])
    limits(max_weights_bytes=size - 1)
    with pytest.raises(ModelFileError, match=rf"good.cnnkit: entry 'model.safetensors' declares {size} bytes "
                                             rf"uncompressed, over the limit of {size - 1} bytes"):
        models.load_model(saved)
    limits(max_weights_bytes=size, max_config_bytes=10)
    with pytest.raises(ModelFileError, match=r"'config.json' declares \d+ bytes uncompressed, over the limit of 10"):
        models.load_model(saved)


def test_a_weights_file_over_the_limit_is_refused(trained, tmp_path, limits):
    model = trained[0]
    model.save_weights(tmp_path / "w.safetensors")
    limits(max_weights_bytes=100)
    with pytest.raises(ModelFileError, match=r"w.safetensors: \d+ bytes, over the limit of 100 bytes"):
        model.load_weights(tmp_path / "w.safetensors")


def test_set_limits_checks_and_returns_the_previous_limits(limits):
    previous = limits(max_compression_ratio=20)
    assert previous["max_compression_ratio"] == 100 and cnnkit.saving.get_limits()["max_compression_ratio"] == 20
    with pytest.raises(ValueError, match="max_weights_bytes must be a positive number. Received: max_weights_bytes=0"):
        limits(max_weights_bytes=0)


def safetensors_with_header(data, edit):
    """safetensors bytes with their JSON header changed by `edit(header)`."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    edit(header)
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + data[8 + size:]


@pytest.mark.parametrize("edit, message", [
    (lambda h: h["conv2d/bias"].update(dtype=["F32"]), r"tensor 'conv2d/bias' has no valid dtype"),
    (lambda h: h["conv2d/bias"].update(shape=[2**40]),
     r"tensor 'conv2d/bias' declares dtype F32 and shape \(1099511627776,\)"),
    (lambda h: h.update({"__metadata__": ["x"]}), r"the header's '__metadata__' must map names to strings"),
])
def test_safetensors_headers_are_checked_before_any_tensor_is_read(saved, tmp_path, edit, message):
    """The first case was found by the fuzzer (TypeError: unhashable type: 'list')."""
    entries = entries_of(saved)
    entries["model.safetensors"] = safetensors_with_header(entries["model.safetensors"], edit)
    write_entries(tmp_path / "bad.cnnkit", entries)
    with pytest.raises(ModelFileError, match=r"model.safetensors: not a valid safetensors file: " + message):
        models.load_model(tmp_path / "bad.cnnkit")


@pytest.mark.parametrize("length", [2**63, 10**6])
def test_a_safetensors_header_length_past_the_file_is_refused(saved, tmp_path, length):
    entries = entries_of(saved)
    entries["model.safetensors"] = length.to_bytes(8, "little") + entries["model.safetensors"][8:]
    write_entries(tmp_path / "bad.cnnkit", entries)
    with pytest.raises(ModelFileError, match=rf"the header length field says {length} bytes, but the file holds"):
        models.load_model(tmp_path / "bad.cnnkit")


def test_bfloat16_weights_load(trained, tmp_path):
    """A file's float weights of another precision load (bfloat16 has no NumPy dtype)."""
    model = trained[0]
    from cnnkit.saving.weights import tensors_to_bytes, weight_tensors
    halved = {key: tensor.to(torch.bfloat16) for key, tensor in weight_tensors(model).items()}
    (tmp_path / "w.safetensors").write_bytes(tensors_to_bytes(halved))
    model.load_weights(tmp_path / "w.safetensors")
    kernel = model.layers[0].get_weights()[0]
    assert np.array_equal(kernel, halved[f"{model.layers[0].name}/kernel"].float().numpy())


@pytest.mark.parametrize("layer, key, value", [(4, "units", 10**7), (0, "filters", 10**7),
                                               (0, "kernel_size", [3000, 3000])])
def test_a_config_asking_for_more_weights_than_the_file_holds_is_refused_before_building(saved, tmp_path, layer, key,
                                                                                       value):
    """A 4 KB file asking for a 10**7-unit layer made load_model allocate 1.4 GiB and take 3 s."""
    def grow(config):
        config["model"]["config"]["layers"][layer + 1]["config"][key] = value
    with_config(saved, tmp_path / "big.cnnkit", grow)
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match=r"building the model it describes asks for more than \d+ bytes, but the "
                                             r"file holds \d+ weights"):
        models.load_model(tmp_path / "big.cnnkit")
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize("edit", [
    lambda config: config["model"]["config"]["layers"][1]["config"].update(kernel_size={"a": 1}),
    lambda config: config["model"]["config"].update(layers=[7]),
    lambda config: config["compile"].update(metrics=[{"function": ["x"]}]),
])
def test_type_confused_configs_are_model_file_errors(saved, tmp_path, edit):
    with_config(saved, tmp_path / "bad.cnnkit", edit)
    with pytest.raises(ModelFileError, match="bad.cnnkit: config.json"):
        models.load_model(tmp_path / "bad.cnnkit")


@pytest.mark.parametrize("member, problem", [
    (zip_info("link", external_attr=0o120777 << 16), "is a symbolic link"),
    (zip_info("secret.txt", flag_bits=0x1), "is encrypted"),
])
def test_get_file_extraction_refuses_zip_links_and_encrypted_members(tmp_path, member, problem):
    from cnnkit.utils.file_utils import extract_archive

    archive = tmp_path / "a.zip"
    hostile_zip(archive, {"fine.txt": b"x"}, (member, b"/etc/passwd"))
    with pytest.raises(ValueError, match=rf"member '{member.filename}' {problem}"):
        extract_archive(archive, tmp_path / "out", "zip")
    assert sorted(os.listdir(tmp_path)) == ["a.zip"]  # nothing extracted


def test_a_safetensors_header_with_too_many_dims_is_refused_before_multiplying(tmp_path):
    """Millions of huge dims would make the size check itself a bigint product of hours."""
    import json
    import struct

    from cnnkit.saving.weights import MAX_DIMS

    model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
    header = json.dumps({"dense/kernel": {"dtype": "F32", "shape": [2**62] * (MAX_DIMS + 1),
                                          "data_offsets": [0, 0]}}).encode()
    path = tmp_path / "hostile.weights.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(ModelFileError, match="no valid dtype, shape and data_offsets"):
        model.load_weights(path)
