"""Writes each epoch's logs as TensorBoard scalars (needs the `tensorboard` package)."""

import os

from cnnkit.callbacks.callback import Callback
from cnnkit.distributed import is_main_process

INSTALL_HINT = (
    "The TensorBoard callback needs the `tensorboard` package, which is not installed. "
    "Install it with: pip install tensorboard"
)


def summary_writer_class():
    """torch's SummaryWriter, or ImportError with how to install `tensorboard`."""
    try:
        import tensorboard  # noqa: F401  (torch's writer needs it, and says so less clearly)
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return SummaryWriter


class TensorBoard(Callback):
    """Keras's `TensorBoard` for epoch scalars: `log_dir/train` and `log_dir/validation`.

    Args:
        log_dir: str or path of the log folder. Default "logs".

    Each log key is written as `epoch_<name>` (`val_` keys under validation), as Keras does;
    view them with `tensorboard --logdir logs`.

    Raises:
        ImportError: the `tensorboard` package is not installed (the message says how to install it).

    Example:
        >>> model.fit(x, y, epochs=5, callbacks=[TensorBoard("logs")])  # doctest: +SKIP
    """

    def __init__(self, log_dir="logs"):
        super().__init__()
        self.writer_class = summary_writer_class()
        self.log_dir = os.fspath(log_dir)
        self.writers = {}

    def writer(self, run):
        if run not in self.writers:
            self.writers[run] = self.writer_class(os.path.join(self.log_dir, run))
        return self.writers[run]

    def on_epoch_end(self, epoch, logs=None):
        if not is_main_process():  # under torchrun, rank 0 writes the logs
            return
        for key, value in (logs or {}).items():
            run, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            self.writer(run).add_scalar(f"epoch_{name}", value, epoch)
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()
        self.writers = {}
