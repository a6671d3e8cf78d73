"""Exact rewrites that save time without changing any number, applied where a graph allows.

ReLU then max-pool: a layer ending in ReLU (`Conv2D`/`Dense` with `activation="relu"`, or
`Activation("relu")`) whose output only a `MaxPooling2D` reads pools first and applies the
ReLU to the pooled values. ReLU is monotonic, so `max(relu(x)) == relu(max(x))` in every
window, bit for bit, and the gradient reaches the same input cell with the same value (zero
where the window's maximum is not positive). The ReLU and its backward then touch a quarter
of the values (for 2x2 pools): on the seed convnet, the two largest activations.

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
from cnnkit.layers.convolutional.conv2d import Conv2D
from cnnkit.layers.core.dense import Dense
from cnnkit.layers.pooling.pooling2d import MaxPooling2D

_ACTIVATED = (Conv2D, Dense, Activation)


def relu_then_max_pool(layer, following):
    """Whether `following(layer(x))` may run as `relu(following(layer.preactivation(x)))`."""
    return (type(layer) in _ACTIVATED and layer.activation is torch.relu
            and type(following) is MaxPooling2D)


def relu_after_pool(layer, pool, x):
    return torch.relu(pool.call(layer.preactivation(x)))


def gives_logits(layer):
    """Whether `layer.activation(layer.preactivation(x))` is exactly what `layer(x)` computes."""
    return type(layer) in _ACTIVATED and hook_free(layer)


def hook_free(*modules):
    return not any(module._forward_hooks or module._forward_pre_hooks for module in modules)
