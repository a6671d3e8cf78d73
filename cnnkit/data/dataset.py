"""`Dataset`: a lazy, re-iterable pipeline of torch tensors with the `tf.data` methods Keras programs call.

Each method returns a new dataset wrapping the last one; nothing runs until it is iterated, and each
`iter()` starts a fresh pass (an epoch). Elements are tensors, or tuples/dicts of them: one sample
each, or one batch each after `batch` (image folders give batches already).

Where the work runs: image files are decoded and resized in the worker processes of a torch
DataLoader (images that grow along the height are resized along the width there and along the height
in the main process, which moves fewer bytes between them); `map` functions run in the main process,
batched when the dataset is batched. In `fit`, `evaluate` and
`predict` each `map` is given its input on the model's device, so cnnkit layers (augmentation) run
batched on the training device (the copy to a GPU is asynchronous from pinned memory, as image
folders give it); iterated directly, a dataset stays on the CPU. `prefetch` adds nothing to the
workers' own prefetching (two batches ahead per worker).
"""

import copy
import itertools
import math

import numpy as np
import torch
import torch.utils._pytree as pytree

AUTOTUNE = -1
INFINITE = -1  # `cardinality()` of a dataset that never ends (tf.data.INFINITE_CARDINALITY)
UNKNOWN = -2  # `cardinality()` when the length cannot be known before iterating (tf.data.UNKNOWN_CARDINALITY)


class Dataset:
    """A re-iterable stream of elements (tensors, or tuples/dicts of tensors).

    Subclasses give `_elements()` (a fresh iterator) and `cardinality()`. `len(dataset)` is the number
    of elements (of batches once batched), as `fit` counts steps; it raises `TypeError` when infinite
    or unknown, as `tf.data` does.
    """

    def __iter__(self):
        return iter(self._elements())

    def _elements(self):
        raise NotImplementedError

    def cardinality(self):
        """The number of elements, `INFINITE` (-1) or `UNKNOWN` (-2)."""
        return UNKNOWN

    def __len__(self):
        length = self.cardinality()
        if length == INFINITE:
            raise TypeError("The dataset is infinite.")
        if length == UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return length

    def __bool__(self):
        return True  # never falls back on `__len__`, which may raise

    # --- sources ---

    @staticmethod
    def from_tensor_slices(tensors):
        """A dataset of the slices of `tensors` (an array or tensor, or a tuple/list/dict of them) along
        their first axis, as torch tensors.

        Example:
            >>> ds = Dataset.from_tensor_slices((np.zeros((10, 4)), np.arange(10))).batch(4)
            >>> [tuple(x.shape) for x, y in ds]
            [(4, 4), (4, 4), (2, 4)]
        """
        return _TensorSlices(tensors)

    # --- transformations ---

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """Applies `map_func` to each element (`map_func(*element)` when the element is a tuple), in the
        main process: on a batched dataset it is called once per batch, so cnnkit layers (augmentation)
        run batched. `num_parallel_calls` and `deterministic` are accepted for `tf.data` compatibility."""
        if not callable(map_func):
            raise TypeError(f"`map_func` must be callable. Received: map_func={map_func!r}")
        return _Map(self, map_func)

    def prefetch(self, buffer_size, name=None):
        """Returns the dataset as it is: its DataLoader workers already decode batches ahead of use.
        `buffer_size` (`AUTOTUNE` or a positive int) is checked for `tf.data` compatibility."""
        _check_count("buffer_size", buffer_size, allow_autotune=True)
        return self

    def take(self, count, name=None):
        """The first `count` elements (all of them when `count` is -1)."""
        _check_count("count", count, allow_minus_one=True)
        return self if count == -1 else _Take(self, count)

    def skip(self, count, name=None):
        """All elements but the first `count` (no element when `count` is -1)."""
        _check_count("count", count, allow_minus_one=True)
        return _Skip(self, count)

    def repeat(self, count=None, name=None):
        """The dataset `count` times over (forever when `count` is None or -1); each pass is a new epoch
        (shuffled anew)."""
        if count is not None:
            _check_count("count", count, allow_minus_one=True)
        return _Repeat(self, None if count in (None, -1) else count)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None):
        """Elements shuffled as `tf.data` does: a buffer of `buffer_size` elements, each output drawn
        at random from it. `seed` makes the order reproducible; with `reshuffle_each_iteration` each
        pass draws a new order (still reproducible from the seed)."""
        _check_count("buffer_size", buffer_size)
        if buffer_size < 1:
            raise ValueError(f"`buffer_size` must be at least 1. Received: buffer_size={buffer_size}")
        return _Shuffle(self, buffer_size, seed, reshuffle_each_iteration)

    def cache(self, filename="", name=None):
        """Keeps the elements in memory after the first complete pass; later passes read them from
        there. Only the in-memory cache (`filename=""`) is supported."""
        if filename:
            raise ValueError(f"Only the in-memory cache is supported (filename=''). Received: filename={filename!r}")
        return _Cache(self)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None, name=None):
        """Consecutive elements stacked into batches of `batch_size` (the last one smaller unless
        `drop_remainder`)."""
        _check_count("batch_size", batch_size)
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be at least 1. Received: batch_size={batch_size}")
        return _Batch(self, batch_size, drop_remainder)

    def unbatch(self, name=None):
        """Splits each batch back into its elements."""
        return _Unbatch(self)

    def _on_device(self, device):
        """This pipeline as `fit` iterates it on `device`: the same elements, each `map` given its input on
        `device` (cnnkit layers then run there, batched). The maps and the datasets that wrap them are copied,
        the rest shared (a `cache()` below the maps keeps filling the user's cache); `self` is unchanged."""
        source = getattr(self, "source", None)
        placed_source = None if source is None else source._on_device(device)
        if placed_source is source:
            return self
        placed = copy.copy(self)
        placed.source = placed_source
        return placed

    def as_numpy_iterator(self):
        """The elements as NumPy arrays."""
        for element in self:
            yield pytree.tree_map(lambda t: t.numpy(force=True) if isinstance(t, torch.Tensor) else t, element)


