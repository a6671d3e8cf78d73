"""`PyDataset`: Keras 3's base class for datasets that build one batch per index."""


class PyDataset:
    """A dataset of batches: subclass it, define `__len__` (the number of batches) and
    `__getitem__(index)` (the batch: `x`, `(x, y)` or `(x, y, sample_weight)`), and pass it to
    `fit`, `evaluate` or `predict`.

    Args:
        workers: int, processes loading batches in parallel when `use_multiprocessing` (torch's
            DataLoader workers). Default 1.
        use_multiprocessing: bool, load batches in worker processes. Default False (this process).
        max_queue_size: int, batches prepared ahead across the workers. Default 10.

    Example:
        >>> import numpy as np
        >>> class Squares(PyDataset):
        ...     def __len__(self):
        ...         return 2
        ...     def __getitem__(self, index):
        ...         x = np.full((4, 1), index, "float32")
        ...         return x, x ** 2
        >>> len(Squares()), Squares()[1][1].ravel().tolist()
        (2, [1.0, 1.0, 1.0, 1.0])
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__: the number of batches.")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__: the batch at `index`.")

    def __iter__(self):
        """The batches in order (Python would otherwise index past `__len__` until an IndexError)."""
        return (self[index] for index in range(len(self)))

    @property
    def num_batches(self):
        return len(self)

    def on_epoch_end(self):
        """Called after each epoch; override to reshuffle, for example."""
