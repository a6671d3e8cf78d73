"""Time and peak-memory bounds for one fuzz case, measured rather than guessed.

Peak memory is the process's resident high-water mark (Linux `VmHWM`), reset before the case by
writing 5 to `/proc/self/clear_refs`, so it counts torch's and numpy's allocations as well as
Python's. Where the kernel does not allow the reset, the bound is on time only.
"""

import contextlib
import os
import time
from dataclasses import dataclass, field

from hypothesis import settings

MIB = 1 << 20
SCALE = float(os.environ.get("CNNKIT_FUZZ_SCALE", "1"))


def _status_kib(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


@dataclass
class Measured:
    """What one case took: seconds, and the rise of the peak resident memory above the start, in bytes."""

    seconds: float = 0.0
    peak_rise: int = 0
    memory_measured: bool = field(default=False)


@contextlib.contextmanager
def bounded(seconds, memory, what):
    """Run the body, then fail if it took more than `seconds` or raised peak memory more than `memory` bytes."""
    measured = Measured(memory_measured=_reset_peak())
    start_rss = _status_kib("VmRSS") * 1024
    start = time.perf_counter()
    yield measured
    measured.seconds = time.perf_counter() - start
    if measured.memory_measured:
        measured.peak_rise = max(0, _status_kib("VmHWM") * 1024 - start_rss)
    assert measured.seconds <= seconds, f"{what} took {measured.seconds:.2f} s (bound {seconds} s)"
    assert measured.peak_rise <= memory, (
        f"{what} raised peak memory by {measured.peak_rise / MIB:.0f} MiB (bound {memory / MIB:.0f} MiB)")


def budget(examples):
    """`settings(max_examples=...)` for a test whose CI budget is `examples` cases, scaled by CNNKIT_FUZZ_SCALE."""
    return settings(max_examples=max(1, int(examples * SCALE)))
