"""Feature normalization with a mean and variance given or learned from data by `adapt`."""

import numpy as np
import torch

from cnnkit.layers.base import Layer
from cnnkit.utils.argument_validation import is_integer

_EPSILON = 1e-7  # Keras's backend epsilon: the smallest standard deviation divided by


class Normalization(Layer):
    """Shifts and scales inputs to mean 0 and standard deviation 1: `(x - mean) / sqrt(variance)`,
    with one mean and variance per index of the `axis` dimensions, in training and at inference.

    Give `mean` and `variance`, or learn them from data with `adapt(data)` before `fit`.

    Args:
        axis: int, tuple of ints, or None: the axes with their own mean and variance (e.g. -1,
            the default, for one per channel); None for one mean and variance over everything.
        mean, variance: None (learn them with `adapt`), or numbers / arrays broadcast to the kept
            axes (aligned on the right). Both or neither.
        invert: bool; apply the inverse, `x * sqrt(variance) + mean`. Default False.

    Weights (adapted layers only), non-trainable, in Keras's order: mean and variance (the shape
    of the `axis` dimensions) and count (a scalar Keras keeps for old files; 0).

    Input shape: any, the `axis` sizes known. Output shape: the same.

    Example:
        >>> import numpy as np
        >>> layer = Normalization()
        >>> layer.adapt(np.array([[0.0, 7.0], [2.0, 9.0]], "float32"))
        >>> layer(np.array([[0.0, 7.0]], "float32")).tolist()
        [[-1.0, -1.0]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        axes = () if axis is None else (axis,) if is_integer(axis) else axis
        if not isinstance(axes, (tuple, list)) or not all(is_integer(a) for a in axes):
            raise ValueError(f"Argument `axis` of layer '{self.name}' must be an int, a tuple of ints or None. "
                             f"Received: axis={axis!r}")
        self.axis = tuple(int(a) for a in axes)
        if (mean is None) != (variance is None):
            raise ValueError(f"Layer '{self.name}': when setting values directly, both `mean` and `variance` must be "
                             f"set. Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"Layer '{self.name}': when setting values directly, `mean` and `variance` must "
                                 f"have the same shape. Received: mean shape {np.shape(mean)} and variance shape "
                                 f"{np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"Layer '{self.name}': the rank of `mean` must be less than or equal to the number "
                                 f"of axes ({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis "
                                 f"{self.axis}")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)

    def check_input_shape(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"Layer '{self.name}': all `axis` values must be in the range [-ndim, ndim). "
                             f"Received inputs with ndim={ndim}, while axis={self.axis}")
        for d in self.kept_axes(ndim):
            if input_shape[d] is None:
                raise ValueError(f"Layer '{self.name}': all `axis` values to be kept must have a known shape. "
                                 f"Received axis={self.axis}, inputs.shape={input_shape}, with unknown axis at "
                                 f"index {d}")

    def kept_axes(self, ndim):
        """The axes with their own statistics, as sorted non-negative indices."""
        return sorted({a % ndim for a in self.axis})

    def build(self, input_shape):
        ndim = len(input_shape)
        kept = self.kept_axes(ndim)
        self.broadcast_shape = tuple(input_shape[d] if d in kept else 1 for d in range(ndim))
        shape = tuple(input_shape[d] for d in kept)
        if self.input_mean is None:
            self.mean = self.add_weight(shape, "zeros", trainable=False, name="mean")
            self.variance = self.add_weight(shape, "ones", trainable=False, name="variance")
            # Keras's count is an int64 that adapt leaves at 0; float32 here, as cnnkit's weight files hold floats.
            self.count = self.add_weight((), "zeros", trainable=False, name="count")
            return
        for name, value in (("mean", self.input_mean), ("variance", self.input_variance)):
            self.register_buffer(f"given_{name}", self.broadcast_given(name, value, kept), persistent=False)

    def broadcast_given(self, name, value, kept):
        """A given mean or variance aligned on the right with the kept axes, broadcast to `broadcast_shape`."""
        value = torch.as_tensor(np.asarray(value, dtype="float32"), device=self._device())
        expanded = [1] * len(self.broadcast_shape)
        for i in range(1, value.dim() + 1):
            expanded[kept[-i]] = value.shape[-i]
        try:
            return torch.broadcast_to(value.reshape(expanded), self.broadcast_shape).contiguous()
        except RuntimeError as error:
            raise ValueError(f"Layer '{self.name}': `{name}` of shape {tuple(value.shape)} does not broadcast to the "
                             f"kept axes {tuple(kept)} of shape {self.broadcast_shape}.") from error

    def statistics(self):
        """`(mean, variance)` shaped to broadcast against the inputs."""
        if self.input_mean is not None:
            return self.given_mean, self.given_variance
        return self.mean.reshape(self.broadcast_shape), self.variance.reshape(self.broadcast_shape)

    def call(self, inputs):
        x = inputs if inputs.is_floating_point() else inputs.float()
        mean, variance = self.statistics()
        if x.dim() != len(self.broadcast_shape):
            raise self.incompatible_input(tuple(x.shape), f"rank {len(self.broadcast_shape)} (as built)")
        std = variance.sqrt().clamp_min(_EPSILON)
        if self.invert:
            return torch.addcmul(mean, x, std)
        return torch.sub(x, mean).div_(std)

    def compute_output_shape(self, input_shape):
        return input_shape

    def adapt(self, data):
        """Sets the mean and variance to those of `data`, per index of the `axis` dimensions.

        Args:
            data: a NumPy array or torch tensor (the whole data set), or an iterable of batches
                (a list of arrays, a generator, a torch DataLoader, ...); a batch that is a tuple
                `(x, y, ...)` counts by its `x`. Builds the layer for the data's shape if needed.
        """
        if self.input_mean is not None:
            raise ValueError(f"Layer '{self.name}' was given `mean` and `variance`; adapt() cannot learn them.")
        batches = iter([data] if isinstance(data, (np.ndarray, torch.Tensor)) else _iterate(data, self.name))
        first = next(batches, None)
        if first is None:
            raise ValueError(f"Layer '{self.name}': adapt() received no data (an empty iterable of batches).")
        first = _as_float64(first, self.name)
        shape = tuple(first.shape)
        if not self.built:
            ndim = len(shape)
            keeps_batch = 0 in self.kept_axes(ndim) if ndim and all(-ndim <= a < ndim for a in self.axis) else False
            self.build_for(shape if keeps_batch else (None, *shape[1:]))
        total = None
        for batch in [first, *map(lambda b: _as_float64(b, self.name), batches)]:
            total = self.merge(total, batch)
        mean, variance, _ = total
        with torch.no_grad():
            self.mean.copy_(mean.reshape(self.mean.shape))
            self.variance.copy_(variance.reshape(self.variance.shape))

    def merge(self, total, batch):
        """`(mean, variance, count)` of what `total` covers and `batch` (Chan's pooled formula, float64)."""
        kept = self.kept_axes(batch.dim()) if batch.dim() == len(self.broadcast_shape) else None
        if kept is None or any(batch.shape[d] != self.broadcast_shape[d] for d in kept):
            raise ValueError(f"Layer '{self.name}': adapt() got a batch of shape {tuple(batch.shape)}, incompatible "
                             f"with the layer's input shape {self.input_shape} and axis={self.axis}.")
        reduced = [d for d in range(batch.dim()) if d not in kept]
        count = int(np.prod([batch.shape[d] for d in reduced]))
        if not reduced:
            mean, variance = batch, torch.zeros_like(batch)
        else:
            variance, mean = torch.var_mean(batch, dim=reduced, correction=0, keepdim=True)
        mean, variance = mean.to(self.mean.device), variance.to(self.mean.device)
        if total is None:
            return mean, variance, count
        total_mean, total_variance, total_count = total
        merged = total_count + count
        delta = mean - total_mean
        new_mean = total_mean + delta * (count / merged)
        new_variance = (total_variance * total_count + variance * count
                        + delta.square() * (total_count * count / merged)) / merged
        return new_mean, new_variance, merged

    def get_config(self):
        def plain(value):
            return None if value is None else np.array(value).tolist()

        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": plain(self.input_mean), "variance": plain(self.input_variance)}


def _iterate(data, layer_name):
    """The batches of an iterable, each a tuple's first element where it is `(x, y, ...)`."""
    if not hasattr(data, "__iter__") or isinstance(data, (str, bytes, dict)):
        raise TypeError(f"Layer '{layer_name}': adapt() takes a NumPy array, a torch tensor or an iterable of batches. "
                        f"Received: {type(data).__name__}")
    for batch in data:
        if isinstance(batch, tuple) or (isinstance(batch, list) and batch
                                        and isinstance(batch[0], (np.ndarray, torch.Tensor))):
            batch = batch[0]  # (x, y, ...) as Keras takes it; [x, y] as a torch DataLoader gives it
        yield batch


def _as_float64(batch, layer_name):
    if isinstance(batch, torch.Tensor):
        return batch.detach().to(torch.float64)
    array = np.asarray(batch)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Layer '{layer_name}': adapt() takes numeric arrays; received a batch of dtype {array.dtype}.")
    return torch.from_numpy(array.astype("float64"))
