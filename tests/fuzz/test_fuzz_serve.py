"""The web page's API on hostile requests, in process: random multipart bodies, part headers, content types,
Content-Length lies and sizes, mutated and bomb images. Every answer is 200, 400, 404, 405, 413 or 422, never
500, each fast and in bounded memory."""

import io

import numpy as np
import pytest
from _bounds import MIB, budget
from _hostile_images import png_bomb, with_size
from _mutate import mutated
from _report import case
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("fastapi")
pytest.importorskip("python_multipart")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402

import cnnkit  # noqa: E402
from cnnkit.recipes import seed_convnet  # noqa: E402
from cnnkit.serve import create_app  # noqa: E402

MAX_UPLOAD = 2**20
MULTIPART = {"content-type": "multipart/form-data; boundary=x"}
EXPECTED = {200, 400, 404, 405, 413, 422}
SECONDS, MEMORY = 3.0, 128 * MIB  # per request, /api/explain's Grad-CAM included


def encoded(image, format):
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


def digit_image():
    pixels = np.full((40, 30), 250, np.uint8)
    pixels[8:32, 12:18] = 10
    return Image.fromarray(pixels)


IMAGES = [encoded(digit_image(), "PNG"), encoded(digit_image().convert("RGB"), "JPEG"),
          encoded(digit_image(), "GIF"), encoded(digit_image(), "BMP"), png_bomb(9000, 9000), png_bomb(70_000, 1),
          with_size(encoded(digit_image().convert("RGB"), "JPEG"), 60_000, 60_000)]


@pytest.fixture(scope="module")
def client():
    cnnkit.set_random_seed(3)
    return TestClient(create_app(seed_convnet(), max_upload_bytes=MAX_UPLOAD))  # server errors raise here


def text(alphabet=b"file\"\r\n;=\\/ .png\x00\xff"):
    return st.one_of(st.sampled_from([b"file", b"image", b"", b"seven.png", b"../../etc/passwd"]),
                     st.lists(st.sampled_from(list(alphabet)), max_size=12).map(bytes))


@st.composite
def part(draw, boundary):
    """One multipart part: a Content-Disposition of any shape, maybe a Content-Type and junk headers, a body."""
    name = draw(text())
    disposition = b'Content-Disposition: form-data; name="' + name + b'"'
    filename = draw(st.one_of(st.none(), text()))
    if filename is not None:
        disposition += b'; filename="' + filename + b'"'
    headers = [draw(st.sampled_from([disposition, disposition.replace(b'"', b""), b"Content-Disposition: " + name]))]
    headers += draw(st.lists(st.sampled_from([b"Content-Type: image/png", b"Content-Type: \x00", b"X: " + b"y" * 5000,
                                              b"no colon", b"Content-Transfer-Encoding: base64"]), max_size=3))
    body = draw(st.one_of(st.sampled_from(IMAGES), mutated(IMAGES), st.binary(max_size=300)))
    return b"--" + boundary + b"\r\n" + b"\r\n".join(headers) + b"\r\n\r\n" + body + b"\r\n"


@st.composite
def request(draw):
    """(method, path, body, headers) of a request the API may receive from anyone."""
    boundary = draw(st.sampled_from([b"x", b"----cnnkit-boundary", b"a" * 70]))
    body = b"".join(draw(st.lists(part(boundary), max_size=3)))
    if draw(st.booleans()):
        body += b"--" + boundary + b"--\r\n"
    if draw(st.booleans()):
        body = draw(mutated([body], max_edits=2))
    kind = draw(st.sampled_from([b"multipart/form-data; boundary=" + boundary, b"multipart/form-data",
                                 b"multipart/form-data; boundary=", b"multipart/form-data; boundary=\"" + boundary,
                                 b"application/json", b"image/png", b"text/plain; charset=\xff"]))
    headers = {"content-type": kind}
    length = draw(st.sampled_from([None, "same", "smaller", "larger", "abc", "-1", "1e3", " 5", "9" * 30]))
    if length is not None:
        headers["content-length"] = {"same": str(len(body)), "smaller": str(len(body) // 2),
                                     "larger": str(len(body) + 10)}.get(length, length).encode()
    method, path = draw(st.sampled_from([("POST", "/api/predict"), ("POST", "/api/explain"), ("GET", "/api/predict"),
                                         ("POST", "/api/model"), ("POST", "/nothing"), ("PUT", "/api/predict")]))
    return method, path, body, headers


@budget(600)
@given(request=request())
def test_random_requests_never_get_a_server_error(client, request):
    method, path, body, headers = request
    with case("serve", (), SECONDS, MEMORY) as result:
        answer = client.request(method, path, content=body, headers=headers)
        result.outcome = f"HTTP {answer.status_code}"
    assert answer.status_code in EXPECTED, (answer.status_code, answer.text[:300])
    assert "detail" in answer.json() or answer.status_code == 200


@budget(80)
@given(image=st.one_of(st.sampled_from(IMAGES), mutated(IMAGES)),
       path=st.sampled_from(["/api/predict", "/api/explain"]))
def test_well_formed_uploads_of_hostile_images_are_answered_200_or_400(client, image, path):
    with case("serve: image", (), SECONDS, MEMORY) as result:
        answer = client.post(path, files={"file": ("upload.png", image, "image/png")})
        result.outcome = f"HTTP {answer.status_code}"
    assert answer.status_code in (200, 400), (answer.status_code, answer.text[:300])


@pytest.mark.parametrize("size, declared", [(MAX_UPLOAD * 4, True), (MAX_UPLOAD * 4, False), (MAX_UPLOAD * 40, True)])
def test_bodies_over_the_limit_are_413_before_they_are_read(client, size, declared):
    body = b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n" + bytes(size)
    content = body if declared else iter([body[i:i + 2**16] for i in range(0, len(body), 2**16)])
    with case("serve: over the limit", (), SECONDS, 8 * MIB + size):
        answer = client.post("/api/predict", content=content, headers=MULTIPART)
    assert answer.status_code == 413 and "over the limit of 1 MB" in answer.json()["detail"]


def form(*parts):
    return b"".join(b"--x\r\n" + part + b"\r\n" for part in parts) + b"--x--\r\n"


@pytest.mark.parametrize("body", [
    form(*[b'Content-Disposition: form-data; name="f%d"\r\n\r\nv' % i for i in range(5000)]),  # too many fields
    form(*[b'Content-Disposition: form-data; name="file"; filename="%d.png"\r\n\r\nv' % i for i in range(5000)]),
    form(b'Content-Disposition: form-data; name="file"; filename="a.png"\r\nX: ' + b"y" * 900_000 + b"\r\n\r\nv"),
    form(b'Content-Disposition: form-data; name="other"\r\n\r\n' + b"v" * 1_000_000),  # a large text field
    form(b"Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%ff%fe.png\r\n\r\nv"),
])
def test_multipart_bodies_at_the_parsers_limits_are_400_or_422(client, body):
    with case("serve: multipart limits", (), SECONDS, MEMORY) as result:
        answer = client.post("/api/predict", content=body, headers=MULTIPART)
        result.outcome = f"HTTP {answer.status_code}"
    assert answer.status_code in (400, 422) and answer.json()["detail"]
