"""ONNX export (`model.export("model.onnx", format="onnx")`), through torch's ONNX exporter.

The ONNX graph computes the model's inference (Dropout off, BatchNormalization on its moving
statistics) on inputs as the model takes them, channels-last `(batch, height, width,
channels)`, with the batch size left free. It needs the optional packages `onnx` and
`onnxscript` (`pip install 'cnnkit[onnx]'`, which also brings `onnxruntime` to run it).

Example:
    >>> model.export("digits.onnx", format="onnx")  # doctest: +SKIP
    >>> import onnxruntime  # doctest: +SKIP
    >>> session = onnxruntime.InferenceSession("digits.onnx")  # doctest: +SKIP
    >>> probabilities = session.run(None, {"input_layer": images})[0]  # doctest: +SKIP
"""

import contextlib
import importlib.util
import logging
import os
import tempfile
import warnings
from pathlib import Path

import torch

from cnnkit.layers.node import flatten

EXAMPLE_BATCH = 2  # torch.export treats sizes 0 and 1 as special cases: trace with a general one


def require_onnx_packages():
    """An ImportError naming what to install unless torch's ONNX exporter has its packages."""
    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"ONNX export needs the package(s) {', '.join(missing)}, not installed: "
            "pip install 'cnnkit[onnx]' (or pip install onnx onnxscript onnxruntime)."
        )


class _Inference(torch.nn.Module):
    """The model's inference as a module of positional tensors, for the exporter."""

    def __init__(self, model, keys):
        super().__init__()
        self.model = model
        self.keys = keys  # None: one input; a list of dict keys; or [] for a list of inputs

    def forward(self, *inputs):
        if self.keys is None:
            arguments = inputs[0]
        elif self.keys:
            arguments = dict(zip(self.keys, inputs))
        else:
            arguments = list(inputs)
        outputs = self.model(arguments, training=False)
        return outputs if isinstance(outputs, torch.Tensor) else tuple(flatten(outputs))


def export_onnx(model, filepath, verbose=None, input_signature=None, opset_version=None):
    """Writes the model's inference as an ONNX file, atomically.

    Args:
        model: a built model.
        filepath: path of the `.onnx` file.
        verbose: bool, show the exporter's messages. Default quiet.
        input_signature: optional input shape (or list of shapes, one per input) with the batch
            first, e.g. `(None, 32, 32, 3)`: needed only where the model's own input shape
            leaves a size other than the batch unknown.
        opset_version: optional ONNX opset (torch's default otherwise).

    Returns:
        The path written.
    """
    require_onnx_packages()
    if not model.built:
        raise ValueError(f"Model '{model.name}' must be built before export(): give it an Input or call "
                         "model.build(shape).")
    shapes, keys, input_names = _inputs(model, input_signature)
    output_names = _output_names(model)
    device = next(model.parameters(), torch.empty(0)).device
    examples = tuple(torch.rand((EXAMPLE_BATCH, *shape[1:]), device=device) for shape in shapes)
    batch = torch.export.Dim("batch")
    path = Path(filepath)
    fd, temporary = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".onnx")
    os.close(fd)
    try:
        with _quiet(verbose):
            torch.onnx.export(_Inference(model, keys), examples, temporary, dynamo=True, external_data=False,
                              input_names=input_names, output_names=output_names, opset_version=opset_version,
                              dynamic_shapes=(tuple({0: batch} for _ in examples),), verbose=bool(verbose))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _inputs(model, input_signature):
    """The example shapes, how the model takes its inputs, and the ONNX input names."""
    structure = model.input_shape if input_signature is None else input_signature
    if isinstance(structure, dict):
        keys, shapes = list(structure), [tuple(shape) for shape in structure.values()]
        names = keys
    elif isinstance(structure, (list, tuple)) and structure and isinstance(structure[0], (list, tuple)):
        keys, shapes = [], [tuple(shape) for shape in structure]
        names = _names(model, len(shapes))
    else:
        keys, shapes = None, [tuple(structure)]
        names = _names(model, 1)
    for shape in shapes:
        if any(size is None for size in shape[1:]):
            raise ValueError(f"Model '{model.name}' takes inputs of shape {shape}: give export() an "
                             "input_signature with every size but the batch, e.g. (None, 28, 28, 1).")
    return shapes, keys, names


def _names(model, count):
    names = list(getattr(model, "input_names", None) or [])
    return names if len(names) == count else ["input"] if count == 1 else [f"input_{i}" for i in range(count)]


def _output_names(model):
    """"output" for one output; the output names for several (torch's own names where unknown)."""
    if getattr(model, "_graph", None) is None:
        return ["output"] if isinstance(model.output_shape, tuple) else None
    names = list(model.objective_names())
    if len(names) == 1:
        return ["output"]
    return names if len(set(names)) == len(names) else None


@contextlib.contextmanager
def _quiet(verbose):
    """Silences the exporter's warnings and log lines unless `verbose`."""
    if verbose:
        yield
        return
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
