"""Streams of batches: cnnkit.data datasets, torch DataLoaders, PyDatasets, generators.

Each batch is converted to device tensors as it arrives (the conversion the loops pass in);
decoding on the host runs in the stream's own workers (a DataLoader's); a `cnnkit.data` dataset's
`map` functions (augmentation layers) get their input on the training device.
"""

import collections.abc

import torch

from cnnkit.data.dataset import Dataset
from cnnkit.engine.data_adapters.adapter import unpack_batch
from cnnkit.engine.device import get_device


class IterableAdapter:
    """A stream of batches `x`, `(x, y)` or `(x, y, sample_weight)`.

    Args:
        stream: a re-iterable (dataset, DataLoader) or a one-shot iterator (generator).
        class_weight: optional {class index: weight}.
    """

    is_arrays = False

    def __init__(self, stream, class_weight=None):
        if isinstance(stream, Dataset):
            stream = stream._on_device(get_device())  # its maps run on the training device
        self.stream, self.class_weight = stream, class_weight
        self.one_shot = isinstance(stream, collections.abc.Iterator)

    @classmethod
    def from_torch_dataset(cls, dataset, batch_size, shuffle, class_weight=None):
        """A map-style torch Dataset (one sample per index), batched by a DataLoader."""
        return cls(torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle), class_weight)

    @classmethod
    def from_py_dataset(cls, dataset, shuffle, class_weight=None):
        """A PyDataset (one batch per index), its batches loaded by a DataLoader's workers
        (`workers` processes when `use_multiprocessing`, else in this process), shuffled by index."""
        workers = dataset.workers if dataset.use_multiprocessing else 0
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=None, shuffle=shuffle, num_workers=workers,
            prefetch_factor=max(1, dataset.max_queue_size // max(workers, 1)) if workers else None,
            collate_fn=lambda batch: batch,
        )
        return cls(loader, class_weight)

    @property
    def num_batches(self):
        try:
            return len(self.stream)
        except TypeError:
            return None

    def iterator(self):
        return iter(self.stream)

    def convert(self, convert, data):
        x, y, sample_weight = unpack_batch(data)
        return convert(x, y, sample_weight, class_weight=self.class_weight)
