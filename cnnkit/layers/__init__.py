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
from cnnkit.layers.global_pooling import (
    GlobalAveragePooling2D, GlobalAvgPool2D, GlobalMaxPool2D, GlobalMaxPooling2D,
)
from cnnkit.layers.input_layer import Input, InputLayer
from cnnkit.layers.merging import (
    Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, average, concatenate, maximum, minimum,
    multiply, subtract,
)
from cnnkit.layers.pooling import AveragePooling2D, MaxPooling2D

__all__ = [
    "Activation", "Add", "Average", "AveragePooling2D", "BatchNormalization", "Concatenate", "Conv2D", "Dense",
    "Dropout", "Flatten", "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D", "GlobalMaxPooling2D",
    "Input", "InputLayer", "Layer", "MaxPooling2D", "Maximum", "Minimum", "Multiply", "Subtract", "add", "average",
    "concatenate", "maximum", "minimum", "multiply", "subtract",
]
