"""Download files into a cache, verified and atomic, and extract archives safely: `get_file`."""

import hashlib
import io
import http.client
import os
import shutil
import stat
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from pathlib import Path

CACHE_ENV = "CNNKIT_CACHE"
URL_ENV = "CNNKIT_DATASETS_URL"
CHUNK = 1 << 20  # bytes per read of a stream


class DownloadError(OSError):
    """A URL could not be fetched completely; the network error is chained as `__cause__`."""


def cache_root() -> Path:
    """Return cnnkit's cache folder: `$CNNKIT_CACHE`, else `~/.cache/cnnkit`.

    Example:
    >>> isinstance(cache_root(), Path)
    True
    """
    root = os.environ.get(CACHE_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "cnnkit"


def stream_url(url: str, out, timeout: float = 30.0, max_bytes: int | None = None) -> int:
    """Copy `url` into the writable binary file `out`, with progress on stderr; return the size.

    `max_bytes`, when given, bounds the body: a larger `Content-Length` is refused before
    reading, and a body without one stops at the first chunk past the limit.

    Raises:
        DownloadError: the connection fails, the server answers an error, the body is
            shorter than its `Content-Length`, or longer than `max_bytes`.
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            _check_size(url, total or 0, max_bytes)
            progress = DownloadProgress(url, total)
            done = 0
            while chunk := response.read(CHUNK):
                done += len(chunk)
                _check_size(url, done, max_bytes)
                out.write(chunk)
                progress.update(done)
            progress.finish(done)
    except DownloadError:
        raise
    except (OSError, ValueError, http.client.HTTPException) as error:
        if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
            error_text = f"URLError: {error.reason}"
        else:
            error_text = f"{type(error).__name__}: {error}"
        raise DownloadError(f"download failed ({error_text})") from error
    if total is not None and done != total:
        raise DownloadError(f"download truncated: received {done} of {total} bytes")
    return done


def read_bounded(stream, limit: int) -> bytes | None:
    """All of `stream`, read in chunks, or None as soon as it yields more than `limit` bytes (nothing
    more is read: a bomb stops at the limit, unexpanded).

    Example:
    >>> read_bounded(io.BytesIO(b"abc"), 3), read_bounded(io.BytesIO(b"abcd"), 3)
    (b'abc', None)
    """
    chunks, size = [], 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _check_size(url: str, size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise DownloadError(f"download refused: {url} is over the limit of {max_bytes:,} bytes")


class DownloadProgress:
    """Bytes done / total on stderr: a live bar on a terminal, else a start and an end line."""

    def __init__(self, url: str, total: int | None):
        self.name = url.rsplit("/", 1)[-1]
        self.total = total
        self.live = sys.stderr.isatty()
        if not self.live:
            print(f"Downloading {url} ({_mb(total)})", file=sys.stderr, flush=True)

    def update(self, done: int) -> None:
        if self.live:
            fraction = done / self.total if self.total else 0.0
            bar = "=" * int(30 * fraction)
            sys.stderr.write(f"\r{self.name} [{bar:<30}] {_mb(done)} / {_mb(self.total)}")
            sys.stderr.flush()

    def finish(self, done: int) -> None:
        end = "\n" if self.live else f"Downloaded {self.name} ({_mb(done)})\n"
        sys.stderr.write(end)
        sys.stderr.flush()


def _mb(size: int | None) -> str:
    if size is None:
        return "size unknown"
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size} bytes"


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """Download a file from a URL into the cache, unless it is already there; return its path.

    The file lands in `cache_dir/cache_subdir/fname` only once complete and, when `file_hash`
    is given, verified: an interrupted or corrupt download leaves nothing in the cache. A
    cached file whose hash does not match is downloaded again. When `$CNNKIT_DATASETS_URL`
    is set, `<that URL>/<cache_subdir>/<fname>` is tried before `origin` (an offline mirror,
    as for the MNIST loader).

    Args:
        fname: str, name of the file in the cache. Defaults to the last part of `origin`'s path.
            A path with folders is refused: use `cache_dir` and `cache_subdir`.
        origin: str, URL of the file. Required.
        untar: bool, deprecated: same as `extract=True, archive_format="tar"`. Defaults to `False`.
        md5_hash: str, deprecated: same as `file_hash` with `hash_algorithm="md5"`.
        file_hash: str, expected SHA-256 or MD5 hex digest of the downloaded file. Defaults to
            `None` (not checked).
        cache_subdir: str, folder under `cache_dir`. Defaults to `"datasets"`.
        hash_algorithm: `"auto"`, `"sha256"` or `"md5"`; `"auto"` takes a 64-character hash for
            SHA-256 and anything else for MD5. Defaults to `"auto"`.
        extract: bool, extract the file as an archive and return the extracted folder. Members
            that would land outside that folder, or links pointing outside it, are refused.
            Defaults to `False`.
        archive_format: `"auto"` (tar then zip), `"tar"`, `"zip"`, a list of those, or `None`.
        cache_dir: str, cache root. Defaults to `$CNNKIT_CACHE`, else `~/.cache/cnnkit`.
        force_download: bool, download even if the file is cached. Defaults to `False`.

    Returns:
        The path (str) of the file, or with `extract=True` of the extracted folder.

    Raises:
        ValueError: `origin` missing, `fname` holding folders, a hash mismatch after download,
            or an archive with a member escaping the target folder.
        DownloadError: every URL failed.

    Example:
    >>> path = get_file(origin="https://example.com/data/flowers.tgz", extract=True)  # doctest: +SKIP
    """
    if origin is None:
        raise ValueError('Specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if hash_algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f'hash_algorithm must be "auto", "sha256" or "md5". '
                         f"Received: hash_algorithm={hash_algorithm!r}")
    if hash_algorithm == "auto":
        hash_algorithm = "sha256" if file_hash is not None and len(file_hash) == 64 else "md5"
    folder = Path(cache_dir).expanduser() if cache_dir is not None else cache_root()
    folder = folder / cache_subdir
    provided = os.fspath(fname) if fname else None
    fname = provided or os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(f"Cannot take a file name from origin={origin!r}; pass `fname`.")
    if os.sep in fname or "/" in fname:
        raise ValueError("fname must be a file name, not a path; use `cache_dir` and "
                         f"`cache_subdir` to choose the folder. Received: fname={fname!r}")
    if extract or untar:
        if provided and "." in fname:
            target, extraction_dir = folder / fname, folder / (fname.split(".", 1)[0] + "_extracted")
        else:
            target, extraction_dir = folder / (fname + "_archive"), folder / fname
    else:
        target, extraction_dir = folder / fname, None

    downloaded = False
    if force_download or not target.is_file() or (
            file_hash is not None and not validate_file(target, file_hash, hash_algorithm)):
        if target.is_file() and not force_download:
            print(f"The cached file {target} does not match the expected {hash_algorithm} hash "
                  f"{file_hash}; downloading it again.", file=sys.stderr)
        folder.mkdir(parents=True, exist_ok=True)
        _download_verified(_urls(origin, cache_subdir, fname), target, file_hash, hash_algorithm)
        downloaded = True
    if extraction_dir is None:
        return str(target)
    if downloaded or not extraction_dir.is_dir():
        if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
            warnings.warn(f"Could not extract {target}: it is not a {archive_format} archive.",
                          stacklevel=2)
    return str(extraction_dir)


def _urls(origin, cache_subdir, fname):
    mirror = os.environ.get(URL_ENV)
    if not mirror:
        return [origin]
    return [mirror.rstrip("/") + "/" + urllib.parse.quote(f"{cache_subdir}/{fname}"), origin]


def _download_verified(urls, target, file_hash, algorithm, timeout=30.0):
    from cnnkit.saving.atomic import atomic_write  # late: cnnkit.saving imports the models

    errors = []
    for url in urls:
        try:
            with atomic_write(target) as out:
                hashing = _HashingWriter(out, hashlib.new(algorithm))
                stream_url(url, hashing, timeout)
                if file_hash is not None and hashing.hexdigest() != file_hash.lower():
                    raise ValueError(
                        f"Incomplete or corrupted file downloaded from {url}: its {algorithm} "
                        f"hash is {hashing.hexdigest()}, expected {file_hash}. Nothing was "
                        "written to the cache.")
            return
        except DownloadError as error:
            errors.append(f"{url}: {error}")
    raise DownloadError("URL fetch failure: " + "; ".join(errors))


class _HashingWriter:
    def __init__(self, out, hasher):
        self.out, self.hasher = out, hasher

    def write(self, chunk):
        self.hasher.update(chunk)
        return self.out.write(chunk)

    def hexdigest(self):
        return self.hasher.hexdigest()


def hash_file(fpath, algorithm="sha256", chunk_size=65535):
    """Return the SHA-256 hex digest of a file (MD5 with `algorithm="md5"`).

    Example:
    >>> hash_file(os.devnull)[:8]  # the SHA-256 of nothing
    'e3b0c442'
    """
    hasher = hashlib.new("md5" if algorithm == "md5" else "sha256")
    with open(fpath, "rb") as file:
        while chunk := file.read(chunk_size):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
    """Return whether a file's SHA-256 or MD5 (`"auto"`: by the hash's length) is `file_hash`."""
    if algorithm == "auto":
        algorithm = "sha256" if len(file_hash) == 64 else "md5"
    return hash_file(fpath, algorithm, chunk_size) == str(file_hash).lower()


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extract a tar (plain, gz, bz2, xz) or zip archive into the folder `path`.

    Every member is checked before anything is written: a member whose path leaves `path`
    (`../x`, `/etc/x`), a link pointing outside it, a zip member that is a symbolic link or
    encrypted, or a tar device or FIFO refuses the whole archive. Extraction
    happens in a temporary folder next to `path`, moved into place at the end, so an error
    leaves no half-extracted folder.

    Returns:
        `True` if the file was an archive of one of the formats and was extracted, else `False`.

    Raises:
        ValueError: a member escapes `path` or is of a refused kind.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else archive_format
    formats = [formats] if isinstance(formats, str) else list(formats)
    path = Path(path)
    for kind in formats:
        is_kind = tarfile.is_tarfile if kind == "tar" else zipfile.is_zipfile
        if not is_kind(file_path):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
        try:
            if kind == "tar":
                with tarfile.open(file_path) as archive:
                    members = archive.getmembers()
                    _check_members(file_path, staging, members)
                    archive.extractall(staging, members=members, **_tar_filter())
            else:
                with zipfile.ZipFile(file_path) as archive:
                    members = archive.infolist()
                    _check_members(file_path, staging, members)
                    archive.extractall(staging, members=members)
            _move_into(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return True
    return False


def _tar_filter():
    # Python >= 3.12 (and security backports) refuse device files and unsafe modes as well.
    return {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def _check_members(file_path, base, members):
    base = Path(os.path.realpath(base))
    for member in members:
        name = member.filename if isinstance(member, zipfile.ZipInfo) else member.name
        if not _inside(base, base / name):
            raise ValueError(f"Refusing to extract {file_path}: its member {name!r} would be "
                             f"written outside the target folder (path traversal).")
        problem = zip_member_problem(member) if isinstance(member, zipfile.ZipInfo) else _tar_member_problem(member)
        if problem:
            raise ValueError(f"Refusing to extract {file_path}: its member {name!r} {problem}.")
        if isinstance(member, tarfile.TarInfo) and (member.issym() or member.islnk()):
            start = base if member.islnk() else (base / name).parent
            if not _inside(base, start / member.linkname):
                raise ValueError(f"Refusing to extract {file_path}: its link {name!r} points "
                                 f"outside the target folder ({member.linkname!r}).")


def zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member must not be used (an absolute or `..` path, a symbolic link, encrypted), or None.

    Example:
    >>> zip_member_problem(zipfile.ZipInfo("../evil.txt"))
    "has an absolute or '..' path"
    """
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or name[1:2] == ":" or ".." in name.split("/"):
        return "has an absolute or '..' path"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    if info.flag_bits & 0x1:
        return "is encrypted"
    return None


def _tar_member_problem(member: tarfile.TarInfo) -> str | None:
    """Devices and FIFOs are refused (Python's "data" filter does too, where it exists)."""
    if member.isfile() or member.isdir() or member.issym() or member.islnk():
        return None
    return "is a device or FIFO, not a file, folder or link"


def _inside(base: Path, candidate: Path) -> bool:
    resolved = os.path.realpath(candidate)
    return os.path.commonpath([resolved, str(base)]) == str(base)


def _move_into(staging: Path, path: Path):
    """Put the staged content at `path`; an existing folder gets the new files merged in."""
    if not path.exists():
        os.replace(staging, path)
        return
    for item in staging.iterdir():
        destination = path / item.name
        if destination.is_dir() and not destination.is_symlink():
            shutil.rmtree(destination)
        elif destination.exists() or destination.is_symlink():
            destination.unlink()
        os.replace(item, destination)
    staging.rmdir()
