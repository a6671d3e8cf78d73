"""benchmarks/augmentation_speed.py: its pieces run on a tiny batch, without Keras."""

import importlib.util
import pathlib
import sys

import pytest
import torch

from cnnkit import layers

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "augmentation_speed.py"

# What the Keras subprocess answers, without Keras: its info line, then one number per request.
_FAKE_KERAS = r"""
import json, sys
info = {"backend": "tensorflow", "keras": "fake", "tensorflow": "fake", "threads": int(sys.argv[3])}
print(json.dumps(info), flush=True)
for line in sys.stdin:
    name, way, calls = line.split()
    print(json.dumps(0.002 if way == "eager" else 0.001), flush=True)
"""


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("augmentation_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_times_every_augmentation_layer(bench):
    built = bench.cnnkit_layers()
    assert set(built) == {"RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
                          "RandomBrightness", "RandomCrop"}
    assert all(isinstance(layer, getattr(layers, name)) for name, layer in built.items())
    images = bench.batch((2, 12, 12, 3))
    assert images.dtype == "float32" and images.min() >= 0 and images.max() <= 255 and (images % 1 == 0).all()
    assert bench.time_cnnkit(built["RandomRotation"], torch.from_numpy(images), calls=2) > 0


def test_the_keras_script_compiles(bench):
    compile(bench._KERAS_SCRIPT, "keras_script", "exec")


def test_comparison_alternates_and_reports_keras_over_cnnkit(bench, monkeypatch, capsys):
    monkeypatch.setattr(bench, "_KERAS_SCRIPT", _FAKE_KERAS)
    images = bench.batch((2, 12, 12, 3))
    with bench.KerasTimer(sys.executable, images, threads=1) as keras:
        assert keras.info["threads"] == 1
        times = bench.compare(images, repeats=2, calls=1, keras=keras)
    for sides in times.values():
        assert len(sides["cnnkit"]) == 2 and sides["keras eager"] == [0.002] * 2 and sides["keras graph"] == [0.001] * 2
    ratios = bench.report(times)
    for name, sides in times.items():  # Keras's faster way over cnnkit's median
        cnnkit_median = sorted(sides["cnnkit"])[0] / 2 + sorted(sides["cnnkit"])[1] / 2
        assert ratios[name] == pytest.approx(0.001 / cnnkit_median)
    assert "Keras / cnnkit: lowest" in capsys.readouterr().out


def test_main_runs_without_keras(bench, capsys):
    bench.main(["--batch", "2", "--size", "24", "--repeats", "1", "--calls", "1", "--keras-python", ""])
    out = capsys.readouterr().out
    assert "Keras: skipped" in out and "RandomCrop" in out
