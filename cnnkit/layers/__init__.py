"""Keras-named layers, grouped as Keras groups them; the arithmetic is torch's.

Example:
    >>> from cnnkit import layers
    >>> layers.Conv2D(32, (3, 3), activation="relu").build_for((None, 28, 28, 1))
    (None, 26, 26, 32)
"""

from cnnkit.layers.activations import Activation
from cnnkit.layers.base import Layer
from cnnkit.layers.convolutional import Conv2D
from cnnkit.layers.core import Dense, Input, InputLayer
from cnnkit.layers.merging import (
    Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, average, concatenate, maximum, minimum,
    multiply, subtract,
)
from cnnkit.layers.node import KerasTensor
from cnnkit.layers.normalization import BatchNormalization
from cnnkit.layers.pooling import (
    AveragePooling2D, GlobalAveragePooling2D, GlobalAvgPool2D, GlobalMaxPool2D, GlobalMaxPooling2D, MaxPooling2D,
)
from cnnkit.layers.regularization import Dropout
from cnnkit.layers.reshaping import Flatten

__all__ = [
    "Activation", "Add", "Average", "AveragePooling2D", "BatchNormalization", "Concatenate", "Conv2D", "Dense",
    "Dropout", "Flatten", "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D", "GlobalMaxPooling2D",
    "Input", "InputLayer", "KerasTensor", "Layer", "MaxPooling2D", "Maximum", "Minimum", "Multiply", "Subtract",
    "add", "average", "concatenate", "maximum", "minimum", "multiply", "subtract",
]
