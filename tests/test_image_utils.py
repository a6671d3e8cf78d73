"""Image utilities against Keras 3.15: every expected value below was printed by keras.utils
(Pillow 13.0.0) for the same synthetic images and the same CIFAR-10 JPEG."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit.utils import array_to_img, img_to_array, load_img, save_img

CIFAR_ZIP = Path("/work/shared/datasets/cifar10-jpg.zip")
if not CIFAR_ZIP.is_file():
    CIFAR_ZIP = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-jpg.zip"


@pytest.fixture
def images(tmp_path):
    """rgb.png 5x7, rgba.png (alpha 128), wide.png 6x10: the pixels Keras was run on."""
    rgb = (np.arange(5 * 7 * 3).reshape(5, 7, 3) * 7 % 256).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    alpha = np.full((5, 7, 1), 128, np.uint8)
    Image.fromarray(np.concatenate([rgb, alpha], axis=2), "RGBA").save(tmp_path / "rgba.png")
    wide = (np.arange(6 * 10 * 3).reshape(6, 10, 3) * 5 % 256).astype(np.uint8)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    return tmp_path


KERAS_NEAREST = [[[0, 7, 14], [42, 49, 56], [84, 91, 98], [126, 133, 140]],
                 [[38, 45, 52], [80, 87, 94], [122, 129, 136], [164, 171, 178]],
                 [[76, 83, 90], [118, 125, 132], [160, 167, 174], [202, 209, 216]]]
KERAS_BILINEAR = [[[74, 81, 88], [107, 114, 121], [145, 130, 137], [121, 80, 87]],
                  [[106, 113, 120], [139, 146, 137], [136, 132, 123], [123, 106, 113]],
                  [[134, 141, 148], [167, 174, 150], [126, 133, 109], [128, 135, 142]]]
KERAS_CHANNEL_SUMS = {"bicubic": [1512, 1486, 1477], "hamming": [1432, 1447, 1468],
                      "box": [1444, 1464, 1484], "lanczos": [1515, 1486, 1478]}


def test_load_img_resizes_like_keras_for_each_interpolation(images):
    def resized(method):
        img = load_img(images / "rgb.png", target_size=(3, 4), interpolation=method)
        assert isinstance(img, Image.Image) and img.size == (4, 3)
        return img_to_array(img).astype(int)

    assert resized("nearest").tolist() == KERAS_NEAREST
    assert load_img(str(images / "rgb.png"), target_size=(3, 4)).tobytes() == \
        np.array(KERAS_NEAREST, np.uint8).tobytes()  # "nearest" is the default; str paths work
    assert resized("bilinear").tolist() == KERAS_BILINEAR
    for method, sums in KERAS_CHANNEL_SUMS.items():
        assert resized(method).sum(axis=(0, 1)).tolist() == sums, method


def test_load_img_keep_aspect_ratio_crops_the_centre_like_keras(images):
    img = load_img(images / "wide.png", target_size=(4, 4), keep_aspect_ratio=True)
    assert img_to_array(img).astype(int)[..., 0].tolist() == [
        [30, 60, 75, 105], [74, 104, 119, 149], [224, 254, 13, 43], [12, 42, 57, 87]]
    smooth = load_img(images / "wide.png", target_size=(4, 4), interpolation="bilinear",
                      keep_aspect_ratio=True)
    assert img_to_array(smooth).sum() == 5779.0


def test_load_img_color_modes_like_keras(images):
    grey = load_img(images / "rgb.png", color_mode="grayscale")
    assert grey.mode == "L" and img_to_array(grey)[0, :, 0].tolist() == [6, 27, 48, 69, 90, 111, 132]
    rgba = load_img(images / "rgb.png", color_mode="rgba")
    assert rgba.mode == "RGBA" and img_to_array(rgba).shape == (5, 7, 4)
    dropped = load_img(images / "rgba.png")  # rgb is the default: alpha dropped
    assert dropped.mode == "RGB" and img_to_array(dropped)[0, :2].tolist() == [[0, 7, 14], [21, 28, 35]]
    in_memory = load_img(io.BytesIO((images / "rgb.png").read_bytes()), target_size=(3, 4))
    assert img_to_array(in_memory).astype(int).tolist() == KERAS_NEAREST


def test_img_to_array_shapes_and_dtypes_like_keras(images):
    img = load_img(images / "rgb.png")
    assert img_to_array(img).shape == (5, 7, 3) and img_to_array(img).dtype == np.float32
    assert img_to_array(img, data_format="channels_first").shape == (3, 5, 7)
    grey = load_img(images / "rgb.png", color_mode="grayscale")
    assert img_to_array(grey, data_format="channels_first").shape == (1, 5, 7)
    assert img_to_array(grey).shape == (5, 7, 1)
    assert img_to_array(img, dtype="uint8").dtype == np.uint8


@pytest.mark.skipif(not CIFAR_ZIP.is_file(), reason="cifar10-jpg.zip not found")
def test_real_jpeg_matches_keras(tmp_path):
    with zipfile.ZipFile(CIFAR_ZIP) as archive:
        (tmp_path / "cat.jpg").write_bytes(archive.read("cifar10-jpg/test/cat/0000.jpg"))
    assert img_to_array(load_img(tmp_path / "cat.jpg")).sum() == 332902.0
    x = img_to_array(load_img(tmp_path / "cat.jpg", target_size=(64, 48), interpolation="bilinear"))
    assert x.shape == (64, 48, 3) and x.sum() == 1000582.0 and x[10, 20].tolist() == [123.0, 94.0, 45.0]


def test_array_to_img_scaling_like_keras():
    y = np.array([[[-1.0, 0.0, 3.0], [1.0, 0.5, 2.0]]])
    scaled = array_to_img(y)  # min -> 0, max -> 255, truncated
    assert scaled.mode == "RGB" and np.asarray(scaled).tolist() == [[[0, 63, 255], [127, 95, 191]]]
    raw = array_to_img(y * 50 + 60, scale=False)
    assert np.asarray(raw).tolist() == [[[10, 60, 210], [110, 85, 160]]]
    wide = array_to_img(np.array([[[0.0], [1000.0]]]), scale=False)
    assert wide.mode == "I" and np.asarray(wide).tolist() == [[0, 1000]]
    grey = array_to_img(np.array([[[0.2], [0.4]]]))
    assert grey.mode == "L" and np.asarray(grey).tolist() == [[0, 255]]
    constant = array_to_img(np.zeros((2, 2, 4)) + 7)
    assert constant.mode == "RGBA" and np.asarray(constant)[0, 0].tolist() == [0, 0, 0, 0]
    first = array_to_img(np.arange(12.0).reshape(3, 2, 2), data_format="channels_first")
    assert first.size == (2, 2) and np.asarray(first).tolist() == [
        [[0, 92, 185], [23, 115, 208]], [[46, 139, 231], [69, 162, 255]]]
    source = np.ones((2, 2, 3))
    array_to_img(source)
    assert (source == 1).all()  # the caller's array is not scaled in place


def test_save_img_round_trips_and_picks_the_format(tmp_path):
    x = (np.arange(4 * 5 * 3).reshape(4, 5, 3) * 4).astype(np.float32)
    save_img(tmp_path / "a.png", x, scale=False)
    assert img_to_array(load_img(tmp_path / "a.png")).tolist() == x.tolist()
    save_img(str(tmp_path / "b.jpg"), x, quality=95)  # "jpg" means JPEG; kwargs reach PIL
    assert Image.open(tmp_path / "b.jpg").format == "JPEG"
    save_img(tmp_path / "c.bin", x, file_format="png")
    assert Image.open(tmp_path / "c.bin").format == "PNG"
    with pytest.warns(UserWarning, match="alpha"):
        save_img(tmp_path / "d.jpeg", np.zeros((2, 2, 4)))
    assert Image.open(tmp_path / "d.jpeg").mode == "RGB"


def test_save_img_is_atomic(tmp_path, monkeypatch):
    save_img(tmp_path / "a.png", np.zeros((2, 2, 3)))
    before = (tmp_path / "a.png").read_bytes()

    def crash(self, fp, *args, **kwargs):
        fp.write(b"half an image")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_img(tmp_path / "a.png", np.ones((2, 2, 3)))
    assert (tmp_path / "a.png").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]  # no temporary left


def test_bad_arguments_say_what_was_received(images):
    with pytest.raises(ValueError, match="color_mode=.*'cmyk'"):
        load_img(images / "rgb.png", color_mode="cmyk")
    with pytest.raises(ValueError, match="interpolation=.*'area'"):
        load_img(images / "rgb.png", target_size=(2, 2), interpolation="area")
    with pytest.raises(TypeError, match="path-like"):
        load_img(42)
    with pytest.raises(ValueError, match="3 dimensions.*\\(2, 2\\)"):
        array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="data_format="):
        img_to_array(np.zeros((2, 2, 3)), data_format="channels_middle")
    with pytest.raises(ValueError, match="give the file an extension"):
        save_img(images / "noext", np.zeros((2, 2, 3)))


def test_load_img_refuses_an_oversized_image_from_its_header_without_reading_the_file(tmp_path, monkeypatch):
    """The size check comes before the file is read: a huge file declaring too many pixels is not read whole."""
    from PIL import Image

    from cnnkit.utils import image_utils

    path = tmp_path / "big.png"
    Image.new("L", (300, 300)).save(path)
    with open(path, "ab") as file:
        file.write(b"\0" * (8 << 20))  # 8 MB after the image: only a reader of the whole file sees it
    reads = []
    real_open = open

    def counting_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if str(file) == str(path):
            read = handle.read
            handle.read = lambda size=-1: reads.append(size) or read(size)
        return handle

    monkeypatch.setattr("builtins.open", counting_open)
    with pytest.raises(image_utils.ImageFileError, match="too many pixels"):
        image_utils.load_img(path, max_pixels=1000)
    assert -1 not in reads and sum(size for size in reads if size) < (1 << 20)
