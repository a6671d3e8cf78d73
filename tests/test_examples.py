"""The examples run as scripts on the real MNIST, shortened, and print what they promise."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

import cnnkit as keras

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (DATA / "mnist").is_dir(), reason="needs ../shared/datasets/mnist"),
]


def run_example(name, *args):
    env = {**os.environ, "CNNKIT_DATA": str(DATA), "CNNKIT_DEVICE": "cpu"}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / name), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_functional_mnist_one_epoch():
    out = run_example("functional_mnist.py", "--epochs", "1")
    rows = [[cell.strip() for cell in line.strip("│").split("│")]
            for line in out.splitlines() if line.startswith("│")]
    assert rows[0] == ["input_layer (InputLayer)", "(None, 28, 28, 1)", "0"]
    assert rows[5] == ["conv2d_2 (Conv2D)", "(None, 3, 3, 128)", "73,856"]
    assert rows[6] == ["global_average_pooling2d", "(None, 128)", "0"]  # its type wraps to the next row
    assert rows[-1] == ["dense (Dense)", "(None, 10)", "1,290"]
    assert "Total params: 93,962 (367.04 KB)" in out
    assert re.search(r"422/422 ━{20} .* - val_accuracy: 0\.\d{4} - val_loss: 0\.\d{4}", out)
    assert float(re.search(r"test_acc ([\d.]+)", out).group(1)) >= 0.93  # 0.95-0.96 seen; about 0.98 after 5


def check_picture(out, png, heatmap_shape):
    """The digit beside its heatmap, 14 rows of 28 + 3 + 28 characters, and a PNG of both."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("digit "))
    assert f"heatmap {heatmap_shape}" in lines[start]
    assert [len(line) for line in lines[start + 1:start + 15]] == [59] * 14
    assert f"wrote {png}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_look_inside_trains_then_looks(tmp_path):
    png = tmp_path / "gradcam.png"
    out = run_example("look_inside.py", "--out", png)
    assert re.findall(r"^activation .*$", out, re.M) == [
        "activation conv2d (1, 28, 28, 32)", "activation max_pooling2d (1, 14, 14, 32)",
        "activation conv2d_1 (1, 14, 14, 64)", "activation max_pooling2d_1 (1, 7, 7, 64)",
        "activation conv2d_2 (1, 7, 7, 64)",
    ]
    assert re.search(r"^digit 7 predicted 7 \((0\.\d{3}|1\.000)\)", out, re.M)  # test digit 0, a clear 7
    check_picture(out, png, (7, 7))


def test_look_inside_a_saved_functional_model(tmp_path, fresh_names):
    inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(16, 3, activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x)).save(tmp_path / "model.cnnkit")
    png = tmp_path / "gradcam.png"
    out = run_example("look_inside.py", tmp_path / "model.cnnkit", "--index", 1, "--out", png)
    assert re.findall(r"^activation .*$", out, re.M) == [
        "activation conv2d (1, 26, 26, 8)", "activation max_pooling2d (1, 13, 13, 8)",
        "activation last_conv (1, 11, 11, 16)",
    ]
    assert re.search(r"^digit 2 predicted \d", out, re.M)  # untrained: any class
    check_picture(out, png, (11, 11))
