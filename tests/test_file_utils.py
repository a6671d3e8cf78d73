"""get_file: downloads from a local HTTP server, hashes, atomic cache, mirror, safe extraction."""

import functools
import hashlib
import http.server
import io
import os
import tarfile
import threading
import zipfile

import pytest

from cnnkit.utils import file_utils, get_file
from cnnkit.utils.file_utils import DownloadError

CLOSED = "http://127.0.0.1:1/"  # nothing listens there: connection refused
PAYLOAD = b"cnnkit test payload\n" * 100
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CNNKIT_DATASETS_URL", raising=False)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/'www' on an ephemeral port; yields (root URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def cache_files(tmp_path):
    folder = tmp_path / "cache" / "datasets"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_download_then_cache_hit_without_network(server, tmp_path, capsys):
    url, root = server
    (root / "data.txt").write_bytes(PAYLOAD)
    path = get_file(origin=url + "data.txt", file_hash=SHA256)
    assert path == str(tmp_path / "cache" / "datasets" / "data.txt")
    assert open(path, "rb").read() == PAYLOAD
    err = capsys.readouterr().err
    assert f"Downloading {url}data.txt" in err and "Downloaded data.txt (2000 bytes)" in err
    (root / "data.txt").unlink()  # gone from the server: the cache answers
    assert get_file("data.txt", CLOSED + "data.txt", file_hash=SHA256) == path
    assert get_file("data.txt", CLOSED + "data.txt", md5_hash=MD5) == path
    assert capsys.readouterr().err == ""  # nothing downloaded


def test_cache_dir_subdir_and_force_download(server, tmp_path):
    url, root = server
    (root / "data.txt").write_bytes(PAYLOAD)
    path = get_file("renamed.txt", url + "data.txt", cache_dir=tmp_path / "mine", cache_subdir="sub",
                    file_hash=MD5, hash_algorithm="md5")
    assert path == str(tmp_path / "mine" / "sub" / "renamed.txt")
    (root / "data.txt").write_bytes(b"new version")
    assert open(get_file("renamed.txt", url + "data.txt", cache_dir=tmp_path / "mine",
                         cache_subdir="sub", force_download=True), "rb").read() == b"new version"


def test_bad_hash_is_a_clear_error_and_leaves_no_file(server, tmp_path):
    url, root = server
    (root / "data.txt").write_bytes(PAYLOAD)
    with pytest.raises(ValueError, match=f"sha256 hash is {SHA256}, expected {'0' * 64}"):
        get_file(origin=url + "data.txt", file_hash="0" * 64)
    with pytest.raises(ValueError, match="md5 hash"):
        get_file(origin=url + "data.txt", file_hash="0" * 32)  # "auto": 32 characters is MD5
    assert cache_files(tmp_path) == []


def test_corrupt_cached_file_is_downloaded_again(server, tmp_path, capsys):
    url, root = server
    (root / "data.txt").write_bytes(PAYLOAD)
    (tmp_path / "cache" / "datasets").mkdir(parents=True)
    (tmp_path / "cache" / "datasets" / "data.txt").write_bytes(b"truncated")
    path = get_file(origin=url + "data.txt", file_hash=SHA256)
    assert open(path, "rb").read() == PAYLOAD
    assert "does not match the expected" in capsys.readouterr().err


def test_truncated_download_leaves_nothing(tmp_path):
    class ShortBody(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"only a part")

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), ShortBody)
    thread = threading.Thread(target=httpd.handle_request, daemon=True)
    thread.start()
    with pytest.raises(DownloadError, match="IncompleteRead|truncated"):
        get_file(origin=f"http://127.0.0.1:{httpd.server_address[1]}/x.bin")
    thread.join()
    httpd.server_close()
    assert cache_files(tmp_path) == []


def test_ctrl_c_during_download_leaves_nothing(server, tmp_path, monkeypatch):
    url, root = server
    (root / "data.txt").write_bytes(PAYLOAD)

    def interrupt(self, done):
        raise KeyboardInterrupt

    monkeypatch.setattr(file_utils.DownloadProgress, "finish", interrupt)
    with pytest.raises(KeyboardInterrupt):
        get_file(origin=url + "data.txt")
    assert cache_files(tmp_path) == []


