"""The IDX dataset reader on hostile bytes: mutated IDX files and gzip streams, headers declaring huge dims, a
gzip bomb. Each case ends in arrays or DatasetError, fast and in bounded memory."""

import contextlib
import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest
from _bounds import MIB, budget
from _mutate import mutated
from _report import case
from hypothesis import given
from hypothesis import strategies as st

from cnnkit.datasets import DatasetError, _download, _idx

IMAGES = _idx.IMAGES_MAGIC.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (3, 4, 5)) \
    + bytes(range(60))
LABELS = _idx.LABELS_MAGIC.to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes([7, 1, 9])
SECONDS, MEMORY = 1.0, 64 * MIB  # per case: the files are tiny, so is any work on them


def header(magic, dims):
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)


@budget(600)
@given(data=mutated([IMAGES, LABELS]), magic=st.sampled_from([_idx.IMAGES_MAGIC, _idx.LABELS_MAGIC]))
def test_parse_idx_of_mutated_files(data, magic):
    with case("parse_idx", DatasetError, SECONDS, MEMORY):
        array = _idx.parse_idx(data, magic, "x-idx3-ubyte")
        assert array.dtype == np.uint8 and array.nbytes == len(data) - 4 - 4 * (magic & 0xFF)


@budget(300)
@given(dims=st.tuples(*[st.one_of(st.integers(0, 64), st.integers(0, 2**32 - 1))] * 3), body=st.binary(max_size=64))
def test_parse_idx_of_headers_declaring_any_dims(dims, body):
    with case("parse_idx", DatasetError, SECONDS, MEMORY):
        _idx.parse_idx(header(_idx.IMAGES_MAGIC, dims) + body, _idx.IMAGES_MAGIC, "x-idx3-ubyte")


def test_dims_whose_product_wraps_around_in_int64_are_a_dataset_error():
    """2**21 * 2**21 * 2**22 is 0 in numpy's int64 product: an empty body used to pass the length check."""
    with pytest.raises(DatasetError, match=r"dims \(2097152, 2097152, 4194304\) need"):
        _idx.parse_idx(header(_idx.IMAGES_MAGIC, (2**21, 2**21, 2**22)), _idx.IMAGES_MAGIC, "x")


@budget(400)
@given(raw=mutated([gzip.compress(IMAGES), gzip.compress(LABELS)]))
def test_verify_of_mutated_gzip_files(raw):
    with case("gzip", DatasetError, SECONDS, MEMORY):
        _download.verify(raw, hashlib.sha256(IMAGES).hexdigest(), "x.gz", "replace it")


def test_a_gzip_bomb_stops_at_the_limit_unexpanded(monkeypatch):
    bomb = gzip.compress(bytes(64 * MIB), compresslevel=9)  # 64 KB expanding to 64 MiB
    monkeypatch.setenv(_download.MAX_BYTES_ENV, str(8 * MIB))
    with case("gzip", DatasetError, SECONDS, 24 * MIB), pytest.raises(DatasetError, match="more than 8,388,608 bytes"):
        _download.verify(bomb, "0" * 64, "bomb.gz", "replace it")


def test_a_dataset_file_over_the_limit_is_refused_unread(tmp_path, monkeypatch):
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "big.gz").write_bytes(bytes(2 * MIB))
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    monkeypatch.setenv(_download.MAX_BYTES_ENV, str(MIB))
    with pytest.raises(DatasetError, match=r"big.gz is 2,097,152 bytes, over the limit of 1,048,576"):
        _download.fetch("mnist", "big.gz", "0" * 64, [])


class Endless(http.server.BaseHTTPRequestHandler):
    """Answers a declared 100 GB, or (for /chunked) 1 MiB chunks without a length, 64 of them (without end,
    to the client), as a hostile mirror would."""

    def do_GET(self):
        self.send_response(200)
        if self.path.endswith("declared"):
            self.send_header("Content-Length", str(100 * 2**30))
            self.end_headers()
            return
        self.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(64):
                self.wfile.write(bytes(MIB))

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("name", ["declared", "chunked"])
def test_a_download_stops_at_the_limit(name, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path))
    monkeypatch.setenv(_download.MAX_BYTES_ENV, str(4 * MIB))
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=httpd.handle_request, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    with case("download", (), 5.0, 32 * MIB), pytest.raises(DatasetError, match="over the limit of 4,194,304 bytes"):
        _download.fetch("mnist", name, "0" * 64, [url], timeout=5)
    httpd.server_close()
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]  # nothing cached


def test_a_bad_limit_is_a_dataset_error(monkeypatch):
    monkeypatch.setenv(_download.MAX_BYTES_ENV, "1e9")
    with pytest.raises(DatasetError, match="CNNKIT_DATASET_MAX_BYTES must be a number of bytes"):
        _download.max_file_bytes()


NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")


@budget(300)
@given(broken=st.sampled_from(NAMES), images=mutated([IMAGES]), labels=mutated([LABELS]))
def test_load_idx_dataset_with_a_mutated_file_whose_checksum_matches(broken, images, labels, tmp_path_factory):
    """The whole reader as `mnist.load_data` runs it (found in CNNKIT_DATA, verified, parsed, paired), one of
    its four files mutated and its checksum updated, so that the parser sees the hostile bytes."""
    root = tmp_path_factory.mktemp("data")
    (root / "fuzz").mkdir()
    checksums = {}
    for name in NAMES:
        data = IMAGES if "images" in name else LABELS
        if name == broken:
            data = images if "images" in name else labels
        (root / "fuzz" / name).write_bytes(gzip.compress(data))
        checksums[name] = hashlib.sha256(data).hexdigest()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNKIT_DATA", str(root))
        with case("load_idx_dataset", DatasetError, SECONDS, MEMORY):
            (x, y), (x_test, y_test) = _idx.load_idx_dataset("fuzz", checksums, [], 1.0)
            assert len(x) == len(y) and len(x_test) == len(y_test)
