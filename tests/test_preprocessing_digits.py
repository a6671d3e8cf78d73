"""Digit preparation: real MNIST test digits saved as PNG/JPEG, upscaled, inverted, coloured,
come back close to the original and a convnet's confident predictions do not change."""

from pathlib import Path

import numpy as np
import pytest

from cnnkit import layers, models, set_random_seed
from cnnkit.preprocessing import load_digit, prepare_digit

Image = pytest.importorskip("PIL.Image")

SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "datasets",
                           Path("/work/shared/datasets")) if (p / "mnist").is_dir()), None)
needs_mnist = pytest.mark.skipif(SHARED is None, reason="shared datasets folder not found")
COUNT = 40


@pytest.fixture(scope="module")
def mnist_data():
    import os

    if SHARED is None:
        pytest.skip("shared datasets folder not found")
    previous = os.environ.get("CNNKIT_DATA")
    os.environ["CNNKIT_DATA"] = str(SHARED)
    try:
        from cnnkit.datasets import mnist

        return mnist.load_data()
    finally:
        os.environ.pop("CNNKIT_DATA") if previous is None else os.environ.__setitem__("CNNKIT_DATA", previous)


@pytest.fixture(scope="module")
def test_digits(mnist_data):
    return mnist_data[1][0][:COUNT]


def render(digit, style, folder, index):
    """Writes one MNIST digit as a file in a given style; returns the path."""
    image = Image.fromarray(digit)
    if style == "png":
        path, out = folder / f"{index}.png", image
    elif style == "upscaled":
        path, out = folder / f"{index}-up.png", image.resize((112, 112), Image.BICUBIC)
    elif style == "dark-on-light":
        path, out = folder / f"{index}-inv.png", Image.fromarray(255 - digit).resize((84, 84), Image.BILINEAR)
    else:  # blue-ish ink on white paper, JPEG
        ink = digit.astype(np.float32)
        rgb = np.stack([255 - 0.8 * ink, 255 - 0.3 * ink, 255 - ink], axis=-1).astype(np.uint8)
        path, out = folder / f"{index}.jpg", Image.fromarray(rgb).resize((200, 200), Image.LANCZOS)
    out.save(path)
    return path


STYLES = ("png", "upscaled", "dark-on-light", "colour-jpeg")


@needs_mnist
@pytest.mark.parametrize("style", STYLES)
def test_prepared_digit_is_close_to_the_original(test_digits, tmp_path, style):
    prepared = np.stack([load_digit(render(d, style, tmp_path, i)) for i, d in enumerate(test_digits)])
    original = test_digits / 255.0
    assert prepared.shape == (COUNT, 28, 28) and prepared.dtype == np.float32
    assert prepared.min() >= 0 and prepared.max() == pytest.approx(1.0)
    # Yardstick: shifting MNIST digits by one pixel changes them by ~0.065 on average.
    difference = np.abs(prepared - original).mean(axis=(1, 2))
    assert difference.mean() < (0.005 if style == "png" else 0.04)
    assert difference.max() < 0.1


@needs_mnist
def test_centre_of_mass_lands_on_the_frame_centre_and_the_digit_fits_20x20(test_digits, tmp_path):
    for index, digit in enumerate(test_digits[:10]):
        prepared = load_digit(render(digit, "upscaled", tmp_path, index))
        rows, columns = np.nonzero(prepared)
        assert max(np.ptp(rows), np.ptp(columns)) + 1 == 20
        centre = [(prepared.sum(axis=1 - axis) * np.arange(28)).sum() / prepared.sum() for axis in (0, 1)]
        assert np.allclose(centre, 14.0, atol=0.5)


@pytest.fixture(scope="module")
def small_convnet(mnist_data):
    (x, y), _ = mnist_data
    set_random_seed(0)
    model = models.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[:10000, ..., None] / 255.0, y[:10000], epochs=2, batch_size=128, verbose=0)
    return model


@needs_mnist
@pytest.mark.parametrize("style", STYLES[1:])
def test_confident_predictions_do_not_change(small_convnet, test_digits, tmp_path, style):
    original = small_convnet.predict(test_digits[..., None] / 255.0, verbose=0)
    prepared = np.stack([load_digit(render(d, style, tmp_path, i)) for i, d in enumerate(test_digits)])
    after = small_convnet.predict(prepared[..., None], verbose=0).argmax(axis=1)
    confident = original.max(axis=1) > 0.9
    assert confident.sum() >= COUNT * 3 // 4
    assert (after == original.argmax(axis=1))[confident].all()


def test_dark_digit_on_light_background_is_inverted_unless_told_otherwise():
    light = np.full((60, 40), 230, np.uint8)
    light[10:50, 15:25] = 20  # a dark bar on light paper
    prepared = prepare_digit(light)
    assert prepared[14, 14] == pytest.approx(1.0) and prepared[0, 0] == 0
    assert np.array_equal(prepare_digit(light, invert=True), prepared)
    with pytest.raises(ValueError, match="no light digit found on a dark background; for a dark digit on a light one, try --invert"):
        prepare_digit(light, invert=False)
    with pytest.raises(ValueError, match="no dark digit found .* try --no-invert"):
        prepare_digit(255 - light, invert=True)
    with pytest.raises(ValueError, match=r"blank \(no pixel stands out from the background by 10%\)$"):
        prepare_digit(np.full((60, 40), 230, np.uint8), invert=True)


def test_transparent_background_takes_the_contrasting_colour(tmp_path):
    rgba = np.zeros((50, 50, 4), np.uint8)
    rgba[10:40, 20:30] = (0, 0, 0, 255)  # opaque black stroke on fully transparent pixels
    Image.fromarray(rgba, "RGBA").save(tmp_path / "stroke.png")
    prepared = load_digit(tmp_path / "stroke.png")
    assert prepared.max() == pytest.approx(1.0) and prepared[0, 0] == 0


def test_blank_image_is_a_clear_error(tmp_path):
    Image.new("RGB", (64, 64), (255, 255, 255)).save(tmp_path / "blank.png")
    with pytest.raises(ValueError, match=r"blank\.png'.*no digit found: the image is blank"):
        load_digit(tmp_path / "blank.png")


def test_undecodable_and_missing_files(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ValueError, match=r"notes\.png' cannot be decoded"):
        load_digit(tmp_path / "notes.png")
    with pytest.raises(FileNotFoundError, match="Image file not found"):
        load_digit(tmp_path / "missing.png")


def test_sixteen_bit_grey_and_other_frame_sizes():
    digit = np.zeros((40, 40), np.uint16)
    digit[5:35, 18:22] = 60000
    prepared = prepare_digit(Image.fromarray(digit), size=(56, 56))
    assert prepared.shape == (56, 56)
    rows, _ = np.nonzero(prepared)
    assert np.ptp(rows) + 1 == 40  # the box is 20/28 of the frame
