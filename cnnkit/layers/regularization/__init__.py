"""Regularization layers: active in training only."""

from cnnkit.layers.regularization.dropout import Dropout
from cnnkit.layers.regularization.gaussian_dropout import GaussianDropout
from cnnkit.layers.regularization.gaussian_noise import GaussianNoise
from cnnkit.layers.regularization.spatial_dropout import SpatialDropout2D

__all__ = ["Dropout", "GaussianDropout", "GaussianNoise", "SpatialDropout2D"]
