"""MetricLogs: the logs callbacks get are a mutable mapping, as Keras's dicts are, and metrics are
read back from the device only when read."""

import collections.abc

import numpy as np
import pytest

from cnnkit import layers, models
from cnnkit.callbacks import Callback
from cnnkit.engine.metric_logs import MetricLogs
from cnnkit.utils import to_categorical


class CountingMetric:
    """A metric tracker whose every read (a device sync in the real ones) is counted."""

    def __init__(self, name, value):
        self.name, self.value, self.reads = name, value, 0

    def result(self):
        self.reads += 1
        return self.value


@pytest.fixture
def trackers():
    return [CountingMetric("loss", 0.5), CountingMetric("accuracy", 0.75)]


def reads(trackers):
    return sum(tracker.reads for tracker in trackers)


def test_keys_length_and_membership_read_no_metric(trackers):
    logs = MetricLogs(trackers)
    assert isinstance(logs, collections.abc.MutableMapping)
    assert list(logs) == ["accuracy", "loss"] and len(logs) == 2 and "loss" in logs and "lr" not in logs
    assert list(logs.keys()) == ["accuracy", "loss"] and logs.get("lr") is None
    assert reads(trackers) == 0
    assert logs["loss"] == 0.5 and reads(trackers) == 1
    assert dict(logs) == {"accuracy": 0.75, "loss": 0.5} and reads(trackers) == 3  # each metric once


def test_values_are_read_when_read_not_when_made(trackers):
    logs = MetricLogs(trackers)
    trackers[0].value = 0.25  # the metric moves on after the logs were handed out
    assert logs["loss"] == 0.25


def test_callbacks_may_add_replace_and_delete_keys(trackers):
    logs = MetricLogs(trackers)
    logs["learning_rate"] = 0.001
    logs["loss"] = 9.0
    del logs["accuracy"]
    assert dict(logs) == {"loss": 9.0, "learning_rate": 0.001} and len(logs) == 2
    assert "accuracy" not in logs and reads(trackers) == 0  # a replaced or deleted metric is not read
    with pytest.raises(KeyError):
        logs["accuracy"]
    with pytest.raises(KeyError):
        del logs["accuracy"]
    logs["accuracy"] = 1.0
    del logs["learning_rate"]
    assert dict(logs) == {"accuracy": 1.0, "loss": 9.0}
    logs.update(lr=0.5)
    assert logs.pop("lr") == 0.5 and logs.setdefault("epochs", 3) == 3
    assert logs.copy() == {"accuracy": 1.0, "loss": 9.0, "epochs": 3} and type(logs.copy()) is dict


def test_added_keys_follow_the_metrics_in_the_order_added(trackers):
    logs = MetricLogs(trackers)
    logs["b"], logs["a"] = 1, 2
    assert list(logs) == ["accuracy", "loss", "b", "a"]
    assert repr(logs) == "MetricLogs({'accuracy': 0.75, 'loss': 0.5, 'b': 1, 'a': 2})"


def test_a_callback_extends_the_batch_logs_of_fit_for_the_callbacks_after_it():
    """Keras's logs are dicts callbacks may extend (`logs["lr"] = ...`); a real fit's batch logs too."""
    seen = []

    class AddsTheRate(Callback):
        def on_train_batch_end(self, batch, logs=None):
            logs["lr"] = float(self.model.optimizer.learning_rate)
            del logs["accuracy"]

    class Reads(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(dict(logs))

    model = models.Sequential([layers.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((8, 4), dtype=np.float32)
    model.fit(x, to_categorical(np.arange(8) % 2), batch_size=4, verbose=0, callbacks=[AddsTheRate(), Reads()])
    assert [sorted(logs) for logs in seen] == [["loss", "lr"], ["loss", "lr"]]
    assert seen[0]["lr"] == pytest.approx(0.01)
