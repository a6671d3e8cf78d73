"""The seed program's small convnet, as one call."""

from cnnkit import layers, models


def seed_convnet():
    """The seed's convnet for 28x28x1 images and 10 classes, not compiled: three convolutions,
    two max-poolings, two dense layers (93,322 weights).

    Example:
        >>> seed_convnet().count_params()
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
