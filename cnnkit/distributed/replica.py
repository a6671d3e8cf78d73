"""One process's part in data-parallel training: the hooks the engine's loops call.

`replica()` is None on a single process, so the loops run exactly as before. Under
torchrun it is a `Replica`, which:

- checks that the global `batch_size` splits evenly over the processes;
- wraps the loss head in DistributedDataParallel (gradients averaged during backward);
- yields this process's share of each global batch of the shared shuffled order, with
  the gradient weight that makes a short last batch count as on one process;
- shards evaluation and prediction data contiguously (no padding, each sample once);
- all-reduces metric sums and counts, and gathers predictions;
- stops every process when a callback on one sets `model.stop_training`;
- averages moving statistics (BatchNormalization's) over the processes after each epoch;
- silences progress bars off rank 0.

Example (under `torchrun --nproc_per_node 2`):
    >>> replica().world_size  # doctest: +SKIP
    2
"""

import contextlib

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from cnnkit.distributed.process_group import initialize
from cnnkit.distributed.reduce import (
    all_reduce_metrics, any_process, average_tensors, broadcast_int, gather_rows,
)
from cnnkit.distributed.sharding import draw_seed, epoch_order, gradient_weight, share
from cnnkit.engine.data import batch_slices, iterate_batches
from cnnkit.engine.device import get_device
from cnnkit.layers.normalization.batch_normalization import BatchNormalization
from cnnkit.layers.node import flatten


def replica():
    """This process's `Replica` when training is distributed, else None."""
    return Replica() if initialize() else None


class _ScaleGradient(torch.autograd.Function):
    """Identity forward; multiplies the gradient by `weight` on the way back."""

    @staticmethod
    def forward(context, value, weight):
        context.weight = weight
        return value.view_as(value)

    @staticmethod
    def backward(context, gradient):
        return gradient * context.weight, None


class _HeadModule(torch.nn.Module):
    """The loss head as a module, so that DDP sees the model's parameters and the whole forward."""

    def __init__(self, head):
        super().__init__()
        self.model = head.model
        self.head = head

    def forward(self, x, y, sample_weight=None):
        return self.head(x, y, sample_weight)


class ReplicaHead:
    """A LossHead behind DDP: same call, `(predictions, mean loss)`, with a weighted gradient.

    The batch iterator sets `gradient_weight` (and `stand_in` for an empty share) before each step.
    """

    def __init__(self, head, device):
        self.head = head
        self.model = head.model
        device_ids = [device] if device.type == "cuda" else None
        self.ddp = DistributedDataParallel(_HeadModule(head), device_ids=device_ids)
        self.gradient_weight = 1.0
        self.stand_in = None

    @property
    def training(self):
        return self.head.training

    @training.setter
    def training(self, value):
        self.head.training = value

    def __call__(self, x, y, sample_weight=None):
        if not torch.is_grad_enabled():
            return self.head(x, y, sample_weight)
        if len(flatten(x)[0]) == 0:
            return self.empty_step()
        predictions, total, per_output = self.ddp(x, y)
        if self.gradient_weight != 1.0:
            total = _ScaleGradient.apply(total, self.gradient_weight)
        return predictions, total, per_output

    def empty_step(self):
        """A process with no sample in a tiny last batch still joins the gradient all-reduce:
        it runs one stand-in sample, contributing a zero gradient, a zero loss to the metrics and
        nothing to the moving statistics."""
        with moving_statistics_kept(self.model):
            x, y = self.stand_in
            predictions, total, per_output = self.ddp(x.structure(), y.tensors)
        return [p[:0] for p in predictions], total * 0.0, [loss * 0.0 for loss in per_output]


