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
import math
import os
from typing import NamedTuple

import numpy as np
import torch

from cnnkit.saving.atomic import atomic_write
from cnnkit.saving.errors import ModelFileError
from cnnkit.saving.limits import get_limits

_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
                "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
_FLOAT_DTYPES = {"F8_E5M2", "F8_E4M3", "F16", "BF16", "F32", "F64"}


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


def read_header(data, where):
    """`({name: TensorSpec}, metadata)` of safetensors bytes, checked against their length before
    any tensor is read: the header's length field, JSON, dtypes, shapes and data offsets.

    Raises:
        ModelFileError: naming `where`, the field, and what was found.
    """
    size = int.from_bytes(data[:8], "little") if len(data) >= 8 else None
    limit = get_limits()["max_config_bytes"]
    if size is None or size > len(data) - 8 or size > limit:
        raise _invalid(where, f"the header length field says {size} bytes, but the file holds "
                             f"{max(len(data) - 8, 0)} bytes after it (header limit {limit} bytes).")
    try:
        header = json.loads(data[8:8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise _invalid(where, f"the header is not valid JSON: {error}") from error
    if not isinstance(header, dict):
        raise _invalid(where, f"the header is a {type(header).__name__}, not a JSON object.")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _invalid(where, "the header's '__metadata__' must map names to strings.")
    specs = {name: _tensor_spec(name, entry, where) for name, entry in header.items()}
    _check_offsets(specs, len(data) - 8 - size, where)
    return specs, metadata


class TensorSpec(NamedTuple):
    """One tensor as a safetensors header declares it."""

    dtype: str
    shape: tuple
    offsets: tuple

    @property
    def floating(self):
        return self.dtype in _FLOAT_DTYPES


MAX_DIMS = 8  # a weight has at most 5; bounds the product of the dims a hostile header may declare


def _tensor_spec(name, entry, where):
    """The `TensorSpec` of one header entry, its dtype, shape and offsets checked against each other."""
    if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str) or entry["dtype"] not in _DTYPE_BYTES \
            or not _is_int_list(entry.get("shape")) or len(entry["shape"]) > MAX_DIMS \
            or not _is_int_list(entry.get("data_offsets"), 2):
        raise _invalid(where, f"tensor {name!r} has no valid dtype, shape and data_offsets in the header "
                             f"(found {str(entry)[:200]}).")
    spec = TensorSpec(entry["dtype"], tuple(entry["shape"]), tuple(entry["data_offsets"]))
    begin, end = spec.offsets
    if end - begin != math.prod(spec.shape) * _DTYPE_BYTES[spec.dtype]:
        raise _invalid(where, f"tensor {name!r} declares dtype {spec.dtype} and shape {spec.shape}, "
                             f"but data offsets {begin} to {end}.")
    return spec


def _is_int_list(value, length=None):
    return isinstance(value, list) and (length is None or len(value) == length) \
        and all(isinstance(item, int) and not isinstance(item, bool) and item >= 0 for item in value)


def _check_offsets(specs, body, where):
    """The tensors' data must tile the `body` bytes after the header, in order, with no gap or overlap."""
    position = 0
    for name, spec in sorted(specs.items(), key=lambda item: item[1].offsets):
        if spec.offsets[0] != position:
            raise _invalid(where, f"tensor {name!r} starts at data offset {spec.offsets[0]}; expected "
                                 f"{position} (tensors overlap or leave gaps).")
        position = spec.offsets[1]
    if position != body:
        raise _invalid(where, f"the header declares {position} bytes of tensor data, the file holds {body}.")


def _invalid(where, problem):
    return ModelFileError(f"{where}: not a valid safetensors file: {problem}")


def metadata_from_bytes(data, where):
    """The `__metadata__` dict of safetensors bytes (`{str: str}`, {} when there is none)."""
    return read_header(data, where)[1]


def tensors_from_bytes(data, where):
    """`{name: tensor}` from safetensors bytes, their header checked first; a ModelFileError naming
    `where` if they are broken."""
    read_header(data, where)
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


def check_weight_specs(model, specs, where, built_from="built from the config"):
    """Raises ModelFileError unless `specs` (`{key: TensorSpec}`) has exactly the model's keys and
    shapes, in floats."""
    expected = expected_weight_shapes(model)
    missing = [key for key in expected if key not in specs]
    extra = [key for key in specs if key not in expected]
    if missing or extra:
        raise ModelFileError(
            f"{where}: the weights do not match the model's layers. "
            f"Missing weights: {missing or 'none'}; unexpected weights: {extra or 'none'}."
        )
    for key, shape in expected.items():
        found = specs[key].shape
        if found != shape:
            layer = key.rsplit("/", 1)[0]
            raise ModelFileError(
                f"{where}: weight '{key}' has shape {found} in the file, but layer '{layer}' "
                f"{built_from} expects {shape}."
            )
        if not specs[key].floating:
            raise ModelFileError(f"{where}: weight '{key}' has dtype {specs[key].dtype}; expected floats.")


def load_weight_bytes(model, data, where, built_from="built from the config", align=False):
    """Sets the model's weights from safetensors bytes, all or none: the header's names, shapes and
    dtypes are checked against the model's weights before any tensor is read. `align`: match layers
    by position when only their names differ (`align_layer_names`)."""
    specs, metadata = read_header(data, where)
    check_weight_specs(model, align_layer_names(model, specs, metadata) if align else specs, where, built_from)
    tensors = tensors_from_bytes(data, where)
    tensors = align_layer_names(model, tensors, metadata) if align else tensors
    model.set_weights([tensors[path].to(torch.float32).numpy() for path, *_ in model.weight_entries()])


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
    data = read_file(filepath, get_limits()["max_weights_bytes"])
    load_weight_bytes(model, data, str(filepath), built_from=f"of model '{model.name}'", align=True)


def read_file(filepath, limit):
    """The bytes of a weights file, refused before reading when it is larger than `limit`."""
    with open(filepath, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > limit:
            raise ModelFileError(f"{filepath}: {size} bytes, over the limit of {limit} bytes for a weights file "
                                 "(cnnkit.saving.set_limits changes it).")
        return file.read(limit + 1)


def require_built(model, action):
    """A ValueError unless the model has its weights."""
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' must be built before {action}(): give it an Input or call model.build(shape)."
        )
