"""`cnnkit predict MODEL IMAGE...`: classify pictures of digits with a saved model."""

import json
import os

import cnnkit
from cnnkit.cli._model_file import open_model
from cnnkit.cli._parser import CliError, add_device_option

TOP = 3


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "predict", help="classify PNG/JPEG images of digits with a saved model",
        description="Classify images of any size and colour. Each is prepared as MNIST's digits were: "
                    "grey, cropped to the digit, fitted in 20x20, centred by mass in 28x28, white on "
                    "black (a dark digit on a light background is inverted automatically).")
    parser.add_argument("model", metavar="MODEL", help="a .cnnkit file (or a run folder holding model.cnnkit)")
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="PNG, JPEG, ... files")
    invert = parser.add_mutually_exclusive_group()
    invert.add_argument("--invert", dest="invert", action="store_const", const=True,
                        help="always invert (for dark digits on light backgrounds)")
    invert.add_argument("--no-invert", dest="invert", action="store_const", const=False,
                        help="never invert (for light digits on dark backgrounds)")
    parser.add_argument("--json", action="store_true",
                        help='one JSON object per image per line: {"image", "class", "top3"}')
    add_device_option(parser)
    parser.set_defaults(run=run, invert=None)


def run(args):
    import numpy as np

    from cnnkit.preprocessing import load_digit

    missing = [path for path in args.images if not os.path.isfile(path)]
    if missing:
        raise CliError(f"image file not found: '{missing[0]}'" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    if args.device:
        cnnkit.set_device(args.device)
    model = open_model(args.model)
    height, width, channels = _input_shape(model)
    batch = np.stack([load_digit(path, args.invert, (height, width)) for path in args.images])
    batch = np.repeat(batch[..., None], channels, axis=-1)
    probabilities = model.predict(batch, verbose=0)
    for path, row in zip(args.images, probabilities):
        best = np.argsort(row)[::-1][:TOP]
        top = [[int(label), float(f"{row[label]:.4g}")] for label in best]  # 4 significant digits: small ones stay visible
        if args.json:
            print(json.dumps({"image": path, "class": top[0][0], "top3": top}))
        else:
            print(f"{path}: {top[0][0]}  (" + ", ".join(f"{label}: {_probability(p)}" for label, p in top) + ")")
    return 0


def _input_shape(model):
    """(height, width, channels) of the model's images; grey or RGB only."""
    shape = tuple(model.input_shape or ())
    if len(shape) != 4 or shape[-1] not in (1, 3) or None in shape[1:]:
        raise CliError(f"model '{model.name}' takes inputs of shape {shape}; predict needs images "
                       "(None, height, width, 1 or 3)")
    return shape[1:]


def _probability(p):
    """0.981 as "0.981"; below 0.001 in scientific notation, so that a tiny one does not read as zero."""
    return f"{p:.3f}" if p >= 1e-3 else f"{p:.1e}"
