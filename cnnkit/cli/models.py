"""The named models `cnnkit train --model NAME` can build, with the settings each trains with.

A `NamedModel` builds a `Sequential` for 28x28x1 inputs and 10 classes, compiled or not
(the command compiles it when it is not, or when `--optimizer` is given), from the number
of training images, epochs and batch size (a learning-rate schedule needs them). Its
`defaults` replace the command's defaults; options given on the command line win.
"""

from typing import Callable, NamedTuple

from cnnkit import layers, models
from cnnkit.recipes import mnist_fast


class NamedModel(NamedTuple):
    build: Callable  # build(train_size, epochs, batch_size) -> Sequential
    defaults: dict


def build_seed_model():
    """The seed's small convnet: three convolutions, two poolings, two dense layers (93,322 weights).

    Example:
        >>> build_seed_model().count_params()
        93322
    """
    return models.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def build_fast_model(train_size, epochs, batch_size):
    """`cnnkit.recipes.mnist_fast`: bfloat16 where native, Adam with a one-cycle schedule over the run."""
    model, _ = mnist_fast(train_size=train_size, epochs=epochs, batch_size=batch_size)
    return model


MODELS = {
    "seed": NamedModel(lambda *_: build_seed_model(), {}),
    "fast": NamedModel(build_fast_model, {"epochs": 2, "batch_size": 128, "validation_split": 0.0}),
}
