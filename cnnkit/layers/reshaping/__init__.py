"""Layers that change a tensor's shape, not its values."""

from cnnkit.layers.reshaping.flatten import Flatten

__all__ = ["Flatten"]
