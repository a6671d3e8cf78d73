"""benchmarks/convnet_speed.py: its pieces run on a few images, and its plain torch models are cnnkit's models."""

import importlib.util
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from cnnkit import layers, models, recipes

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "convnet_speed.py"
CIFAR_ZIP = pathlib.Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-jpg.zip"

_TORCH_WORKER_IMPORTS = """
import json, runpy, sys
script, config = sys.argv[1:]
sys.argv = [script, "--worker", "torch", "--config", config]
runpy.run_path(script, run_name="__main__")
print(json.dumps("cnnkit" in sys.modules))
"""


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("convnet_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_moving_statistics(model, seed=0):
    """Random BatchNormalization weights near identity, so that all four of them count."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, variance = (0.1 * rng.standard_normal(w.shape).astype("float32")
                                           for w in layer.get_weights())
            layer.set_weights([1 + gamma, beta, mean, 1 + abs(variance)])
    return model


def images(count, seed=1):
    return torch.from_numpy(np.random.default_rng(seed).uniform(0, 255, (count, 180, 180, 3)).astype("float32"))


@pytest.mark.parametrize("name", ["small_convnet", "mini_xception"])
def test_torch_twin_computes_what_the_cnnkit_model_computes(bench, seeded, name):
    model = with_moving_statistics(getattr(recipes, name)())
    net = bench.TWINS[name]().eval()
    bench.load_keras_weights(net, model.get_weights())
    pooled = next(layer for layer in model.layers if isinstance(layer, layers.GlobalAveragePooling2D))
    x = images(2)
    with torch.no_grad():
        features, outputs = models.Model(model.input, [pooled.output, model.output])(x)
        torch.testing.assert_close(net.features(x), features, atol=1e-6, rtol=1e-4)  # features ~0.02
        torch.testing.assert_close(torch.sigmoid(net(x)), outputs, atol=1e-4, rtol=1e-4)
    assert bench.keras_param_count(net) == model.count_params()


def test_weights_of_another_model_are_refused(bench):
    with pytest.raises(ValueError, match="holds 68 weights; received 12 arrays"):
        bench.load_keras_weights(bench.TorchMiniXception(), recipes.small_convnet().get_weights())
    weights = recipes.small_convnet().get_weights()
    weights[0] = weights[0].transpose(3, 2, 0, 1)
    with pytest.raises(ValueError, match=r"weight 0: expected the torch shape \(32, 3, 3, 3\)"):
        bench.load_keras_weights(bench.TorchSmallConvnet(), weights)


@pytest.mark.parametrize("size", [10, 11])
def test_same_max_pooling_pads_as_cnnkit_does(bench, size):
    x = images(2)[:, :size, :size]
    expected = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    torch.testing.assert_close(bench._max_pool_same(bench._nchw(x), 3, 2).permute(0, 2, 3, 1), expected)


def test_training_flops_count_each_convolution_kind(bench):
    model = models.Sequential([
        layers.Input((8, 8, 3)),
        layers.Conv2D(4, 3),                                   # 6*6*4*9*3 = 3888 multiply-adds
        layers.DepthwiseConv2D(3, depth_multiplier=2),         # 4*4*8*9 = 1152
        layers.SeparableConv2D(5, 3, padding="same"),          # 1152 + 4*4*8*5 = 1792
        layers.Flatten(),
        layers.Dense(2),                                       # 80*2 = 160
    ])
    assert bench.training_flops_per_image(model) == 2 * 3888 * 2 + 2 * (1152 + 1792 + 160) * 3
    assert bench.flops_per_image("small_convnet") == pytest.approx(2.61e9, rel=0.01)


def run(seconds, params=10):
    return {"epoch_seconds": seconds, "params": params, "loss": 0.69}


def test_ratios_and_targets(bench):
    runs = {"cnnkit": run([11.0, 10.0, 10.2]), "torch": run([16.0, 15.0, 15.2]), "keras": run([30.0, 12.0, 12.0])}
    rows, targets = bench.ratio_rows(runs, keras_target=1.2)
    assert [met for _, met in targets] == [False, True]  # Keras-TF / cnnkit 1.188, first / steady 1.089
    assert rows[0].split() == ["Keras-TF", "/", "cnnkit", "1.188", "(target", ">=", "1.2:", "NOT", "MET)"]
    assert rows[1].split() == ["torch", "/", "cnnkit", "1.495"]
    assert "(target <= 1.15: met)" in rows[2]
    assert bench.ratio_rows({"keras": runs["keras"]}, 1.0) == (["    no cnnkit run: no ratios"], [])
    assert bench.steady([9.0, 2.0, 1.0, 3.0]) == 2.0 and bench.steady([9.0]) == 9.0


def test_torch_worker_trains_without_importing_cnnkit(bench, tmp_path):
    config = {"model": "small_convnet", "dtype": "float32", "epochs": 1, **bench.write_arrays(tmp_path, 3)}
    done = subprocess.run([sys.executable, "-c", _TORCH_WORKER_IMPORTS, str(SCRIPT), json.dumps(config)],
                          capture_output=True, text=True, check=True)
    answer, cnnkit_imported = map(json.loads, done.stdout.strip().splitlines()[-2:])
    assert not cnnkit_imported
    assert len(answer["epoch_seconds"]) == 1 and answer["params"] == 1_569_089 and np.isfinite(answer["loss"])


def jpeg_folders(root, per_class=2):
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for index in range(per_class):
            pixels = np.random.default_rng(index).integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{index}.jpg")
    return str(root)


def test_cnnkit_worker_trains_from_arrays_and_from_folders(bench, tmp_path):
    arrays = bench.write_arrays(tmp_path, 3)
    for data in (arrays, {"folder": jpeg_folders(tmp_path / "folders")}):
        answer = bench.cnnkit_epochs({"model": "small_convnet", "dtype": "float32", "epochs": 2, **data})
        assert len(answer["epoch_seconds"]) == 2 and answer["params"] == 1_569_089 and np.isfinite(answer["loss"])


@pytest.mark.skipif(not CIFAR_ZIP.exists(), reason="no ../shared/datasets/cifar10-jpg.zip")
def test_extracts_half_cats_half_dogs(bench, tmp_path):
    folder = pathlib.Path(bench.extract_cats_and_dogs(str(tmp_path), 4))
    assert sorted(str(path.relative_to(folder)) for path in folder.rglob("*.jpg")) == [
        "cat/0000.jpg", "cat/0001.jpg", "dog/0000.jpg", "dog/0001.jpg"]


def test_keras_script_compiles_and_a_missing_venv_is_skipped(bench, tmp_path):
    compile(bench._KERAS_SCRIPT, "keras side", "exec")
    assert bench.run_side("keras", {}, str(tmp_path / "python")) == (None, f"no Keras venv at '{tmp_path}/python'")
    with pytest.raises(SystemExit):
        bench.parse_args(["--models", "small,big"])


def test_main_runs_a_tiny_benchmark(bench, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "matmul_peak_gflops", lambda: 100.0)
    result = bench.main(["--images", "3", "--epochs", "2", "--models", "small", "--dtypes", "bfloat16",
                         "--sides", "cnnkit,keras", "--no-folders", "--keras-python", str(tmp_path / "python")])
    out = capsys.readouterr().out
    assert "keras: skipped: no Keras venv" in out and "small convnet, bfloat16" in out and "targets met:" in out
    flops, runs = result["arrays"]["small_convnet", "bfloat16"]
    assert set(runs) == {"cnnkit"} and len(runs["cnnkit"]["epoch_seconds"]) == 2 and flops > 2e9
    assert len(result["targets"]) == 1 and "first / steady" in result["targets"][0][0]  # no Keras: no ratio
