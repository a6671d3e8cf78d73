"""Keras 3's `config.json` and cnnkit's model config: the same schema, told apart in a few keys.

cnnkit's configs leave out what cnnkit has no use for; Keras 3 writes (and some Keras versions
require) more: every layer's dtype policy (`{"module": "keras", "class_name": "DTypePolicy", ...}`),
initializers as full entries (`{"class_name": "GlorotUniform", ...}`) and its own arguments at
their defaults (`data_format`, `groups`, regularizers, ...). `model_to_keras` adds them;
`model_from_keras` takes them back out, checking that each Keras-only value is the one cnnkit
computes with: anything else (a regularizer cnnkit's layer does not take, `groups=2`,
`data_format="channels_first"`) is a ModelFileError naming the layer, the key and the value.
The compile settings are translated the same way (`compile_to_keras`, `compile_from_keras`).

Example:
    >>> entry = layer_to_keras({"module": "keras.layers", "class_name": "Dense", "registered_name": None,
    ...                         "config": {"name": "out", "trainable": True, "units": 2,
    ...                                    "kernel_initializer": "glorot_uniform"}})
    >>> entry["config"]["dtype"]["config"], entry["config"]["kernel_initializer"]["class_name"]
    ({'name': 'float32'}, 'GlorotUniform')
    >>> layer_from_keras(entry, set())["config"]["kernel_initializer"]
    'glorot_uniform'
"""

import inspect

from cnnkit import initializers, losses, optimizers
from cnnkit.saving.errors import ModelFileError
from cnnkit.saving.model_config import _map_entries
from cnnkit.saving.registry import builtin_layer_classes

MODEL_CLASSES = ("Functional", "Sequential", "Model")

# cnnkit's initializer names and Keras's classes for them
_INITIALIZERS = {
    "glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal", "he_uniform": "HeUniform",
    "he_normal": "HeNormal", "lecun_uniform": "LecunUniform", "lecun_normal": "LecunNormal",
    "zeros": "Zeros", "ones": "Ones",
}
_INITIALIZER_NAMES = {class_name: name for name, class_name in _INITIALIZERS.items()}
_SEEDED = {"GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal"}

# Keras arguments some cnnkit layers do not take, at the values cnnkit computes with.
_KERAS_DEFAULTS = {
    "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
    "kernel_constraint": None, "bias_constraint": None, "beta_regularizer": None, "gamma_regularizer": None,
    "beta_constraint": None, "gamma_constraint": None, "groups": 1, "data_format": "channels_last",
    "noise_shape": None, "synchronized": False, "renorm": False, "renorm_clipping": None,
    "renorm_momentum": 0.99, "quantization_config": None, "lora_rank": None, "lora_alpha": None,
    "sparse": False, "ragged": False, "optional": False, "seed": None, "keepdims": False,
}
_REGULARIZED = ("kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                "bias_constraint")
# Keras arguments written at their defaults where cnnkit's config leaves them out (keys every Keras 3 takes).
_KERAS_KEYS = {
    "Conv2D": {"data_format": "channels_last", "groups": 1, **dict.fromkeys(_REGULARIZED)},
    "Dense": dict.fromkeys(("kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint")),
    "BatchNormalization": {**dict.fromkeys(("beta_regularizer", "gamma_regularizer", "beta_constraint",
                                            "gamma_constraint")), "synchronized": False},
    "MaxPooling2D": {"data_format": "channels_last"},
    "AveragePooling2D": {"data_format": "channels_last"},
    "Flatten": {"data_format": "channels_last"},
    "Dropout": {"noise_shape": None},
}

_LOSS_DEFAULTS = {"reduction": "sum_over_batch_size", "ignore_class": None, "axis": -1, "dtype": None}
_METRICS = {  # Keras metric classes cnnkit computes, by the name cnnkit knows them by
    "SparseCategoricalAccuracy": "sparse_categorical_accuracy", "CategoricalAccuracy": "categorical_accuracy",
    "BinaryAccuracy": "binary_accuracy", "MeanAbsoluteError": "mean_absolute_error",
    "MeanSquaredError": "mean_squared_error",
}
_OPTIMIZER_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                       "loss_scale_factor": None, "gradient_accumulation_steps": None}


def dtype_policy_entry(name="float32"):
    """Keras 3's entry for a dtype policy."""
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}, "registered_name": None}


