"""Model weights as safetensors, keyed `<layer name>/<weight name>` in Keras's layouts.

A Conv2D kernel is stored `(kh, kw, in, out)` and a Dense kernel `(in, out)`, as Keras's
`get_weights()` gives them, so a file means the same to cnnkit and to a Keras user.
safetensors holds only named arrays: reading one never runs code.

Example:
    >>> from cnnkit import layers, models
    >>> model = models.Sequential([layers.Input((4,)), layers.Dense(2, name="out")])
    >>> sorted(weight_tensors(model))
    ['out/bias', 'out/kernel']
"""

import json

import numpy as np
import torch

from cnnkit.saving.atomic import atomic_write
from cnnkit.saving.errors import ModelFileError


def _safetensors_torch():
    try:
        import safetensors.torch
    except ImportError:
        raise ImportError(
            "Saving and loading cnnkit models needs the `safetensors` package: "
            "pip install safetensors (a dependency of cnnkit: reinstall it with pip install cnnkit)."
        ) from None
    return safetensors.torch


def tensors_to_bytes(tensors, metadata=None):
    """safetensors bytes for `{name: tensor}` (copied to contiguous CPU memory first), with optional str metadata."""
    return _safetensors_torch().save({k: t.detach().cpu().contiguous() for k, t in tensors.items()}, metadata)


def metadata_from_bytes(data):
    """The `__metadata__` dict of safetensors bytes (parsed as JSON only), or {} when there is none."""
    try:
        size = int.from_bytes(data[:8], "little")
        return json.loads(data[8:8 + size]).get("__metadata__") or {}
    except (ValueError, AttributeError):
        return {}


def tensors_from_bytes(data, where):
    """`{name: tensor}` from safetensors bytes; a ModelFileError naming `where` if they are broken."""
    try:
        return _safetensors_torch().load(data)
    except Exception as error:  # safetensors raises its own SafetensorError for any malformed input
        raise ModelFileError(f"{where}: not a valid safetensors file ({error})") from error


def expected_weight_shapes(model):
    """`{"<layer>/<weight>": Keras-layout shape}` for every weight of a built model."""
    return {path: tuple(owner.to_keras_layout(name, weight).shape)
            for path, owner, name, weight in model.weight_entries()}


def weight_tensors(model):
    """`{"<layer>/.../<weight>": tensor}` in Keras's layouts, on the CPU (nested layers add their names)."""
    entries = model.weight_entries()
    return {path: torch.from_numpy(np.ascontiguousarray(array).reshape(array.shape))  # keeps shape ()
            for (path, *_), array in zip(entries, model.get_weights())}


def weight_metadata(model):
    """Metadata naming the layers with weights in model order: lets `load_weights` match by position.

    One key only: safetensors writes several metadata keys in no fixed order, and a model
    should always save to the same bytes.
    """
    return {"layers": json.dumps(_layers_with_weights(model))}


def _layers_with_weights(model):
    return [layer.name for layer in model.layers if layer.weights]


def align_layer_names(model, tensors, metadata):
    """`tensors` renamed to the model's layer names when only the names differ.

    A model built twice in one process gets new automatic names (`conv2d_1`, ...); when the
    file's layers (in order) hold the same weights as the model's, match them by position,
    as Keras does. Otherwise `tensors` is returned unchanged (and checked as is).
    """
    try:
        file_layers = json.loads(metadata.get("layers", "null"))
    except json.JSONDecodeError:
        return tensors
    model_layers = _layers_with_weights(model)
    if not isinstance(file_layers, list) or len(file_layers) != len(model_layers):
        return tensors
    expected = expected_weight_shapes(model)
    renamed = {}
    for file_layer, layer in zip(file_layers, model_layers):
        suffixes = sorted(key[len(layer) + 1:] for key in expected if key.startswith(f"{layer}/"))
        found = sorted(key[len(file_layer) + 1:] for key in tensors if key.startswith(f"{file_layer}/"))
        if found != suffixes:
            return tensors
        renamed.update({f"{layer}/{suffix}": tensors[f"{file_layer}/{suffix}"] for suffix in suffixes})
    return renamed if len(renamed) == len(tensors) else tensors


def check_weight_tensors(model, tensors, where, built_from="built from the config"):
    """Raises ModelFileError unless `tensors` has exactly the model's keys and shapes."""
    expected = expected_weight_shapes(model)
    missing = [key for key in expected if key not in tensors]
    extra = [key for key in tensors if key not in expected]
    if missing or extra:
        raise ModelFileError(
            f"{where}: the weights do not match the model's layers. "
            f"Missing weights: {missing or 'none'}; unexpected weights: {extra or 'none'}."
        )
    for key, shape in expected.items():
        found = tuple(tensors[key].shape)
        if found != shape:
            layer = key.rsplit("/", 1)[0]
            raise ModelFileError(
                f"{where}: weight '{key}' has shape {found} in the file, but layer '{layer}' "
                f"{built_from} expects {shape}."
            )
        if not tensors[key].is_floating_point():
            raise ModelFileError(f"{where}: weight '{key}' has dtype {tensors[key].dtype}; expected floats.")


def assign_weight_tensors(model, tensors, where, built_from="built from the config"):
    """Checks every key and shape first, then sets the weights (all or nothing)."""
    check_weight_tensors(model, tensors, where, built_from)
    model.set_weights([tensors[path].numpy() for path, *_ in model.weight_entries()])


def save_weights(model, filepath):
    """Writes the model's weights to a `.safetensors` file, atomically.

    Example:
        >>> model.save_weights("digits.weights.safetensors")  # doctest: +SKIP
    """
    require_built(model, "save_weights")
    data = tensors_to_bytes(weight_tensors(model), weight_metadata(model))
    with atomic_write(filepath) as file:
        file.write(data)


def load_weights(model, filepath):
    """Sets the model's weights from a file written by `save_weights`, checking every key and shape."""
    require_built(model, "load_weights")
    with open(filepath, "rb") as file:
        data = file.read()
    tensors = align_layer_names(model, tensors_from_bytes(data, str(filepath)), metadata_from_bytes(data))
    assign_weight_tensors(model, tensors, str(filepath), built_from=f"of model '{model.name}'")


def require_built(model, action):
    """A ValueError unless the model has its weights."""
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' must be built before {action}(): give it an Input or call model.build(shape)."
        )
