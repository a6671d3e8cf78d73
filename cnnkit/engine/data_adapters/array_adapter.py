"""Arrays: converted to device tensors once, then batched by slicing (in order) or by gathering
along a fresh permutation each epoch (shuffled): no per-batch copies from the host."""

import torch.utils._pytree as pytree

from cnnkit.engine.data import batch_slices, iterate_batches


class ArrayAdapter:
    """`x`, `y` and `sample_weight` arrays (or lists/dicts of them), batched on the device."""

    one_shot = False
    is_arrays = True

    def __init__(self, x, y, sample_weight, batch_size, shuffle, class_weight=None):
        x_lengths, y_lengths = ({len(leaf) for leaf in pytree.tree_leaves(part) if leaf is not None}
                                for part in (x, y))
        if len(x_lengths) > 1 or (y_lengths and y_lengths != x_lengths):
            raise ValueError(
                f"x and y must hold the same number of samples; received {_counts(x_lengths)} inputs and "
                f"{_counts(y_lengths)} targets."
            )
        self.raw = (x, y, sample_weight)
        self.batch_size, self.shuffle, self.class_weight = batch_size, shuffle, class_weight
        self.size = x_lengths.pop()
        self.data = None

    @property
    def num_batches(self):
        return len(batch_slices(self.size, self.batch_size))

    def prepare(self, convert):
        """Converts all the data once with `convert(x, y, sample_weight) -> (x, y, sw)` (device Columns)."""
        if self.data is None:
            self.data = convert(*self.raw, class_weight=self.class_weight)
        return self.data

    def batches(self, convert, order=None):
        x, y, sample_weight = self.prepare(convert)
        present = [part for part in (x, y, sample_weight) if part is not None]
        for batch in iterate_batches(present, self.batch_size, order):
            batch = iter(batch)
            yield tuple(next(batch) if part is not None else None for part in (x, y, sample_weight))


def _counts(lengths):
    return ", ".join(str(n) for n in sorted(lengths))

