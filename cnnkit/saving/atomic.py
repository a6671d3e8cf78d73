"""Atomic file writes: readers see the old file or the new one, never half of either."""

import contextlib
import errno
import os
import tempfile
from pathlib import Path

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # no room: the disk, the quota, the file-size limit


@contextlib.contextmanager
def atomic_write(path):
    """Opens a temporary file next to `path` for binary writing; on success it replaces `path`.

    The data is flushed and fsynced before `os.replace`, so a crash at any point leaves
    the previous file intact. On any error (or Ctrl-C) the temporary file is removed; a full
    disk, quota or file-size limit is raised again as an OSError (same errno) naming `path`
    and saying the previous file is kept. The new file gets the usual permissions (0o666
    less the umask), not the temporary's 0o600.

    Example:
        >>> import tempfile, os
        >>> target = os.path.join(tempfile.mkdtemp(), "notes.txt")
        >>> with atomic_write(target) as f:
        ...     _ = f.write(b"hello")
        >>> open(target, "rb").read()
        b'hello'
    """
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        if error.errno in _FULL:
            raise _not_written(path, error) from error
        raise
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _not_written(path, error):
    """`error` as an OSError (same errno) saying which file was not written and that the old one is kept."""
    kept = "the previous file is kept" if path.exists() else "nothing was written"
    new = OSError(f"{path}: not saved, {kept}: {error.strerror or error}")
    new.errno = error.errno
    return new


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_directory(directory):
    """Makes the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
