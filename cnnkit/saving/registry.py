"""Layer classes by name: the only classes a model file can ask for.

Loading looks a layer's `class_name` up here (the public layers of `cnnkit.layers`, plus
the caller's `custom_objects`) and calls that class's `from_config`; nothing named in a
file is ever imported or executed.
"""

import inspect

from cnnkit.saving.errors import ModelFileError


def builtin_layer_classes():
    """`{class name: class}` for every public layer class of `cnnkit.layers`.

    Example:
        >>> sorted(builtin_layer_classes())[:3]
        ['Activation', 'AveragePooling2D', 'BatchNormalization']
    """
    from cnnkit import layers

    return {
        name: value for name in layers.__all__
        if inspect.isclass(value := getattr(layers, name))
        and issubclass(value, layers.Layer) and value is not layers.Layer
    }


def serialize_layer(layer):
    """`{"class_name": ..., "config": ...}` for a layer."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize_layer(entry, custom_objects=None, where="config.json"):
    """Rebuilds a layer from `serialize_layer` output, naming the entry on any problem."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str) \
            or not isinstance(entry.get("config"), dict):
        raise ModelFileError(f"{where}: expected {{'class_name': str, 'config': dict}}, found {entry!r}")
    classes = {**builtin_layer_classes(), **(custom_objects or {})}
    class_name = entry["class_name"]
    if class_name not in classes:
        raise ModelFileError(
            f"{where}: unknown layer class '{class_name}'. Known layers: {', '.join(sorted(classes))}. "
            f"Pass custom layers as load_model(path, custom_objects={{'{class_name}': {class_name}}})."
        )
    try:
        return classes[class_name].from_config(dict(entry["config"]))
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{where}: cannot rebuild layer {class_name} from its config: {error}") from error
