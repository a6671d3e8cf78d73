"""Two convnets for 180x180 RGB images and a binary label, as "Deep Learning with Python" builds them."""

from cnnkit import layers, models

IMAGE_SHAPE = (180, 180, 3)


def small_convnet():
    """A small convnet for 0..255 RGB images and one sigmoid output, not compiled: five 3x3 ReLU
    convolutions (32 to 512 filters) with max-pooling between them, global average pooling
    (1,569,089 weights).

    Example:
        >>> small_convnet().count_params()
        1569089
    """
    inputs = layers.Input(IMAGE_SHAPE)
    x = layers.Rescaling(1.0 / 255)(inputs)
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(512, 3, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return models.Model(inputs, outputs, name="small_convnet")


def mini_xception():
    """The book's mini-Xception for 0..255 RGB images and one sigmoid output, not compiled, without
    its augmentation layers: a 5x5 stem, five residual blocks of BatchNormalization, ReLU and
    SeparableConv2D (twice), MaxPooling2D(3, 2, "same") and a strided 1x1 shortcut, then global
    average pooling and Dropout(0.5) (721,857 weights, moving statistics included).

    Example:
        >>> mini_xception().count_params()
        721857
    """
    inputs = layers.Input(IMAGE_SHAPE)
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(32, 5, use_bias=False)(x)
    for size in (32, 64, 128, 256, 512):
        residual = x
        for _ in range(2):
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
            x = layers.SeparableConv2D(size, 3, padding="same", use_bias=False)(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(size, 1, strides=2, padding="same", use_bias=False)(residual)
        x = layers.add([x, residual])
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return models.Model(inputs, outputs, name="mini_xception")
