"""cnnkit's `.keras` files opened by Keras 3 itself (a subprocess in the Keras venv): Keras's
predictions equal cnnkit's (for the fixtures' models and one through many other layers), it
rebuilds the compile settings and loads the optimizer state (Keras saves it again unchanged and
trains on from it as cnnkit does), and what Keras saves again loads back in cnnkit. Skipped where
Keras is not installed (/work/kerasenv, or $CNNKIT_KERAS_PYTHON)."""

import json
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

import cnnkit as keras
from cnnkit import models
from cnnkit import layers
from _keras_files import (
    IMAGES, TRAIN_IMAGES, TRAIN_LABELS, WIDE_LAYERS, custom_layer_model, h5_bytes, h5_layout, nested_model, outputs,
    residual_bn, seed_convnet, train_steps, wide_model,
)

KERAS_PYTHON = Path(os.environ.get("CNNKIT_KERAS_PYTHON", "/work/kerasenv/bin/python"))
OPEN_SCRIPT = Path(__file__).parent / "fixtures" / "open_with_keras.py"
BUILDERS = {"seed_convnet": seed_convnet, "residual_bn": residual_bn, "custom_layer": custom_layer_model,
            "nested": nested_model}
if all(hasattr(layers, name) for name in WIDE_LAYERS):  # many more layers, where this cnnkit has them
    BUILDERS["wide"] = wide_model

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not KERAS_PYTHON.is_file(), reason=f"Keras 3 is not installed here ({KERAS_PYTHON} "
                                                          "missing): set CNNKIT_KERAS_PYTHON to a Python with keras"),
]


@pytest.fixture(scope="module")
def opened_by_keras(tmp_path_factory):
    """cnnkit's models (trained 2 steps), their `.keras` files, and what Keras made of them."""
    folder = tmp_path_factory.mktemp("keras_open")
    keras.utils.set_random_seed(0)
    trained = {}
    for name, build in BUILDERS.items():
        trained[name] = model = train_steps(build())
        model.save(folder / f"{name}.keras")
    np.save(folder / "inputs.npy", IMAGES)
    np.save(folder / "train_x.npy", TRAIN_IMAGES)
    np.save(folder / "train_y.npy", TRAIN_LABELS)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([str(KERAS_PYTHON), str(OPEN_SCRIPT), str(folder), *BUILDERS], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, trained, json.loads((folder / "report.json").read_text())


@pytest.mark.parametrize("name", list(BUILDERS))
def test_keras_predicts_what_cnnkit_predicts(opened_by_keras, name):
    folder, trained, report = opened_by_keras
    np.testing.assert_allclose(np.load(folder / f"{name}.keras_predictions.npy"), outputs(trained[name]),
                               rtol=0, atol=1e-5)
    assert report[name]["class_name"] == ("Sequential" if name == "seed_convnet" else "Functional")
    assert not [warning for warning in report[name]["warnings"] if "optimizer" in warning], report[name]["warnings"]


@pytest.mark.parametrize("name", list(BUILDERS))
def test_keras_rebuilds_the_compile_settings_and_optimizer_state(opened_by_keras, name):
    folder, trained, report = opened_by_keras
    model, seen = trained[name], report[name]
    assert seen["optimizer"] == type(model.optimizer).__name__ and seen["iterations"] == 2
    ours = model.optimizer.get_config()
    for key, value in seen["optimizer_config"].items():
        if key in ours and key != "name":
            assert value == pytest.approx(ours[key]), key
    assert seen["loss"] == model._compile_arguments["loss"]
    assert seen["metrics"] == (model.compiled_metrics or None)
    # Keras saves again exactly the weights and optimizer variables it loaded from cnnkit's file
    assert h5_layout(folder / f"{name}.resaved.keras") == h5_layout(folder / f"{name}.keras")
    with h5py.File(_buffer(folder / f"{name}.keras")) as ours_h5, \
            h5py.File(_buffer(folder / f"{name}.resaved.keras")) as theirs_h5:
        for path in h5_layout(folder / f"{name}.keras")[0]:
            np.testing.assert_array_equal(theirs_h5[path][()], ours_h5[path][()], err_msg=path)


def test_keras_trains_on_from_cnnkits_optimizer_state_as_cnnkit_does(opened_by_keras):
    folder, trained, _ = opened_by_keras
    for name in ("residual_bn", "nested", "seed_convnet"):  # (no Dropout: the same step in both)
        model = models.load_model(folder / f"{name}.keras")
        model.train_on_batch(TRAIN_IMAGES, TRAIN_LABELS)
        np.testing.assert_allclose(np.load(folder / f"{name}.after_step.npy"), outputs(model), rtol=0, atol=1e-4,
                                   err_msg=name)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_what_keras_saves_again_loads_back_in_cnnkit(opened_by_keras, name):
    folder, trained, _ = opened_by_keras
    restored = models.load_model(folder / f"{name}.resaved.keras")
    np.testing.assert_allclose(outputs(restored), outputs(trained[name]), rtol=0, atol=1e-6)
    assert restored.optimizer.iterations == 2


def _buffer(path):
    import io

    return io.BytesIO(h5_bytes(path))
