"""Exact rewrites that save time without changing any number, applied where a graph allows.

ReLU then max-pool: a layer ending in ReLU (`Conv2D`/`Dense` with `activation="relu"`, or
`Activation("relu")`) whose output only a `MaxPooling2D` reads pools first and applies the
ReLU to the pooled values. ReLU is monotonic, so `max(relu(x)) == relu(max(x))` in every
window, bit for bit, and the gradient reaches the same input cell with the same value (zero
where the window's maximum is not positive). The ReLU and its backward then touch a quarter
of the values (for 2x2 pools): on the seed convnet, the two largest activations.

BatchNormalization then ReLU: a `BatchNormalization` whose output only `Activation("relu")` (or
a default `ReLU()`) reads runs both as one op (`BatchNormalization.call_then_relu`); in training
on float32 CPU images that is a native kernel that passes over memory fewer times, computing
the same numbers to float32 rounding (checked against torch's ops in the tests).

Final activation into the loss: a model ending in softmax (or sigmoid) trained with
crossentropy hands the loss its last layer's logits (see `engine.step.LossHead`).

Only cnnkit's own layers, without hooks, are rewritten: a subclass's `call()` or a hook must
not be skipped.

Example:
    >>> import torch
    >>> from cnnkit import layers
    >>> conv, pool = layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D()
    >>> conv.build_for((None, 8, 8, 1)), pool.build_for((None, 6, 6, 4))
    ((None, 6, 6, 4), (None, 3, 3, 4))
    >>> relu_then_max_pool(conv, pool)
    True
    >>> x = torch.randn(2, 8, 8, 1)
    >>> torch.equal(relu_after_pool(conv, pool, x), pool(conv(x)))
    True
"""

import torch

from cnnkit.layers.activations.activation import Activation
from cnnkit.layers.activations.relu import ReLU
from cnnkit.layers.convolutional.conv2d import Conv2D
from cnnkit.layers.core.dense import Dense
from cnnkit.layers.normalization.batch_normalization import BatchNormalization
from cnnkit.layers.pooling.pooling2d import MaxPooling2D

_ACTIVATED = (Conv2D, Dense, Activation)


def relu_then_max_pool(layer, following):
    """Whether `following(layer(x))` may run as `relu(following(layer.preactivation(x)))`."""
    return (type(layer) in _ACTIVATED and layer.activation is torch.relu
            and type(following) is MaxPooling2D)


def relu_after_pool(layer, pool, x):
    return torch.relu(pool.call(layer.preactivation(x)))


def batch_norm_then_relu(layer, following):
    """Whether `following(layer(x))` is BatchNormalization then a plain ReLU."""
    plain_relu = ((type(following) is Activation and following.activation is torch.relu)
                  or (type(following) is ReLU and following.max_value is None
                      and following.negative_slope == 0 and following.threshold == 0))
    return type(layer) is BatchNormalization and plain_relu


def fusable(layer, following):
    """Whether `following(layer(x))` may run as one fused step."""
    return relu_then_max_pool(layer, following) or batch_norm_then_relu(layer, following)


def run_fused(layer, following, x, training):
    """`following(layer(x))` for a `fusable` pair."""
    if type(following) is MaxPooling2D:
        return relu_after_pool(layer, following, x)
    return layer.call_then_relu(x, training=training)


def gives_logits(layer):
    """Whether `layer.activation(layer.preactivation(x))` is exactly what `layer(x)` computes."""
    return type(layer) in _ACTIVATED and hook_free(layer)


def hook_free(*modules):
    return not any(module._forward_hooks or module._forward_pre_hooks for module in modules)
