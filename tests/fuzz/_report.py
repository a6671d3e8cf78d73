"""One fuzz case run within its bounds, its outcome counted: with `CNNKIT_FUZZ_REPORT=path`, the figures of
the run (cases per reader, outcomes by type, slowest case, largest memory rise) are written there as JSON."""

import atexit
import collections
import contextlib
import json
import os

from _bounds import MIB, bounded

_stats = collections.defaultdict(lambda: {"cases": 0, "outcomes": collections.Counter(),
                                          "slowest_s": 0.0, "largest_rise_mib": 0.0})


@contextlib.contextmanager
def case(reader, expected, seconds, memory):
    """Runs the body as one case of `reader`: it must succeed or raise one of `expected` (which ends the
    case), within `seconds` and `memory` bytes of peak-memory rise; anything else fails the test. Yields
    the `Measured` case: its `error` is then the expected error raised, or None; the body may set its
    `outcome` (what the report counts; default "ok", or the error's type)."""
    with bounded(seconds, memory, reader) as measured:
        measured.error, measured.outcome = None, "ok"
        try:
            yield measured
        except expected as error:
            measured.outcome, measured.error = type(error).__name__, error
    stats = _stats[reader]
    stats["cases"] += 1
    stats["outcomes"][measured.outcome] += 1
    stats["slowest_s"] = max(stats["slowest_s"], measured.seconds)
    stats["largest_rise_mib"] = max(stats["largest_rise_mib"], measured.peak_rise / MIB)


def _write_report():
    path = os.environ.get("CNNKIT_FUZZ_REPORT")
    if path and _stats:
        with open(path, "a") as out:
            json.dump(_stats, out, indent=1, sort_keys=True)
            out.write("\n")


atexit.register(_write_report)