# -- cnnkit -> Keras ---------------------------------------------------------------------
def model_to_keras(entry, policy="float32"):
    """cnnkit's model entry (`model_config`) as Keras 3 writes it; `policy` names every layer's dtype policy."""
    return layer_to_keras(entry, policy)


def layer_to_keras(entry, policy="float32"):
    """One layer (or model) entry, and the layers inside a Functional or Sequential one."""
    entry, class_name = dict(entry), entry["class_name"]
    config = dict(entry["config"])
    builtin = entry.get("registered_name") is None or class_name in MODEL_CLASSES
    if class_name in ("Functional", "Sequential"):
        config["layers"] = [layer_to_keras(layer, policy) for layer in config.get("layers") or []]
        if class_name == "Sequential":
            config = _with_dtype(config, policy)
        else:
            entry["build_config"] = {"input_shape": None}  # as Keras: a Functional model is built by its graph
    elif class_name == "InputLayer" and builtin:
        config = {"batch_shape": config["batch_shape"], "dtype": config.get("dtype", "float32"), "sparse": False,
                  "name": config["name"]}
    elif builtin:
        config = _with_dtype(config, policy)
        for key, value in config.items():
            if key.endswith("_initializer") and isinstance(value, str) and value in _INITIALIZERS:
                config[key] = _initializer_entry(value)
        for key, value in _KERAS_KEYS.get(class_name, {}).items():
            config.setdefault(key, value)
    elif not _is_model_entry(entry):
        config = _with_dtype(config, policy)  # as Keras's base get_config does for your layers
    entry["config"] = config
    return entry


def _with_dtype(config, policy):
    """`config` with a `dtype` policy entry after name and trainable (Keras's order)."""
    head = {key: config[key] for key in ("name", "trainable") if key in config}
    return {**head, "dtype": dtype_policy_entry(policy), **config}


def _initializer_entry(name):
    class_name = _INITIALIZERS[name]
    return {"module": "keras.initializers", "class_name": class_name,
            "config": {"seed": None} if class_name in _SEEDED else {}, "registered_name": None}


def _is_model_entry(entry):
    from cnnkit.saving.registry import _known_classes, _is_model

    cls = _known_classes(None).get(entry.get("registered_name") or entry["class_name"])
    return cls is not None and _is_model(cls)


# -- Keras -> cnnkit ---------------------------------------------------------------------
def refuse_code(config, where):
    """A ModelFileError if the config holds Python bytecode (a `Lambda` layer's function), which
    cnnkit never runs, as Keras's `load_model(safe_mode=True)` refuses it."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") in ("__lambda__", "Lambda"):
                what = "a Lambda layer" if item["class_name"] == "Lambda" else "a lambda function"
                name = (item.get("config") or {}).get("name") if isinstance(item.get("config"), dict) else None
                raise ModelFileError(
                    f"{where}: the model holds {what}{f' ({name!r})' if name else ''}, stored as Python bytecode. "
                    "cnnkit never runs code from a file (as Keras's load_model with safe_mode=True refuses it): "
                    "rebuild the model with a layer in place of the Lambda, or a registered custom layer."
                )
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def model_from_keras(entry, where="config.json"):
    """Keras 3's model entry in cnnkit's terms, and the dtype policy its layers name (None for float32).

    Raises:
        ModelFileError: a layer's Keras setting is one cnnkit cannot honour, or the file mixes dtype policies.
    """
    policies = set()
    entry = layer_from_keras(entry, policies, where)
    mixed = policies - {"float32"}
    if len(mixed) > 1:
        raise ModelFileError(f"{where}: the layers use several dtype policies {sorted(mixed)}; "
                             "cnnkit runs a model under one.")
    return entry, (mixed.pop() if mixed else None)


def layer_from_keras(entry, policies, where="config.json"):
    """One layer (or model) entry in cnnkit's terms; the dtype policies found are added to `policies`."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict) \
            or not isinstance(entry.get("class_name"), str):
        return entry  # deserialize_layer reports it
    entry, class_name = dict(entry), entry["class_name"]
    config = dict(entry["config"])
    name = config.get("name")
    here = f"{where}: layer '{name}' ({class_name})"
    builtin = entry.get("registered_name") in (None, "Functional") or class_name in MODEL_CLASSES
    if class_name in MODEL_CLASSES and isinstance(config.get("layers"), list):
        config["layers"] = [layer_from_keras(layer, policies, where) for layer in config["layers"]]
        _pop_policy(config, policies, here)
    elif class_name == "InputLayer":
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = _policy_name(config["dtype"], here)
        _drop_keras_defaults(config, _arguments(builtin_layer_classes()["InputLayer"]), here)
    elif builtin and class_name in builtin_layer_classes():
        cls = builtin_layer_classes()[class_name]
        _pop_policy(config, policies, here)
        for key, value in list(config.items()):
            if key.endswith("_initializer"):
                config[key] = _initializer_from_keras(value, f"{here}: {key}")
        if class_name == "BatchNormalization":
            config["axis"] = _last_axis(config.get("axis", -1), entry.get("build_config"))
        _drop_keras_defaults(config, _arguments(cls), here)
    elif not builtin:
        _pop_policy(config, policies, here)
    entry["config"] = config
    return entry


