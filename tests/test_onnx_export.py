"""ONNX export (`model.export(path, format="onnx")` and `cnnkit export`): onnxruntime computes what
cnnkit computes, to 1e-5, on real MNIST images, for any batch size, from channels-last inputs: the
seed convnet (trained, from Keras's file), a Functional residual model with BatchNormalization,
and one with BatchNormalization and Dropout in their inference form."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnkit import models
from cnnkit.cli import main
from _keras_files import FIXTURES, outputs, residual_bn

ROOT = Path(__file__).resolve().parents[1]
DATA = next((path for path in (ROOT.parent / "shared" / "datasets", Path("/work/shared/datasets"))
             if (path / "mnist").is_dir()), None)
HAVE_ONNX = all(importlib.util.find_spec(name) for name in ("onnx", "onnxscript", "onnxruntime"))
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason="onnx, onnxscript and onnxruntime are not installed "
                                                      "(pip install 'cnnkit[onnx]')")
needs_data = pytest.mark.skipif(DATA is None, reason="the shared MNIST files (../shared/datasets) are not here")


def dropout_bn_model():
    """The residual model with Dropout before its classifier, BatchNormalization statistics far from 0 and 1."""
    model = residual_bn(dropout=0.5)
    rng = np.random.default_rng(0)
    weights = []
    for (path, *_), array in zip(model.weight_entries(), model.get_weights()):
        value = rng.standard_normal(array.shape).astype("float32") * 0.3
        weights.append(np.abs(value) + 0.5 if path.endswith("moving_variance") else value)
    model.set_weights(weights)
    return model


@pytest.fixture(scope="module")
def mnist_images():
    from cnnkit.datasets import mnist

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNKIT_DATA", str(DATA))
        _, (x_test, _) = mnist.load_data()
    return (x_test[:64, ..., None] / 255).astype("float32")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{name: (model, path of its ONNX file)}."""
    folder = tmp_path_factory.mktemp("onnx")
    chosen = {"seed_convnet": models.load_model(FIXTURES / "seed_convnet.keras"),
              "residual_bn": models.load_model(FIXTURES / "residual_bn.keras"),
              "dropout_bn": dropout_bn_model()}
    return {name: (model, model.export(folder / f"{name}.onnx", format="onnx")) for name, model in chosen.items()}


@pytest.mark.slow
@needs_onnx
@needs_data
@pytest.mark.parametrize("name", ["seed_convnet", "residual_bn", "dropout_bn"])
def test_onnxruntime_computes_what_cnnkit_computes(exported, mnist_images, name):
    import onnxruntime

    model, path = exported[name]
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_input,) = session.get_inputs()
    assert onnx_input.shape[1:] == [28, 28, 1] and isinstance(onnx_input.shape[0], str)  # channels last, any batch
    for batch in (mnist_images, mnist_images[:1], mnist_images[5:12]):
        (result,) = session.run(None, {onnx_input.name: batch})
        np.testing.assert_allclose(result, outputs(model, batch), rtol=0, atol=1e-5)
    assert outputs(model, mnist_images).std() > 1e-3  # the images make a difference to the outputs


@pytest.mark.slow
@needs_onnx
def test_the_graph_is_inference_only(exported):
    import onnx

    for name, (model, path) in exported.items():
        graph = onnx.load(str(path)).graph
        ops = {node.op_type for node in graph.node}
        assert not ops & {"Dropout", "RandomUniform", "RandomUniformLike", "Bernoulli"}, (name, ops)
        assert [output.name for output in graph.output] == ["output"]
    assert "image" == onnx.load(str(exported["residual_bn"][1])).graph.input[0].name  # the model's input name


@pytest.mark.slow
@needs_onnx
@needs_data
def test_cnnkit_export_command(tmp_path, capsys, mnist_images):
    import onnxruntime

    source = tmp_path / "digits.keras"
    shutil.copy(FIXTURES / "residual_bn.keras", source)
    assert main(["export", str(source), "--format", "onnx"]) == 0
    out = capsys.readouterr().out
    assert f"Exported residual_bn to {tmp_path / 'digits.onnx'} (onnx; input (None, 28, 28, 1), any batch size)" in out
    assert "Checked with onnxruntime on a random batch: largest difference from cnnkit" in out
    session = onnxruntime.InferenceSession(str(tmp_path / "digits.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"image": mnist_images})[0],
                               outputs(models.load_model(source), mnist_images), rtol=0, atol=1e-5)
    assert main(["export", str(source), "--out", str(tmp_path / "missing" / "m.onnx")]) == 1
    assert capsys.readouterr().err == f"cnnkit: error: folder not found: '{tmp_path / 'missing'}' " \
                                      f"(for --out '{tmp_path / 'missing' / 'm.onnx'}')\n"


def test_missing_onnx_packages_are_named(monkeypatch, capsys, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    model = models.load_model(FIXTURES / "residual_bn.keras", compile=False)
    with pytest.raises(ImportError, match=r"ONNX export needs the package\(s\) onnxscript, not installed: "
                                          r"pip install 'cnnkit\[onnx\]'"):
        model.export(tmp_path / "m.onnx", format="onnx")
    assert main(["export", str(FIXTURES / "residual_bn.keras"), "--out", str(tmp_path / "m.onnx")]) == 1
    assert capsys.readouterr().err.startswith("cnnkit: error: ONNX export needs the package(s) onnxscript")
    assert not (tmp_path / "m.onnx").exists()


def test_other_export_formats_are_refused(tmp_path):
    model = models.load_model(FIXTURES / "residual_bn.keras", compile=False)
    with pytest.raises(ValueError, match=r"cnnkit exports format='onnx' only .*format='tf_saved_model'"):
        model.export(tmp_path / "saved", format="tf_saved_model")
    with pytest.raises(ValueError, match=r"format=''"):
        model.export(tmp_path / "saved")


def test_export_help_imports_no_torch():
    script = ("import contextlib, io, json, sys\n"
              "from cnnkit.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
              "    status = main(['export', '--help'])\n"
              "print(json.dumps({'status': status, 'usage': out.getvalue().splitlines()[0],\n"
              "                  'torch': sorted(m for m in sys.modules if m.startswith('torch'))}))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CNNKIT_SEED": ""})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"status": 0, "usage": "usage: cnnkit export [-h] [--format {onnx}] "
                                                             "[--out PATH] MODEL", "torch": []}
