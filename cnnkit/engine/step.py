"""One step of training or testing: forward, loss, backward, update, metrics."""

import collections.abc

import torch

from cnnkit.engine.fusion import run_layers


class LossHead:
    """Runs a model and its loss, fusing a final softmax/sigmoid into the loss.

    With `Dense(10, activation="softmax")` and categorical crossentropy, the loss is
    computed from the Dense layer's logits by log-softmax (exact and stable), while the
    metrics still see the probabilities.
    """

    def __init__(self, model, loss):
        self.model = model
        self.loss = loss
        self.policy = model.dtype_policy
        last = model.layers[-1]
        self.fused = (
            not loss.from_logits
            and loss.fusable_activation is not None
            and getattr(last, "activation", None) is loss.fusable_activation
            and hasattr(last, "preactivation")
        )

    def __call__(self, x, y):
        """Returns (predictions, mean loss); the forward pass runs under the dtype policy,
        the loss in float32."""
        if not self.fused:
            with self.policy.autocast(x.device):
                predictions = self.model(x)
            return predictions, self.loss(y, predictions.float())
        *body, last = self.model.layers
        with self.policy.autocast(x.device):
            logits = last.preactivation(run_layers(body, x)).float()
        return last.activation(logits.detach()), self.loss.call_on_logits(y, logits).mean()


class MetricLogs(collections.abc.Mapping):
    """A read-only view `{name: float}` of running metrics, computed only when read.

    Reading syncs with the device once per access of all values (`dict(logs)`).
    """

    def __init__(self, metrics):
        self.metrics = {metric.name: metric for metric in sorted(metrics, key=lambda m: m.name)}

    def __getitem__(self, name):
        return self.metrics[name].result()

    def __iter__(self):
        return iter(self.metrics)

    def __len__(self):
        return len(self.metrics)


def train_step(head, optimizer, loss_tracker, metrics, x, y):
    predictions, loss = head(x, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    loss_tracker.update_state(loss, len(x))
    with torch.no_grad():
        for metric in metrics:
            metric.update_state(y, predictions)


def test_step(head, loss_tracker, metrics, x, y):
    predictions, loss = head(x, y)
    loss_tracker.update_state(loss, len(x))
    for metric in metrics:
        metric.update_state(y, predictions)