def _pop_policy(config, policies, where):
    if "dtype" in config:
        policies.add(_policy_name(config.pop("dtype"), where))


def _policy_name(policy, where):
    """The name of a dtype policy entry ("float32", "mixed_bfloat16", ...), checked."""
    if policy is None:
        return "float32"
    config = policy.get("config") if isinstance(policy, dict) else None
    name = config.get("name") if isinstance(config, dict) else policy
    from cnnkit import mixed_precision

    try:
        return mixed_precision.Policy.of(name).name
    except (ValueError, TypeError):
        raise ModelFileError(f"{where}: dtype policy {policy!r} is not one cnnkit runs "
                             "(float32 or mixed_bfloat16).") from None


def _initializer_from_keras(value, where):
    """A Keras initializer entry as cnnkit's name; a ModelFileError for one cnnkit lacks."""
    if isinstance(value, dict) and value.get("class_name") in _INITIALIZER_NAMES:
        settings = {key: item for key, item in (value.get("config") or {}).items()
                    if key != "seed" and item is not None}  # the seed only drew weights the file replaces
        if not settings:
            return _INITIALIZER_NAMES[value["class_name"]]
    try:
        initializers.get(value)
        return value
    except (ValueError, TypeError):
        what = value.get("class_name") if isinstance(value, dict) else value
        raise ModelFileError(
            f"{where}: initializer {what!r} ({value!r}) is not one cnnkit has; it has: "
            f"{', '.join(sorted(_INITIALIZER_NAMES))}."
        ) from None


def _last_axis(axis, build_config):
    """Keras's explicit channels axis (3 for images) as cnnkit's -1, when it is the last axis."""
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    shape = (build_config or {}).get("input_shape") if isinstance(build_config, dict) else None
    if isinstance(axis, int) and axis >= 0 and isinstance(shape, list) and axis == len(shape) - 1:
        return -1
    return axis


def _arguments(cls):
    """The keyword arguments `cls(...)` takes, following `**kwargs` up its bases."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters
        names.update(name for name, p in parameters.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            break
    return names - {"self"}


def _drop_keras_defaults(config, accepted, where):
    """Removes the Keras-only keys at their defaults; any other key cnnkit's layer does not take is an error."""
    for key in [key for key in config if key not in accepted]:
        value = config[key]
        if key in _KERAS_DEFAULTS and (value == _KERAS_DEFAULTS[key] or (key == "data_format" and value is None)):
            del config[key]
            continue
        supported = f" (cnnkit supports only {key}={_KERAS_DEFAULTS[key]!r})" if key in _KERAS_DEFAULTS else ""
        raise ModelFileError(f"{where}: the Keras setting {key}={value!r} is not supported by cnnkit{supported}.")


# -- compile settings --------------------------------------------------------------------
def compile_to_keras(model):
    """Keras 3's `compile_config` for a compiled model (None when it is not compiled)."""
    if not model.compiled:
        return None
    arguments = model._compile_arguments
    optimizer = model.optimizer
    return {
        "optimizer": {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
                      "config": {**_OPTIMIZER_DEFAULTS, **optimizer.get_config()}, "registered_name": None},
        "loss": _map_entries(arguments["loss"], _loss_to_keras),
        "loss_weights": arguments["loss_weights"],
        "metrics": _map_entries(arguments["metrics"], _metric_to_keras),
        "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False,
    }


