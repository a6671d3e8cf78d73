"""A model's architecture and compile settings as plain JSON data, and back.

Example:
    >>> from cnnkit import layers, models
    >>> model = models.Sequential([layers.Input((4,)), layers.Dense(2)], name="tiny")
    >>> config = model_config(model)
    >>> config["name"], [entry["class_name"] for entry in config["layers"]]
    ('tiny', ['InputLayer', 'Dense'])
"""

from cnnkit import losses, optimizers
from cnnkit.saving.errors import ModelFileError
from cnnkit.saving.registry import deserialize_layer, serialize_layer


def model_config(model):
    """`{"class_name", "name", "build_input_shape", "layers"}` for a Sequential model, and
    "dtype_policy" when the model has its own."""
    entries = [model._input_layer] if model._input_layer is not None else []
    return {
        "class_name": type(model).__name__,
        "name": model.name,
        "build_input_shape": list(model.input_shape) if model.built else None,
        "layers": [serialize_layer(layer) for layer in entries + model.layers],
        **({"dtype_policy": model._dtype_policy.name} if model._dtype_policy is not None else {}),
    }


def compile_config(model):
    """The optimizer, loss and metrics given to `compile`, or None for an uncompiled model."""
    if model.loss is None:
        return None
    return {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": losses.serialize(model.loss),
        "metrics": [_metric_identifier(metric, model.name) for metric in model.compiled_metrics],
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
    """Rebuilds the Sequential model (built when the saved one was), not compiled."""
    from cnnkit.models import Sequential

    if not isinstance(config, dict) or config.get("class_name") != "Sequential" \
            or not isinstance(config.get("layers"), list):
        raise ModelFileError(f"{where}: entry 'model' must describe a Sequential model with a list of layers.")
    try:
        model = Sequential(name=config.get("name"))
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{where}: invalid model name {config.get('name')!r}: {error}") from error
    for index, entry in enumerate(config["layers"]):
        layer = deserialize_layer(entry, custom_objects, where=f"{where}: layer {index}")
        try:
            model.add(layer)
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: layer {index} ('{layer.name}') does not fit the model: {error}") from error
    try:
        model.dtype_policy = config.get("dtype_policy")
    except ValueError as error:
        raise ModelFileError(f"{where}: entry 'dtype_policy': {error}") from error
    shape = config.get("build_input_shape")
    if shape is not None and not model.built:
        try:
            model.build(tuple(shape))
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: cannot build the model for input shape {shape}: {error}") from error
    return model


def compile_from_config(model, config, custom_objects=None, where="config.json"):
    """Compiles `model` as the saved one was; a ModelFileError names what cannot be rebuilt."""
    if config is None:
        return
    if not isinstance(config, dict):
        raise ModelFileError(f"{where}: entry 'compile' must be a dict or null, found {config!r}")
    custom_objects = custom_objects or {}
    try:
        optimizer = _custom_or(config.get("optimizer"), custom_objects, optimizers.deserialize)
        loss = _custom_or(config.get("loss"), custom_objects, losses.get)
        metrics = [_metric_from_identifier(metric, custom_objects) for metric in config.get("metrics") or []]
    except (TypeError, ValueError, KeyError) as error:
        raise ModelFileError(f"{where}: cannot rebuild the compile settings: {error}") from error
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)


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
