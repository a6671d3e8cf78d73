"""Core layers: inputs and dense connections."""

from cnnkit.layers.core.dense import Dense
from cnnkit.layers.core.identity import Identity
from cnnkit.layers.core.input_layer import Input, InputLayer

__all__ = ["Dense", "Identity", "Input", "InputLayer"]
