"""Saving and loading models: a zip of JSON and safetensors, atomic, never pickle.

Example:
    >>> from cnnkit import layers, models
    >>> model = models.Sequential([layers.Input((4,)), layers.Dense(2)])
    >>> model.save("tiny.cnnkit")  # doctest: +SKIP
    >>> models.load_model("tiny.cnnkit").count_params()  # doctest: +SKIP
    10
"""

from cnnkit.saving.atomic import atomic_write
from cnnkit.saving.errors import ModelFileError
from cnnkit.saving.model_file import load_model, save_model
from cnnkit.saving.registry import register_keras_serializable
from cnnkit.saving.weights import load_weights, save_weights

__all__ = ["ModelFileError", "atomic_write", "load_model", "load_weights", "register_keras_serializable",
           "save_model", "save_weights"]
