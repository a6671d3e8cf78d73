"""The zip files under `.cnnkit` and `.keras`: written atomically, read within limits, never extracted.

Reading opens only the entries a format names, each read in chunks that stop at its limit
(`cnnkit.saving.limits`) whatever size the entry declares. A file is refused before any entry is
read when an entry is duplicated, named with an absolute or `..` path, a symbolic link, encrypted,
compressed other than stored or deflated, larger than its limit or compressed like a zip bomb.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "two.zip")
    >>> write_zip(path, {"config.json": b"{}", "model.safetensors": b"..."})
    >>> read_entries(path, required=("config.json",), kind="test")
    {'config.json': b'{}'}
"""

import os
import zipfile
import zlib

from cnnkit.saving.atomic import atomic_write
from cnnkit.saving.errors import ModelFileError
from cnnkit.saving.limits import RATIO_FREE_BYTES, get_limits
from cnnkit.utils.file_utils import read_bounded, zip_member_problem

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # same model, same bytes
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# what zipfile raises on broken archives (OSError: a seek to a negative offset read from a header)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)


def write_zip(filepath, entries):
    """Writes `{entry name: bytes}` as a zip, atomically: JSON deflated, the rest stored, fixed times
    (same model, same bytes)."""
    with atomic_write(filepath) as file, zipfile.ZipFile(file, "w") as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
            archive.writestr(info, data)


def read_entries(filepath, required, optional=(), kind="cnnkit"):
    """`{entry name: bytes}` of the `required` and present `optional` entries of a model file (other
    entries are ignored, never read); a ModelFileError if it is not a sound zip holding `required`
    (`kind` names the format in messages)."""
    with open(filepath, "rb") as file:
        try:
            with zipfile.ZipFile(file) as archive:
                infos = check_members(archive, filepath, os.fstat(file.fileno()).st_size)
                _require(infos, required, filepath, kind)
                return {name: read_entry(archive, infos[name], entry_limit(name), filepath)
                        for name in (*required, *optional) if name in infos}
        except ModelFileError:
            raise
        except _ZIP_ERRORS as error:
            raise ModelFileError(f"{filepath}: not a readable {kind} model file (a zip archive): "
                                 f"{type(error).__name__}: {error}. It may be truncated or not written by "
                                 "model.save().") from error


def _require(infos, required, filepath, kind):
    missing = [name for name in required if name not in infos]
    if missing:
        hint = ("; it looks like a Keras .keras file: give it the .keras extension to load it"
                if kind == "cnnkit" and "model.weights.h5" in infos else "")
        raise ModelFileError(f"{filepath}: missing entries {missing} (found {sorted(infos)[:20]}); "
                             f"not a complete {kind} model file{hint}.")


def check_members(archive, filepath, file_size):
    """`{name: ZipInfo}` of the archive, once no entry is duplicated, escaping (absolute or `..`),
    a symbolic link, encrypted, compressed in a way cnnkit does not write or declaring more
    compressed bytes than the file's `file_size` holds (which would let it pass the ratio check)."""
    infos = {}
    for info in archive.infolist():
        problem = zip_member_problem(info)
        if problem is None and info.filename in infos:
            problem = "appears twice"
        if problem is None and info.compress_type not in _COMPRESSIONS:
            problem = f"uses compression method {info.compress_type} (only stored and deflated are read)"
        if problem is None and info.header_offset + info.compress_size > file_size:
            problem = f"declares {info.compress_size} compressed bytes, more than the file's {file_size} bytes hold"
        if problem:
            raise ModelFileError(f"{filepath}: entry {info.filename!r} {problem}; refusing the file.")
        infos[info.filename] = info
    return infos


def entry_limit(name):
    """The size limit of an entry: JSON entries get `max_config_bytes`, the others `max_weights_bytes`."""
    return get_limits()["max_config_bytes" if name.endswith(".json") else "max_weights_bytes"]


def read_entry(archive, info, limit, filepath):
    """The bytes of one entry, read in chunks: refused when it declares more than `limit` bytes or
    a zip bomb's compression ratio, and stopped as soon as it yields more than `limit`."""
    where = f"{filepath}: entry '{info.filename}'"
    if info.file_size > limit:
        raise ModelFileError(f"{where} declares {info.file_size} bytes uncompressed, over the limit of "
                             f"{limit} bytes (cnnkit.saving.set_limits changes it).")
    ratio = get_limits()["max_compression_ratio"]
    if info.file_size > RATIO_FREE_BYTES and info.file_size > ratio * max(info.compress_size, 1):
        raise ModelFileError(f"{where} expands {info.compress_size} bytes to {info.file_size}, a compression "
                             f"ratio over the limit of {ratio} (a zip bomb?; cnnkit.saving.set_limits changes it).")
    try:
        with archive.open(info) as stream:
            data = read_bounded(stream, limit)
    except _ZIP_ERRORS as error:
        raise ModelFileError(f"{where} is corrupted: {type(error).__name__}: {error}") from error
    if data is None:
        raise ModelFileError(f"{where} holds more than the limit of {limit} bytes.")
    return data
