"""Convolution layers over channels-last images."""

from cnnkit.layers.convolutional.conv2d import Conv2D

__all__ = ["Conv2D"]
