"""Lowers the learning rate when a monitored metric has stopped improving."""

import numpy as np

from cnnkit.callbacks._learning_rate import require_settable_learning_rate
from cnnkit.callbacks._monitor import MonitorCallback


class ReduceLROnPlateau(MonitorCallback):
    """Keras's `ReduceLROnPlateau`: `lr *= factor` after `patience` epochs without improvement.

    Args:
        monitor: str, the quantity to watch. Default "val_loss".
        factor: float < 1, the multiplier of the learning rate. Default 0.1.
        patience: int, epochs without improvement before reducing. Default 10.
        verbose: 0 or 1 (print each reduction). Default 0.
        mode: "auto", "min" or "max". Default "auto".
        min_delta: float, changes smaller than this are no improvement. Default 1e-4.
        cooldown: int, epochs to wait after a reduction before counting again. Default 0.
        min_lr: float, the learning rate never goes below this. Default 0.

    Adds the current `learning_rate` to the epoch logs, as Keras does.

    Raises:
        TypeError: when training begins, if the optimizer follows a learning-rate schedule
            (Keras raises the same at the first reduction): the callback would replace it.

    Example:
        >>> reduce = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=1e-5)
        >>> model.fit(x, y, validation_split=0.1, epochs=30, callbacks=[reduce])  # doctest: +SKIP
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        super().__init__(monitor, mode, min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.reset()

    def on_train_begin(self, logs=None):
        require_settable_learning_rate(self.model.optimizer, type(self).__name__)
        self.reset()

    def reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = self.monitored_value(logs, "Learning rate reduction")
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self.reduce_learning_rate(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def reduce_learning_rate(self, epoch):
        """Multiplies the optimizer's learning rate by `factor` (not below `min_lr`); False if already there."""
        optimizer = self.model.optimizer
        old_lr = float(optimizer.learning_rate)
        if old_lr <= np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        return True
