"""Reading a model's insides for one input: its layers' outputs through forward hooks.

Hooks work the same for Sequential, Functional and subclassed models (a subclass's `call`
is opaque, so no sub-model can be cut from it), and a hooked layer is never fused away.
"""

import contextlib

import numpy as np
import torch


def leaf_layers(model):
    """Every layer inside `model` that is not itself a model or an InputLayer, each once."""
    from cnnkit.layers.core.input_layer import InputLayer
    from cnnkit.models.model import Model

    return [layer for layer in model._flatten_layers() if not isinstance(layer, (Model, InputLayer))]


def find_layer(model, layer):
    """`layer` itself, or the layer of `model` (nested ones included) called `layer`."""
    if not isinstance(layer, str):
        return layer
    for candidate in model._flatten_layers():
        if candidate.name == layer:
            return candidate
    names = [candidate.name for candidate in leaf_layers(model)]
    raise ValueError(f"Model '{model.name}' has no layer named '{layer}'. Its layers: {names}")


def as_batch(model, image):
    """`image` (height, width), (height, width, channels) or (1, height, width, channels) as a
    float32 batch of one on the model's device, grey images given the model's channel axis."""
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if array.ndim == 4:
        if array.shape[0] != 1:
            raise ValueError(f"`image` must be one image; received a batch of shape {array.shape}")
        array = array[0]
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ValueError("`image` must have shape (height, width), (height, width, channels) or "
                         f"(1, height, width, channels). Received: shape {array.shape}")
    return torch.as_tensor(array[None], dtype=torch.float32, device=model._device())


@contextlib.contextmanager
def recording(layers):
    """Yields a list that fills with `(layer, output)` for each call of `layers`, in call order."""
    calls, handles = [], []
    for layer in layers:
        handles.append(layer.register_forward_hook(lambda module, inputs, output: calls.append((module, output))))
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


def is_image_map(tensor):
    return isinstance(tensor, torch.Tensor) and tensor.ndim == 4


def last_map_layer(model, calls):
    """The last layer whose output is 4D (batch, height, width, channels) among `calls`."""
    maps = [layer for layer, output in calls if is_image_map(output)]
    if not maps:
        raise ValueError(f"Model '{model.name}' has no layer with a 4D (batch, height, width, channels) "
                         "output; Grad-CAM needs a convolution.")
    return maps[-1]


def default_looked_at(model):
    """Each convolution and pooling layer of `model` (nested ones included)."""
    from cnnkit import layers

    kinds = (layers.Conv2D, layers.DepthwiseConv2D, layers.SeparableConv2D, layers.Conv2DTranspose,
             layers.MaxPooling2D, layers.AveragePooling2D)
    return [layer for layer in leaf_layers(model) if isinstance(layer, kinds)]
