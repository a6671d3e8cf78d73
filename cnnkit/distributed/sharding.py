"""Who gets which samples: the shared shuffled order and the even split of a batch.

Every process computes the same epoch order (a torch.Generator seeded from a seed that
rank 0 draws and broadcasts), walks the same global batches, and takes its contiguous
share of each: sizes differ by at most one sample, so the shares tile the batch exactly.

Example:
    >>> [share(10, rank, 4) for rank in range(4)]
    [(0, 3), (3, 6), (6, 8), (8, 10)]
"""

import torch

SEED_RANGE = 2**62


def share(n, rank, world_size):
    """(start, stop) of `rank`'s contiguous part of `n` items split as evenly as possible."""
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def draw_seed():
    """A shuffling seed from torch's default generator (so `cnnkit.set_random_seed` repeats it)."""
    return int(torch.randint(SEED_RANGE, (1,), dtype=torch.int64))


def epoch_order(n, seed):
    """The permutation of range(n) that every process derives from `seed` (a CPU tensor)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=generator)


def gradient_weight(shard_size, batch_size, world_size):
    """How much this shard's mean-loss gradient counts so that DDP's average is the batch mean.

    DDP averages the processes' gradients; a shard of s samples out of a batch of b must
    weigh s * world_size / b for the average to equal the gradient of the mean over the
    batch. Equal shards weigh exactly 1.
    """
    return shard_size * world_size / batch_size
