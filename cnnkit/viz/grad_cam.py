"""Grad-CAM: where in the image the evidence for a class lies (Selvaraju et al., 2017)."""

import dataclasses

import numpy as np
import torch

from cnnkit.viz._inspect import as_batch, find_layer, is_image_map, last_map_layer, leaf_layers, recording

OVERLAY_ALPHA = 0.4  # weight of the colour map over the image


@dataclasses.dataclass
class GradCam:
    """What `grad_cam` found for one image.

    Attributes:
        heatmap: float32 array (h, w) in [0, 1], at the resolution of `layer`'s output (1 = the
            strongest evidence for the class; all zeros when nothing in the map raises it).
        overlay: uint8 array (H, W, 3), the image (grey as RGB, scaled to its own min..max) with
            the heatmap, resized to (H, W), drawn over it in the "jet" colour map.
        class_index: int, the class explained (the predicted one unless one was given).
        class_name: str, `model.class_names[class_index]` when the model has class names, else
            `str(class_index)`.
        probabilities: float32 array (classes,), the model's output for the image (a softmax of
            it when the output is not already a probability distribution).
        layer: str, the name of the layer whose output was weighed.
    """

    heatmap: np.ndarray
    overlay: np.ndarray
    class_index: int
    class_name: str
    probabilities: np.ndarray
    layer: str


def grad_cam(model, image, class_index=None, layer=None, path=None):
    """The Grad-CAM heatmap of one image for one class, and its overlay on the image.

    Each channel of `layer`'s output is weighted by the mean gradient of the class score over
    it; the heatmap is the ReLU of the weighted sum. The class score is the pre-softmax logit
    when the model's last layer can give it (Functional and Sequential models ending in a
    Dense/Conv2D/Activation layer), else the model's output.

    Works for Sequential, Functional and subclassed models (the layer's output is captured by
    a forward hook, never by a sub-model), grey and RGB inputs, any input size the model takes.

    Args:
        model: a built model with one output of shape (batch, classes).
        image: array or tensor (height, width), (height, width, channels) or
            (1, height, width, channels), prepared as the model expects (scaled, sized).
        class_index: int, the class to explain. Default None: the predicted class.
        layer: a layer or its name (nested models' layers included). Default None: the last
            layer with a 4D output (usually the last convolution) before the classifier.
        path: optional; also write a PNG there: the image, the heatmap and the overlay.

    Returns:
        A `GradCam` (`.heatmap`, `.overlay`, `.class_index`, `.class_name`, `.probabilities`,
        `.layer`).

    Raises:
        ValueError: the image is not one image, the model has no layer with a 4D output (or
            `layer` is not one), its output is not (batch, classes), or `class_index` is out
            of range.

    Example:
        >>> result = grad_cam(model, x_test[0])  # doctest: +SKIP
        >>> result.heatmap.shape, result.overlay.shape, result.class_index  # doctest: +SKIP
        ((7, 7), (28, 28, 3), 7)
    """
    batch = as_batch(model, image)
    with torch.no_grad(), recording(leaf_layers(model)) as calls:
        outputs = model(batch, training=False)
    if not isinstance(outputs, torch.Tensor) or outputs.ndim != 2:
        raise ValueError(f"grad_cam needs a model with one output of shape (batch, classes); model "
                         f"'{model.name}' returns {_describe(outputs)}")
    target = last_map_layer(model, calls) if layer is None else find_layer(model, layer)
    probabilities = _probabilities(outputs[0])
    if class_index is None:
        class_index = int(np.argmax(probabilities))
    if not 0 <= int(class_index) < len(probabilities):
        raise ValueError(f"class_index must be in [0, {len(probabilities)}). Received: class_index={class_index}")
    class_index = int(class_index)

    with torch.enable_grad(), recording([target]) as captured:
        scores = model.call_logits(batch, False) if model.final_layer() is not None else model(batch, training=False)
        if not captured or not is_image_map(captured[-1][1]):
            raise ValueError(f"Layer '{target.name}' of model '{model.name}' gives "
                             f"{_describe(captured[-1][1]) if captured else 'no output for this input'}; "
                             "Grad-CAM needs a layer with a 4D (batch, height, width, channels) output.")
        features = captured[-1][1]
        gradients, = torch.autograd.grad(scores[0, class_index], features)
    weights = gradients[0].mean(dim=(0, 1))  # one weight per channel
    cam = torch.relu((features[0].detach() * weights).sum(dim=-1))
    peak = float(cam.max())
    heatmap = (cam / peak if peak > 0 else torch.zeros_like(cam)).cpu().numpy().astype(np.float32)
    picture = display_image(batch[0].cpu().numpy())
    result = GradCam(heatmap=heatmap, overlay=overlay(picture, heatmap), class_index=class_index,
                     class_name=class_name(model, class_index), probabilities=probabilities,
                     layer=target.name)
    if path is not None:
        plot_grad_cam(picture, result, path)
    return result


def class_name(model, index):
    """`model.class_names[index]` when the model knows its class names, else `str(index)`."""
    names = getattr(model, "class_names", None)
    return str(names[index]) if names and 0 <= index < len(names) else str(index)


def display_image(image):
    """(H, W, channels) array as float (H, W, 3) in [0, 1], each image scaled to its own range."""
    image = np.asarray(image, dtype=np.float32)
    image = image[..., :1] if image.shape[-1] not in (1, 3) else image
    low, high = float(image.min()), float(image.max())
    image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def overlay(picture, heatmap, alpha=OVERLAY_ALPHA):
    """`heatmap` (h, w) resized to `picture` (H, W, 3 in [0, 1]), coloured with "jet" and
    blended over it, as uint8 (H, W, 3)."""
    from matplotlib import colormaps

    height, width = picture.shape[:2]
    resized = torch.nn.functional.interpolate(torch.as_tensor(heatmap)[None, None], size=(height, width),
                                              mode="bilinear", align_corners=False)[0, 0].numpy()
    colours = colormaps["jet"](np.clip(resized, 0, 1))[..., :3]
    return np.round(255 * ((1 - alpha) * picture + alpha * colours)).astype(np.uint8)


def plot_grad_cam(picture, result, path, cell_px=240):
    """Writes the image, the heatmap and the overlay side by side as a PNG at `path`."""
    from cnnkit.viz._figure import new_figure, save_figure

    figure = new_figure(3 * cell_px, cell_px + 50)
    probability = result.probabilities[result.class_index]
    figure.suptitle(f"Grad-CAM for '{result.class_name}' (p={probability:.3f}) at layer '{result.layer}'",
                    fontsize=10)
    panels = (("image", picture, None), ("heatmap", result.heatmap, "jet"), ("overlay", result.overlay, None))
    for column, (title, data, cmap) in enumerate(panels):
        axes = figure.add_subplot(1, 3, column + 1)
        axes.imshow(data, cmap=cmap, vmin=0 if cmap else None, vmax=1 if cmap else None)
        axes.set_title(title, fontsize=9)
        axes.axis("off")
    return save_figure(figure, path)


def _probabilities(output):
    output = output.detach().float()
    is_distribution = bool(output.min() >= 0) and abs(float(output.sum()) - 1) < 1e-3
    return (output if is_distribution else torch.softmax(output, dim=-1)).cpu().numpy()


def _describe(value):
    return f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else f"a {type(value).__name__}"
