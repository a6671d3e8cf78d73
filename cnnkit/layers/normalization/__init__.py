"""Normalization layers."""

from cnnkit.layers.normalization.batch_normalization import BatchNormalization

__all__ = ["BatchNormalization"]
