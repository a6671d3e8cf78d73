"""A model's architecture and compile settings as plain JSON data, and back.

The architecture is Keras 3's serialization of the model (`serialize_layer`): Sequential,
Functional (with its graph, see `functional_config`) or a registered subclass.

Example:
    >>> from cnnkit import layers, models
    >>> model = models.Sequential([layers.Input((4,)), layers.Dense(2)], name="tiny")
    >>> config = model_config(model)
    >>> config["class_name"], [entry["class_name"] for entry in config["config"]["layers"]]
    ('Sequential', ['InputLayer', 'Dense'])
"""

from cnnkit import losses, optimizers
from cnnkit.saving.errors import ModelFileError
from cnnkit.saving.registry import build_from_config, deserialize_layer, serialize_layer


def model_config(model):
    """Keras 3's entry for the model (`module`, `class_name`, `config`, ...)."""
    return serialize_layer(model)


def compile_config(model):
    """The optimizer, loss(es), loss weights and metrics given to `compile`, or None for an uncompiled model."""
    if not model.compiled:
        return None
    arguments = model._compile_arguments
    return {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": _map_entries(arguments["loss"], lambda loss: losses.serialize(losses.get(loss))),
        "loss_weights": arguments["loss_weights"],
        "metrics": _map_entries(arguments["metrics"], lambda metric: _metric_identifier(metric, model.name)),
    }


def _metric_identifier(metric, model_name):
    if isinstance(metric, str):
        return metric
    if callable(metric) and getattr(metric, "__name__", "<lambda>") != "<lambda>":
        return {"function": metric.__name__}
    raise ValueError(
        f"Model '{model_name}': metric {metric!r} cannot be saved; compile with metric names "
        f"(e.g. 'accuracy') or named functions, passed back as load_model(..., custom_objects=...)."
    )


def model_from_config(config, custom_objects=None, where="config.json"):
    """Rebuilds the model (built when the saved one was), not compiled."""
    if isinstance(config, dict) and config.get("class_name") == "Sequential" and "config" not in config:
        config = _from_format_1(config)
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ModelFileError(f"{where}: entry 'model' must describe a model as {{'class_name', 'config'}}.")
    try:
        model = deserialize_layer(config, custom_objects, where=f"{where}: model")
    except RecursionError:
        raise ModelFileError(f"{where}: entry 'model' is nested too deeply to be a model.") from None
    if not hasattr(model, "fit"):
        raise ModelFileError(f"{where}: entry 'model' describes a {config['class_name']}, not a model.")
    build_from_config(model, config.get("build_config"), f"{where}: model")
    return model


def _from_format_1(config):
    """A format-1 file's Sequential entry in today's schema."""
    body = {key: value for key, value in config.items() if key not in ("class_name", "dtype_policy")}
    return {"class_name": "Sequential", "config": body}


def compile_from_config(model, config, custom_objects=None, where="config.json"):
    """Compiles `model` as the saved one was; a ModelFileError names what cannot be rebuilt."""
    if config is None:
        return
    if not isinstance(config, dict):
        raise ModelFileError(f"{where}: entry 'compile' must be a dict or null, found {config!r}")
    custom_objects = custom_objects or {}
    try:
        optimizer = _custom_or(config.get("optimizer"), custom_objects, optimizers.deserialize)
        loss = _map_entries(config.get("loss"), lambda entry: _custom_or(entry, custom_objects, losses.get))
        metrics = _map_entries(config.get("metrics"), lambda metric: _metric_from_identifier(metric, custom_objects))
        model.compile(optimizer=optimizer, loss=loss, loss_weights=config.get("loss_weights"), metrics=metrics)
    except (TypeError, ValueError, KeyError) as error:
        raise ModelFileError(f"{where}: cannot rebuild the compile settings: {error}") from error


def _map_entries(structure, function):
    """`function` over each entry (a name, `{'class_name', ...}` or `{'function': name}`) of a list/dict
    structure, None kept."""
    if structure is None:
        return None
    if isinstance(structure, (list, tuple)):
        return [_map_entries(item, function) for item in structure]
    if isinstance(structure, dict) and not {"class_name", "function"} & set(structure):
        return {key: _map_entries(value, function) for key, value in structure.items()}
    return function(structure)


def _custom_or(entry, custom_objects, builtin):
    """A custom class named by `entry["class_name"]` when the caller gave one, else the built-in lookup."""
    if isinstance(entry, dict) and entry.get("class_name") in custom_objects:
        return custom_objects[entry["class_name"]].from_config(entry.get("config", {}))
    return builtin(entry)


def _metric_from_identifier(identifier, custom_objects):
    if isinstance(identifier, str):
        return identifier
    name = identifier.get("function") if isinstance(identifier, dict) else None
    if name in custom_objects:
        return custom_objects[name]
    raise ValueError(f"metric {identifier!r} is a custom function: pass it as custom_objects={{'{name}': ...}}")
