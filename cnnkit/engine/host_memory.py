"""Keeping freed CPU tensor memory for reuse instead of handing it back to the kernel.

A CPU training step allocates and frees the same buffers every step. glibc's malloc serves
blocks above its mmap threshold with fresh `mmap` pages and returns them on free, so every step
page-faults its activations in again, zero-filled by the kernel: on the seed convnet this doubles
the step time (23 ms instead of 12 ms measured on a 2-core AVX-512 machine; see
`benchmarks/seed_speed.py`), and on the book's mini-Xception at 180x180 (activations of 250 MB,
above the largest mmap threshold glibc accepts) a step took 1.8 million page faults and twice
its time. PyTorch's docs suggest swapping in jemalloc or tcmalloc for this; cnnkit gets the same
effect from glibc itself (`mallopt`) the first time it trains on the CPU (`fit`,
`train_on_batch`; never for `predict` or `evaluate`, where it was not measured to help): it
raises the mmap and trim thresholds and, for blocks above the largest threshold, turns mmap
off, so that every block comes from the heap and freed ones are reused.

The cost is that the process keeps its peak heap instead of shrinking after a step: a
process-wide setting. Opt out with the environment variable `CNNKIT_KEEP_FREED_MEMORY=0`, or
from a program that embeds cnnkit with `cnnkit.set_keep_freed_memory(False)` before it trains
(afterwards it puts glibc's default thresholds back); nothing happens off glibc.

Example:
    >>> keep_freed_memory()  # idempotent; True where glibc now keeps freed blocks
    True
"""

import ctypes
import ctypes.util
import os
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4  # mallopt parameters, from <malloc.h>
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit: blocks below it reuse the heap
# Never hand free heap back (mallopt's -1): with 1 GiB the mini-Xception's steps still faulted
# 250,000 pages each, its freed activations being more than that.
TRIM_THRESHOLD = -1

GLIBC_DEFAULT_THRESHOLD = 128 * 1024  # glibc's initial mmap and trim thresholds
GLIBC_DEFAULT_MMAP_MAX = 65536  # glibc's default number of blocks it may serve with mmap

_state = {"done": False, "kept": False}


def keep_freed_memory():
    """Tunes glibc's malloc once per process (see the module docstring); returns whether it applies."""
    if not _state["done"]:
        _state["done"] = True
        _state["kept"] = _wanted() and _tune_glibc()
    return _state["kept"]


def set_keep_freed_memory(enabled):
    """Allows (True, the default) or forbids (False) the tuning above for this process; forbidding
    it after it was applied puts glibc's default thresholds back."""
    if enabled:
        _state["done"] = _state["kept"]
        return
    if _state["kept"]:
        _set_thresholds(GLIBC_DEFAULT_THRESHOLD, GLIBC_DEFAULT_THRESHOLD, GLIBC_DEFAULT_MMAP_MAX)
    _state["done"], _state["kept"] = True, False


def _wanted():
    return os.environ.get("CNNKIT_KEEP_FREED_MEMORY", "1") != "0" and platform.libc_ver()[0] == "glibc"


def _tune_glibc():
    return _set_thresholds(MMAP_THRESHOLD, TRIM_THRESHOLD, 0)


def _set_thresholds(mmap_threshold, trim_threshold, mmap_max):
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return all([libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold), libc.mallopt(M_TRIM_THRESHOLD, trim_threshold),
                    libc.mallopt(M_MMAP_MAX, mmap_max)])
    except (OSError, AttributeError):
        return False
