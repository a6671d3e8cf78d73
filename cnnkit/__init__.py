"""cnnkit: the Keras convnet workflow, fast, on PyTorch. `import cnnkit as keras` works.

Submodules load on first use, so `import cnnkit` itself is quick (torch loads with the
first layer, model or op).

Example:
    >>> import cnnkit as keras
    >>> inputs = keras.Input((28, 28, 1))
    >>> outputs = keras.layers.Dense(10)(keras.layers.Flatten()(inputs))
    >>> keras.Model(inputs, outputs).count_params()
    7850
"""

import importlib
import os

__version__ = "0.1.0"

_SUBMODULES = (
    "activations", "callbacks", "constraints", "data", "datasets", "distributed", "initializers", "layers", "losses",
    "metrics", "mixed_precision", "models", "ops", "optimizers", "preprocessing", "random", "recipes",
    "regularizers", "saving", "utils", "viz",
)
_NAMES = {
    "Input": "cnnkit.layers", "Layer": "cnnkit.layers", "Model": "cnnkit.models", "Sequential": "cnnkit.models",
    "get_device": "cnnkit.engine.device", "set_device": "cnnkit.engine.device",
    "set_random_seed": "cnnkit.utils.random", "set_keep_freed_memory": "cnnkit.engine.host_memory",
}

__all__ = ["__version__", *_SUBMODULES, *_NAMES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"cnnkit.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'cnnkit' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(__all__))


if os.environ.get("CNNKIT_SEED", "").strip():
    from cnnkit.utils.random import seed_from_environment

    seed_from_environment()
