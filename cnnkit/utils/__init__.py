"""Utilities of the Keras API."""

from cnnkit.utils.categorical import to_categorical
from cnnkit.utils.py_dataset import PyDataset
from cnnkit.utils.random import set_random_seed

__all__ = ["PyDataset", "set_random_seed", "to_categorical"]
