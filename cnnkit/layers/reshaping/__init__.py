"""Layers that change a tensor's shape, not its values."""

from cnnkit.layers.reshaping.cropping2d import Cropping2D
from cnnkit.layers.reshaping.flatten import Flatten
from cnnkit.layers.reshaping.permute import Permute
from cnnkit.layers.reshaping.reshape import Reshape
from cnnkit.layers.reshaping.up_sampling2d import UpSampling2D
from cnnkit.layers.reshaping.zero_padding2d import ZeroPadding2D

__all__ = ["Cropping2D", "Flatten", "Permute", "Reshape", "UpSampling2D", "ZeroPadding2D"]
