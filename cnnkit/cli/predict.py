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
    add_invert_options(parser)
    parser.add_argument("--json", action="store_true",
                        help='one JSON object per image per line: {"image", "class", "top3"}')
    add_device_option(parser)
    parser.set_defaults(run=run, invert=None)


def add_invert_options(parser):
    """--invert / --no-invert: how digit models read a picture's colours (default: guessed)."""
    invert = parser.add_mutually_exclusive_group()
    invert.add_argument("--invert", dest="invert", action="store_const", const=True,
                        help="always invert digits (for dark digits on light backgrounds)")
    invert.add_argument("--no-invert", dest="invert", action="store_const", const=False,
                        help="never invert digits (for light digits on dark backgrounds)")


def open_model_for_images(args):
    """The model of `args.model` on `args.device`, once every file of `args.images` exists."""
    missing = [path for path in args.images if not os.path.isfile(path)]
    if missing:
        raise CliError(f"image file not found: '{missing[0]}'" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    if args.device:
        cnnkit.set_device(args.device)
    return open_model(args.model)


def run(args):
    import numpy as np

    model = open_model_for_images(args)
    batch = prepare_images(model, args.images, args.invert)
    probabilities = model.predict(batch, verbose=0)
    names = getattr(model, "class_names", None)
    for path, row in zip(args.images, probabilities):
        best = np.argsort(row)[::-1][:TOP]
        top = [[int(label), float(f"{row[label]:.4g}")] for label in best]  # 4 significant digits: small ones stay visible
        if args.json:
            line = {"image": path, "class": top[0][0], "top3": top}
            if names:
                line["class_name"] = label_name(names, top[0][0])
            print(json.dumps(line))
        else:
            print(f"{path}: {prediction_text(row, names)}")
    return 0


def prepare_images(model, paths, invert=None):
    """The images at `paths` as the model's input batch (n, height, width, channels), float32,
    each read with Pillow and prepared by `prepare_image`."""
    import numpy as np

    from cnnkit.preprocessing.digits import read_image

    shape = _input_shape(model)
    batch = []
    for path in paths:
        image = read_image(path)
        try:
            batch.append(prepare_image(image, shape, invert))
        except ValueError as error:
            raise ValueError(f"Image '{path}': {error}") from None
    return np.stack(batch)


def prepare_image(image, shape, invert=None):
    """One Pillow image as the input of a model whose images are `shape` = (height, width, channels):
    float32 (height, width, channels). Shared by `cnnkit predict`, `cnnkit explain` and `cnnkit serve`.

    Grey models (1 channel) get the digit prepared as MNIST's were (`prepare_digit`: [0, 1], white
    on black, `invert` as there); RGB models get the picture converted to RGB and resized (bilinear,
    as `image_dataset_from_directory` resizes) to their input size, 0..255 as image-folder training
    gives it (`invert` is ignored).

    Raises:
        ValueError: a grey model's image shows no digit.
    """
    import numpy as np

    from cnnkit.preprocessing import prepare_digit

    height, width, channels = shape
    if channels == 1:
        return prepare_digit(image, invert, (height, width))[..., None]
    import torch

    from cnnkit.layers.preprocessing._resize import resize_images

    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):  # 16-bit grey: keep the high byte, as training does
        from PIL import Image

        image = Image.fromarray((np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")  # transparency of a palette image dropped as training drops it
    pixels = torch.from_numpy(np.array(image.convert("RGB"))).to(torch.float32)[None]
    return resize_images(pixels, (height, width), "bilinear")[0].contiguous().numpy()


def label_name(names, label):
    """The class name of `label` when the model knows its names, else the index as text."""
    return str(names[label]) if names and 0 <= label < len(names) else str(label)


def prediction_text(row, names=None):
    """`7  (7: 0.981, 1: 0.012, 9: 0.003)`: the best class and the top three, named when names are known."""
    import numpy as np

    best = np.argsort(row)[::-1][:TOP]
    return f"{label_name(names, best[0])}  (" + ", ".join(
        f"{label_name(names, label)}: {_probability(float(row[label]))}" for label in best) + ")"


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
