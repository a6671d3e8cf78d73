"""`cnnkit explain` and `cnnkit serve`'s API on an RGB model trained from image folders (slow, real data).

A few hundred CIFAR-10 JPEGs of three classes are extracted from `cifar10-jpg.zip` into class
folders, loaded with `cnnkit.utils.image_dataset_from_directory` (or, when that is not usable,
`load_img`/`img_to_array`), a small convnet is trained briefly, saved with its class names, and
explained through the command and the in-process web API.
"""

import base64
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import cnnkit
from cnnkit.cli import main

CLASSES = ("airplane", "automobile", "frog")
PER_CLASS = 100


def _cifar_zip():
    candidates = [Path(os.environ["CNNKIT_DATA"]) / "cifar10-jpg.zip"] if os.environ.get("CNNKIT_DATA") else []
    candidates += [Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-jpg.zip",
                   Path("/work/shared/datasets/cifar10-jpg.zip")]
    return next((path for path in candidates if path.is_file()), None)


def extract(archive, folder, split, count):
    """`count` JPEGs of each of CLASSES from the archive's `split` into folder/<class>/."""
    with zipfile.ZipFile(archive) as source:
        for name in CLASSES:
            (folder / name).mkdir(parents=True, exist_ok=True)
            for number in range(count):
                (folder / name / f"{number:04d}.jpg").write_bytes(
                    source.read(f"cifar10-jpg/{split}/{name}/{number:04d}.jpg"))
    return folder


def load_folders(folder):
    """(images, labels, class names) of the class folders: 0..255 float32 RGB, 32x32."""
    try:
        from cnnkit.utils import image_dataset_from_directory

        dataset = image_dataset_from_directory(folder, image_size=(32, 32), batch_size=64, shuffle=False)
        batches = [(np.asarray(x), np.asarray(y)) for x, y in dataset]
        return (np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches]),
                list(dataset.class_names))
    except ImportError:
        from cnnkit.utils import img_to_array, load_img

        names = sorted(path.name for path in folder.iterdir() if path.is_dir())
        paths = [(path, label) for label, name in enumerate(names) for path in sorted((folder / name).glob("*.jpg"))]
        images = np.stack([img_to_array(load_img(path, target_size=(32, 32))) for path, _ in paths])
        return images.astype("float32"), np.array([label for _, label in paths]), names


def small_convnet(classes):
    from cnnkit import layers

    return cnnkit.Sequential([
        cnnkit.Input((32, 32, 3)), layers.Rescaling(1 / 255),
        layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu"), layers.GlobalAveragePooling2D(),
        layers.Dense(classes, activation="softmax")], name="cifar3_convnet")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    archive = _cifar_zip()
    if archive is None:
        pytest.skip("cifar10-jpg.zip not found (set CNNKIT_DATA to the shared datasets folder)")
    root = tmp_path_factory.mktemp("cifar3")
    x, y, names = load_folders(extract(archive, root / "train", "train", PER_CLASS))
    assert names == list(CLASSES) and x.shape == (len(CLASSES) * PER_CLASS, 32, 32, 3)
    cnnkit.set_random_seed(0)
    model = small_convnet(len(names))
    model.compile(optimizer=cnnkit.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=6, batch_size=32, shuffle=True, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.class_names = names
    model.save(root / "cifar3.cnnkit")
    tests = extract(archive, root / "test", "test", 2)
    return root / "cifar3.cnnkit", sorted(tests.glob("*/*.jpg"))


@pytest.mark.slow
def test_explain_names_the_classes_and_writes_the_pictures(trained, tmp_path, capsys):
    from PIL import Image

    model_file, images = trained
    out = tmp_path / "explain"
    assert main(["explain", str(model_file), *map(str, images), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(images)
    for path, line in zip(images, lines):
        predicted = line.split(": ", 1)[1].split("  (")[0]
        assert predicted in CLASSES, line
        stem = f"{images.index(path)}_{path.stem}"  # the file names repeat across class folders
        for suffix in ("_gradcam.png", "_activations.png"):
            with Image.open(out / f"{stem}{suffix}") as picture:
                assert picture.format == "PNG" and min(picture.size) > 100


@pytest.mark.slow
def test_the_web_api_answers_as_cnnkit_predict_with_class_names(trained, capsys):
    pytest.importorskip("fastapi")
    pytest.importorskip("python_multipart")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient
    from PIL import Image

    from cnnkit.serve import create_app

    model_file, images = trained
    client = TestClient(create_app(cnnkit.saving.load_model(model_file)), raise_server_exceptions=False)
    described = client.get("/api/model").json()
    assert described["class_names"] == list(CLASSES) and described["input_shape"] == [None, 32, 32, 3]
    correct = 0
    for path in images:
        assert main(["predict", str(model_file), str(path), "--json"]) == 0
        printed = json.loads(capsys.readouterr().out)
        sent = {"file": (path.name, path.read_bytes(), "image/jpeg")}
        answer = client.post("/api/predict", files=sent)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {**printed, "image": path.name}
        explained = client.post("/api/explain", files=sent).json()
        assert explained["class_name"] == printed["class_name"] in CLASSES
        for url in (explained["grad_cam"], explained["activations"]["png"]):
            with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as picture:
                picture.verify()
        correct += printed["class_name"] == path.parent.name
    assert correct >= 2  # of 6 images in 3 classes: better than nothing learned, loosely
