"""Activations as layers."""

from cnnkit.layers.activations.activation import Activation
from cnnkit.layers.activations.elu import ELU
from cnnkit.layers.activations.leaky_relu import LeakyReLU
from cnnkit.layers.activations.prelu import PReLU
from cnnkit.layers.activations.relu import ReLU
from cnnkit.layers.activations.softmax import Softmax

__all__ = ["Activation", "ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
