"""Utilities of the Keras API."""

from cnnkit.utils.categorical import to_categorical
from cnnkit.utils.random import set_random_seed

__all__ = ["set_random_seed", "to_categorical"]
