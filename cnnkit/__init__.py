"""cnnkit: the Keras convnet workflow, fast, on PyTorch.

Example:
    >>> from cnnkit import layers, models
    >>> model = models.Sequential([layers.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10)])
    >>> model.count_params()
    7850
"""

__version__ = "0.1.0"

from cnnkit import mixed_precision
from cnnkit.engine.device import get_device, set_device
from cnnkit.utils.random import seed_from_environment, set_random_seed

seed_from_environment()

__all__ = ["__version__", "get_device", "set_device", "set_random_seed"]
