"""Saves the model (or its weights) during training, every epoch or only when it improves."""

import os

from cnnkit.callbacks._monitor import MonitorCallback
from cnnkit.distributed import is_main_process


class ModelCheckpoint(MonitorCallback):
    """Keras's `ModelCheckpoint`, writing atomic model files (`.keras`, Keras 3's, or `.cnnkit`) or
    weights files (`.weights.h5`, Keras 3's, or `.safetensors`).

    Args:
        filepath: str or path; may hold format fields filled from the epoch (from 1) and the
            logs, e.g. "ckpt/epoch{epoch:02d}-{val_loss:.2f}.keras". Must end in ".keras" or
            ".cnnkit", or with `save_weights_only=True` in ".weights.h5" or ".safetensors".
        monitor: str, the quantity `save_best_only` compares. Default "val_loss".
        verbose: 0 or 1 (print each save). Default 0.
        save_best_only: bool, save only when `monitor` improves on the best so far. Default False.
        save_weights_only: bool, save weights only (`model.save_weights`). Default False.
        mode: "auto", "min" or "max". Default "auto".
        save_freq: "epoch", or an int: save every that many batches. Default "epoch".
        initial_value_threshold: float or None, the value the first save must beat.

    Example:
        >>> best = ModelCheckpoint("best.keras", monitor="val_accuracy", save_best_only=True)
        >>> model.fit(x, y, validation_split=0.1, epochs=10, callbacks=[best])  # doctest: +SKIP
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, baseline=initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool) or save_freq < 1):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected 'epoch' or a positive int.")
        self.save_freq = save_freq
        extensions = (".weights.h5", ".safetensors") if save_weights_only else (".keras", ".cnnkit")
        if not self.filepath.endswith(extensions):
            what = "with `save_weights_only=True`" if save_weights_only else "for a whole model"
            raise ValueError(
                f"ModelCheckpoint: the filepath must end in `{extensions[0]}` or `{extensions[1]}` {what}. "
                f"Received: filepath={self.filepath}"
            )
        self.current_epoch = 0
        self.batches_since_save = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self.batches_since_save += 1
        if self.batches_since_save >= self.save_freq:
            self.batches_since_save = 0
            self.save(self.current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self.save(epoch, None, logs)

    def format_filepath(self, epoch, batch, logs):
        """`filepath` with `{epoch}` (from 1), `{batch}` (from 1, batch saves only) and log values filled in."""
        fields = dict(logs or {})
        if batch is not None:
            fields.setdefault("batch", batch + 1)
        try:
            return self.filepath.format(epoch=epoch + 1, **fields)
        except KeyError as error:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {error}') from None

    def should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = self.monitored_value(logs, "Saving the best model")
        if current is None:
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self.is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, "
                      f"saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def save(self, epoch, batch, logs):
        if not is_main_process():  # under torchrun, rank 0 saves; the others' weights are the same
            return
        filepath = self.format_filepath(epoch, batch, logs)
        if not self.should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                f"Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing "
                f"directory: {filepath}"
            )
        directory = os.path.dirname(filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)
