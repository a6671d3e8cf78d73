"""Sets the learning rate at the start of every epoch from a schedule function."""

import numpy as np

from cnnkit.callbacks._learning_rate import require_settable_learning_rate
from cnnkit.callbacks.callback import Callback


class LearningRateScheduler(Callback):
    """Keras's `LearningRateScheduler`: `lr = schedule(epoch, lr)` before each epoch.

    Args:
        schedule: function `(epoch, lr) -> float` (epoch from 0), or `(epoch) -> float`.
        verbose: 0 or 1 (print each new rate). Default 0.

    Adds the current `learning_rate` to the epoch logs, as Keras does.

    Raises:
        TypeError: when training begins, if the optimizer follows a learning-rate schedule
            (Keras raises the same before the first epoch): the callback would replace it.

    Example:
        >>> halve_after_5 = LearningRateScheduler(lambda epoch, lr: lr if epoch < 5 else lr * 0.5)
        >>> model.fit(x, y, epochs=10, callbacks=[halve_after_5])  # doctest: +SKIP
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        require_settable_learning_rate(self.model.optimizer, type(self).__name__)

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            learning_rate = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # Keras also accepts the old one-argument schedules
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {learning_rate}")
        optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
