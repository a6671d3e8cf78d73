"""Looking inside convnets (cnnkit.viz): Grad-CAM, activations, filter patterns, top losses, the
learning-rate finder, and `cnnkit explain`; each checked against a known answer or a hand computation."""

import numpy as np
import pytest
import torch

import cnnkit as keras
from cnnkit import layers, viz
from cnnkit.cli import main

PIL = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")

SIDE = 8
TOP_LEFT, BOTTOM_RIGHT = (slice(1, 3), slice(1, 3)), (slice(5, 7), slice(5, 7))


def read_png(path):
    """(width, height) of a valid PNG."""
    with open(path, "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"
    with PIL.open(path) as image:
        image.verify()
    with PIL.open(path) as image:
        return image.size


# -- a model with a known answer -------------------------------------------------------
# A 1x1 convolution splits the image into bright (relu(x)) and dark (relu(-x)) channels; class 1
# counts bright pixels, class 0 dark ones. With a bright patch top left and a dark one bottom right,
# the evidence for class 1 lies top left and for class 0 bottom right.
def _set_known_weights(conv, dense):
    conv.set_weights([np.array([1.0, -1.0], np.float32).reshape(1, 1, 1, 2), np.zeros(2, np.float32)])
    kernel = np.zeros((SIDE, SIDE, 2, 2), np.float32)
    kernel[..., 1, 0] = 1  # class 0 <- the dark channel
    kernel[..., 0, 1] = 1  # class 1 <- the bright channel
    dense.set_weights([kernel.reshape(SIDE * SIDE * 2, 2), np.zeros(2, np.float32)])


class _Counter(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(2, 1, activation="relu")
        self.flatten = layers.Flatten()
        self.dense = layers.Dense(2, activation="softmax")

    def call(self, inputs):
        return self.dense(self.flatten(self.conv(inputs)))


def _known_model(kind):
    if kind == "subclassed":
        model = _Counter()
        model(np.zeros((1, SIDE, SIDE, 1), np.float32))
        _set_known_weights(model.conv, model.dense)
        return model
    stack = [layers.Conv2D(2, 1, activation="relu"), layers.Flatten(), layers.Dense(2, activation="softmax")]
    if kind == "sequential":
        model = keras.Sequential([keras.Input((SIDE, SIDE, 1)), *stack])
    else:
        inputs = keras.Input((SIDE, SIDE, 1))
        x = inputs
        for layer in stack:
            x = layer(x)
        model = keras.Model(inputs, x)
    _set_known_weights(stack[0], stack[2])
    return model


def _known_image():
    image = np.zeros((SIDE, SIDE, 1), np.float32)
    image[TOP_LEFT] = 1.5
    image[BOTTOM_RIGHT] = -1.0
    return image


def _peak(heatmap):
    return np.unravel_index(np.argmax(heatmap), heatmap.shape)


@pytest.mark.parametrize("kind", ["sequential", "functional", "subclassed"])
def test_grad_cam_peaks_where_the_class_evidence_is(kind, tmp_path):
    model, image = _known_model(kind), _known_image()
    found = viz.grad_cam(model, image, path=tmp_path / "cam.png")
    assert found.class_index == 1 and found.class_name == "1"  # 4 x 1.5 bright against 4 x 1 dark
    assert found.probabilities.shape == (2,) and found.probabilities.sum() == pytest.approx(1, abs=1e-5)
    assert found.heatmap.shape == (SIDE, SIDE) and found.heatmap.dtype == np.float32
    assert found.heatmap.min() >= 0 and found.heatmap.max() == pytest.approx(1)
    row, column = _peak(found.heatmap)
    assert 1 <= row < 3 and 1 <= column < 3
    assert found.heatmap[BOTTOM_RIGHT].max() == 0
    assert found.overlay.shape == (SIDE, SIDE, 3) and found.overlay.dtype == np.uint8
    other = viz.grad_cam(model, image, class_index=0)
    row, column = _peak(other.heatmap)
    assert other.class_index == 0 and 5 <= row < 7 and 5 <= column < 7
    assert other.heatmap[TOP_LEFT].max() == 0
    assert read_png(tmp_path / "cam.png") == (720, 290)


def test_grad_cam_rgb_any_size_class_names_and_chosen_layer():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((None, None, 3)), layers.Conv2D(4, 3, activation="relu", name="first"),
        layers.Conv2D(6, 3, activation="relu", name="second"), layers.GlobalAveragePooling2D(), layers.Dense(3),
    ])
    model.class_names = ["cat", "dog", "fox"]
    image = np.random.default_rng(0).random((21, 17, 3)).astype(np.float32)
    found = viz.grad_cam(model, image)
    assert found.layer == "second" and found.heatmap.shape == (17, 13) and found.overlay.shape == (21, 17, 3)
    assert found.class_name == model.class_names[found.class_index]
    logits = model(image[None]).detach().numpy()[0]
    np.testing.assert_allclose(found.probabilities, np.exp(logits) / np.exp(logits).sum(), rtol=1e-5)
    assert viz.grad_cam(model, image, layer="first").heatmap.shape == (19, 15)
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        viz.grad_cam(model, image, layer="nope")
    with pytest.raises(ValueError, match="class_index"):
        viz.grad_cam(model, image, class_index=3)


