"""Streams each epoch's logs to a CSV file."""

import collections.abc
import csv
import os

import numpy as np

from cnnkit.callbacks.callback import Callback
from cnnkit.distributed import is_main_process


def _csv_value(value):
    """Strings and numbers as they are; 1-D iterables as a quoted "[a, b]" list, as Keras writes them."""
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Keras's `CSVLogger`: one row per epoch, `epoch` first, then the log keys sorted.

    Args:
        filename: str or path of the CSV file, e.g. "run/log.csv".
        separator: str, the column separator. Default ",".
        append: bool, append to an existing file (no second header) instead of overwriting it.

    As in Keras, when the logs have no `val_` keys, `val_` columns are still written (as "NA"),
    and the file is flushed after every row, so it can be watched while training runs.

    Example:
        >>> model.fit(x, y, epochs=3, callbacks=[CSVLogger("training.csv")])  # doctest: +SKIP
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.keys = None
        self.writer = None
        self.csv_file = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        if not is_main_process():  # under torchrun, rank 0 writes the file
            return
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as existing:
                self.append_header = not existing.readline()
        self.close()
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")
        self.keys = None
        self.writer = None

    def on_epoch_end(self, epoch, logs=None):
        if self.csv_file is None:
            return
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        if self.writer is None:
            dialect = type("Dialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys], dialect=dialect)
            if self.append_header:
                self.writer.writeheader()
        self.writer.writerow({"epoch": epoch, **{key: _csv_value(logs.get(key, "NA")) for key in self.keys}})
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self.close()
        self.writer = None

    def close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
