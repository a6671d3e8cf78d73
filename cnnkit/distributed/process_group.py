"""The process group: found from torchrun's environment, or configured explicitly.

Under `torchrun` (which sets WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), the
first `fit`/`evaluate`/`predict` joins the default process group: nccl when cnnkit's device is
CUDA (each process on `cuda:LOCAL_RANK`), gloo on the CPU. A group initialised by the user
before is used as it is. A single process never touches torch.distributed.

Example:
    >>> import cnnkit.distributed as dist
    >>> dist.configure(timeout=60)  # seconds before a collective gives up on a lost peer
    >>> dist.world_size(), dist.rank(), dist.is_main_process()
    (1, 0, True)
"""

import atexit
import contextlib
import datetime
import os

import torch
import torch.distributed as dist

from cnnkit.distributed.reduce import broadcast_text, set_control_group
from cnnkit.engine.device import get_device, set_device

_settings = {"enabled": "auto", "backend": None, "timeout": None}
BACKENDS = ("nccl", "gloo")


def configure(enabled="auto", backend=None, timeout=None):
    """Chooses how cnnkit distributes; call it before the first fit/evaluate/predict.

    Args:
        enabled: "auto" (default): distributed when torchrun's WORLD_SIZE is above 1 or a
            default process group is initialised; False: always one process (e.g. when you
            wrap the model in DDP yourself); True: require a group (a clear error without).
        backend: "nccl", "gloo" or None (default: nccl on CUDA, gloo on the CPU).
        timeout: seconds (or a datetime.timedelta) a collective waits for the other
            processes before raising; default torch's (30 minutes for gloo, 10 for nccl).
    """
    if enabled not in ("auto", True, False):
        raise ValueError(f"`enabled` must be 'auto', True or False. Received: enabled={enabled!r}")
    if backend not in (None, *BACKENDS):
        raise ValueError(f"`backend` must be None, 'nccl' or 'gloo'. Received: backend={backend!r}")
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
        timeout = datetime.timedelta(seconds=timeout)
    elif timeout is not None and not isinstance(timeout, datetime.timedelta):
        raise ValueError(f"`timeout` must be positive seconds or a timedelta. Received: timeout={timeout!r}")
    _settings.update(enabled=enabled, backend=backend, timeout=timeout)


def _group_ready():
    return dist.is_available() and dist.is_initialized()


def _world_size_from_environment():
    value = os.environ.get("WORLD_SIZE", "1")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"Environment variable WORLD_SIZE must be an int; found {value!r}.") from None


def is_distributed():
    """True when this process trains together with others (and joins the group if needed)."""
    return initialize()


def initialize():
    """Joins the default process group if this run is distributed; returns whether it is.

    Idempotent and cheap once done; `fit`, `evaluate` and `predict` call it.
    """
    if _settings["enabled"] is False:
        return False
    if _group_ready():
        return dist.get_world_size() > 1
    if _world_size_from_environment() <= 1:
        if _settings["enabled"] is True:
            raise RuntimeError(
                "cnnkit.distributed.configure(enabled=True), but no process group is initialised and "
                "WORLD_SIZE is not set above 1. Launch with `torchrun --nproc_per_node N script.py`."
            )
        return False
    _pin_device_to_local_rank()
    backend = _settings["backend"] or ("nccl" if get_device().type == "cuda" else "gloo")
    dist.init_process_group(backend=backend, **_timeout_option())
    set_control_group(dist.new_group(backend="gloo", **_timeout_option()) if backend == "nccl" else None)
    atexit.register(_leave_group)
    return dist.get_world_size() > 1


def _timeout_option():
    """`{"timeout": ...}` when `configure` set one, else {} (torch's default)."""
    return {"timeout": _settings["timeout"]} if _settings["timeout"] is not None else {}


def _leave_group():
    """At exit, destroys the group cnnkit created, once every process got there: a group left
    alive, or torn down while a peer still talks to it, can abort the process ("terminate called")."""
    if not _group_ready():
        return
    try:
        if dist.get_backend() == "gloo":
            dist.monitored_barrier(**_timeout_option())
        else:
            barrier()
    except (RuntimeError, ValueError):  # a peer is gone: nothing to wait for
        pass
    dist.destroy_process_group()


def _pin_device_to_local_rank():
    """One GPU per process: "cuda" (or any "cuda:N") becomes cuda:LOCAL_RANK."""
    if get_device().type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        set_device(device)
        torch.cuda.set_device(device)


def world_size():
    """How many processes train together (1 when not distributed)."""
    return dist.get_world_size() if initialize() else 1


def rank():
    """This process's index in [0, world_size()); 0 when not distributed."""
    return dist.get_rank() if initialize() else 0


def is_main_process():
    """True on rank 0, the process that prints, writes files and saves checkpoints."""
    return rank() == 0


def barrier():
    """Waits until every process gets here (nothing when not distributed)."""
    if not initialize():
        return
    if dist.get_backend() == "nccl":
        dist.barrier(device_ids=[torch.cuda.current_device()])
    else:
        dist.barrier()


@contextlib.contextmanager
def main_process_first():
    """Rank 0 runs the block first (e.g. downloads a dataset), then the others.

    Example:
        >>> from cnnkit.datasets import mnist
        >>> with main_process_first():  # doctest: +SKIP
        ...     (x, y), _ = mnist.load_data()
    """
    main = is_main_process()
    if not main:
        barrier()
    yield
    if main:
        barrier()


def share_from_main_process(text):
    """Rank 0's `text` (e.g. a run folder it created) on every process; `text` itself when not distributed."""
    return broadcast_text(text) if initialize() else text


def run_on_main_process(function, *args, **kwargs):
    """Calls `function` on rank 0 only, then waits for it on every process; returns its result on rank 0.

    Every process must call it (it ends with a barrier), so the others never read a file
    rank 0 is still writing, and no one waits forever. Example:
    `run_on_main_process(model.save, "model.cnnkit")`.
    """
    result = function(*args, **kwargs) if is_main_process() else None
    barrier()
    return result
