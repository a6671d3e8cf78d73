"""Activations as layers."""

from cnnkit.layers.activations.activation import Activation

__all__ = ["Activation"]
