"""Stops training when a monitored metric has stopped improving."""

from cnnkit.callbacks._monitor import MonitorCallback


class EarlyStopping(MonitorCallback):
    """Keras's `EarlyStopping`: stop when `monitor` has not improved for `patience` epochs.

    Args:
        monitor: str, the quantity to watch. Default "val_loss".
        min_delta: float, changes smaller than this are no improvement. Default 0.
        patience: int, epochs without improvement before stopping. Default 0.
        verbose: 0 or 1 (print when stopping and when restoring weights). Default 0.
        mode: "auto", "min" or "max" ("auto": max for accuracies, else min). Default "auto".
        baseline: float or None; training stops unless the model improves on it. Default None.
        restore_best_weights: bool, end with the weights of the best epoch. Default False.
        start_from_epoch: int, epochs of warm-up before monitoring starts. Default 0.

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
        >>> model.fit(x, y, validation_split=0.1, epochs=100, callbacks=[stop])  # doctest: +SKIP
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = self.monitored_value(logs, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self.is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self.is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
