"""Keras optimizers (SGD, RMSprop, Adam, AdamW) on torch parameters, and `get`.

Example:
    >>> from cnnkit import optimizers
    >>> optimizers.get("rmsprop").get_config()["learning_rate"]
    0.001
"""

from cnnkit.optimizers.adam import Adam
from cnnkit.optimizers.adamw import AdamW
from cnnkit.optimizers.base import Optimizer
from cnnkit.optimizers.rmsprop import RMSprop
from cnnkit.optimizers.sgd import SGD

_BY_NAME = {cls.__name__.lower(): cls for cls in (SGD, RMSprop, Adam, AdamW)}


def serialize(optimizer):
    """`{"class_name": ..., "config": ...}` for an optimizer, as Keras writes it."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def _class_for(name, identifier):
    cls = _BY_NAME.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(
            f"Unknown optimizer. Expected one of {sorted(_BY_NAME)} (any case), an "
            f"Optimizer instance or a dict {{'class_name': ..., 'config': ...}}. "
            f"Received: {identifier!r}"
        )
    return cls


def deserialize(config):
    """Rebuilds an optimizer from `serialize()` output (or a Keras config dict)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "Argument `config` must be a dict with keys 'class_name' and 'config'. "
            f"Received: config={config!r}"
        )
    return _class_for(config["class_name"], config).from_config(config.get("config", {}))


def get(identifier):
    """An optimizer from a name ("adam", any case), a config dict, or an instance.

    Example:
        >>> type(get("RMSprop")).__name__
        'RMSprop'
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    return _class_for(identifier, identifier)()


__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "get", "serialize", "deserialize"]
