"""The `logs` that fit, evaluate and their callbacks see: a dict of metric values, read lazily."""

import collections.abc


class MetricLogs(collections.abc.MutableMapping):
    """`{name: float}` of running metrics, each read back from the device only when read.

    As in Keras, where `logs` is a plain dict, callbacks may add, replace and delete keys
    (`logs["lr"] = ...`, `del logs["loss"]`): the changes are seen by the callbacks after
    them and by `dict(logs)`. A metric nobody reads is never synchronised with the device;
    `dict(logs)` reads each metric once.

    Args:
        metrics: the metric trackers (objects with `name` and `result()`), listed in name order.

    Example:
        >>> class Mean:
        ...     name = "loss"
        ...     def result(self):
        ...         return 0.25
        >>> logs = MetricLogs([Mean()])
        >>> logs["learning_rate"] = 0.001
        >>> dict(logs)
        {'loss': 0.25, 'learning_rate': 0.001}
    """

    def __init__(self, metrics):
        self.metrics = {metric.name: metric for metric in sorted(metrics, key=lambda metric: metric.name)}
        self.values = {}  # what callbacks set, in the order they set it
        self.deleted = set()  # metrics callbacks removed

    def __getitem__(self, name):
        if name in self.values:
            return self.values[name]
        if name in self.deleted or name not in self.metrics:
            raise KeyError(name)
        return self.metrics[name].result()

    def __setitem__(self, name, value):
        self.deleted.discard(name)
        self.values[name] = value

    def __delitem__(self, name):
        if name not in self:
            raise KeyError(name)
        self.values.pop(name, None)
        if name in self.metrics:
            self.deleted.add(name)

    def __contains__(self, name):
        return name in self.values or (name in self.metrics and name not in self.deleted)

    def __iter__(self):
        """The metrics in name order, then the keys callbacks added, in the order they added them."""
        yield from (name for name in self.metrics if name not in self.deleted)
        yield from (name for name in self.values if name not in self.metrics)

    def __len__(self):
        return sum(1 for _ in self)

    def copy(self):
        """A plain dict of the current values (reads every metric), as `dict.copy` gives in Keras."""
        return dict(self)

    def __repr__(self):
        return f"MetricLogs({dict(self)!r})"
