"""Saving and loading models and weights, in cnnkit's `.cnnkit` file or Keras 3's `.keras` and
`.weights.h5` files (chosen by extension); atomic writes, never pickle; reading within the sizes
`set_limits` sets (see `cnnkit.saving.limits`).

Example:
    >>> from cnnkit import layers, models
    >>> model = models.Sequential([layers.Input((4,)), layers.Dense(2)])
    >>> model.save("tiny.keras")  # doctest: +SKIP
    >>> models.load_model("tiny.keras").count_params()  # doctest: +SKIP
    10
"""

from cnnkit.saving.atomic import atomic_write
from cnnkit.saving.errors import ModelFileError
from cnnkit.saving.limits import get_limits, set_limits
from cnnkit.saving.registry import register_keras_serializable
from cnnkit.saving.saving_api import load_model, load_weights, save_model, save_weights

__all__ = ["ModelFileError", "atomic_write", "get_limits", "load_model", "load_weights", "register_keras_serializable",
           "save_model", "save_weights", "set_limits"]
