"""Rectified linear unit as a layer, with Keras's cap, slope and threshold."""

import torch.nn.functional as F

from cnnkit.layers.activations._arguments import check_number
from cnnkit.layers.base import Layer


class ReLU(Layer):
    """`x` above `threshold` (capped at `max_value`), `negative_slope * (x - threshold)` below.

    Args:
        max_value: float >= 0 or None (no cap). Default None.
        negative_slope: float >= 0, the slope below the threshold. Default 0.
        threshold: float >= 0; values up to it count as below. Default 0.

    Input shape: any. Output shape: the input's.

    Example:
        >>> import torch
        >>> ReLU(max_value=6.0)(torch.tensor([[-1.0, 3.0, 8.0]]))
        tensor([[0., 3., 6.]])
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = check_number(max_value, "max_value", self.name, allow_none=True, non_negative=True)
        self.negative_slope = check_number(negative_slope, "negative_slope", self.name, non_negative=True)
        self.threshold = check_number(threshold, "threshold", self.name, non_negative=True)

    def call(self, inputs):
        slope, cap, threshold = self.negative_slope, self.max_value, self.threshold
        if slope and cap is None and not threshold:
            return F.leaky_relu(inputs, slope)
        if cap == 6.0 and not threshold:
            outputs = F.relu6(inputs)
        else:
            outputs = F.threshold(inputs, threshold, 0.0) if threshold else F.relu(inputs)
            if cap is not None:
                outputs = outputs.clamp(max=cap)
        if slope:
            outputs = outputs - slope * F.relu(threshold - inputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}
