"""Keras-named layers, grouped as Keras groups them; the arithmetic is torch's.

Example:
    >>> from cnnkit import layers
    >>> layers.Conv2D(32, (3, 3), activation="relu").build_for((None, 28, 28, 1))
    (None, 26, 26, 32)
"""

from cnnkit.layers.activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from cnnkit.layers.base import Layer
from cnnkit.layers.convolutional import (
    Conv2D, Conv2DTranspose, Convolution2D, Convolution2DTranspose, DepthwiseConv2D, SeparableConv2D,
    SeparableConvolution2D,
)
from cnnkit.layers.core import Dense, Identity, Input, InputLayer
from cnnkit.layers.merging import (
    Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, average, concatenate, maximum, minimum,
    multiply, subtract,
)
from cnnkit.layers.node import KerasTensor
from cnnkit.layers.normalization import BatchNormalization, GroupNormalization, LayerNormalization
from cnnkit.layers.pooling import (
    AveragePooling2D, GlobalAveragePooling2D, GlobalAvgPool2D, GlobalMaxPool2D, GlobalMaxPooling2D, MaxPooling2D,
)
from cnnkit.layers.preprocessing import CenterCrop, Normalization, Rescaling, Resizing
from cnnkit.layers.preprocessing import (
    RandomBrightness, RandomContrast, RandomCrop, RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
)
from cnnkit.layers.regularization import Dropout, GaussianDropout, GaussianNoise, SpatialDropout2D
from cnnkit.layers.reshaping import Cropping2D, Flatten, Permute, Reshape, UpSampling2D, ZeroPadding2D

__all__ = [
    "CenterCrop", "GaussianDropout", "GaussianNoise", "GroupNormalization", "LayerNormalization", "Normalization",
    "Rescaling", "Resizing", "SpatialDropout2D",
    "RandomBrightness", "RandomContrast", "RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation",
    "RandomZoom",
    "Cropping2D", "ELU", "Identity", "LeakyReLU", "PReLU", "Permute", "ReLU", "Reshape", "Softmax", "UpSampling2D",
    "ZeroPadding2D",
    "Activation", "Add", "Average", "AveragePooling2D", "BatchNormalization", "Concatenate", "Conv2D", "Conv2DTranspose",
    "Convolution2D", "Convolution2DTranspose", "Dense", "DepthwiseConv2D", "SeparableConv2D", "SeparableConvolution2D",
    "Dropout", "Flatten", "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D", "GlobalMaxPooling2D",
    "Input", "InputLayer", "KerasTensor", "Layer", "MaxPooling2D", "Maximum", "Minimum", "Multiply", "Subtract",
    "add", "average", "concatenate", "maximum", "minimum", "multiply", "subtract",
]
