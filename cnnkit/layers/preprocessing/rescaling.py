"""Rescaling inputs by a factor and an offset: `inputs * scale + offset`."""

import numbers

import numpy as np
import torch

from cnnkit.layers.base import Layer


def _number_or_array(layer, name, value):
    """A float, or a float32 array for per-channel values (also from Keras's saved `__numpy__` form)."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        value = value["config"]["value"]
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    array = np.asarray(value) if not isinstance(value, (str, bytes, dict)) else None
    if array is None or array.dtype.kind not in "iuf" or array.size == 0:
        raise ValueError(f"Argument `{name}` of layer '{layer.name}' must be a number or an array of numbers "
                         f"(one per channel). Received: {name}={value!r}")
    return array.astype("float32")


class Rescaling(Layer):
    """Multiplies the inputs by `scale` and adds `offset`, in training and at inference.

    E.g. `Rescaling(1 / 255)` maps pixels in [0, 255] to [0, 1], `Rescaling(1 / 127.5, offset=-1)`
    to [-1, 1]. Integer inputs give float32 outputs.

    Args:
        scale: float, or an array broadcast against the inputs (e.g. one value per channel).
        offset: float or array, added after scaling. Default 0.0.

    Input shape: any. Output shape: the same.

    Example:
        >>> import numpy as np
        >>> Rescaling(1 / 127.5, offset=-1)(np.array([[0, 127.5, 255]])).tolist()
        [[-1.0, 0.0, 1.0]]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _number_or_array(self, "scale", scale)
        self.offset = _number_or_array(self, "offset", offset)

    def call(self, inputs):
        x = inputs if inputs.is_floating_point() else inputs.float()
        scale, offset = (value if isinstance(value, float) else torch.as_tensor(value, dtype=x.dtype, device=x.device)
                         for value in (self.scale, self.offset))
        outputs = x * scale
        if isinstance(offset, float):
            return outputs.add_(offset) if offset else outputs  # in place: one image-sized tensor, not two
        return outputs + offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        def plain(value):
            return value if isinstance(value, float) else value.tolist()

        return {**super().get_config(), "scale": plain(self.scale), "offset": plain(self.offset)}

