"""Losses by Keras name, with Keras's reductions and a numerically stable path.

When a model ends in softmax (or sigmoid) and the loss is categorical (or binary)
crossentropy, the engine hands the loss the pre-activation logits instead: the loss is
then a log-softmax, never the log of a rounded probability.

Example:
    >>> import torch
    >>> loss = get("categorical_crossentropy")
    >>> round(float(loss(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]))), 4)
    0.6931
"""

import torch
import torch.nn.functional as F

from cnnkit import activations

EPSILON = 1e-7


class Loss:
    """Base class: `call` gives one value per sample, `__call__` their mean.

    Subclasses that can fuse with the model's last activation set `fusable_activation`
    and implement `call_on_logits`.
    """

    fusable_activation = None

    def __init__(self, name, from_logits=False):
        self.name = name
        self.from_logits = from_logits

    def __call__(self, y_true, y_pred):
        return self.call(y_true, y_pred).mean()

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def call_on_logits(self, y_true, logits):
        raise NotImplementedError

    def prepare_targets(self, y, output_shape):
        """Checks targets against the model's output shape; returns them as float32."""
        y = torch.as_tensor(y)
        if tuple(y.shape[1:]) == tuple(output_shape[1:]):
            return y.float()
        if y.ndim == 1 and tuple(output_shape[1:]) == (1,):
            return y.float().reshape(-1, 1)
        raise ValueError(
            f"Loss '{self.name}' expects targets shaped like the model's output {output_shape}; "
            f"received targets of shape {tuple(y.shape)}."
        )

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


class CategoricalCrossentropy(Loss):
    """Crossentropy between one-hot (or soft) targets and class probabilities."""

    fusable_activation = staticmethod(activations.softmax)  # a plain function would bind as a method

    def __init__(self, from_logits=False, label_smoothing=0.0, name="categorical_crossentropy"):
        super().__init__(name, from_logits)
        self.label_smoothing = label_smoothing

    def _smooth(self, y_true):
        if not self.label_smoothing:
            return y_true
        return y_true * (1 - self.label_smoothing) + self.label_smoothing / y_true.shape[-1]

    def call(self, y_true, y_pred):
        if self.from_logits:
            return self.call_on_logits(y_true, y_pred)
        probabilities = y_pred / y_pred.sum(dim=-1, keepdim=True)
        return -(self._smooth(y_true) * probabilities.clamp(EPSILON, 1 - EPSILON).log()).sum(dim=-1)

    def call_on_logits(self, y_true, logits):
        return -(self._smooth(y_true) * F.log_softmax(logits, dim=-1)).sum(dim=-1)

    def prepare_targets(self, y, output_shape):
        y = torch.as_tensor(y)
        if tuple(y.shape[1:]) != tuple(output_shape[1:]):
            raise ValueError(
                f"Loss '{self.name}' expects one-hot targets shaped like the model's output "
                f"{output_shape}; received targets of shape {tuple(y.shape)}. For integer class "
                f"labels use loss='sparse_categorical_crossentropy', or one-hot encode them with "
                f"cnnkit.utils.to_categorical(y)."
            )
        return y.float()

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class SparseCategoricalCrossentropy(Loss):
    """Crossentropy between integer class labels and class probabilities."""

    fusable_activation = staticmethod(activations.softmax)  # a plain function would bind as a method

    def __init__(self, from_logits=False, name="sparse_categorical_crossentropy"):
        super().__init__(name, from_logits)

    def call(self, y_true, y_pred):
        y_true = y_true.reshape(y_pred.shape[:-1]).long()  # (n,) or (n, 1), ints or integral floats, as Keras
        if self.from_logits:
            return self.call_on_logits(y_true, y_pred)
        picked = y_pred.gather(-1, y_true.unsqueeze(-1)).squeeze(-1)
        total = y_pred.sum(dim=-1)
        return -(picked / total).clamp(EPSILON, 1 - EPSILON).log()

    def call_on_logits(self, y_true, logits):
        return F.cross_entropy(logits, y_true, reduction="none")

    def prepare_targets(self, y, output_shape):
        y = torch.as_tensor(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.reshape(-1)
        classes = output_shape[-1]
        if y.ndim != 1 or y.is_floating_point() and not torch.equal(y, y.round()):
            raise ValueError(
                f"Loss '{self.name}' expects integer class labels of shape (n,) or (n, 1); received "
                f"targets of shape {tuple(y.shape)} and dtype {y.dtype}. For one-hot targets use "
                f"loss='categorical_crossentropy'."
            )
        y = y.long()
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= classes):
            raise ValueError(
                f"Loss '{self.name}': labels must be in [0, {classes}) for a model with {classes} "
                f"outputs; received labels from {int(y.min())} to {int(y.max())}."
            )
        return y


class BinaryCrossentropy(Loss):
    """Crossentropy of independent yes/no targets, averaged over the last axis."""

    fusable_activation = activations.get("sigmoid")

    def __init__(self, from_logits=False, label_smoothing=0.0, name="binary_crossentropy"):
        super().__init__(name, from_logits)
        self.label_smoothing = label_smoothing

    def _smooth(self, y_true):
        return y_true * (1 - self.label_smoothing) + 0.5 * self.label_smoothing if self.label_smoothing else y_true

    def call(self, y_true, y_pred):
        if self.from_logits:
            return self.call_on_logits(y_true, y_pred)
        y_true = self._smooth(y_true)
        p = y_pred.clamp(EPSILON, 1 - EPSILON)
        return -(y_true * p.log() + (1 - y_true) * (1 - p).log()).mean(dim=-1)

    def call_on_logits(self, y_true, logits):
        return F.binary_cross_entropy_with_logits(logits, self._smooth(y_true), reduction="none").mean(dim=-1)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class MeanSquaredError(Loss):
    def __init__(self, name="mean_squared_error"):
        super().__init__(name)

    def call(self, y_true, y_pred):
        return (y_pred - y_true).square().mean(dim=-1)

    def get_config(self):
        return {"name": self.name}


class MeanAbsoluteError(Loss):
    def __init__(self, name="mean_absolute_error"):
        super().__init__(name)

    def call(self, y_true, y_pred):
        return (y_pred - y_true).abs().mean(dim=-1)

    def get_config(self):
        return {"name": self.name}


_CLASSES = {cls.__name__: cls for cls in (
    CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError, MeanAbsoluteError,
)}

_LOSSES = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
}


def _functional(loss_class):
    def loss_function(y_true, y_pred, **kwargs):
        return loss_class(**kwargs).call(torch.as_tensor(y_true), torch.as_tensor(y_pred))

    loss_function.__doc__ = f"Per-sample {loss_class.__name__}; see the class for arguments."
    return loss_function


categorical_crossentropy = _functional(CategoricalCrossentropy)
sparse_categorical_crossentropy = _functional(SparseCategoricalCrossentropy)
binary_crossentropy = _functional(BinaryCrossentropy)
mean_squared_error = _functional(MeanSquaredError)
mean_absolute_error = _functional(MeanAbsoluteError)


def get(identifier):
    """A Loss from a Keras name, a class, an instance, or a config dict."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    if isinstance(identifier, str) and identifier.lower() in _LOSSES:
        return _LOSSES[identifier.lower()]()
    raise ValueError(f"Unknown loss {identifier!r}. Expected a Loss or one of: {', '.join(_LOSSES)}.")


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
