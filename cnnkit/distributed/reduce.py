"""Collectives on cnnkit's values: metric sums and counts, predictions, a seed, a text.

Example (under torchrun, on every process):
    >>> all_reduce_metrics(trackers)  # doctest: +SKIP
    >>> trackers[0].result()          # doctest: +SKIP
    0.1234  # the loss over every process's samples
"""

import torch
import torch.distributed as dist

from cnnkit.distributed.sharding import share
from cnnkit.engine.device import get_device


def communication_device():
    """Where collective tensors live: the process's GPU with nccl, else the CPU."""
    return get_device() if dist.get_backend() == "nccl" else torch.device("cpu")


def broadcast_int(value, source=0):
    """`value` as held by rank `source`, on every process."""
    tensor = torch.tensor([value], dtype=torch.int64, device=communication_device())
    dist.broadcast(tensor, src=source)
    return int(tensor)


def broadcast_text(text, source=0):
    """`text` as rank `source` has it, on every process (UTF-8 bytes in a tensor; no pickle)."""
    data = torch.frombuffer(bytearray(text.encode()), dtype=torch.uint8) if text else torch.empty(0, dtype=torch.uint8)
    size = broadcast_int(len(data), source)
    buffer = torch.zeros(size, dtype=torch.uint8, device=communication_device())
    if dist.get_rank() == source:
        buffer.copy_(data)
    dist.broadcast(buffer, src=source)
    return bytes(buffer.cpu().tolist()).decode()


def average_tensors(tensors):
    """Replaces each tensor by its mean over the processes (one collective for all)."""
    packed = torch.cat([tensor.detach().reshape(-1) for tensor in tensors]).to(communication_device())
    dist.all_reduce(packed)
    packed /= dist.get_world_size()
    start = 0
    with torch.no_grad():
        for tensor in tensors:
            tensor.copy_(packed[start:start + tensor.numel()].view_as(tensor))
            start += tensor.numel()


_control = {"group": None}


def set_control_group(group):
    """The group for small host-side agreements (a stop flag): gloo on the CPU even when the
    tensors travel by nccl, so that agreeing never reads a GPU tensor back (which waits for all
    the GPU's queued work); None: the default group, itself gloo."""
    _control["group"] = group


def any_process(flag):
    """True on every process when `flag` is true on at least one: one small all-reduce of a CPU
    tensor over the gloo control group, so the answer never waits on a GPU (fit asks every step)."""
    tensor = torch.tensor([int(bool(flag))], dtype=torch.int32)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX, group=_control["group"])
    return bool(tensor)


def all_reduce_metrics(metrics):
    """Sums every metric's `total` and `count` over the processes, in one collective.

    Afterwards each metric's `result()` is the global mean, the same on every process.
    Sums and counts travel as float64, so counts stay exact far beyond any dataset size.
    """
    device = communication_device()
    packed = torch.stack([
        *(torch.as_tensor(metric.total, dtype=torch.float64).to(device).reshape(()) for metric in metrics),
        *(torch.tensor(float(metric.count), dtype=torch.float64, device=device) for metric in metrics),
    ])
    dist.all_reduce(packed)
    totals, counts = packed[:len(metrics)], packed[len(metrics):].tolist()
    for metric, total, count in zip(metrics, totals, counts):
        metric.total = total
        metric.count = int(round(count))


def gather_rows(local, n):
    """Every process's rows, concatenated in rank order: the inverse of splitting `n` rows with `share`.

    `local` holds this process's `share(n, rank, world_size)` rows. Shards may differ in
    size by one row; each is padded to the largest for all_gather, and trimmed after.
    """
    world_size = dist.get_world_size()
    sizes = [stop - start for start, stop in (share(n, r, world_size) for r in range(world_size))]
    device = communication_device()
    padded = torch.zeros((sizes[0], *local.shape[1:]), dtype=local.dtype, device=device)
    padded[:len(local)] = local.to(device)
    parts = [torch.empty_like(padded) for _ in range(world_size)]
    dist.all_gather(parts, padded)
    return torch.cat([part[:size] for part, size in zip(parts, sizes)]).to(local.device)
