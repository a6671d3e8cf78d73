"""The named models `cnnkit train --model NAME` can build, with the settings each trains with.

A `NamedModel` builds a `Sequential` for 28x28x1 inputs and 10 classes, compiled or not
(the command compiles it when it is not, or when `--optimizer` is given), from the number
of training images, epochs and batch size (a learning-rate schedule needs them). Its
`defaults` replace the command's defaults; options given on the command line win. Its
`schedule` describes the learning-rate schedule it compiles with (None: a constant rate),
which `--learning-rate` must not silently replace.

The recipes (and torch) are imported only when a model is built.
"""

from typing import Callable, NamedTuple, Optional


class NamedModel(NamedTuple):
    build: Callable  # build(train_size, epochs, batch_size) -> Sequential
    defaults: dict
    schedule: Optional[str] = None


def build_seed_model(train_size, epochs, batch_size):
    """`cnnkit.recipes.seed_convnet`, not compiled."""
    from cnnkit.recipes import seed_convnet

    return seed_convnet()


def build_fast_model(train_size, epochs, batch_size):
    """`cnnkit.recipes.mnist_fast`: bfloat16 where native, Adam with a one-cycle schedule over the run."""
    from cnnkit.recipes import mnist_fast

    model, _ = mnist_fast(train_size=train_size, epochs=epochs, batch_size=batch_size)
    return model


MODELS = {
    "seed": NamedModel(build_seed_model, {}),
    "fast": NamedModel(build_fast_model, {"epochs": 2, "batch_size": 128, "validation_split": 0.0},
                       schedule="Adam on a one-cycle schedule"),
}
