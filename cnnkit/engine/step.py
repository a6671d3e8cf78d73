"""One step of training or testing: forward, loss, backward, update, metrics."""

import torch

from cnnkit.engine.objectives import reduce_loss

from cnnkit.layers.base import as_outermost_call, losses_recorded
from cnnkit.layers.node import flatten


class LossHead:
    """Runs a model and its loss(es); fuses a final softmax/sigmoid into the loss where exact.

    With `Dense(10, activation="softmax")` last and categorical crossentropy, the loss is
    computed from the Dense layer's logits by log-softmax (exact and stable), while the
    metrics still see the probabilities. Only where the model can give its logits
    (`model.final_layer()`: a graph's plain built-in last layer, no hooks, one output).

    Called with `(x, y)`: the model's inputs (as the model takes them) and the list of
    each output's targets; returns `(list of predictions, total mean loss, per-output losses)`.

    The total adds `sum(model.losses)` (weight and activity regularizers, `add_loss`) as
    Keras's `compute_loss` does, in training and in testing; a model without any pays nothing.
    """

    def __init__(self, model, objectives=None):
        self.model = model
        self.objectives = objectives or model.require_objectives()
        self.policy = model.dtype_policy
        self.training = True
        self.penalized = model._has_penalties()
        loss = self.objectives.losses[0]
        final = model.final_layer() if self.objectives.single else None
        self.final = final
        self.fused = (
            final is not None
            and not loss.from_logits
            and loss.fusable_activation is not None
            and getattr(final, "activation", None) is loss.fusable_activation
        )

    def __call__(self, x, y, sample_weight=None):
        predictions, total, per_output = self.compute(x, y, sample_weight)
        if self.penalized or losses_recorded():
            extra = self.model.losses
            if extra:
                total = total + sum(loss.float() if isinstance(loss, torch.Tensor) else loss for loss in extra)
        return predictions, total, per_output

    def compute(self, x, y, sample_weight=None):
        if not self.fused:
            with self.policy.autocast(_device_of(x)):
                predictions = [p.float() for p in flatten(self.model(x, training=self.training))]
            total, per_output = self.objectives(y, predictions, sample_weight)
            return predictions, total, per_output
        with self.policy.autocast(_device_of(x)):
            logits = as_outermost_call(self.model, self.model.call_logits, x, training=self.training).float()
        loss = reduce_loss(self.objectives.losses[0].call_on_logits(y[0], logits), sample_weight)
        return [self.final.activation(logits.detach())], loss, [loss]



def _device_of(x):
    return flatten(x)[0].device


def update_trackers(trackers, y, predictions, total, per_output, count):
    """The loss trackers take the batch's losses, the metrics its targets and predictions."""
    with torch.no_grad():
        for tracker in trackers:
            kind, index = tracker.watches
            if kind == "loss":
                tracker.update_state(total if index is None else per_output[index], count)
            else:
                tracker.update_state(y[index], predictions[index])


def train_step(head, optimizer, trackers, x, y, sample_weight=None, constraints=()):
    """One update; `constraints` (from `model._constrained_weights()`) are applied after it, as Keras does."""
    predictions, total, per_output = head(x.structure(), y.tensors, sample_weight)
    if total.requires_grad:  # a wholly frozen model updates nothing, as in Keras
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        if constraints:
            apply_constraints(constraints)
    update_trackers(trackers, y.tensors, predictions, total, per_output, len(x))


def test_step(head, trackers, x, y, sample_weight=None):
    predictions, total, per_output = head(x.structure(), y.tensors, sample_weight)
    update_trackers(trackers, y.tensors, predictions, total, per_output, len(x))


@torch.no_grad()
def apply_constraints(constraints):
    """Projects each updated weight with its constraint, on the weight in Keras's layout (Keras's
    optimizer does so for the weights it updated: those with a gradient)."""
    for weight, owner, name, constraint in constraints:
        if weight.grad is not None:
            weight.copy_(owner.from_keras_layout(name, constraint(owner.to_keras_layout(name, weight))))
