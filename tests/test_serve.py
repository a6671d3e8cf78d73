"""`cnnkit serve`'s app through an in-process client: the JSON API, the page, bad input, parallel requests."""

import asyncio
import base64
import concurrent.futures
import contextlib
import io
import json
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("python_multipart")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402

import cnnkit  # noqa: E402
from cnnkit.cli import main  # noqa: E402
from cnnkit.recipes import seed_convnet  # noqa: E402
from cnnkit.serve import create_app  # noqa: E402
from cnnkit.serve._limits import BodySizeLimit  # noqa: E402


@pytest.fixture(scope="module")
def model():
    cnnkit.set_random_seed(3)
    return seed_convnet()  # untrained: the API's answers are compared with the model's own


@pytest.fixture(scope="module")
def client(model):
    return TestClient(create_app(model, max_upload_bytes=2**20), raise_server_exceptions=False)


def png(pixels):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def digit(seed):
    """A dark stroke figure on a light background, 90x70: different for each seed."""
    generator = np.random.default_rng(seed)
    pixels = np.full((90, 70), 250, np.uint8)
    for _ in range(3):
        top, left = generator.integers(5, 55, 2)
        pixels[top:top + 30, left:left + 8] = 10
    return png(pixels)


def upload(client, data, path="/api/predict", field="file", name="seven.png"):
    return client.post(path, files={field: (name, data, "image/png")})


