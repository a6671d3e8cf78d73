"""What the random augmentation layers share: seeds, one image or a batch, when they are active.

As in Keras 3, an augmentation layer is active when called directly on images (its `call` says
`training=True`) and inside a model while it trains (`fit`, or `model(x)` outside any training
flag); `predict`, `evaluate` and `model(x, training=False)` pass its input through. Each image of
a batch gets its own random draw, on the input's device, from the layer's `SeedGenerator`: the
same `seed` gives the same transforms on every run.
"""

import numbers

import torch

from cnnkit.layers.base import Layer
from cnnkit.random import SeedGenerator, _generator
from cnnkit.utils.argument_validation import check_data_format


class _Augmentation(Layer):
    """Base of the augmentation layers: validates `seed`, takes `(N, H, W, C)` or `(H, W, C)`.

    Subclasses implement `augment(images, generator)` for a batch in training, and may override
    `at_inference(images)` (identity by default).
    """

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format, self.name)
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"Argument `seed` of layer '{self.name}' must be an int or None. Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)
        self.generator = SeedGenerator(self.seed)

    def check_input_shape(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise self.incompatible_input(input_shape, "rank 3 (one image) or rank 4 (a batch of images)")

    def call(self, inputs, training=True):
        images = inputs if inputs.dtype == torch.float32 else inputs.float()  # as Keras: float32 out
        if images.ndim not in (3, 4):
            raise ValueError(
                f"Layer '{self.name}' expects images of rank 3 (single image) or 4 (batch of images). "
                f"Received: shape={tuple(images.shape)}"
            )
        batch = images.unsqueeze(0) if images.ndim == 3 else images
        if not training:
            outputs = self.at_inference(batch)
        elif batch.shape[0] == 0:
            outputs = batch
        else:
            outputs = self.augment(batch, _generator(self.generator, batch.device))
        return outputs[0] if images.ndim == 3 else outputs

    def augment(self, images, generator):
        raise NotImplementedError

    def at_inference(self, images):
        return images

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last"}


def uniform(generator, count, low, high, device):
    """`count` float32 values drawn uniformly from [low, high), as Keras's `random.uniform`."""
    values = torch.rand(count, generator=generator, device=device)
    return values * (high - low) + low


def is_number(value):
    return isinstance(value, numbers.Real)


def factor_bounds(factor, bounds, layer_name, argument="factor"):
    """Keras's `(lower, upper)` for a number or a pair of numbers, checked against `bounds` as
    Keras's image preprocessing base checks it (a number `f` gives `(max(-|f|, low), |f|)`)."""
    low, high = bounds
    message = (
        f"Argument `{argument}` of layer '{layer_name}' should be a number (or a list of two numbers) in the "
        f"range [{low}, {high}]. Received: {argument}={factor!r}"
    )
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(is_number(value) for value in factor):
            raise ValueError(message)
        if factor[0] > high or factor[1] < low:
            raise ValueError(message)
        return tuple(sorted(factor))
    if is_number(factor):
        if factor < low or factor > high:
            raise ValueError(message)
        return max(-abs(factor), low), abs(factor)
    raise ValueError(message)


def signed_bounds(factor, argument, layer_name, include_minus_one=True):
    """`(lower, upper)` of RandomZoom's and RandomTranslation's factors: a number `f` gives
    `(-|f|, |f|)`, a pair is sorted; every number within [-1, 1] (or (-1, 1]), as Keras checks them."""
    interval = "[-1.0, 1.0]" if include_minus_one else "(-1.0, 1.0]"
    pair = isinstance(factor, (tuple, list))
    values = factor if pair else [factor]
    if len(values) != (2 if pair else 1) or not all(
        is_number(value) and (-1.0 <= value if include_minus_one else -1.0 < value) and value <= 1.0
        for value in values
    ):
        raise ValueError(f"Argument `{argument}` of layer '{layer_name}' should be a number (or a list of two "
                         f"numbers) in the range {interval}. Received: {argument}={factor!r}")
    return tuple(sorted(values)) if pair else (-abs(factor), abs(factor))


def check_value_range(value_range, layer_name):
    """A `value_range` of two numbers, as a list; raises naming the layer otherwise."""
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2 or not all(map(is_number, value_range)):
        raise ValueError(
            f"Argument `value_range` of layer '{layer_name}' should be a list of two numbers. "
            f"Received: value_range={value_range!r}"
        )
    return list(value_range)