def _convnet(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 1))
    x = layers.Conv2D(4, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(6, 3, activation="relu", padding="same")(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(3, activation="softmax")(x))


def test_activations_equal_the_sub_models_outputs(tmp_path):
    model = _convnet()
    image = np.random.default_rng(1).random((12, 12, 1)).astype(np.float32)
    looked_at = [layer for layer in model.layers if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D))]
    expected = keras.Model(model.input, [layer.output for layer in looked_at]).predict(image[None], verbose=0)
    found = viz.activations(model, image, path=tmp_path / "act.png")
    assert list(found) == [layer.name for layer in looked_at]
    for array, want in zip(found.values(), expected):
        np.testing.assert_allclose(array, want[0], rtol=1e-6, atol=1e-6)
    assert [a.shape for a in found.values()] == [(10, 10, 4), (5, 5, 4), (5, 5, 6)]
    only = viz.activations(model, image, layers=[looked_at[0].name])
    assert list(only) == [looked_at[0].name]
    width, height = read_png(tmp_path / "act.png")
    assert width == 6 * 48 and height == 3 * (48 + 30)


def test_filter_patterns_raise_each_filters_response(tmp_path):
    model = _convnet(seed=2)
    conv = model.layers[3]
    patterns, responses = viz.filter_patterns(model, conv.name, filters=[0, 2, 5], steps=15, learning_rate=1.0,
                                              path=tmp_path / "filters.png")
    assert patterns.shape == (3, 12, 12, 1) and responses.shape == (16, 3)
    assert np.all(responses[-1] > responses[0])
    with pytest.raises(ValueError, match="filters"):
        viz.filter_patterns(model, conv.name, filters=[6])
    assert read_png(tmp_path / "filters.png") == (3 * 96, 96 + 40)


def test_top_losses_are_the_highest_cross_entropies(tmp_path):
    model = _convnet(seed=4)
    rng = np.random.default_rng(5)
    x, y = rng.random((40, 12, 12, 1)).astype(np.float32), rng.integers(0, 3, 40)
    probabilities = model.predict(x, verbose=0)
    by_hand = np.array([-np.log(probabilities[i, y[i]]) for i in range(40)])
    indices, losses = viz.plot_top_losses(model, x, y, k=6, path=tmp_path / "top.png")
    assert list(indices) == list(np.argsort(-by_hand)[:6])
    np.testing.assert_allclose(losses, np.sort(by_hand)[::-1][:6], rtol=1e-5)
    one_hot_indices, _, _ = viz.top_losses(model, x, np.eye(3)[y], k=6)
    assert list(one_hot_indices) == list(indices)
    assert read_png(tmp_path / "top.png") == (3 * 140, 2 * 160 + 40)