def _loss_to_keras(loss):
    if isinstance(loss, str):
        return loss
    if isinstance(loss, losses.Loss):
        return {"module": "keras.losses", "class_name": type(loss).__name__,
                "config": {**loss.get_config(), "reduction": "sum_over_batch_size"}, "registered_name": None}
    return _function_entry(loss, "loss")


def _metric_to_keras(metric):
    return metric if isinstance(metric, str) else _function_entry(metric, "metric")


def _function_entry(function, what):
    name = getattr(function, "__name__", "<lambda>")
    if not callable(function) or name == "<lambda>":
        raise ValueError(f"{what} {function!r} cannot be written to a .keras file; compile with its name "
                         "or a named function.")
    return {"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}


def compile_from_keras(config, custom_objects=None, where="config.json"):
    """Keras 3's `compile_config` as cnnkit's compile entry (see `compile_from_config`); None when empty."""
    if not config:
        return None
    if not isinstance(config, dict):
        raise ModelFileError(f"{where}: 'compile_config' must be a dict, found {config!r}")
    custom_objects = custom_objects or {}
    if config.get("weighted_metrics"):
        raise ModelFileError(f"{where}: weighted_metrics {config['weighted_metrics']!r} are not supported by cnnkit.")
    return {
        "optimizer": _optimizer_from_keras(config.get("optimizer"), custom_objects, where),
        "loss": _map_entries(config.get("loss"), lambda entry: _loss_from_keras(entry, custom_objects, where)),
        "loss_weights": config.get("loss_weights"),
        "metrics": _map_entries(config.get("metrics"), lambda entry: _metric_from_keras(entry, custom_objects, where)),
    }


def _optimizer_from_keras(entry, custom_objects, where):
    if isinstance(entry, str):
        entry = {"class_name": entry, "config": {}}
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ModelFileError(f"{where}: compile_config's optimizer must be an entry with a class_name; "
                             f"found {entry!r}")
    class_name, config = entry["class_name"], dict(entry.get("config") or {})
    if class_name not in custom_objects:
        try:
            optimizers.get(class_name)
        except ValueError:
            raise ModelFileError(
                f"{where}: optimizer '{class_name}' is not one cnnkit has (it has SGD, RMSprop, Adam, AdamW); "
                f"pass your own as custom_objects={{'{class_name}': ...}}."
            ) from None
    if isinstance(config.get("learning_rate"), dict):
        schedule = config["learning_rate"].get("class_name")
        raise ModelFileError(f"{where}: the optimizer's learning-rate schedule '{schedule}' cannot be rebuilt "
                             "by cnnkit; save the model with a constant learning rate.")
    return {"class_name": class_name, "config": config}


def _loss_from_keras(entry, custom_objects, where):
    if not isinstance(entry, dict):
        return entry
    class_name = entry.get("class_name")
    if class_name == "function":
        return entry.get("config")
    if class_name in custom_objects:
        return {"class_name": class_name, "config": entry.get("config") or {}}
    config = dict(entry.get("config") or {})
    for key, default in _LOSS_DEFAULTS.items():
        if key in config:
            value = config.pop(key)
            if value != default and not (key == "dtype" and value == "float32"):
                raise ModelFileError(f"{where}: loss {class_name} with {key}={value!r} is not supported by cnnkit "
                                     f"(only {key}={default!r}).")
    translated = {"class_name": class_name, "config": config}
    try:
        losses.get(translated)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{where}: loss '{class_name}' cannot be rebuilt by cnnkit: {error}") from None
    return translated


def _metric_from_keras(entry, custom_objects, where):  # noqa: ARG001 (custom metrics are functions)
    if not isinstance(entry, dict):
        return entry
    class_name = entry.get("class_name")
    if class_name == "function":
        return {"function": entry.get("config")}
    if class_name in _METRICS:
        threshold = (entry.get("config") or {}).get("threshold", 0.5)
        if threshold == 0.5:
            return _METRICS[class_name]
    raise ModelFileError(
        f"{where}: metric '{class_name}' ({entry!r}) is not one cnnkit has; it computes "
        f"{', '.join(sorted(_METRICS))} and the names 'accuracy', 'mae', 'mse'."
    )
