"""Starting N training processes on this machine with torchrun's own launcher.

`cnnkit train --nproc N` calls `launch`, which runs `python -m MODULE ARGS...` N times
under torch.distributed's elastic agent (what `torchrun --standalone` does): each process
gets RANK, LOCAL_RANK, WORLD_SIZE and the rendezvous address, so cnnkit's fit picks them up.

Example:
    >>> launch(2, ["train", "--epochs", "1"])  # doctest: +SKIP
    0
"""

import os
import sys
import uuid


def launch(nproc, argv, module="cnnkit", max_restarts=0):
    """Runs `python -m module *argv` in `nproc` processes on this machine; returns 0 or 1.

    Each process gets an equal share of the CPU threads (OMP_NUM_THREADS, unless set), as
    torchrun does. When a process fails, the others are stopped and the failure is
    reported on stderr (exit status 1).
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise ValueError(f"`nproc` must be a positive int. Received: nproc={nproc!r}")
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    config = LaunchConfig(
        min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
        rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=max_restarts,
        monitor_interval=0.5,
    )
    try:
        elastic_launch(config, sys.executable)("-m", module, *argv)
    except ChildFailedError as error:
        sys.stderr.write(f"cnnkit: error: a training process failed\n{error}\n")
        return 1
    return 0
