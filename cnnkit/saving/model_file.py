"""The `.cnnkit` model file: one zip of JSON and safetensors, never pickle.

Entries:
    config.json           format and cnnkit versions, the architecture (every layer's class
                          and config, the model name and input shape), the compile settings and,
                          optionally, `class_names` (loaded back as `model.class_names`).
    model.safetensors     the weights, `<layer name>/<weight name>` in Keras's layouts.
    optimizer.safetensors (optional) `optimizer.variables_state()`: iterations, learning rate
                          and slots, so that training continues exactly where it stopped; its
                          metadata names the weights the optimizer was built for.

Loading only parses JSON and safetensors and builds layers named in `cnnkit.layers` (or the
caller's `custom_objects`); every problem is a `ModelFileError` naming the file and entry.

Example:
    >>> model.save("digits.cnnkit")  # doctest: +SKIP
    >>> restored = load_model("digits.cnnkit")  # doctest: +SKIP
"""

import json
import math

import cnnkit
from cnnkit.engine.device import get_device
from cnnkit.saving.archive import read_entries, write_zip
from cnnkit.saving.build_budget import BuildBudget
from cnnkit.saving.errors import ModelFileError, malformed_entry
from cnnkit.saving.model_config import compile_config, compile_from_config, model_config, model_from_config
from cnnkit.saving.weights import (
    load_weight_bytes, metadata_from_bytes, read_header, tensors_from_bytes, tensors_to_bytes, weight_metadata,
    weight_tensors,
)

FORMAT = "cnnkit.model"
FORMAT_VERSION = 2  # 2: Keras 3's model schema (Functional graphs, nested and subclassed models)
CONFIG, WEIGHTS, OPTIMIZER = "config.json", "model.safetensors", "optimizer.safetensors"


def save_model(model, filepath, include_optimizer=True, extra_entries=None):
    """Writes `model` to `filepath` atomically: a crash mid-save leaves the old file intact.

    Args:
        model: a Sequential, Functional or subclassed model (built or not, compiled or not).
        filepath: path of the `.cnnkit` file.
        include_optimizer: bool, also store the optimizer's state (when it has been built).
        extra_entries: optional `{entry name: bytes}` stored alongside (used by BackupAndRestore).
    """
    optimizer_state = include_optimizer and model.loss is not None and model._optimizer_built
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "cnnkit_version": cnnkit.__version__,
        "model": model_config(model),
        "dtype_policy": model._dtype_policy.name if model._dtype_policy is not None else None,
        "compile": compile_config(model),
        "optimizer_state": bool(optimizer_state),
    }
    class_names = getattr(model, "class_names", None)
    if class_names is not None:
        config["class_names"] = [str(name) for name in class_names]
    entries = {CONFIG: json.dumps(config, indent=2).encode()}
    entries[WEIGHTS] = tensors_to_bytes(weight_tensors(model), weight_metadata(model)) if model.built \
        else tensors_to_bytes({})
    if optimizer_state:
        entries[OPTIMIZER] = tensors_to_bytes(model.optimizer.variables_state(), _optimized_weights_metadata(model))
    entries.update(extra_entries or {})
    write_zip(filepath, entries)


def load_model(filepath, custom_objects=None, compile=True):
    """Rebuilds a model saved by `model.save`: architecture, weights, compile settings, optimizer state.

    Args:
        filepath: path of a `.cnnkit` file.
        custom_objects: optional `{class name: class}` for custom layers, optimizers and losses,
            and `{function name: function}` for custom metrics.
        compile: bool, compile the model as it was saved (and restore the optimizer's state).

    Returns:
        The model, with predictions identical to the saved model's.

    Raises:
        ModelFileError: the file is truncated, tampered with, of a newer format, or does not
            match itself (unknown layer, missing, extra or misshapen weights).
    """
    entries = read_entries(filepath, required=(CONFIG, WEIGHTS), optional=(OPTIMIZER,))
    config = read_config(entries, filepath)
    where = f"{filepath}: {CONFIG}"
    specs, _ = read_header(entries[WEIGHTS], f"{filepath}: {WEIGHTS}")
    with malformed_entry(where), BuildBudget(sum(math.prod(spec.shape) for spec in specs.values()), where):
        model = model_from_config(config["model"], custom_objects, where=where)
        set_dtype_policy(model, config, where)
        set_class_names(model, config, where)
    load_weight_bytes(model, entries[WEIGHTS], f"{filepath}: {WEIGHTS}")
    if compile:
        with malformed_entry(where):
            compile_from_config(model, config.get("compile"), custom_objects, where=where)
        if OPTIMIZER in entries and model.loss is not None:
            restore_optimizer_state(model, entries[OPTIMIZER], f"{filepath}: {OPTIMIZER}")
    return model


