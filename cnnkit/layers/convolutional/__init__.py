"""Convolution layers over channels-last images."""

from cnnkit.layers.convolutional.conv2d import Conv2D, Convolution2D
from cnnkit.layers.convolutional.conv2d_transpose import Conv2DTranspose, Convolution2DTranspose
from cnnkit.layers.convolutional.depthwise_conv2d import DepthwiseConv2D
from cnnkit.layers.convolutional.separable_conv2d import SeparableConv2D, SeparableConvolution2D

__all__ = [
    "Conv2D", "Conv2DTranspose", "Convolution2D", "Convolution2DTranspose", "DepthwiseConv2D",
    "SeparableConv2D", "SeparableConvolution2D",
]
