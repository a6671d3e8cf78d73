"""`cnnkit export MODEL --format onnx [--out PATH]`: a saved model as an ONNX file for serving."""

from pathlib import Path

from cnnkit.cli._model_file import open_model
from cnnkit.cli._parser import CliError

FORMATS = ("onnx",)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "export", help="write a saved model as an ONNX file",
        description="Write a saved model's inference (Dropout off, BatchNormalization on its moving statistics) "
                    "as an ONNX file: inputs as the model takes them (channels last), any batch size. Needs "
                    "pip install 'cnnkit[onnx]'; with onnxruntime installed, the file is checked against cnnkit.")
    parser.add_argument("model", metavar="MODEL", help="a .cnnkit or .keras file (or a run folder holding "
                                                       "model.cnnkit)")
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="default: onnx")
    parser.add_argument("--out", metavar="PATH", help="the file to write (default: MODEL with the .onnx extension; "
                                                      "model.onnx in a run folder)")
    parser.set_defaults(run=run)


def run(args):
    from cnnkit.saving.onnx_export import require_onnx_packages

    require_onnx_packages()  # before loading anything
    source = Path(args.model)
    out = Path(args.out) if args.out else (source / "model.onnx" if source.is_dir() else source.with_suffix(".onnx"))
    if out.is_dir():
        raise CliError(f"--out '{out}' is a folder; give the path of the .onnx file to write")
    if not out.parent.is_dir():
        raise CliError(f"folder not found: '{out.parent}' (for --out '{out}')")
    model = open_model(args.model)
    model.export(out, format=args.format)
    shapes = model.input_shape if isinstance(model.input_shape, tuple) else "several inputs"
    print(f"Exported {model.name} to {out} ({args.format}; input {shapes}, any batch size)")
    difference = _check_with_onnxruntime(model, out)
    if difference is not None:
        print(f"Checked with onnxruntime on a random batch: largest difference from cnnkit {difference:.2e}")
    return 0


def _check_with_onnxruntime(model, path):
    """The largest difference between onnxruntime's outputs and cnnkit's on a random batch of 4, or
    None when onnxruntime is not installed or the model's inputs are not one tensor."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None or not isinstance(model.input_shape, tuple):
        return None
    import numpy as np
    import onnxruntime
    import torch

    from cnnkit.layers.node import flatten

    batch = np.random.default_rng(0).random((4, *model.input_shape[1:]), dtype=np.float32)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_outputs = session.run(None, {session.get_inputs()[0].name: batch})
    with torch.no_grad():
        outputs = model(batch, training=False)
    expected = [tensor.detach().cpu().numpy() for tensor in flatten(outputs)]
    return max(float(np.abs(a - b).max()) for a, b in zip(onnx_outputs, expected))
