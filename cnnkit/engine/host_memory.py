"""Keeping freed CPU tensor memory for reuse instead of handing it back to the kernel.

A CPU training step allocates and frees the same few megabyte-sized buffers every step.
glibc's malloc serves blocks above its mmap threshold with fresh `mmap` pages and returns them
on free, so every step page-faults its activations in again, zero-filled by the kernel: on the
seed convnet this doubles the step time (23 ms instead of 12 ms measured on a 2-core
AVX-512 machine; see `benchmarks/seed_speed.py`). PyTorch's docs suggest swapping in
jemalloc or tcmalloc for this; cnnkit gets the same effect from glibc itself by raising its
mmap and trim thresholds (`mallopt`) the first time it trains or predicts on the CPU.

The cost is that the process keeps its peak heap instead of shrinking after a step. Opt
out with the environment variable `CNNKIT_KEEP_FREED_MEMORY=0`; nothing happens off glibc.

Example:
    >>> keep_freed_memory()  # idempotent; True where glibc now keeps freed blocks
    True
"""

import ctypes
import ctypes.util
import os
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from <malloc.h>
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit: blocks below it reuse the heap
TRIM_THRESHOLD = 1024 * 1024 * 1024  # free heap kept before any is returned to the kernel

_state = {"done": False, "kept": False}


def keep_freed_memory():
    """Tunes glibc's malloc once per process (see the module docstring); returns whether it applies."""
    if not _state["done"]:
        _state["done"] = True
        _state["kept"] = _wanted() and _tune_glibc()
    return _state["kept"]


def _wanted():
    return os.environ.get("CNNKIT_KEEP_FREED_MEMORY", "1") != "0" and platform.libc_ver()[0] == "glibc"


def _tune_glibc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):
        return False
