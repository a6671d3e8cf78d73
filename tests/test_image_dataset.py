"""cnnkit.utils.image_dataset_from_directory: Keras's files, labels, splits and pixels; bad input; memory."""

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from cnnkit.data.image_folder import load_images
from cnnkit.utils import image_dataset_from_directory

CIFAR_ZIP = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "cifar10-jpg.zip")
KERAS_PYTHON = "/work/kerasenv/bin/python"
COLORS = {"cat": (250, 10, 10), "dog": (10, 10, 250), "fox": (10, 250, 10)}


def write_image(path, color=(128, 128, 128), size=(12, 10), mode="RGB", format=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new(mode, size, color).save(path, format=format)


def colored_folder(root, counts):
    """Class folders of solid images whose color says the class: labels can be checked from pixels."""
    for name, count in counts.items():
        for index in range(count):
            write_image(os.path.join(root, name, f"{index:03d}.png"), COLORS[name], size=(8 + index % 3, 9))
    return str(root)


def extract_cifar(target, members_per_class, split="test", classes=("cat", "dog")):
    if not os.path.exists(CIFAR_ZIP):
        pytest.skip(f"{CIFAR_ZIP} is missing")
    with zipfile.ZipFile(CIFAR_ZIP) as archive:
        for name in classes:
            for index in range(members_per_class):
                archive.extract(f"cifar10-jpg/{split}/{name}/{index:04d}.jpg", target)
    return os.path.join(target, "cifar10-jpg", split)


def test_found_message_class_names_file_order_and_batches(tmp_path, capsys):
    root = colored_folder(tmp_path, {"cat": 5, "dog": 4})
    ds = image_dataset_from_directory(root, image_size=(6, 7), batch_size=4, shuffle=False)
    assert "Found 9 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["cat", "dog"] and len(ds) == 3
    assert ds.file_paths == [os.path.join(root, "cat", f"{i:03d}.png") for i in range(5)] + [
        os.path.join(root, "dog", f"{i:03d}.png") for i in range(4)]
    images, labels = next(iter(ds))
    assert images.shape == (4, 6, 7, 3) and images.dtype == torch.float32 and labels.dtype == torch.int32


@pytest.mark.parametrize("label_mode, shape, dtype", [
    ("int", (9,), torch.int32), ("categorical", (9, 2), torch.float32), ("binary", (9, 1), torch.float32)])
def test_label_modes_match_the_pixels_with_shuffling_workers(tmp_path, label_mode, shape, dtype):
    root = colored_folder(tmp_path, {"cat": 5, "dog": 4})
    ds = image_dataset_from_directory(root, image_size=(4, 4), batch_size=3, label_mode=label_mode, seed=5)
    ds.num_workers = 2
    images, labels = (torch.cat(parts) for parts in zip(*ds))
    assert labels.shape == shape and labels.dtype == dtype
    index = labels.argmax(-1) if label_mode == "categorical" else labels.reshape(-1).long()
    is_dog = images[:, 0, 0, 2] > 128  # blue
    assert torch.equal(index.bool(), is_dog) and int(is_dog.sum()) == 4  # each label is its own file's


def test_labels_none_and_explicit_labels(tmp_path, capsys):
    root = colored_folder(tmp_path, {"cat": 2, "dog": 2})
    images = next(iter(image_dataset_from_directory(root, labels=None, image_size=(4, 4), shuffle=False)))
    assert isinstance(images, torch.Tensor) and images.shape == (4, 4, 4, 3)
    assert "Found 4 files." in capsys.readouterr().out
    ds = image_dataset_from_directory(root, labels=[3, 1, 1, 3], image_size=(4, 4), shuffle=False)
    assert ds.class_names == ["1", "3"] and next(iter(ds))[1].tolist() == [3, 1, 1, 3]
    with pytest.raises(ValueError, match="exactly 2 class_names"):
        image_dataset_from_directory(colored_folder(tmp_path / "three", {"cat": 1, "dog": 1, "fox": 1}),
                                     label_mode="binary")


def test_validation_split_is_deterministic_disjoint_and_complete(tmp_path, capsys):
    root = colored_folder(tmp_path, {"cat": 10, "dog": 10})
    train, val = image_dataset_from_directory(root, validation_split=0.2, subset="both", seed=7, image_size=(4, 4))
    out = capsys.readouterr().out
    assert "Using 16 files for training." in out and "Using 4 files for validation." in out
    again = image_dataset_from_directory(root, validation_split=0.2, subset="validation", seed=7, image_size=(4, 4))
    assert again.file_paths == val.file_paths and not set(train.file_paths) & set(val.file_paths)
    assert len(set(train.file_paths) | set(val.file_paths)) == 20
    with pytest.raises(ValueError, match="must provide a `seed`"):
        image_dataset_from_directory(root, validation_split=0.2, subset="training")


def test_argument_errors_as_keras(tmp_path):
    root = colored_folder(tmp_path, {"cat": 1})
    for kwargs, message in [({"label_mode": "sparse"}, "`label_mode` argument must be one of"),
                            ({"color_mode": "cmyk"}, "`color_mode` must be one of"),
                            ({"image_size": (1, 2, 3)}, "Invalid `image_size`"),
                            ({"class_names": ["cow"]}, "did not match the names of the subdirectories"),
                            ({"crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True}, "Only one of"),
                            ({"interpolation": "lanczos3"}, "not supported in cnnkit")]:
        with pytest.raises(ValueError, match=message):
            image_dataset_from_directory(root, **kwargs)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(KERAS_PYTHON), reason="no Keras + TensorFlow venv at /work/kerasenv")
def test_pixels_and_split_match_keras_on_cifar_jpegs(tmp_path):
    """Measured on 40 CIFAR-10 JPEG files resized 32x32 -> 180x180: largest difference 4.0, mean 0.98 (of 0..255;
    TF's libjpeg uses the fast integer DCT, Pillow the exact one); crop and pad to an aspect ratio agree as well."""
    root = extract_cifar(str(tmp_path), 20)
    cases = [{"image_size": [180, 180]}, {"image_size": [45, 60], "crop_to_aspect_ratio": True},
             {"image_size": [45, 60], "pad_to_aspect_ratio": True}]
    script = textwrap.dedent(f"""
        import json, sys, numpy as np, keras
        out = {{}}
        for i, case in enumerate({cases!r}):
            ds = keras.utils.image_dataset_from_directory({root!r}, shuffle=False, batch_size=16, verbose=False, **case)
            np.save({str(tmp_path)!r} + f"/keras{{i}}.npy", np.concatenate([x.numpy() for x, _ in ds]))
        tr, va = keras.utils.image_dataset_from_directory({root!r}, validation_split=0.3, subset="both", seed=42,
                                                          verbose=False)
        json.dump([tr.file_paths, va.file_paths], sys.stdout)
    """)
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([KERAS_PYTHON, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    keras_train, keras_val = json.loads(result.stdout.strip().splitlines()[-1])
    for i, case in enumerate(cases):
        ours = torch.cat([x for x, _ in image_dataset_from_directory(root, shuffle=False, batch_size=16, verbose=False,
                                                                     **case)]).numpy()
        difference = np.abs(ours - np.load(tmp_path / f"keras{i}.npy"))
        assert difference.max() <= 6 and difference.mean() <= 1.5, (case, difference.max(), difference.mean())
    train, val = image_dataset_from_directory(root, validation_split=0.3, subset="both", seed=42, verbose=False)
    assert train.file_paths == keras_train and val.file_paths == keras_val


# --- bad input ---

def first_error(ds):
    with pytest.raises(ValueError) as error:
        for _ in ds:
            pass
    return str(error.value)


@pytest.mark.parametrize("content", [b"", b"this is not an image\n", "truncated"])
def test_undecodable_files_raise_naming_the_file(tmp_path, content):
    root = colored_folder(tmp_path, {"cat": 2, "dog": 2})
    bad = os.path.join(root, "dog", "bad.jpg")
    if content == "truncated":
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(bad, quality=95)
        with open(bad, "rb") as file:
            data = file.read()
        content = data[: len(data) // 2]
    with open(bad, "wb") as file:
        file.write(content)
    ds = image_dataset_from_directory(root, image_size=(4, 4), shuffle=False)
    ds.num_workers = 0
    assert bad in first_error(ds)


def test_a_failing_worker_raises_in_the_main_process_without_hanging(tmp_path):
    root = colored_folder(tmp_path, {"cat": 20, "dog": 20})
    with open(os.path.join(root, "dog", "bad.jpg"), "wb") as file:
        file.write(b"not a jpeg")
    script = textwrap.dedent(f"""
        from cnnkit.utils import image_dataset_from_directory
        ds = image_dataset_from_directory({root!r}, image_size=(4, 4), batch_size=4, seed=1, verbose=False)
        ds.num_workers = 2
        try:
            for _ in ds:
                pass
        except ValueError as error:
            print("RAISED", error)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "RAISED" in result.stdout and "bad.jpg" in result.stdout, result.stderr[-2000:]


def test_alpha_sixteen_bit_and_grey_files_are_converted_as_tf_does(tmp_path):
    write_image(tmp_path / "a" / "rgba.png", (200, 100, 50, 7), mode="RGBA")
    Image.fromarray(np.full((10, 12), 0x8A7F, dtype=np.uint16)).save(tmp_path / "a" / "deep.png")
    write_image(tmp_path / "a" / "grey.jpg", 90, mode="L")
    write_image(tmp_path / "a" / "palette.gif", 3, mode="P")
    ds = image_dataset_from_directory(str(tmp_path), image_size=(10, 12), shuffle=False, verbose=False)
    images = next(iter(ds))[0]
    by_name = dict(zip((os.path.basename(p) for p in ds.file_paths), images))
    assert by_name["rgba.png"][0, 0].tolist() == [200, 100, 50]  # alpha dropped
    assert by_name["deep.png"][0, 0].tolist() == [0x8A] * 3  # high byte of 16 bits, grey repeated
    grey = by_name["grey.jpg"]
    assert torch.equal(grey[..., 0], grey[..., 1]) and abs(grey[0, 0, 0].item() - 90) <= 1
    rgba = image_dataset_from_directory(str(tmp_path), image_size=(10, 12), color_mode="rgba", verbose=False)
    assert next(iter(rgba))[0].shape[-1] == 4
    grey_ds = image_dataset_from_directory(str(tmp_path), image_size=(10, 12), color_mode="grayscale", verbose=False)
    assert next(iter(grey_ds))[0].shape[-1] == 1


def test_images_of_different_sizes_are_all_resized(tmp_path):
    for index, size in enumerate([(5, 7), (40, 30), (13, 13)]):
        write_image(tmp_path / "c" / f"{index}.bmp", (index * 50, 0, 0), size=size, format="BMP")
    images, labels = next(iter(image_dataset_from_directory(str(tmp_path), image_size=(16, 8), shuffle=False)))
    assert images.shape == (3, 16, 8, 3) and images[:, :, :, 0].amax(dim=(1, 2)).tolist() == [0, 50, 100]


def test_empty_class_folder_counts_as_a_class_and_empty_folder_raises(tmp_path, capsys):
    root = colored_folder(tmp_path / "data", {"cat": 2, "dog": 3})
    os.makedirs(os.path.join(root, "emu"))
    ds = image_dataset_from_directory(root, image_size=(4, 4), label_mode="categorical")
    assert "Found 5 files belonging to 3 classes." in capsys.readouterr().out
    assert ds.class_names == ["cat", "dog", "emu"] and next(iter(ds))[1].shape == (5, 3)
    os.makedirs(tmp_path / "nothing" / "cat")
    (tmp_path / "nothing" / "cat" / "notes.txt").write_text("no images here")
    with pytest.raises(ValueError, match="No images found in directory"):
        image_dataset_from_directory(str(tmp_path / "nothing"))
    with pytest.raises(ValueError, match="Could not find directory"):
        image_dataset_from_directory(str(tmp_path / "missing"))


def test_symlink_loop_with_follow_links_lists_each_file_once(tmp_path):
    root = colored_folder(tmp_path, {"cat": 2, "dog": 1})
    os.symlink(os.path.join(root, "cat"), os.path.join(root, "cat", "loop"))
    with pytest.warns(UserWarning, match="link loop"):
        ds = image_dataset_from_directory(root, follow_links=True, image_size=(4, 4), shuffle=False)
    assert len(ds.file_paths) == 3 and next(iter(ds))[1].tolist() == [0, 0, 1]
    assert len(image_dataset_from_directory(root, follow_links=False, shuffle=False).file_paths) == 3


def test_non_ascii_file_and_folder_names(tmp_path):
    write_image(tmp_path / "chat_été" / "image_ü.png", COLORS["cat"])
    write_image(tmp_path / "犬" / "写真.JPG", COLORS["dog"], format="JPEG")
    ds = image_dataset_from_directory(str(tmp_path), image_size=(4, 4), shuffle=False)
    images, labels = next(iter(ds))
    assert ds.class_names == ["chat_été", "犬"] and labels.tolist() == [0, 1] and images[1, 0, 0, 2] > 200


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_number_of_files(tmp_path):
    """Peak RSS (main process + largest worker) iterating 180x180 batches of 64 with 2 workers over
    1,000 then 10,000 CIFAR-10 files: the same within 40 MB (measured: see the assertion message)."""
    small = extract_cifar(str(tmp_path / "small"), 500, "train", ("cat", "dog"))
    large = extract_cifar(str(tmp_path / "large"), 5000, "train", ("cat", "dog"))
    script = textwrap.dedent("""
        import resource, sys
        from cnnkit.utils import image_dataset_from_directory
        ds = image_dataset_from_directory(sys.argv[1], image_size=(180, 180), batch_size=64, verbose=False, seed=0)
        count = sum(len(x) for x, _ in ds)
        main, child = (resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        print(count, main + child)
    """)
    peaks = {}
    for root in (small, large):
        out = subprocess.run([sys.executable, "-c", script, root], capture_output=True, text=True, timeout=600)
        count, peak_kb = map(int, out.stdout.split())
        peaks[count] = peak_kb / 1024
    print(f"peak RSS MB by number of files: {peaks}")
    assert abs(peaks[10000] - peaks[1000]) < 40, f"peak RSS MB by number of files: {peaks}"


def test_batches_are_the_same_with_and_without_workers(tmp_path):
    """Workers send images that grow along the height resized along the width only (for CIFAR's 32x32 to 180x180,
    1/5.6 of the bytes) and the main process resizes them along the height: the same pixels as without workers
    and as `load_images`, and as torch's bilinear resize (TF's arithmetic) within float rounding."""
    pixels = np.random.default_rng(0).integers(0, 256, (6, 9, 8, 3), dtype=np.uint8)
    os.makedirs(tmp_path / "c")
    for index, image in enumerate(pixels):
        Image.fromarray(image).save(tmp_path / "c" / f"{index}.png")
    ds = image_dataset_from_directory(str(tmp_path), image_size=(20, 11), batch_size=4, shuffle=False, verbose=False)
    batches = {}
    for workers in (0, 2):
        ds.num_workers = workers
        batches[workers] = torch.cat([x for x, _ in ds])
    expected = torch.nn.functional.interpolate(torch.from_numpy(pixels).permute(0, 3, 1, 2).float(), (20, 11),
                                               mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
    assert torch.equal(batches[0], batches[2]) and torch.equal(batches[0], load_images(ds.file_paths, (20, 11), 3))
    assert (batches[0] - expected).abs().max() < 1e-3


@pytest.mark.skipif(torch.cuda.is_available(), reason="with a GPU, batches go to pinned memory instead")
def test_batch_memory_is_reused_only_once_no_tensor_holds_it():
    from cnnkit.data import image_folder

    buffers = image_folder._BatchBuffers()
    first = buffers.new((4, 5))
    second = buffers.new((4, 5))  # `first` is still held: never the same memory
    assert first.data_ptr() != second.data_ptr()
    address = first.data_ptr()
    del first
    assert buffers.new((4, 5)).data_ptr() == address  # reused once nothing holds it