def test_predict_answers_what_cnnkit_predict_json_prints(client, model, tmp_path, capsys):
    image = tmp_path / "seven.png"
    image.write_bytes(digit(0))
    model.save(tmp_path / "model.cnnkit")
    assert main(["predict", str(tmp_path / "model.cnnkit"), str(image), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    answer = upload(client, image.read_bytes())
    assert answer.status_code == 200
    assert answer.json() == {**printed, "image": "seven.png"}  # the upload's name, not a server path
    assert len(answer.json()["top3"]) == 3


def test_explain_gives_the_prediction_and_valid_pngs(client, model):
    predicted = upload(client, digit(1)).json()
    explained = upload(client, digit(1), path="/api/explain").json()
    assert explained["class"] == predicted["class"] and explained["top3"] == predicted["top3"]
    sizes = []
    for url in (explained["grad_cam"], explained["activations"]["png"]):
        prefix, encoded = url.split(",", 1)
        assert prefix == "data:image/png;base64"
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as picture:
            picture.load()
            sizes.append(picture.size)
    assert sizes[0][0] >= 28 and sizes[1][0] >= 26  # the overlay and a grid of 26x26 maps, enlarged
    assert explained["activations"]["layer"] == model.layers[0].name
    assert explained["grad_cam_layer"] == model.layers[4].name  # the last convolution


def test_model_health_and_the_page(client, model):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/api/model").json() == {
        "name": model.name, "input_shape": [None, 28, 28, 1], "classes": 10, "class_names": None,
        "parameters": model.count_params()}
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<canvas id="canvas"' in page.text
    for path, kind in (("/app.js", "text/javascript"), ("/style.css", "text/css")):
        response = client.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
    assert client.get("/docs").status_code == 404


def test_the_page_files_are_package_data_and_need_nothing_outside():
    static = resources.files("cnnkit.serve") / "static"
    for name in ("index.html", "app.js", "style.css"):
        text = (static / name).read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text


@pytest.mark.parametrize("data, message", [
    (b"not an image at all", "not an image"),
    (png(np.random.default_rng(0).integers(0, 255, (40, 40), dtype=np.uint8))[:400], "truncated or corrupt"),
    (b"", "empty"),
    (png(np.full((40, 40), 255, np.uint8)), "no digit found"),
])
def test_bad_images_are_400_with_a_message(client, data, message):
    answer = upload(client, data)
    assert answer.status_code == 400 and message in answer.json()["detail"]


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(client, monkeypatch):
    bomb = io.BytesIO()
    Image.new("1", (6000, 5000)).save(bomb, format="PNG")  # 30 M pixels in a few KB
    assert len(bomb.getvalue()) < 50_000
    from PIL import ImageFile

    def no_decoding(self):
        raise AssertionError("pixels decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    answer = upload(client, bomb.getvalue())
    assert answer.status_code == 400 and "too many pixels" in answer.json()["detail"]


@pytest.mark.parametrize("send", [
    lambda c: c.post("/api/predict", files={"image": ("a.png", digit(2), "image/png")}),  # wrong field
    lambda c: c.post("/api/predict", json={"file": "a.png"}),
    lambda c: c.post("/api/explain", data={"file": "not a file"}),
])
def test_a_wrong_form_is_422_naming_the_field(client, send):
    answer = send(client)
    assert answer.status_code == 422 and "'file'" in answer.json()["detail"]


@pytest.mark.parametrize("body, kind", [
    (b"[" + b"1," * 2**20 + b"1]", "application/json"),  # a huge JSON body, with a Content-Length
    (iter([b"--x\r\n" + b"1" * 2**16] * 20), "multipart/form-data; boundary=x"),  # streamed without one
])
def test_a_body_over_the_limit_is_413(client, body, kind):
    answer = client.post("/api/predict", content=body, headers={"content-type": kind})
    assert answer.status_code == 413 and "over the limit of 1 MB" in answer.json()["detail"]
    assert client.get("/health").status_code == 200


def test_an_upload_over_the_limit_is_413(client):
    answer = upload(client, b"\x89PNG" + bytes(2**20 + 2**17))
    assert answer.status_code == 413


def test_413_from_content_length_reads_none_of_the_body():
    calls, sent = [], []

    async def app(scope, receive, send):
        raise AssertionError("the app ran")

    async def receive():
        calls.append(1)
        return {"type": "http.request", "body": b"x" * 100, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/predict",
             "headers": [(b"content-length", b"1000000")]}
    asyncio.run(BodySizeLimit(app, max_bytes=1000)(scope, receive, send))
    assert calls == [] and sent[0]["status"] == 413


def test_an_internal_error_shows_no_traceback_or_path(model, monkeypatch):
    client = TestClient(create_app(model), raise_server_exceptions=False)

    def fail(batch):
        raise RuntimeError("boom in /secret/server/path.py")
    monkeypatch.setattr(model, "predict_on_batch", fail)
    with contextlib.redirect_stderr(io.StringIO()):
        answer = upload(client, digit(3))
    assert answer.status_code == 500 and answer.json() == {"detail": "internal error"}
    assert "secret" not in answer.text and "Traceback" not in answer.text


def test_parallel_requests_give_the_sequential_answers(client):
    images = [digit(seed) for seed in range(12)]
    expected = [upload(client, image).json() for image in images]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        paths = ["/api/predict", "/api/explain"] * 6
        answers = list(pool.map(lambda args: upload(client, args[0], path=args[1]).json(), zip(images, paths)))
    for answer, want in zip(answers, expected):
        assert answer["class"] == want["class"] and answer["top3"] == want["top3"]


def test_serve_help_imports_neither_torch_nor_fastapi():
    code = ("import sys\nfrom cnnkit.cli import main\nassert main(['serve', '--help']) == 0\n"
            "assert 'torch' not in sys.modules and 'fastapi' not in sys.modules, 'imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--max-upload-mb" in done.stdout and "127.0.0.1" in done.stdout


def test_serve_with_a_missing_model_is_one_line(capsys, tmp_path):
    assert main(["serve", str(tmp_path / "missing.cnnkit")]) == 1
    assert capsys.readouterr().err.startswith("cnnkit: error: model file not found")


def test_the_benchmark_request_is_a_valid_upload(client):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("serve_benchmark", Path(__file__).parents[1] / "benchmarks" / "serve.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    answer = client.post("/api/predict", content=benchmark.multipart(benchmark.digit_png()),
                         headers={"Content-Type": f"multipart/form-data; boundary={benchmark.BOUNDARY}"})
    assert answer.status_code == 200 and answer.json()["image"] == "digit.png"


def rgb_convnet():
    """A tiny RGB convnet (32x24 input) with class names, untrained."""
    from cnnkit import layers

    cnnkit.set_random_seed(5)
    model = cnnkit.Sequential([cnnkit.Input((32, 24, 3)), layers.Rescaling(1 / 255),
                               layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(),
                               layers.Conv2D(6, 3, activation="relu"), layers.GlobalAveragePooling2D(),
                               layers.Dense(3, activation="softmax")], name="tiny_rgb")
    model.class_names = ["cat", "dog", "ship"]
    return model


def test_an_rgb_model_is_served_with_its_images_prepared_as_predict_prepares_them(tmp_path, capsys):
    rgb = rgb_convnet()
    rgb.save(tmp_path / "rgb.cnnkit")
    loaded = cnnkit.saving.load_model(tmp_path / "rgb.cnnkit")
    assert loaded.class_names == ["cat", "dog", "ship"]
    generator = np.random.default_rng(0)
    photo = tmp_path / "photo.jpg"  # any size and mode: 50x40 JPEG, converted and resized to 32x24 RGB
    Image.fromarray(generator.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(photo)
    assert main(["predict", str(tmp_path / "rgb.cnnkit"), str(photo), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["class_name"] in loaded.class_names
    rgb_client = TestClient(create_app(loaded), raise_server_exceptions=False)
    assert rgb_client.get("/api/model").json()["class_names"] == ["cat", "dog", "ship"]
    answer = rgb_client.post("/api/predict", files={"file": ("photo.jpg", photo.read_bytes(), "image/jpeg")})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {**printed, "image": "photo.jpg"}
    explained = rgb_client.post("/api/explain", files={"file": ("photo.jpg", photo.read_bytes(), "image/jpeg")})
    assert explained.status_code == 200, explained.text
    explained = explained.json()
    assert explained["class_name"] == printed["class_name"] and explained["top3"] == printed["top3"]
    for url in (explained["grad_cam"], explained["activations"]["png"]):
        prefix, encoded = url.split(",", 1)
        assert prefix == "data:image/png;base64"
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as picture:
            picture.verify()
            assert picture.format == "PNG"
    # a grey (mode L) upload is converted to RGB, not refused
    grey = io.BytesIO()
    Image.fromarray(generator.integers(0, 256, (30, 30), dtype=np.uint8)).save(grey, format="PNG")
    assert rgb_client.post("/api/predict", files={"file": ("g.png", grey.getvalue(), "image/png")}).status_code == 200
    # `cnnkit explain` on the same file names the class and writes both PNGs
    assert main(["explain", str(tmp_path / "rgb.cnnkit"), str(photo), "--out", str(tmp_path / "out")]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"{photo}: {printed['class_name']}  (")
    for name in ("photo_gradcam.png", "photo_activations.png"):
        with Image.open(tmp_path / "out" / name) as picture:
            assert picture.format == "PNG"


def test_prepare_image_is_what_training_on_image_folders_gives():
    from cnnkit.cli.predict import prepare_image

    generator = np.random.default_rng(1)
    pixels = generator.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    same = prepare_image(Image.fromarray(pixels), (16, 16, 3))
    assert same.dtype == np.float32 and np.array_equal(same, pixels.astype(np.float32))  # 0..255, not rescaled
    assert prepare_image(Image.fromarray(pixels), (8, 12, 3)).shape == (8, 12, 3)
    assert prepare_image(Image.fromarray(pixels[..., 0]), (16, 16, 3)).shape == (16, 16, 3)
