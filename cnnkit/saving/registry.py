"""Classes by name: the only classes a model file can ask for.

Loading looks a layer's `registered_name`, then its `class_name`, up here: the public
layers of `cnnkit.layers`, the model classes, the classes registered with
`register_keras_serializable`, and the caller's `custom_objects`. Nothing named in a file
is ever imported or executed.

Example:
    >>> @register_keras_serializable(package="demo")
    ... class Twice(Layer):
    ...     def call(self, inputs):
    ...         return 2 * inputs
    >>> serialize_layer(Twice(name="twice"))["registered_name"]
    'demo>Twice'
"""

import inspect

from cnnkit.layers.base import Layer
from cnnkit.saving.errors import ModelFileError

_REGISTERED = {}


def register_keras_serializable(package="Custom", name=None):
    """Registers a class (a custom layer or model) so that model files can name it, as Keras's
    decorator of the same name: the file stores `"<package>><name>"`."""

    def register(cls):
        registered_name = f"{package}>{name or cls.__name__}"
        if registered_name in _REGISTERED and _REGISTERED[registered_name] is not cls:
            raise ValueError(f"{registered_name} has already been registered to {_REGISTERED[registered_name]}.")
        _REGISTERED[registered_name] = cls
        cls._registered_name = registered_name
        return cls

    return register


def builtin_layer_classes():
    """`{class name: class}` for every public layer class of `cnnkit.layers`.

    Example:
        >>> sorted(builtin_layer_classes())[:4]
        ['Activation', 'Add', 'Average', 'AveragePooling2D']
    """
    from cnnkit import layers

    return {
        name: value for name in layers.__all__
        if inspect.isclass(value := getattr(layers, name))
        and issubclass(value, layers.Layer) and value is not layers.Layer
    }


def _known_classes(custom_objects):
    from cnnkit.models import Functional, Sequential

    return {**builtin_layer_classes(), "Functional": Functional, "Model": Functional, "Sequential": Sequential,
            **_REGISTERED, **(custom_objects or {})}


def serialize_layer(layer):
    """Keras 3's entry for a layer: `module`, `class_name`, `config`, `registered_name` and, once
    built, `build_config`."""
    cls = type(layer)
    builtin = cls.__module__.startswith("cnnkit.")
    entry = {
        "module": _module(cls),
        "class_name": cls.__name__,
        "config": layer.get_config(),
        # As Keras: None for its own public classes, the class name for an unregistered class of yours.
        "registered_name": cls.__dict__.get("_registered_name") or (None if builtin else cls.__name__),
    }
    if layer.built and layer.input_shape is not None and type(layer).__name__ != "InputLayer":
        entry["build_config"] = {"input_shape": _jsonable_shape(layer.input_shape)}
    return entry


def _module(cls):
    """The `module` Keras 3 writes: Keras's public module for a class it has (Functional names its own),
    the defining module for yours (None for `__main__`)."""
    if not cls.__module__.startswith("cnnkit."):
        return None if cls.__module__ == "__main__" else cls.__module__
    return cls.__dict__.get("_keras_module") or ("keras" if _is_model(cls) else "keras.layers")


def _is_model(layer_or_class):
    from cnnkit.models.model import Model

    cls = layer_or_class if inspect.isclass(layer_or_class) else type(layer_or_class)
    return issubclass(cls, Model)


def _jsonable_shape(shape):
    if isinstance(shape, dict):
        return {key: list(value) for key, value in shape.items()}
    return list(shape) if isinstance(shape, tuple) else [list(item) for item in shape]


def deserialize_layer(entry, custom_objects=None, where="config.json"):
    """Rebuilds a layer (or a model) from `serialize_layer` output, naming the entry on any problem."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str) \
            or not isinstance(entry.get("config"), dict):
        raise ModelFileError(f"{where}: expected {{'class_name': str, 'config': dict}}, found {entry!r}")
    cls = _lookup(entry, custom_objects, where)
    try:
        if _is_model(cls):
            layer = cls.from_config(dict(entry["config"]), custom_objects=custom_objects)
        else:
            layer = cls.from_config(dict(entry["config"]))
    except ModelFileError as error:  # from a layer inside: prefix where this one is
        raise ModelFileError(f"{where}: {error}") from error
    except (TypeError, ValueError, KeyError) as error:
        raise ModelFileError(f"{where}: cannot rebuild layer {entry['class_name']} from its config: {error}") from error
    return layer


def _lookup(entry, custom_objects, where):
    classes = _known_classes(custom_objects)
    class_name, registered_name = entry["class_name"], entry.get("registered_name")
    for key in (registered_name, class_name):
        if isinstance(key, str) and key in classes and inspect.isclass(classes[key]) \
                and issubclass(classes[key], Layer):
            return classes[key]
    known = sorted(name for name in classes if ">" not in name)
    registered = f" (registered as '{registered_name}')" if registered_name not in (None, class_name) else ""
    raise ModelFileError(
        f"{where}: unknown layer class '{class_name}'{registered}. Known layers: {', '.join(known)}. "
        f"Pass custom layers as load_model(path, custom_objects={{'{class_name}': {class_name}}}) "
        "or register them with cnnkit.saving.register_keras_serializable()."
    )


def build_from_config(layer, build_config, where):
    """Builds a subclassed model for its saved input shape (layers in a graph are built by it)."""
    if layer.built or not isinstance(build_config, dict) or build_config.get("input_shape") is None:
        return
    shape = build_config["input_shape"]
    shape = tuple(shape) if shape and not isinstance(shape[0], (list, dict)) else [tuple(s) for s in shape]
    try:
        layer.build(shape) if _is_model(layer) else layer.build_for(shape)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"{where}: cannot build layer '{layer.name}' for input shape {shape}: {error}") from error
