"""`save_model`, `load_model`, `save_weights`, `load_weights`: the file format chosen by extension.

| extension     | format                                                                 |
|---------------|------------------------------------------------------------------------|
| `.keras`      | Keras 3's model file (config.json, model.weights.h5): Keras loads it    |
| `.cnnkit`     | cnnkit's model file (config.json, safetensors)                          |
| `.weights.h5` | Keras 3's weights file (HDF5), for save_weights/load_weights            |
| other         | models: the `.cnnkit` format; weights: safetensors                      |

A `.h5` or `.hdf5` model file is Keras 2's legacy format, which cnnkit neither reads nor writes.

Example:
    >>> from cnnkit import layers, models
    >>> model = models.Sequential([layers.Input((4,)), layers.Dense(2)])
    >>> model.save("tiny.keras")  # doctest: +SKIP
    >>> models.load_model("tiny.keras").count_params()  # doctest: +SKIP
    10
"""

import os

from cnnkit.saving import keras_file, model_file, weights


def _kind(filepath):
    name = os.fspath(filepath).lower()
    if name.endswith(".keras"):
        return "keras"
    if name.endswith(".weights.h5"):
        return "weights.h5"
    if name.endswith((".h5", ".hdf5")):
        return "legacy"
    return "cnnkit"


def _refuse_legacy(filepath, action):
    raise ValueError(
        f"{action}: '{os.fspath(filepath)}' names Keras 2's legacy HDF5 format, which cnnkit does not "
        "support. Use a `.keras` file for a model (or `.cnnkit`), `.weights.h5` for weights."
    )


def save_model(model, filepath, include_optimizer=True):
    """Writes the whole model: `.keras` in Keras 3's format, anything else in cnnkit's."""
    kind = _kind(filepath)
    if kind in ("legacy", "weights.h5"):
        _refuse_legacy(filepath, "save")
    if kind == "keras":
        keras_file.save_keras_model(model, filepath, include_optimizer)
    else:
        model_file.save_model(model, filepath, include_optimizer)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuilds a model saved by `model.save` (cnnkit's) or by Keras 3 (`.keras`), compiled as it was saved.

    Args:
        filepath: a `.keras` or `.cnnkit` file.
        custom_objects: optional `{class name: class}` for custom layers, optimizers and losses,
            and `{function name: function}` for custom metrics.
        compile: bool, compile the model as it was saved (and restore the optimizer's state).
        safe_mode: accepted for Keras's signature; cnnkit never runs code from a file, so a
            `Lambda` layer's bytecode is refused whatever its value.

    Raises:
        ModelFileError: the file is truncated, tampered with, names a class cnnkit lacks or
            does not match itself; the message names the file and the entry.
    """
    del safe_mode  # always safe
    kind = _kind(filepath)
    if kind in ("legacy", "weights.h5"):
        _refuse_legacy(filepath, "load_model")
    if kind == "keras":
        return keras_file.load_keras_model(filepath, custom_objects, compile)
    return model_file.load_model(filepath, custom_objects, compile)


def save_weights(model, filepath):
    """Writes the weights: `.weights.h5` as Keras 3 does (with a compiled model's optimizer state),
    anything else as safetensors."""
    kind = _kind(filepath)
    if kind == "weights.h5":
        keras_file.save_weights_h5(model, filepath)
    elif kind in ("keras", "legacy"):
        raise ValueError(f"save_weights: the filepath must end in `.weights.h5` (Keras's weights file) or "
                         f"`.safetensors`. Received: filepath={os.fspath(filepath)}")
    else:
        weights.save_weights(model, filepath)


def load_weights(model, filepath):
    """Sets the weights from a `.weights.h5` file (Keras 3's or cnnkit's; `.h5` in Keras 3's layout too)
    or a safetensors file, checking every weight's name and shape."""
    kind = _kind(filepath)
    if kind in ("weights.h5", "legacy"):
        keras_file.load_weights_h5(model, filepath)
    elif kind == "keras":
        raise ValueError("load_weights: a `.keras` file holds a whole model: load it with load_model(). "
                         f"Received: filepath={os.fspath(filepath)}")
    else:
        weights.load_weights(model, filepath)
