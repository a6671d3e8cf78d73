"""Pooling layers over channels-last images."""

from cnnkit.layers.pooling.global_pooling2d import (
    GlobalAveragePooling2D, GlobalAvgPool2D, GlobalMaxPool2D, GlobalMaxPooling2D,
)
from cnnkit.layers.pooling.pooling2d import AveragePooling2D, MaxPooling2D

__all__ = [
    "AveragePooling2D", "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D", "GlobalMaxPooling2D",
    "MaxPooling2D",
]
