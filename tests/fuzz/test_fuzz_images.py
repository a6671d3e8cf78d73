"""Image readers on hostile files: real CIFAR-10 JPEGs (and PNGs made from them) mutated, headers declaring
any size, crafted decompression bombs. `load_img` and `image_dataset_from_directory` end each case in an image
or an `ImageFileError` naming the file, fast and in bounded memory."""

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _bounds import MIB, budget
from _hostile_images import png_bomb, with_size
from _mutate import mutated
from _report import case
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from cnnkit.preprocessing.digits import read_image
from cnnkit.utils import ImageFileError, image_dataset_from_directory, image_utils, img_to_array, load_img

SHARED = next((p for p in (Path(os.environ.get("CNNKIT_DATA", "/nonexistent")),
                           Path(__file__).resolve().parents[3] / "shared" / "datasets",
                           Path("/work/shared/datasets")) if (p / "cifar10-jpg.zip").is_file()), None)
MEMBERS = ("cifar10-jpg/test/cat/0000.jpg", "cifar10-jpg/test/airplane/0001.jpg", "cifar10-jpg/train/dog/0002.jpg")
EXTENSIONS = {b"\x89P": "png", b"GI": "gif", b"BM": "bmp"}  # by the first bytes; JPEG otherwise
FUZZ_PIXELS = 4_000_000  # the limit while fuzzing: a header may declare anything up to it, and be decoded
SECONDS, MEMORY = 2.0, 256 * MIB  # per case, at FUZZ_PIXELS
BOMB_SECONDS, BOMB_MEMORY = 0.5, 16 * MIB  # a bomb is refused from its header: no pixel is decoded


def encoded(image, **options):
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def originals():
    """Three CIFAR-10 JPEGs read from the zip, and files made from the first: PNGs (RGB, grey, palette, RGBA),
    a progressive JPEG, a GIF and a BMP."""
    if SHARED is None:
        pytest.skip("cifar10-jpg.zip not found (set CNNKIT_DATA to the datasets folder)")
    with zipfile.ZipFile(SHARED / "cifar10-jpg.zip") as archive:
        jpegs = [archive.read(name) for name in MEMBERS]
    image = Image.open(io.BytesIO(jpegs[0]))
    made = [encoded(image, format="PNG"), encoded(image.convert("L"), format="PNG"),
            encoded(image.convert("P"), format="PNG"), encoded(image.convert("RGBA"), format="PNG"),
            encoded(image, format="JPEG", progressive=True), encoded(image, format="GIF"), encoded(image, format="BMP")]
    return Files(jpegs + made)


class Files(list):
    """The originals, printed short in a failing example."""

    def __repr__(self):
        return f"<{len(self)} image files>"


@pytest.fixture
def fuzz_limit(monkeypatch):
    monkeypatch.setattr(image_utils, "MAX_IMAGE_PIXELS", FUZZ_PIXELS)


def read_all(data, color_mode, target_size):
    image = load_img(io.BytesIO(data), color_mode=color_mode, target_size=target_size)
    assert img_to_array(image).shape[-1] == {"grayscale": 1, "rgb": 3, "rgba": 4}[color_mode]


@budget(1000)
@given(data=st.data(), color_mode=st.sampled_from(["rgb", "grayscale", "rgba"]),
       target_size=st.sampled_from([None, (8, 8), (40, 24)]))
def test_load_img_of_mutated_files(originals, fuzz_limit, data, color_mode, target_size):
    image = data.draw(mutated(originals))
    with case("load_img", ImageFileError, SECONDS, MEMORY):
        read_all(image, color_mode, target_size)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's, before cnnkit refuses
@budget(400)
@given(data=st.data(), width=st.one_of(st.integers(0, 3000), st.integers(0, 2**31 - 1)),
       height=st.one_of(st.integers(0, 3000), st.integers(0, 2**31 - 1)))
def test_load_img_of_headers_declaring_any_size(originals, fuzz_limit, data, width, height):
    image = with_size(originals[data.draw(st.integers(0, len(originals) - 1))], width, height)
    with case("load_img", ImageFileError, SECONDS, MEMORY):
        read_all(image, "rgb", (8, 8))


@budget(150)
@given(data=st.data(), color_mode=st.sampled_from(["rgb", "grayscale", "rgba"]))
def test_image_dataset_from_directory_of_mutated_files(originals, fuzz_limit, tmp_path_factory, data, color_mode):
    root = tmp_path_factory.mktemp("folder")
    for index, image in enumerate(data.draw(st.lists(mutated(originals), min_size=1, max_size=4))):
        folder = root / ("a" if index % 2 else "b")
        folder.mkdir(exist_ok=True)
        (folder / f"{index}.{EXTENSIONS.get(image[:2], 'jpg')}").write_bytes(image)
    with case("image_dataset_from_directory", ImageFileError, SECONDS, MEMORY):
        dataset = image_dataset_from_directory(root, image_size=(16, 16), color_mode=color_mode, batch_size=2,
                                               shuffle=False, verbose=False)
        dataset.num_workers = 0
        try:
            for images, _ in dataset:
                assert images.shape[1:3] == (16, 16) and np.isfinite(images.numpy()).all()
        except ImageFileError as error:
            assert str(root) in str(error)  # names the file
            raise


BOMBS = {
    "png-100000x100000": lambda: png_bomb(100_000, 100_000),  # Pillow's own guard refuses it too
    "png-9000x9000": lambda: png_bomb(9000, 9000),  # 81 M pixels: over cnnkit's limit, under Pillow's
    "png-1x70000": lambda: png_bomb(70_000, 1),  # few pixels, but a side over MAX_IMAGE_SIDE
    "jpeg-65500x65500": lambda: with_size(encoded(Image.new("RGB", (8, 8)), format="JPEG"), 65_500, 65_500),
}


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_bombs_are_refused_from_the_header_by_every_reader(bomb, tmp_path):
    path = tmp_path / "class" / f"{bomb}.{bomb[:3].replace('jpe', 'jpg')}"
    path.parent.mkdir()
    path.write_bytes(BOMBS[bomb]())
    dataset = image_dataset_from_directory(tmp_path, image_size=(8, 8), verbose=False)
    dataset.num_workers = 0
    readers = {"load_img": lambda: load_img(path), "read_image": lambda: read_image(path),
               "image_dataset_from_directory": lambda: next(iter(dataset))}
    for reader, read in readers.items():
        with case(f"bomb: {reader}", ImageFileError, BOMB_SECONDS, BOMB_MEMORY) as result:
            read()
        assert re.search(rf"{path.name}.*(too many pixels|side is too long)", str(result.error)), (reader, result.error)


def test_a_truncated_file_is_an_image_file_error_naming_it(originals, tmp_path):
    """load_img used to raise Pillow's OSError ("Truncated File Read"), which does not name the file."""
    path = tmp_path / "cut.jpg"
    path.write_bytes(originals[0][:len(originals[0]) // 2])
    with pytest.raises(ImageFileError, match=r"Image '.*cut\.jpg' cannot be decoded: truncated or corrupt"):
        load_img(path)


def test_the_limits_are_overridable(tmp_path, monkeypatch):
    path = tmp_path / "wide.png"
    Image.new("L", (300, 200)).save(path)
    with pytest.raises(ImageFileError, match=r"300x200: too many pixels \(60,000, limit 50,000\)"):
        load_img(path, max_pixels=50_000)
    monkeypatch.setattr(image_utils, "MAX_IMAGE_PIXELS", 50_000)
    with pytest.raises(ImageFileError, match="limit 50,000"):
        load_img(path)
    assert load_img(path, max_pixels=60_000).size == (300, 200)
