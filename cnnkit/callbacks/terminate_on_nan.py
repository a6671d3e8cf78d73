"""Stops training at the first batch whose loss is NaN or infinite."""

import math

from cnnkit.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Keras's `TerminateOnNaN`, naming the batch and the epoch.

    Args:
        raise_error: bool; False (default) stops training after the batch, True raises RuntimeError.

    Reading the loss after every batch waits for the device each step (a host sync): that
    cost is paid only when this callback is used; the default fit loop never syncs per batch.
    The loss read is the epoch's running mean, which turns NaN at the first NaN batch.
    Batches and epochs are counted from 1, as in the progress bar.

    Example:
        >>> model.fit(x, y, epochs=5, callbacks=[TerminateOnNaN()])  # doctest: +SKIP
        Batch 17 of epoch 3: invalid loss nan, terminating training
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        message = f"Batch {batch + 1} of epoch {self.epoch + 1}: invalid loss {loss}, terminating training"
        if self.raise_error:
            raise RuntimeError(message)
        print(message, flush=True)
        self.model.stop_training = True