def test_unreachable_origin_names_the_url(tmp_path):
    with pytest.raises(DownloadError, match="URL fetch failure: http://127.0.0.1:1/a.txt"):
        get_file(origin=CLOSED + "a.txt")
    assert cache_files(tmp_path) == []


def test_offline_mirror_from_environment(server, tmp_path, monkeypatch):
    url, root = server
    (root / "datasets").mkdir()
    (root / "datasets" / "data.txt").write_bytes(PAYLOAD)
    monkeypatch.setenv("CNNKIT_DATASETS_URL", url)
    path = get_file(origin=CLOSED + "data.txt", file_hash=SHA256)  # origin unreachable
    assert open(path, "rb").read() == PAYLOAD


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="origin"):
        get_file("a.txt")
    with pytest.raises(ValueError, match="not a path.*fname='sub/a.txt'"):
        get_file("sub/a.txt", CLOSED + "a.txt")
    with pytest.raises(ValueError, match="pass `fname`"):
        get_file(origin="http://127.0.0.1:1/")
    with pytest.raises(ValueError, match="hash_algorithm='sha1'"):
        get_file(origin=CLOSED + "a.txt", hash_algorithm="sha1")


def zip_bytes(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members, links=()):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def test_extract_zip_and_tar_with_keras_folder_names(server, tmp_path):
    url, root = server
    (root / "pics.zip").write_bytes(zip_bytes({"pics/a.txt": b"a", "pics/b/c.txt": b"c"}))
    (root / "pics.tar.gz").write_bytes(tar_bytes({"d/e.txt": b"e"}, links=[("d/link", "e.txt")]))
    datasets = tmp_path / "cache" / "datasets"
    # As Keras 3: fname without a dot extracts to datasets/<fname>, the archive is <fname>_archive;
    # fname with a dot extracts to datasets/<stem>_extracted next to the archive <fname>.
    out = get_file("zipped", url + "pics.zip", extract=True)
    assert out == str(datasets / "zipped") and (datasets / "zipped_archive").is_file()
    assert (datasets / "zipped" / "pics" / "b" / "c.txt").read_bytes() == b"c"
    out = get_file("pics.tar.gz", url + "pics.tar.gz", extract=True)
    assert out == str(datasets / "pics_extracted")
    assert (datasets / "pics_extracted" / "d" / "link").read_bytes() == b"e"  # inside link kept
    other = tmp_path / "other" / "datasets"
    out = get_file(origin=url + "pics.tar.gz", untar=True, cache_dir=tmp_path / "other")
    assert out == str(other / "pics.tar.gz") and (other / "pics.tar.gz_archive").is_file()
    assert sorted(os.listdir(out)) == ["d"]
    (root / "pics.zip").unlink()  # cached archive and folder: no network
    assert get_file("zipped", CLOSED + "pics.zip", extract=True) == str(datasets / "zipped")


@pytest.mark.parametrize("archive, member", [
    ("evil.zip", "../escaped.txt"),
    ("evil.zip", "/tmp/absolute.txt"),
    ("evil.tar.gz", "ok/../../escaped.txt"),
    ("evil.tar.gz", "link -> ../../outside"),
    ("evil.tar.gz", "abs -> /etc/passwd"),
])
def test_extraction_refuses_members_escaping_the_folder(server, tmp_path, archive, member):
    url, root = server
    if " -> " in member:
        name, target = member.split(" -> ")
        data = tar_bytes({"fine.txt": b"x"}, links=[(name, target)])
        match = "points outside"
    elif archive.endswith(".zip"):
        name, data, match = member, zip_bytes({"fine.txt": b"x", member: b"evil"}), "path traversal"
    else:
        name, data, match = member, tar_bytes({"fine.txt": b"x", member: b"evil"}), "path traversal"
    (root / archive).write_bytes(data)
    with pytest.raises(ValueError, match=match):
        get_file(archive, url + archive, extract=True)
    datasets = tmp_path / "cache" / "datasets"
    assert not (datasets / "evil_extracted").exists()  # nothing extracted, not even fine.txt
    assert [p.name for p in datasets.iterdir()] == [archive]  # only the downloaded archive
    assert not (tmp_path / "cache" / "escaped.txt").exists()
    assert not (tmp_path / "escaped.txt").exists()
