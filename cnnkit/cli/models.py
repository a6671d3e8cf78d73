"""The named models `cnnkit train --model NAME` can build.

Each entry is a function with no required arguments returning a `Sequential` for
28x28x1 inputs and 10 classes, compiled or not (the command compiles it when it is not,
or when `--optimizer` is given).
"""

from cnnkit import layers, models


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


MODELS = {"seed": build_seed_model}
