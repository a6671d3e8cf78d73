"""What EarlyStopping, ReduceLROnPlateau and ModelCheckpoint share: a monitored value and its direction."""

import warnings

from cnnkit.callbacks.callback import Callback


def resolve_mode(mode, monitor, owner):
    """'min' or 'max'; Keras's "auto" is 'max' for accuracies ('acc' in the name, or 'fmeasure...'), else 'min'.

    Example:
        >>> resolve_mode("auto", "val_accuracy", "EarlyStopping"), resolve_mode("auto", "val_loss", "EarlyStopping")
        ('max', 'min')
    """
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
        mode = "auto"
    if mode != "auto":
        return mode
    return "max" if "acc" in monitor or monitor.startswith("fmeasure") else "min"


class MonitorCallback(Callback):
    """Tracks `monitor` in the epoch logs and decides what counts as an improvement.

    Args:
        monitor: str, a key of the logs such as "val_loss" or "val_accuracy".
        mode: "auto", "min" or "max".
        min_delta: float, the smallest change that counts as an improvement.
        baseline: float or None, the value to beat at first.
    """

    def __init__(self, monitor="val_loss", mode="auto", min_delta=0, baseline=None):
        super().__init__()
        self.monitor = monitor
        self.mode = resolve_mode(mode, monitor, type(self).__name__)
        self.min_delta = abs(min_delta)
        self.best = baseline

    def is_improvement(self, current, reference):
        """Whether `current` beats `reference` by more than `min_delta` (anything beats None)."""
        if reference is None:
            return True
        if self.mode == "max":
            return current - self.min_delta > reference
        return current + self.min_delta < reference

    def monitored_value(self, logs, purpose):
        """`logs[monitor]`, or None with Keras's warning naming the available keys."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"{purpose} is conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs.keys())}",
                stacklevel=3,
            )
        return value
