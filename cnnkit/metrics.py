"""Streaming metrics that stay on the device until someone reads them.

Each metric keeps a running total as a tensor on the model's device and the sample
count as a Python int, so updating costs no host sync; `result()` syncs once.

Example:
    >>> import torch
    >>> metric = get("accuracy", loss="categorical_crossentropy")
    >>> metric.update_state(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.2, 0.8]]))
    >>> metric.result()
    1.0
"""

import torch


def categorical_accuracy(y_true, y_pred):
    return (y_pred.argmax(dim=-1) == y_true.argmax(dim=-1)).float()


def sparse_categorical_accuracy(y_true, y_pred):
    return (y_pred.argmax(dim=-1) == y_true.reshape(y_pred.shape[:-1])).float()


def binary_accuracy(y_true, y_pred, threshold=0.5):
    return ((y_pred > threshold).float() == y_true).float().mean(dim=-1)


def mean_absolute_error(y_true, y_pred):
    return (y_pred - y_true).abs().mean(dim=-1)


def mean_squared_error(y_true, y_pred):
    return (y_pred - y_true).square().mean(dim=-1)


class Mean:
    """The weighted mean of the values it is given, e.g. the batch losses.

    `total` (a device tensor) and `count` (an int) are public so that the distributed
    engine can all-reduce them.
    """

    def __init__(self, name):
        self.name = name
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0

    def update_state(self, value, weight=1):
        self.total = self.total + value.detach() * weight
        self.count += weight

    def result(self):
        return float(self.total) / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """The mean over samples of a per-sample function `fn(y_true, y_pred)`."""

    def __init__(self, fn, name):
        super().__init__(name)
        self.fn = fn

    def update_state(self, y_true, y_pred):
        values = self.fn(y_true, y_pred.detach())
        self.total = self.total + values.sum()
        self.count += values.numel()


_METRICS = {
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
}


def _accuracy_for(loss_name, output_size):
    """Keras's resolution of "accuracy": binary, sparse or categorical from the loss."""
    if loss_name == "binary_crossentropy" or output_size == 1:
        return binary_accuracy
    if loss_name == "sparse_categorical_crossentropy":
        return sparse_categorical_accuracy
    return categorical_accuracy


def get(identifier, loss=None, output_size=None):
    """A metric from a name ("accuracy" resolves from `loss`), a callable, or a Metric."""
    if isinstance(identifier, Mean):
        return identifier
    if identifier in ("accuracy", "acc"):
        loss_name = loss if isinstance(loss, str) else getattr(loss, "name", None)
        return MeanMetricWrapper(_accuracy_for(loss_name, output_size), identifier)
    if isinstance(identifier, str) and identifier in _METRICS:
        return MeanMetricWrapper(_METRICS[identifier], identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier, getattr(identifier, "__name__", "metric"))
    raise ValueError(
        f"Unknown metric {identifier!r}. Expected a callable or one of: accuracy, {', '.join(_METRICS)}."
    )
