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

import cnnkit
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


# --device cuda and the seed model: the GPU report's pieces, checked on the CPU.

def test_torch_seed_twin_computes_what_the_cnnkit_seed_computes(bench, seeded):
    model = recipes.seed_convnet()
    net = bench.TWINS["seed_convnet"]().eval()
    bench.load_keras_weights(net, model.get_weights())
    x = torch.from_numpy(np.random.default_rng(1).uniform(0, 1, (2, 28, 28, 1)).astype("float32"))
    with torch.no_grad():
        torch.testing.assert_close(torch.softmax(net(x), -1), model(x), atol=1e-6, rtol=1e-4)
    assert bench.keras_param_count(net) == model.count_params() == 93_322


def test_seed_arrays_are_one_hot_and_scaled(bench, tmp_path):
    paths = bench.write_arrays(tmp_path, 5, shape=(28, 28, 1), classes=10)
    x, y = bench.load_arrays({"model": "seed_convnet", "scale": 1 / 255, **paths})
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert y.shape == (5, 10) and y.dtype == np.float32 and (y.sum(1) == 1).all()
    first = bench.load_arrays({"model": "seed_convnet", "scale": 1 / 255, **paths}, 2)
    assert [array.shape for array in first] == [(2, 28, 28, 1), (2, 10)] and (first[0] == x[:2]).all()
    assert bench.write_arrays(tmp_path, 5)["images"] != paths["images"]  # 180x180x3 next to it
    answer = bench.torch_epochs({"model": "seed_convnet", "dtype": "bfloat16", "epochs": 1, "scale": 1 / 255, **paths})
    assert answer["params"] == 93_322 and np.isfinite(answer["loss"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="torch sees a CUDA GPU here")
def test_cuda_is_refused_with_the_reason_without_a_gpu(bench, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.parse_args(["--device", "cuda"])
    assert exit_info.value.code == 2
    assert f"--device cuda: torch {torch.__version__} (" in capsys.readouterr().err


def test_device_defaults(bench):
    cpu = bench.parse_args([])
    assert (cpu.device, cpu.models, cpu.sync_check) == ("cpu", ["small", "xception"], False)
    assert bench.parse_args(["--models", "seed", "--sync-check"]).sync_check is True
    args = bench.parse_args(["--sides", "cnnkit,torch,keras"])
    bench.skip_on_cuda(args)
    assert args.sides == ["cnnkit", "torch"] and args.folders is False


def test_gpu_target_and_summary(bench, capsys):
    runs = {"cnnkit": run([3.0, 1.0, 1.0]), "torch": run([2.0, 0.96, 0.96])}
    rows, targets = bench.ratio_rows(runs, torch_target=0.97)
    assert rows[0].split()[-4:] == [">=", "0.97:", "NOT", "MET)"] and targets == [("torch / cnnkit 0.960 (>= 0.97)",
                                                                                  False)]
    assert bench.side_rows(runs, images=100)[1].split()[:4] == ["cnnkit", "3.00", "1.00", "100"]
    bench.report_gpu_summary({("seed_convnet", "float32"): (1.0, runs)}, 100)
    assert capsys.readouterr().out.splitlines()[-1].split() == ["seed", "convnet", "float32", "100", "104",
                                                                 "0.960", "NOT", "MET"]
    targets = bench.report_arrays({("seed_convnet", "float32"): (1e7, runs)}, 100, None, "cuda")
    out = capsys.readouterr().out
    assert "FLOP limit: not computed on cuda" in out and "preloaded arrays on cuda: 100 images (28x28x1)" in out
    assert targets == [("seed convnet float32: torch / cnnkit 0.960 (>= 0.97)", False)]  # no Keras target there


def test_host_syncs_name_the_cnnkit_line_reading_a_value(bench):
    from cnnkit import metrics
    mean = metrics.Mean("loss")
    mean.update_state(torch.ones(()))
    with bench.HostSyncs("cpu", str(pathlib.Path(metrics.__file__).parent)) as events:
        mean.result()
        float(torch.ones(()))
    assert [kind for kind, _ in events] == ["read", "read"]
    assert events[0][1].startswith("cnnkit/metrics.py:") and events[0][1].endswith("(result)")
    assert "test_benchmarks_convnet_speed_smoke.py" in events[1][1]


def test_fit_reads_no_value_from_the_device_per_step(bench, tmp_path):
    """The CPU half of the GPU check: fit(verbose=0) reads the loss once per epoch, never per step."""
    paths = bench.write_arrays(tmp_path, 10, shape=(28, 28, 1), classes=10)
    check = bench.host_syncs_per_step({"model": "seed_convnet", "dtype": "float32", "scale": 1 / 255,
                                       "batch_size": 2, "steps": 4, **paths})
    assert check["kind"] == "read" and check["probe"] == {"read": 1}
    assert check["later_steps"] == [{"sync": 0, "read": 0}] * 3
    assert check["epoch_end"] == {"sync": 0, "read": 1}
    assert [site.split(":")[0] for site in check["sites"]["epoch_end"]] == ["read cnnkit/metrics.py"]
    rows = bench.report_syncs([check])
    assert rows == [("seed convnet float32: no host-device wait per step (reads after the first step: 0)", True)]


def test_a_read_per_step_is_seen_where_it_is(bench, tmp_path):
    import cnnkit
    from cnnkit.callbacks import Callback

    class ReadsTheLoss(Callback):  # what a progress bar does
        def on_train_batch_end(self, batch, logs=None):
            logs["loss"]

    model = bench.compiled_recipe({"model": "seed_convnet", "dtype": "float32"})
    x, y = bench.load_arrays({"model": "seed_convnet", **bench.write_arrays(tmp_path, 6, shape=(28, 28, 1),
                                                                            classes=10)})
    with bench.HostSyncs("cpu", str(pathlib.Path(cnnkit.__file__).parent)) as events:
        model.fit(x, y, batch_size=2, verbose=0, callbacks=[ReadsTheLoss()])
    assert len(events) == 3 + 1 and {where.split(":")[0] for _, where in events} == {"cnnkit/metrics.py"}


def test_main_runs_the_seed_with_the_sync_check(bench, capsys, monkeypatch):
    monkeypatch.setattr(bench, "matmul_peak_gflops", lambda: 100.0)
    result = bench.main(["--images", "130", "--epochs", "1", "--models", "seed", "--dtypes", "float32",
                         "--sides", "cnnkit,torch", "--no-folders", "--sync-check"])
    out = capsys.readouterr().out
    assert "seed convnet, float32" in out and "host waits in cnnkit training steps on cpu" in out
    assert set(result["arrays"]["seed_convnet", "float32"][1]) == {"cnnkit", "torch"}
    assert [check["later_steps"] for check in result["syncs"]] == [[{"sync": 0, "read": 0}] * 2]
    assert [met for _, met in result["targets"]] == [True]


def test_a_mini_xception_training_step_is_as_exact_as_plain_torch(bench, seeded):
    """Issue 14's exactness: one SGD step of cnnkit's mini-Xception, with every speed rewrite it
    makes (the BatchNormalization + ReLU kernel, "same" pooling without a copy, the logits into
    the loss), against the same step of the plain-torch twin in float64. Ten BatchNormalization
    layers on a batch of 4 make float32 itself drift (plain torch's float32 step is 0.4 % of the
    update off on the stem), so cnnkit's error must be no larger than plain torch's float32 one,
    weight by weight (measured: at most 0.7 % against torch's 1.9 %). Dropout off on both sides."""
    model = with_moving_statistics(recipes.mini_xception())
    next(layer for layer in model.layers if isinstance(layer, layers.Dropout)).rate = 0.0
    start = model.get_weights()
    x, y = images(4), torch.tensor([[0.0], [1.0], [1.0], [0.0]])

    def torch_step(weights, dtype):
        net = bench.TorchMiniXception().train()
        bench.load_keras_weights(net, weights)
        net = net.to(dtype)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
        logits = net.dense(net.features(x.to(dtype)))
        torch.nn.functional.binary_cross_entropy_with_logits(logits, y.to(dtype)).backward()
        optimizer.step()
        return torch_weights(net)

    def torch_weights(net):
        return [p.detach().double() for p in net.parameters()]

    exact, plain = torch_step(start, torch.float64), torch_step(start, torch.float32)
    model.compile(optimizer=cnnkit.optimizers.SGD(0.1), loss="binary_crossentropy")
    model.train_on_batch(x.numpy(), y.numpy())
    ours, before = bench.TorchMiniXception(), bench.TorchMiniXception()  # cnnkit's weights in torch's layouts
    bench.load_keras_weights(ours, model.get_weights())
    bench.load_keras_weights(before, start)
    for name, truth, theirs, got, initial in zip([n for n, _ in ours.named_parameters()], exact, plain,
                                                  torch_weights(ours), torch_weights(before)):
        update = (truth - initial).abs().max()
        torch_error, our_error = ((w - truth).abs().max() / update for w in (theirs, got))
        assert our_error <= max(2 * torch_error, 1e-4), f"{name}: {our_error:.2e} against torch's {torch_error:.2e}"
