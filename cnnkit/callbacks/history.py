"""Records every epoch's logs: what `fit` returns."""

from cnnkit.callbacks.callback import Callback


class History(Callback):
    """`history.history` maps each metric name to its list of per-epoch values.

    Example:
        >>> history = model.fit(x, y, epochs=2)  # doctest: +SKIP
        >>> history.history["loss"]  # doctest: +SKIP
        [0.31, 0.12]
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
