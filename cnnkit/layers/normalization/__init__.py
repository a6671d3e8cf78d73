"""Normalization layers."""

from cnnkit.layers.normalization.batch_normalization import BatchNormalization
from cnnkit.layers.normalization.group_normalization import GroupNormalization
from cnnkit.layers.normalization.layer_normalization import LayerNormalization

__all__ = ["BatchNormalization", "GroupNormalization", "LayerNormalization"]
