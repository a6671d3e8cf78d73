"""Regularization layers: active in training only."""

from cnnkit.layers.regularization.dropout import Dropout

__all__ = ["Dropout"]
