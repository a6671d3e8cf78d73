"""`cnnkit explain MODEL IMAGE...`: the prediction, Grad-CAM and activations of each image."""

from pathlib import Path

from cnnkit.cli._parser import CliError, add_device_option
from cnnkit.cli.predict import add_invert_options, open_model_for_images


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "explain", help="show where a saved model looks: Grad-CAM overlays and activation grids",
        description="For each image: one printed line (the prediction and the top three), and in DIR "
                    "<image>_gradcam.png (the image, the Grad-CAM heatmap and the overlay) and "
                    "<image>_activations.png (every channel of each convolution and pooling). Images "
                    "of any size and colour are prepared as `cnnkit predict` prepares them: digits as "
                    "MNIST's for grey models, resized to the input size for RGB models.")
    parser.add_argument("model", metavar="MODEL", help="a .cnnkit file (or a run folder holding model.cnnkit)")
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="PNG, JPEG, ... files")
    parser.add_argument("--out", default="explain", metavar="DIR",
                        help="where the pictures are written (default: explain)")
    parser.add_argument("--class", dest="class_index", metavar="K",
                        help="explain class K (an index or a class name) instead of the predicted one")
    parser.add_argument("--layer", metavar="NAME",
                        help="the layer Grad-CAM weighs (default: the last one with a 4D output)")
    add_invert_options(parser)
    add_device_option(parser)
    parser.set_defaults(run=run, invert=None)


def run(args):
    from cnnkit import viz
    from cnnkit.cli.predict import prediction_text, prepare_images

    model = open_model_for_images(args)
    names = getattr(model, "class_names", None)
    class_index = _class_index(args.class_index, names, model.output_shape)
    if args.layer is not None:
        _check_layer(model, args.layer)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    batch = prepare_images(model, args.images, args.invert)
    for number, (path, image) in enumerate(zip(args.images, batch)):
        stem = _stem(path, number, args.images)
        cam = viz.grad_cam(model, image, class_index=class_index, layer=args.layer,
                           path=out / f"{stem}_gradcam.png")
        viz.activations(model, image, path=out / f"{stem}_activations.png")
        explained = "" if class_index is None else f"; Grad-CAM for {cam.class_name}"
        print(f"{path}: {prediction_text(cam.probabilities, names)}{explained} -> "
              f"{out / (stem + '_gradcam.png')}, {out / (stem + '_activations.png')}")
    return 0


def _class_index(text, names, output_shape):
    if text is None:
        return None
    classes = output_shape[-1] if output_shape else None
    if names and text in names:
        return names.index(text)
    try:
        index = int(text)
    except ValueError:
        known = f"; the model's classes: {', '.join(names)}" if names else ""
        raise CliError(f"--class must be a class index or name, got '{text}'{known}") from None
    if classes is not None and not 0 <= index < classes:
        raise CliError(f"--class {index} is out of range: the model has {classes} classes (0 to {classes - 1})")
    return index


def _check_layer(model, name):
    from cnnkit.viz._inspect import leaf_layers

    found = [layer.name for layer in leaf_layers(model)]
    if name not in found:
        raise CliError(f"model '{model.name}' has no layer '{name}'; its layers: {', '.join(found)}")


def _stem(path, number, paths):
    """The image's file name without extension; numbered when two images share it."""
    stem = Path(path).stem
    same = [other for other in paths if Path(other).stem == stem]
    return stem if len(same) == 1 else f"{number}_{stem}"
