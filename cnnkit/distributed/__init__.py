"""Data-parallel training on torch.distributed: the same script on one process or many.

Launch any cnnkit script with `torchrun --nproc_per_node N script.py` (or
`cnnkit train --nproc N`): `fit`, `evaluate` and `predict` join the process group, wrap
the model in DistributedDataParallel, split each global batch (`batch_size`) evenly over
the processes, and report metrics over all of them; only rank 0 prints.

Example:
    >>> import cnnkit.distributed as distributed
    >>> distributed.configure(timeout=120)
    >>> if distributed.is_main_process():
    ...     pass  # write files here, or use distributed.run_on_main_process(model.save, path)
"""

from cnnkit.distributed.launch import launch
from cnnkit.distributed.process_group import (
    barrier, configure, initialize, is_distributed, is_main_process, main_process_first, rank,
    run_on_main_process, share_from_main_process, world_size,
)
from cnnkit.distributed.replica import Replica, replica

__all__ = [
    "Replica", "barrier", "configure", "initialize", "is_distributed", "is_main_process", "launch",
    "main_process_first", "rank", "replica", "run_on_main_process", "share_from_main_process",
    "world_size",
]