class Replica:
    """This process's view of a data-parallel run; see the module docstring."""

    def __init__(self):
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()

    def verbose(self, verbose):
        """Progress is printed by rank 0 only."""
        return verbose if self.rank == 0 else 0

    def inference_batch_size(self, batch_size):
        """This process's batch for evaluate/predict, where the size changes no result: rounded up."""
        return -(-batch_size // self.world_size)

    def local_batch_size(self, batch_size):
        """This process's part of the global `batch_size`; raises unless it splits evenly."""
        if batch_size % self.world_size:
            raise ValueError(
                f"`batch_size` is the global batch, split evenly over the {self.world_size} processes; "
                f"received batch_size={batch_size}, which {self.world_size} does not divide. Use a multiple "
                f"of {self.world_size}, e.g. batch_size={batch_size // self.world_size * self.world_size or self.world_size}."
            )
        return batch_size // self.world_size

    def wrap(self, head):
        """The loss head behind DistributedDataParallel (which also makes rank 0's weights everyone's)."""
        return ReplicaHead(head, next(head.model.parameters()).device)

    def check_fit_data(self, train, validation, batch_size):
        """Data-parallel training takes arrays (without sample weights) and a global batch that
        splits evenly over the processes."""
        for what, data in (("x", train), ("validation_data", validation)):
            if data is not None and not data.adapter.is_arrays:
                raise ValueError(
                    f"Under torchrun, fit takes arrays; received {what} of type "
                    f"{type(getattr(data.adapter, 'stream', None)).__name__}. Load the data as arrays, or train "
                    "on one process."
                )
            if data is not None and data.adapter.raw[2] is not None:
                raise ValueError("Under torchrun, fit does not take sample_weight yet; train on one process.")
        self.local_batch_size(batch_size)
        if validation is not None:
            self.for_inference(validation, self.local_batch_size(batch_size))

    def train_batches(self, head, train, batch_size):
        """Yields this process's share of each global batch, in an order all processes agree on."""
        x, y, _ = train.adapter.prepare(train.convert)
        order = epoch_order(len(x), broadcast_int(draw_seed())).to(x.device) if train.shuffle else None
        for start, stop in batch_slices(len(x), batch_size):
            low, high = share(stop - start, self.rank, self.world_size)
            head.gradient_weight = gradient_weight(high - low, stop - start, self.world_size)
            if high == low:
                head.stand_in = _rows((x, y), order, start, start + 1)
            yield (*_rows((x, y), order, start + low, start + high), None)

    def for_inference(self, data, batch_size):
        """Evaluation or prediction data, to be read in this process's share (see `shard_batches`)."""
        if not data.adapter.is_arrays:
            raise ValueError("Under torchrun, evaluate and predict take arrays; evaluate on one process instead.")
        data.adapter.batch_size = self.inference_batch_size(batch_size)
        return data

    def shard_batches(self, data):
        """This process's contiguous part of evaluation or prediction data, in batches."""
        parts = data.adapter.prepare(data.convert)
        start, stop = share(data.adapter.size, self.rank, self.world_size)
        present = [part[start:stop] for part in parts if part is not None]
        for batch in iterate_batches(present, data.adapter.batch_size):
            batch = iter(batch)
            yield tuple(next(batch) if part is not None else None for part in parts)

    def all_reduce(self, metrics):
        all_reduce_metrics(metrics)

    def average_statistics(self, model):
        """Averages BatchNormalization's moving statistics, which each process updates from its
        own shard, over the processes, as Keras's distribution strategies aggregate them; called
        once per epoch. Frozen weights are left alone (averaging could round them)."""
        statistics = moving_statistics(model)
        if statistics:
            average_tensors(statistics)

    def agree(self, value):
        """Rank 0's int `value` (e.g. the epoch a resumed run starts at), on every process."""
        return broadcast_int(value)

    def anyone(self, flag):
        """True on every process when `flag` is true on at least one."""
        return any_process(flag)

    def gather_predictions(self, outputs, output_shape, n):
        """All `n` predictions, in the original order, on every process."""
        local = torch.cat(outputs) if outputs else torch.empty((0, *output_shape[1:]), device=get_device())
        return gather_rows(local, n)


def moving_statistics(model):
    """The moving means and variances of the model's trainable BatchNormalization layers."""
    return [statistic for layer in model.modules() if isinstance(layer, BatchNormalization) and layer.trainable
            for statistic in (layer.moving_mean, layer.moving_variance)]


@contextlib.contextmanager
def moving_statistics_kept(model):
    """Runs the block, then puts the moving statistics back as they were before it."""
    statistics = moving_statistics(model)
    saved = [statistic.detach().clone() for statistic in statistics]
    try:
        yield
    finally:
        with torch.no_grad():
            for statistic, value in zip(statistics, saved):
                statistic.copy_(value)


def _rows(tensors, order, start, stop):
    if order is None:
        return tuple(t[start:stop] for t in tensors)
    index = order[start:stop]
    return tuple(t.index_select(0, index) for t in tensors)
