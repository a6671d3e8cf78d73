"""One adapter per kind of input, behind one epoch iterator: the loops never ask what they got.

- arrays (NumPy arrays or tensors, or lists/dicts of them): `ArrayAdapter`, the fast path (the
  whole data on the device once, batches by slicing);
- `cnnkit.data` datasets, `torch.utils.data.DataLoader`s and other re-iterable batch streams:
  `IterableAdapter`;
- `torch.utils.data.Dataset` (map-style, one sample per index): batched by a DataLoader;
- `cnnkit.utils.PyDataset` (one batch per index): batched by itself, loaded by a DataLoader's workers;
- Python generators and iterators: `IterableAdapter`, read once.

Each batch is `x`, `(x, y)` or `(x, y, sample_weight)`, as in Keras.
"""

from cnnkit.engine.data_adapters.adapter import get_data_adapter, unpack_batch
from cnnkit.engine.data_adapters.array_adapter import ArrayAdapter
from cnnkit.engine.data_adapters.epoch_iterator import EpochIterator
from cnnkit.engine.data_adapters.iterable_adapter import IterableAdapter

__all__ = ["ArrayAdapter", "EpochIterator", "IterableAdapter", "get_data_adapter", "unpack_batch"]
