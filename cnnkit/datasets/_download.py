"""Find a dataset file in CNNKIT_DATA or the cache, or download it, and verify its SHA-256."""

import gzip
import hashlib
import io
import os
import zlib
from pathlib import Path

from cnnkit.saving.atomic import atomic_write
from cnnkit.utils.file_utils import CACHE_ENV, URL_ENV, DownloadError, cache_root, read_bounded, stream_url

DATA_ENV = "CNNKIT_DATA"
MAX_BYTES_ENV = "CNNKIT_DATASET_MAX_BYTES"
MAX_FILE_BYTES = 256 * 2**20  # per file, compressed and decompressed: MNIST's largest is 47 MB


class DatasetError(Exception):
    """A dataset file is missing, cannot be downloaded, or is corrupt.

    The message names the file, what was expected and what was found, and how
    to fix it. The underlying error (network, gzip, ...) is chained as
    `__cause__`.
    """


def cache_dir() -> Path:
    """Return the dataset cache folder: `$CNNKIT_CACHE/datasets`, else `~/.cache/cnnkit/datasets`.

    Example:
    >>> cache_dir().name
    'datasets'
    """
    return cache_root() / "datasets"


def mirror_urls(folder: str, defaults, base_url: str | None = None) -> list[str]:
    """Return the base URLs to try, in order, for the files of one dataset.

    Args:
        folder: dataset folder name, e.g. `"mnist"`.
        defaults: the dataset's public mirrors, each a URL of a folder holding its files.
        base_url: URL of a folder holding the files; overrides everything else.

    `$CNNKIT_DATASETS_URL`, when set and `base_url` is not, is a root URL with one
    subfolder per dataset (the layout of `$CNNKIT_DATA`): `<root>/mnist/`.

    Example:
    >>> mirror_urls("mnist", [], "http://127.0.0.1:8000/mnist")
    ['http://127.0.0.1:8000/mnist/']
    """
    if base_url:
        return [_with_slash(base_url)]
    root = os.environ.get(URL_ENV)
    if root:
        return [_with_slash(root) + folder + "/"]
    return [_with_slash(url) for url in defaults]


def fetch(folder: str, name: str, sha256: str, urls, timeout: float = 30.0) -> bytes:
    """Return the decompressed, verified bytes of the gzip file `folder/name`.

    Looks in `$CNNKIT_DATA/folder/`, then in the cache, then downloads from
    each of `urls` in turn into the cache.

    Raises:
        DatasetError: the file is corrupt, or it is nowhere and cannot be downloaded.

    Example:
    >>> name = "t10k-labels-idx1-ubyte.gz"
    >>> len(fetch("mnist", name, mnist._SHA256[name], mnist._MIRRORS))  # doctest: +SKIP
    10008
    """
    local = _data_path(folder, name)
    if local is not None and local.is_file():
        fix = (f"replace it with a good copy, or unset {DATA_ENV} to use the cache "
               "and download instead")
        return _read_verified(local, sha256, fix)
    cached = cache_dir() / folder / name
    if cached.is_file():
        fix = f"delete the corrupt cached file {cached}; it will be downloaded again"
        return _read_verified(cached, sha256, fix)
    return _download_any(folder, name, sha256, urls, timeout, cached, local)


def max_file_bytes() -> int:
    """The largest dataset file read, in bytes, compressed or decompressed: `$CNNKIT_DATASET_MAX_BYTES`,
    else `MAX_FILE_BYTES` (256 MiB). A gzip bomb or a runaway download stops at this limit.

    Example:
    >>> max_file_bytes() >= 47_040_016  # MNIST's training images
    True
    """
    text = os.environ.get(MAX_BYTES_ENV)
    if text is None:
        return MAX_FILE_BYTES
    if not text.isdigit():
        raise DatasetError(f"{MAX_BYTES_ENV} must be a number of bytes. Received: {text!r}")
    return int(text)


def verify(raw: bytes, sha256: str, source: str, fix: str) -> bytes:
    """Decompress gzip bytes (at most `max_file_bytes()`) and check the SHA-256 of the result; return it.

    Example:
    >>> verify(gzip.compress(b""), hashlib.sha256(b"").hexdigest(), "x", "")
    b''
    """
    data = _gunzip(raw, source, fix)
    found = hashlib.sha256(data).hexdigest()
    if found != sha256:
        raise DatasetError(
            f"{source} has the wrong content: the SHA-256 of its decompressed bytes "
            f"is {found}, expected {sha256}. Fix: {fix}.")
    return data


def _gunzip(raw: bytes, source: str, fix: str) -> bytes:
    """The decompressed bytes, read in bounded chunks: a gzip bomb stops at the limit, unexpanded."""
    limit = max_file_bytes()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as file:
            data = read_bounded(file, limit)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(
            f"{source} is not a valid gzip file, it is truncated or corrupt "
            f"({type(error).__name__}: {error}). Fix: {fix}.") from error
    if data is None:
        raise DatasetError(f"{source} decompresses to more than {limit:,} bytes, the limit for a dataset "
                           f"file (set {MAX_BYTES_ENV} to raise it). Fix: {fix}.")
    return data


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _data_path(folder: str, name: str) -> Path | None:
    root = os.environ.get(DATA_ENV)
    return Path(root).expanduser() / folder / name if root else None


def _read_verified(path: Path, sha256: str, fix: str) -> bytes:
    try:
        size, limit = path.stat().st_size, max_file_bytes()
        if size > limit:
            raise DatasetError(f"{path} is {size:,} bytes, over the limit of {limit:,} bytes for a dataset "
                               f"file (set {MAX_BYTES_ENV} to raise it). Fix: {fix}.")
        raw = path.read_bytes()
    except OSError as error:
        raise DatasetError(f"Cannot read {path}: {error}. Fix: {fix}.") from error
    return verify(raw, sha256, str(path), fix)


def _download_any(folder, name, sha256, urls, timeout, dest, local) -> bytes:
    errors = []
    for base in urls:
        try:
            return _download(base + name, dest, sha256, timeout)
        except DatasetError as error:
            errors.append((base + name, error))
    where = f"{local}" if local else f"{DATA_ENV} (not set)"
    tried = "".join(f"\n  {url}: {error}" for url, error in errors) or " no mirror given"
    raise DatasetError(
        f"Could not get {folder}/{name}: it is not in {where} nor in the cache "
        f"({dest}), and downloading failed:{tried}\n"
        f"Fix: set {DATA_ENV} to a folder holding {folder}/{name}, or set "
        f"{URL_ENV} (or pass base_url=) to a reachable mirror, or check your "
        "network connection.") from (errors[-1][1] if errors else None)


def _download(url: str, dest: Path, sha256: str, timeout: float) -> bytes:
    """Download `url`, verify it, then write it to `dest` atomically; no partial file survives."""
    buffer = io.BytesIO()
    try:
        stream_url(url, buffer, timeout, max_file_bytes())
    except DownloadError as error:
        raise DatasetError(str(error)) from error
    fix = f"the mirror serves a different file; use another mirror via {URL_ENV} or base_url="
    raw = buffer.getvalue()
    data = verify(raw, sha256, url, fix)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(dest) as out:
            out.write(raw)
    except OSError as error:
        raise DatasetError(f"cannot write to the cache folder {dest.parent} ({error}); "
                           f"set {CACHE_ENV} to a writable folder") from error
    return data
