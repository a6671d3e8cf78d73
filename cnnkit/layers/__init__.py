"""Keras-named layers; the arithmetic is torch's.

Example:
    >>> from cnnkit import layers
    >>> layers.Conv2D(32, (3, 3), activation="relu").build_for((None, 28, 28, 1))
    (None, 26, 26, 32)
"""

from cnnkit.layers.activation import Activation
from cnnkit.layers.base import Layer
from cnnkit.layers.batch_normalization import BatchNormalization
from cnnkit.layers.conv2d import Conv2D
from cnnkit.layers.dense import Dense
from cnnkit.layers.dropout import Dropout
from cnnkit.layers.flatten import Flatten
from cnnkit.layers.input_layer import Input, InputLayer
from cnnkit.layers.pooling import AveragePooling2D, MaxPooling2D

__all__ = [
    "Activation", "AveragePooling2D", "BatchNormalization", "Conv2D", "Dense", "Dropout", "Flatten",
    "Input", "InputLayer", "Layer", "MaxPooling2D",
]
