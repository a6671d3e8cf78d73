"""Keras 3's `.keras` model file, read and written, and its `.weights.h5` weights files.

A `.keras` file is a zip of:
    metadata.json     the Keras version whose format it follows (and, from cnnkit, cnnkit's version).
    config.json       the model in Keras 3's serialization (`module`, `class_name`, `config`,
                      `registered_name`, `build_config`) and its `compile_config`.
    model.weights.h5  the weights in Keras's HDF5 layout, with the optimizer's state (see keras_weights).

Keras 3 loads what cnnkit writes, and cnnkit loads what Keras 3 writes from the layers,
losses, metrics and optimizers cnnkit has (checked on files from Keras 3.15, TensorFlow backend). Loading parses JSON and HDF5 only:
no pickle, and a `Lambda` layer's bytecode is refused, as Keras's `safe_mode` does.

Example:
    >>> model.save("digits.keras")  # doctest: +SKIP
    >>> restored = load_keras_model("digits.keras")  # doctest: +SKIP
"""

import json

import cnnkit
from cnnkit.saving.archive import read_entries, write_zip
from cnnkit.saving.atomic import atomic_write
from cnnkit.saving.build_budget import BuildBudget
from cnnkit.saving.errors import ModelFileError, malformed_entry
from cnnkit.saving.keras_config import compile_from_keras, compile_to_keras, model_from_keras, model_to_keras, \
    refuse_code
from cnnkit.saving.keras_weights import (
    assign_weights, open_h5, read_weights, restore_optimizer, stored_weight_count, weights_h5_bytes,
)
from cnnkit.saving.limits import get_limits
from cnnkit.saving.model_config import compile_from_config, model_config, model_from_config
from cnnkit.saving.weights import read_file, require_built

METADATA, CONFIG, WEIGHTS = "metadata.json", "config.json", "model.weights.h5"
KERAS_VERSION = "3.15.1"  # the Keras release whose format cnnkit writes, and checks its files against


def save_keras_model(model, filepath, include_optimizer=True):
    """Writes `model` as a Keras 3 `.keras` file, atomically.

    Args:
        model: a Sequential, Functional or subclassed model.
        filepath: path ending in `.keras`.
        include_optimizer: bool, also store the optimizer's state (Keras always does).
    """
    if model._dtype_policy is not None:
        policy = model._dtype_policy.name
    else:
        policy = "float32"
    config = model_to_keras(model_config(model), policy)
    compile_config = compile_to_keras(model)
    if compile_config is not None:
        config["compile_config"] = compile_config
    metadata = {"keras_version": KERAS_VERSION, "cnnkit_version": cnnkit.__version__}
    write_zip(filepath, {
        METADATA: json.dumps(metadata).encode(),
        CONFIG: json.dumps(config).encode(),
        WEIGHTS: weights_h5_bytes(model, include_optimizer),
    })


def load_keras_model(filepath, custom_objects=None, compile=True):
    """Rebuilds the model of a Keras 3 `.keras` file (written by Keras or cnnkit).

    Args:
        filepath: path of the `.keras` file.
        custom_objects: optional `{class name: class}` for custom layers and optimizers and
            `{function name: function}` for custom losses and metrics; registered classes
            (`register_keras_serializable`) are found without it.
        compile: bool, compile the model as it was saved and restore the optimizer's state.

    Raises:
        ModelFileError: the file is truncated or tampered with, names a class cnnkit lacks,
            holds a Lambda layer's bytecode, or its weights do not match its layers.
    """
    where = str(filepath)
    entries = read_entries(filepath, required=(CONFIG, WEIGHTS), optional=(METADATA,), kind="Keras .keras")
    if METADATA in entries:
        _json(entries[METADATA], f"{where}: {METADATA}")
    config = _json(entries[CONFIG], f"{where}: {CONFIG}")
    if not isinstance(config, dict):
        raise ModelFileError(f"{where}: entry '{CONFIG}' must describe a model, found {type(config).__name__}.")
    in_config = f"{where}: {CONFIG}"
    refuse_code(config, in_config)
    with open_h5(entries[WEIGHTS], f"{where}: {WEIGHTS}") as file:
        with malformed_entry(in_config), BuildBudget(stored_weight_count(file, f"{where}: {WEIGHTS}"), in_config):
            entry, policy = model_from_keras({key: value for key, value in config.items() if key != "compile_config"},
                                             in_config)
            model = model_from_config(entry, custom_objects, where=in_config)
            if policy is not None:
                model.dtype_policy = policy
        assign_weights(model, read_weights(model, file, f"{where}: {WEIGHTS}"))
        if compile:
            with malformed_entry(in_config):
                compile_entry = compile_from_keras(config.get("compile_config"), custom_objects, in_config)
                compile_from_config(model, compile_entry, custom_objects, where=in_config)
            if model.compiled:
                restore_optimizer(model, file, f"{where}: {WEIGHTS}")
    return model


def _json(data, where):
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelFileError(f"{where}: not valid JSON: {error}") from error


def save_weights_h5(model, filepath):
    """Writes the weights (and a compiled model's optimizer state) as Keras 3's `.weights.h5`, atomically."""
    require_built(model, "save_weights")
    data = weights_h5_bytes(model, include_optimizer=True)
    with atomic_write(filepath) as file:
        file.write(data)


def load_weights_h5(model, filepath):
    """Sets the weights from a Keras 3 `.weights.h5` file (Keras's or cnnkit's), checking every dataset's
    path and shape; a compiled model also gets the optimizer state the file holds."""
    require_built(model, "load_weights")
    where = str(filepath)
    with open_h5(read_file(filepath, get_limits()["max_weights_bytes"]), where) as file:
        assign_weights(model, read_weights(model, file, where))
        if model.compiled:
            restore_optimizer(model, file, where)
