"""Datasets: real MNIST parsing, lookup order, downloads from a local server, and errors."""

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from cnnkit.datasets import DatasetError, _download, _idx, fashion_mnist, mnist
from cnnkit.utils import file_utils

NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "datasets",
                           Path("/work/shared/datasets")) if (p / "mnist").is_dir()), None)
needs_shared = pytest.mark.skipif(SHARED is None, reason="shared datasets folder not found")
CLOSED = "http://127.0.0.1:1/"  # nothing listens there: connection refused


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test sees the real cache, data folder or mirrors."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    monkeypatch.setenv("CNNKIT_DATASETS_URL", CLOSED)


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/'mirror' over HTTP on an ephemeral port; yields (root URL, folder)."""
    root = tmp_path / "mirror"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def idx_bytes(array, magic):
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return magic.to_bytes(4, "big") + dims + array.astype(np.uint8).tobytes()


def write_fake_mnist(folder, monkeypatch, module=mnist):
    """Write four small valid IDX .gz files and pin their checksums in `module`."""
    rng = np.random.default_rng(0)
    arrays = {"train": (rng.integers(0, 256, (6, 28, 28)), np.arange(6) % 10),
              "t10k": (rng.integers(0, 256, (3, 28, 28)), np.arange(3))}
    folder.mkdir(parents=True, exist_ok=True)
    checksums = {}
    for prefix, (images, labels) in arrays.items():
        for kind, array, magic in (("images-idx3", images, _idx.IMAGES_MAGIC),
                                   ("labels-idx1", labels, _idx.LABELS_MAGIC)):
            raw = idx_bytes(array, magic)
            name = f"{prefix}-{kind}-ubyte.gz"
            (folder / name).write_bytes(gzip.compress(raw))
            checksums[name] = hashlib.sha256(raw).hexdigest()
    monkeypatch.setattr(module, "_SHA256", checksums)
    return arrays


def cached(tmp_path, folder="mnist"):
    path = tmp_path / "cache" / "datasets" / folder
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else []


# Real data.

@needs_shared
def test_mnist_real_data(monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA", str(SHARED))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_train).tolist() == counts
    assert x_train.mean() == pytest.approx(33.318, abs=1e-3)
    assert x_test.mean() == pytest.approx(33.791, abs=1e-3)
    assert x_train.flags.writeable  # torch.from_numpy warns on read-only arrays


@needs_shared
def test_fashion_mnist_real_data(monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA", str(SHARED))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_test.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


@needs_shared
def test_download_real_files_from_mirror_root(server, tmp_path, monkeypatch, capsys):
    url, root = server
    shutil.copytree(SHARED / "mnist", root / "mnist")
    monkeypatch.setenv("CNNKIT_DATASETS_URL", url)
    (x_train, y_train), _ = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and np.bincount(y_train)[1] == 6742
    assert cached(tmp_path) == sorted(NAMES)
    lines = capsys.readouterr().err.splitlines()  # stderr is not a terminal here
    assert len(lines) == 8 and lines[0].startswith(f"Downloading {url}mnist/")
    shutil.rmtree(root / "mnist")  # now served from the cache, no network
    (x_again, _), _ = mnist.load_data()
    np.testing.assert_array_equal(x_again, x_train)


# Lookup order.

def test_cache_is_used_without_network(tmp_path, monkeypatch):
    arrays = write_fake_mnist(tmp_path / "cache" / "datasets" / "mnist", monkeypatch)
    (x_train, y_train), (x_test, y_test) = mnist.load_data(base_url=CLOSED)
    np.testing.assert_array_equal(x_train, arrays["train"][0])
    np.testing.assert_array_equal(y_test, arrays["t10k"][1])


def test_data_folder_comes_before_cache(tmp_path, monkeypatch):
    write_fake_mnist(tmp_path / "data" / "mnist", monkeypatch)
    (tmp_path / "cache" / "datasets" / "mnist").mkdir(parents=True)
    for name in NAMES:  # corrupt cache that must not be read
        (tmp_path / "cache" / "datasets" / "mnist" / name).write_bytes(b"junk")
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path / "data"))
    (x_train, _), _ = mnist.load_data()
    assert x_train.shape == (6, 28, 28)


def test_cache_root_defaults_to_home(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNKIT_CACHE")
    assert _download.cache_dir() == tmp_path / "home" / ".cache" / "cnnkit" / "datasets"


# Downloads.

def test_download_with_base_url(server, tmp_path, monkeypatch):
    url, root = server
    arrays = write_fake_mnist(root, monkeypatch)
    (x_train, _), (_, y_test) = mnist.load_data(base_url=url)
    np.testing.assert_array_equal(x_train, arrays["train"][0])
    np.testing.assert_array_equal(y_test, arrays["t10k"][1])
    assert cached(tmp_path) == sorted(NAMES)


def test_second_mirror_used_when_first_misses(server, tmp_path, monkeypatch):
    url, root = server
    write_fake_mnist(root / "good", monkeypatch)
    monkeypatch.delenv("CNNKIT_DATASETS_URL")
    monkeypatch.setattr(mnist, "_MIRRORS", (url + "missing/", url + "good/"))
    (x_train, _), _ = mnist.load_data()
    assert x_train.shape == (6, 28, 28) and cached(tmp_path) == sorted(NAMES)


def test_fashion_mnist_downloads_into_its_folder(server, tmp_path, monkeypatch):
    url, root = server
    write_fake_mnist(root / "fashion-mnist", monkeypatch, module=fashion_mnist)
    monkeypatch.setenv("CNNKIT_DATASETS_URL", url)
    fashion_mnist.load_data()
    assert cached(tmp_path, "fashion-mnist") == sorted(NAMES)


# Errors.

def test_checksum_mismatch_leaves_nothing_in_cache(server, tmp_path, monkeypatch):
    url, root = server
    write_fake_mnist(root, monkeypatch)
    wrong = "0" * 64
    monkeypatch.setitem(mnist._SHA256, NAMES[0], wrong)
    with pytest.raises(DatasetError) as info:
        mnist.load_data(base_url=url)
    message = str(info.value)
    assert NAMES[0] in message and f"expected {wrong}" in message and "CNNKIT_DATA" in message
    assert cached(tmp_path) == []  # no file, no .part left


def test_corrupt_cached_file_names_the_fix(tmp_path, monkeypatch):
    folder = tmp_path / "cache" / "datasets" / "mnist"
    write_fake_mnist(folder, monkeypatch)
    (folder / NAMES[1]).write_bytes(gzip.compress(b"other bytes"))
    with pytest.raises(DatasetError, match="delete the corrupt cached file .*" + NAMES[1]):
        mnist.load_data()


def test_truncated_gzip_in_data_folder(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "mnist"
    write_fake_mnist(folder, monkeypatch)
    path = folder / NAMES[0]
    path.write_bytes(path.read_bytes()[:-20])
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetError, match="truncated or corrupt") as info:
        mnist.load_data()
    assert str(path) in str(info.value) and "CNNKIT_DATA" in str(info.value)
    assert info.value.__cause__ is not None  # gzip's error is chained, not raised raw


def test_missing_file_on_server_is_404(server, tmp_path, monkeypatch):
    url, root = server
    write_fake_mnist(root, monkeypatch)
    (root / NAMES[2]).unlink()
    with pytest.raises(DatasetError, match="404") as info:
        mnist.load_data(base_url=url)
    assert url + NAMES[2] in str(info.value)
    assert NAMES[2] not in cached(tmp_path) and not any(".part" in n for n in cached(tmp_path))


def test_no_network_mentions_cnnkit_data(tmp_path, monkeypatch):
    with pytest.raises(DatasetError, match="set CNNKIT_DATA to a folder holding "
                                           "mnist/train-images-idx3-ubyte.gz"):
        mnist.load_data(timeout=5)
    assert cached(tmp_path) == []


def test_truncated_transfer_leaves_no_partial(tmp_path, monkeypatch):
    class ShortHandler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), ShortHandler)
    threading.Thread(target=httpd.handle_request, daemon=True).start()
    with pytest.raises(DatasetError, match="IncompleteRead|truncated"):
        mnist.load_data(base_url=f"http://127.0.0.1:{httpd.server_address[1]}/", timeout=5)
    httpd.server_close()
    assert cached(tmp_path) == []


def test_ctrl_c_during_download_leaves_no_partial(server, tmp_path, monkeypatch):
    url, root = server
    write_fake_mnist(root, monkeypatch)

    def interrupt(self, done):
        raise KeyboardInterrupt

    monkeypatch.setattr(file_utils.DownloadProgress, "finish", interrupt)
    with pytest.raises(KeyboardInterrupt):
        mnist.load_data(base_url=url)
    assert cached(tmp_path) == []


# IDX parsing.

def test_parse_idx_checks_magic_and_length():
    labels = idx_bytes(np.arange(4), _idx.LABELS_MAGIC)
    np.testing.assert_array_equal(_idx.parse_idx(labels, _idx.LABELS_MAGIC, "l"), np.arange(4))
    with pytest.raises(DatasetError, match="expected IDX magic number 0x00000803, found 0x00000801"):
        _idx.parse_idx(labels, _idx.IMAGES_MAGIC, "l")
    with pytest.raises(DatasetError, match=r"dims \(4,\) need 12 bytes, found 11"):
        _idx.parse_idx(labels[:-1], _idx.LABELS_MAGIC, "l")
    with pytest.raises(DatasetError, match="too short"):
        _idx.parse_idx(labels[:6], _idx.LABELS_MAGIC, "l")


def test_image_and_label_counts_must_match(tmp_path, monkeypatch):
    folder = tmp_path / "cache" / "datasets" / "mnist"
    write_fake_mnist(folder, monkeypatch)
    raw = idx_bytes(np.arange(5), _idx.LABELS_MAGIC)
    (folder / NAMES[1]).write_bytes(gzip.compress(raw))
    monkeypatch.setitem(mnist._SHA256, NAMES[1], hashlib.sha256(raw).hexdigest())
    with pytest.raises(DatasetError, match="6 images but 5 labels"):
        mnist.load_data()


def test_the_load_data_doctests_run_offline(tmp_path):
    """With CNNKIT_DATA unset, the docstring examples of load_data use a local copy (../shared/datasets)
    or are skipped: they never download (here a download would fail: the mirror is a closed port)."""
    repo = Path(__file__).resolve().parents[1]
    shared = repo.parent / "shared" / "datasets"
    local = (shared / "mnist").is_dir() and (shared / "fashion-mnist").is_dir()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "--doctest-modules",
                           "cnnkit/datasets/mnist.py", "cnnkit/datasets/fashion_mnist.py"],
                          cwd=repo, env=os.environ.copy(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert ("2 passed" if local else "2 skipped") in done.stdout
    assert not (tmp_path / "cache").exists()  # nothing downloaded into the cache