def _check_count(argument, value, allow_minus_one=False, allow_autotune=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{argument}` must be an int. Received: {argument}={value!r}")
    if value < 0 and not ((allow_minus_one or allow_autotune) and value == -1):
        raise ValueError(f"`{argument}` must be non-negative{' or -1' if allow_minus_one else ''}. "
                         f"Received: {argument}={value}")


def _as_tensor(value):
    if isinstance(value, torch.Tensor):
        return value
    array = np.asarray(value)
    if array.dtype == np.float64:
        array = array.astype(np.float32)  # as Keras's default float type
    return torch.as_tensor(array)


def _is_leaf(value):
    return not isinstance(value, (tuple, list, dict))


class _TensorSlices(Dataset):
    def __init__(self, tensors):
        if isinstance(tensors, list) and tensors and not _is_leaf(tensors[0]):
            tensors = tuple(tensors)
        elif isinstance(tensors, list):
            tensors = np.asarray(tensors)
        self.tensors = pytree.tree_map(_as_tensor, tensors, is_leaf=_is_leaf)
        lengths = {len(t) if t.dim() else None for t in pytree.tree_leaves(self.tensors)}
        if None in lengths:
            raise ValueError("`from_tensor_slices` needs tensors with a first axis to slice; received a scalar.")
        if len(lengths) != 1:
            raise ValueError(f"All tensors given to `from_tensor_slices` must have the same first dimension. "
                             f"Received first dimensions: {sorted(lengths)}")
        self.size = lengths.pop()

    def cardinality(self):
        return self.size

    def slice(self, start, stop):
        return pytree.tree_map(lambda t: t[start:stop], self.tensors)

    def _elements(self):
        return (pytree.tree_map(lambda t: t[index], self.tensors) for index in range(self.size))


class _Map(Dataset):
    def __init__(self, source, function):
        self.source, self.function, self.device = source, function, None

    def cardinality(self):
        return self.source.cardinality()

    def _on_device(self, device):
        placed = copy.copy(self)
        placed.source, placed.device = self.source._on_device(device), torch.device(device)
        return placed

    def _elements(self):
        for element in self.source:
            if self.device is not None:
                element = _to_device(element, self.device)
            yield self.function(*element) if isinstance(element, tuple) else self.function(element)


def _to_device(element, device):
    """The tensors of `element` on `device`, copied without waiting (asynchronous from pinned memory)."""
    return pytree.tree_map(lambda t: t.to(device, non_blocking=True) if isinstance(t, torch.Tensor) else t, element)


class _Take(Dataset):
    def __init__(self, source, count):
        self.source, self.count = source, count

    def cardinality(self):
        length = self.source.cardinality()
        return self.count if length == INFINITE else length if length == UNKNOWN else min(length, self.count)

    def _elements(self):
        return itertools.islice(self.source, self.count)


class _Skip(Dataset):
    def __init__(self, source, count):
        self.source, self.count = source, count

    def cardinality(self):
        length = self.source.cardinality()
        if length < 0:
            return length
        return 0 if self.count == -1 else max(length - self.count, 0)

    def _elements(self):
        if self.count == -1:
            return iter(())
        return itertools.islice(self.source, self.count, None)


class _Repeat(Dataset):
    def __init__(self, source, count):
        self.source, self.count = source, count

    def cardinality(self):
        length = self.source.cardinality()
        if self.count is None:
            return 0 if length == 0 else INFINITE if length != UNKNOWN else UNKNOWN
        return length * self.count if length >= 0 else length

    def _elements(self):
        passes = itertools.count() if self.count is None else range(self.count)
        for _ in passes:
            empty = True
            for element in self.source:
                empty = False
                yield element
            if empty:
                return  # an empty dataset repeated forever is empty, not a busy loop


class _Shuffle(Dataset):
    def __init__(self, source, buffer_size, seed, reshuffle_each_iteration):
        self.source, self.buffer_size, self.reshuffle = source, buffer_size, reshuffle_each_iteration
        self.seed = int(np.random.randint(2**31)) if seed is None else int(seed)
        self.passes = 0

    def cardinality(self):
        return self.source.cardinality()

    def _elements(self):
        rng = np.random.default_rng([self.seed, self.passes if self.reshuffle else 0])
        self.passes += 1
        buffer = []
        for element in self.source:
            if len(buffer) < self.buffer_size:
                buffer.append(element)
                continue
            index = int(rng.integers(len(buffer)))
            yield buffer[index]
            buffer[index] = element
        rng.shuffle(buffer)
        yield from buffer


class _Cache(Dataset):
    def __init__(self, source):
        self.source, self.cached = source, None

    def cardinality(self):
        return len(self.cached) if self.cached is not None else self.source.cardinality()

    def _elements(self):
        if self.cached is not None:
            yield from self.cached
            return
        filling = []
        for element in self.source:
            filling.append(element)
            yield element
        self.cached = filling  # only a complete pass is kept, as tf.data does


def _stack(elements):
    first = elements[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(elements)
    if isinstance(first, dict):
        return {key: _stack([element[key] for element in elements]) for key in first}
    if isinstance(first, (tuple, list)):
        return type(first)(_stack(list(parts)) for parts in zip(*elements))
    return torch.as_tensor(np.asarray(elements))


class _Batch(Dataset):
    def __init__(self, source, batch_size, drop_remainder):
        self.source, self.batch_size, self.drop_remainder = source, batch_size, drop_remainder

    def cardinality(self):
        length = self.source.cardinality()
        if length < 0:
            return length
        return length // self.batch_size if self.drop_remainder else math.ceil(length / self.batch_size)

    def _elements(self):
        if isinstance(self.source, _TensorSlices):  # slices of the arrays, not stacks of rows
            stop = self.cardinality() * self.batch_size if self.drop_remainder else self.source.size
            for start in range(0, stop, self.batch_size):
                yield self.source.slice(start, min(start + self.batch_size, stop))
            return
        iterator = iter(self.source)
        while True:
            elements = list(itertools.islice(iterator, self.batch_size))
            if not elements or (self.drop_remainder and len(elements) < self.batch_size):
                return
            yield _stack(elements)


class _Unbatch(Dataset):
    def __init__(self, source):
        self.source = source

    def _elements(self):
        for batch in self.source:
            leaves, spec = pytree.tree_flatten(batch)
            for index in range(len(leaves[0]) if leaves else 0):
                yield pytree.tree_unflatten([leaf[index] for leaf in leaves], spec)

