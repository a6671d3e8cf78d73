"""The model behind the page: one lock around every use of it, images prepared as `cnnkit predict` does."""

import threading

import numpy as np

from cnnkit.serve._images import MAX_PIXELS, decode_image

TOP = 3


class Predictor:
    """Classifies and explains uploaded images with `model`; safe to call from many threads.

    The model runs under one lock (its forward hooks and torch state are not shared safely),
    while decoding and preparing images run in parallel.

    Args:
        model: a cnnkit model taking images (None, height, width, 1 or 3) and giving class
            probabilities.
        max_pixels: the largest image accepted, in pixels, checked before decoding.
    """

    def __init__(self, model, max_pixels=MAX_PIXELS):
        from cnnkit.cli.predict import _input_shape

        self.model = model
        self.height, self.width, self.channels = _input_shape(model)
        self.max_pixels = max_pixels
        self._lock = threading.Lock()

    def describe(self):
        """What `GET /api/model` answers."""
        return {"name": self.model.name, "input_shape": list(self.model.input_shape),
                "classes": int(self.model.output_shape[-1]),
                "class_names": _names(self.model),
                "parameters": int(self.model.count_params())}

    def prepare(self, data):
        """Uploaded bytes as a batch of one, prepared as `cnnkit predict` prepares a file for this
        model (`prepare_image`: digits as MNIST's for grey models, resized RGB for RGB models)."""
        from cnnkit.cli.predict import prepare_image
        from cnnkit.serve._images import BadImage

        image = decode_image(data, self.max_pixels)
        try:
            prepared = prepare_image(image, (self.height, self.width, self.channels))
        except ValueError as error:
            raise BadImage(str(error).replace(", try --no-invert", "").replace(", try --invert", "")) from None
        return prepared[None]

    def predict(self, name, data):
        """The JSON of `cnnkit predict --json` for one uploaded image."""
        batch = self.prepare(data)
        with self._lock:
            row = np.asarray(self.model.predict_on_batch(batch))[0]
        return prediction(name, row, _names(self.model))

    def explain(self, name, data):
        """The prediction, with `cnnkit.viz`'s Grad-CAM overlay and the first convolution's (first
        looked-at layer's) activations as PNG data URLs."""
        from cnnkit import viz
        from cnnkit.serve import _explain

        batch = self.prepare(data)
        with self._lock:
            cam = viz.grad_cam(self.model, batch)
            layer, maps = next(iter(viz.activations(self.model, batch).items()))
        result = prediction(name, cam.probabilities, _names(self.model))
        result["grad_cam"] = _explain.overlay_png(cam.overlay)
        result["grad_cam_layer"] = cam.layer
        result["activations"] = {"layer": layer, "png": _explain.grid_png(maps)}
        return result


def prediction(name, row, names=None):
    """`{"image", "class", "top3"}` (and `"class_name"` when the model knows its class names) as
    `cnnkit predict --json` prints it."""
    best = np.argsort(row)[::-1][:TOP]
    top = [[int(label), float(f"{row[label]:.4g}")] for label in best]
    answer = {"image": name, "class": top[0][0], "top3": top}
    if names:
        answer["class_name"] = str(names[top[0][0]]) if top[0][0] < len(names) else str(top[0][0])
    return answer


def _names(model):
    names = getattr(model, "class_names", None)
    return [str(name) for name in names] if names else None