def set_dtype_policy(model, config, where):
    """The model's own dtype policy, when it had one (format 1 kept it in the model entry)."""
    policy = config.get("dtype_policy") or (config["model"] or {}).get("dtype_policy")
    try:
        model.dtype_policy = policy
    except ValueError as error:
        raise ModelFileError(f"{where}: entry 'dtype_policy': {error}") from error


def set_class_names(model, config, where):
    """`model.class_names` from the optional top-level `class_names` entry (a list of strings)."""
    names = config.get("class_names")
    if names is None:
        return
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ModelFileError(f"{where}: entry 'class_names' must be a list of strings.")
    model.class_names = names


def restore_model_state(model, filepath, extra_entries=()):
    """Loads the weights and optimizer state of `filepath` into the (same-architecture) `model`.

    Returns the file's entries, with those of `extra_entries` it holds (the caller's own).
    """
    entries = read_entries(filepath, required=(CONFIG, WEIGHTS), optional=(OPTIMIZER, *extra_entries))
    read_config(entries, filepath)
    load_weight_bytes(model, entries[WEIGHTS], f"{filepath}: {WEIGHTS}", built_from=f"of model '{model.name}'",
                      align=True)
    if OPTIMIZER in entries and model.loss is not None:
        restore_optimizer_state(model, entries[OPTIMIZER], f"{filepath}: {OPTIMIZER}")
    return entries


def _optimized_weights_metadata(model):
    """The paths of the weights the optimizer was built for, in its order: they differ from the
    trainable weights when layers were frozen or unfrozen after it was built."""
    paths = {id(weight): path for path, _, _, weight in model.weight_entries()}
    return {"weights": json.dumps([paths.get(id(weight)) for weight in model.optimizer._params])}


def _optimized_weights(model, data, where):
    """The weights named by `_optimized_weights_metadata`, or None (the trainable ones) when
    the file does not name them or names weights that this model lacks."""
    try:
        paths = json.loads(metadata_from_bytes(data, where).get("weights", "null"))
    except json.JSONDecodeError:
        return None
    weights = {path: weight for path, _, _, weight in model.weight_entries()}
    if not isinstance(paths, list) or not all(isinstance(path, str) and path in weights for path in paths):
        return None
    return [weights[path] for path in paths]


def restore_optimizer_state(model, data, where):
    """Builds the optimizer on the model's device, for the weights it was built for, and loads
    its saved variables."""
    model.to(get_device())
    model.build_optimizer(_optimized_weights(model, data, where))
    try:
        model.optimizer.load_variables_state(tensors_from_bytes(data, where))
    except ValueError as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"{where}: the optimizer state does not match the model: {error}") from error


def read_config(entries, filepath):
    """The parsed `config.json`, after checking the format and version it declares."""
    try:
        config = json.loads(entries[CONFIG])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:  # RecursionError: nested too deeply
        raise ModelFileError(f"{filepath}: entry '{CONFIG}' is not valid JSON: {error}") from error
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{filepath}: entry '{CONFIG}' does not declare format '{FORMAT}'.")
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise ModelFileError(
            f"{filepath}: format version {version!r} is not supported; this cnnkit "
            f"({cnnkit.__version__}) reads format versions 1 to {FORMAT_VERSION}."
        )
    written_by = config.get("cnnkit_version")
    if _version_tuple(written_by, filepath) > _version_tuple(cnnkit.__version__, filepath):
        raise ModelFileError(
            f"{filepath}: written by cnnkit {written_by}, newer than this cnnkit {cnnkit.__version__}; "
            "upgrade cnnkit to load it."
        )
    for key in ("model", "compile"):
        if key not in config:
            raise ModelFileError(f"{filepath}: entry '{CONFIG}' has no '{key}' key.")
    return config


def _version_tuple(version, filepath):
    try:
        return tuple(int(part) for part in str(version).split("+")[0].split(".")[:3])
    except ValueError:
        raise ModelFileError(f"{filepath}: '{CONFIG}' has an unreadable cnnkit_version {version!r}.") from None