def test_lr_find_restores_weights_and_optimizer_state_bit_for_bit(tmp_path):
    model = _convnet(seed=6)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(7)
    x = rng.random((64, 12, 12, 1)).astype(np.float32)
    x[: 32, :6] += 1  # learnable labels: which half of the image is brighter
    y = (x[:, :6].mean(axis=(1, 2, 3)) < x[:, 6:].mean(axis=(1, 2, 3))).astype(np.int64)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    weights = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    optimizer = {name: tensor.clone() for name, tensor in model.optimizer.variables_state().items()}
    rate = model.optimizer.learning_rate
    found = viz.lr_find(model, x, y, start=1e-5, end=10.0, steps=30, batch_size=16, path=tmp_path / "lr.png")
    assert all(torch.equal(tensor, weights[name]) for name, tensor in model.state_dict().items())
    after = model.optimizer.variables_state()
    assert after.keys() == optimizer.keys() and all(torch.equal(after[k], optimizer[k]) for k in optimizer)
    assert model.optimizer.learning_rate == rate
    assert len(found.learning_rates) == len(found.losses) <= 30
    np.testing.assert_allclose(found.learning_rates[:3], [1e-5, 1e-5 * 10 ** (6 / 29), 1e-5 * 10 ** (12 / 29)])
    lowest = int(np.argmin(found.losses))
    assert lowest >= 2, found.losses
    slopes = np.gradient(found.losses[:lowest + 1], np.log(found.learning_rates[:lowest + 1]))
    assert found.suggestion == found.learning_rates[int(np.argmin(slopes))]
    assert read_png(tmp_path / "lr.png") == (640, 420)


# -- cnnkit explain ----------------------------------------------------------------------
def _digit_png(path, size=(60, 45)):
    from PIL import ImageDraw

    image = PIL.new("L", size, 255)
    ImageDraw.Draw(image).line([(20, 8), (40, 8), (28, 40)], fill=0, width=5)  # a dark 7 on white
    image.save(path)
    return str(path)


def test_explain_digit_model_writes_pictures_and_names_classes(tmp_path, capsys):
    keras.utils.set_random_seed(8)
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Conv2D(8, 3, activation="relu"),
                              layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.class_names = [f"digit {d}" for d in range(10)]
    model.save(tmp_path / "m.cnnkit")
    assert keras.models.load_model(tmp_path / "m.cnnkit").class_names == model.class_names
    png = _digit_png(tmp_path / "seven.png")
    assert main(["explain", str(tmp_path / "m.cnnkit"), png, "--out", str(tmp_path / "out")]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{png}: digit ") and line.count("digit ") >= 4
    assert read_png(tmp_path / "out" / "seven_gradcam.png") == (720, 290)
    assert read_png(tmp_path / "out" / "seven_activations.png")[0] == 8 * 48
    assert main(["explain", str(tmp_path / "m.cnnkit"), png, "--out", str(tmp_path / "o2"),
                 "--class", "digit 3", "--layer", model.layers[0].name]) == 0
    assert "Grad-CAM for digit 3" in capsys.readouterr().out
    assert main(["explain", str(tmp_path / "m.cnnkit"), png, "--class", "12"]) == 1
    assert "out of range" in capsys.readouterr().err


def test_explain_rgb_model_resizes_any_picture(tmp_path, capsys):
    keras.utils.set_random_seed(9)
    model = keras.Sequential([keras.Input((16, 20, 3)), layers.Rescaling(1 / 255),
                              layers.Conv2D(4, 3, activation="relu"), layers.GlobalAveragePooling2D(),
                              layers.Dense(2, activation="softmax")])
    model.save(tmp_path / "rgb.cnnkit")
    picture = tmp_path / "photo.jpg"
    PIL.fromarray(np.random.default_rng(0).integers(0, 255, (37, 50, 3), dtype=np.uint8)).save(picture)
    assert main(["explain", str(tmp_path / "rgb.cnnkit"), str(picture), "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.startswith(f"{picture}: ")
    assert read_png(tmp_path / "out" / "photo_gradcam.png") == (720, 290)
    assert (tmp_path / "out" / "photo_activations.png").is_file()
