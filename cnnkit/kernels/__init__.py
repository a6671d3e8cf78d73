"""cnnkit's own CPU kernels: small C files compiled on first use, where torch has nothing as fast.

Each kernel is one C file in this folder with a plain-torch twin that computes the same numbers
(the tests check them against each other). The first call in a process compiles the file with
the machine's C compiler (`$CC`, else `cc`, else `gcc`; `-O3 -march=native -fopenmp`, no floating-point traps or errno, as torch is built), about a second, into
`$XDG_CACHE_HOME/cnnkit/kernels` (default `~/.cache/cnnkit/kernels`) under a name that hashes the
source, the flags and the CPU's features, written atomically; later processes load it from there
(only from a folder the user owns that no one else may write to; a library that fails to load
is built again).
The kernels use OpenMP from the libgomp that torch has already loaded, so they share torch's
threads (`torch.set_num_threads` applies to them).

Without a compiler, or with the environment variable `CNNKIT_NATIVE_KERNELS=0`, cnnkit uses the
plain-torch twins, with one warning when a compile fails.

Example:
    >>> library = native("batch_norm_relu")  # doctest: +SKIP
    >>> library is None or hasattr(library, "bn_relu_forward")  # doctest: +SKIP
    True
"""

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import torch  # noqa: F401  (loads libgomp first: the kernels then share its OpenMP runtime)

FLAGS = ["-O3", "-march=native", "-fno-trapping-math", "-fno-math-errno", "-fopenmp", "-shared", "-fPIC", "-std=c11"]
SOURCES = Path(__file__).parent


def enabled():
    """Whether native kernels may be used in this process (`CNNKIT_NATIVE_KERNELS`, default on)."""
    return os.environ.get("CNNKIT_NATIVE_KERNELS", "1") != "0" and platform.system() == "Linux"


@functools.lru_cache(maxsize=None)
def native(name):
    """The compiled kernel `name` (a ctypes library), or None where it cannot be built here."""
    if not enabled():
        return None
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        return None
    source = SOURCES / f"{name}.c"
    library = _cache_dir() / f"{name}-{_build_hash(source, compiler)}.so"
    try:
        _check_private(library.parent)
        if library.exists():
            try:
                return ctypes.CDLL(str(library))
            except OSError:  # a damaged file: build it again
                pass
        _compile(compiler, source, library)
        return ctypes.CDLL(str(library))
    except (OSError, subprocess.SubprocessError) as error:
        warnings.warn(f"cnnkit: could not build the native kernel {source.name} ({error}); "
                      "using plain torch instead, which is slower", RuntimeWarning, stacklevel=2)
        return None


def _cache_dir():
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "cnnkit" / "kernels"


def _check_private(folder):
    """Creates the cache folder (0700) and refuses one that another user could write a library into."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = folder.stat()
    if status.st_uid != os.getuid() or status.st_mode & 0o022:
        raise OSError(f"{folder} is not the user's own (owner {status.st_uid}, mode {oct(status.st_mode & 0o777)}); "
                      "cnnkit loads compiled kernels only from a folder no one else can write to")


def _build_hash(source, compiler):
    digest = hashlib.sha256(source.read_bytes())
    digest.update(" ".join([compiler, *FLAGS, platform.machine(), _cpu_features()]).encode())
    return digest.hexdigest()[:16]


def _cpu_features():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next((line for line in cpuinfo if line.startswith("flags")), "")
    except OSError:
        return ""


def _compile(compiler, source, library):
    """Compiles into a temporary file beside `library`, then renames it: no reader sees half a file."""
    handle, temporary = tempfile.mkstemp(suffix=".so", dir=library.parent)
    os.close(handle)
    try:
        done = subprocess.run([compiler, *FLAGS, "-o", temporary, str(source), "-lm"],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise OSError(f"{compiler} exited with {done.returncode}: {done.stderr.strip()[-500:]}")
        os.replace(temporary, library)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
