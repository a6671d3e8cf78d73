"""Batch normalization over the channels (last) axis, with Keras's moving statistics."""

import torch
import torch.nn.functional as F

from cnnkit.kernels import batch_norm_relu
from cnnkit.layers.base import Layer


class BatchNormalization(Layer):
    """Normalizes each channel by the batch's mean and variance in training, by moving averages
    of them at inference: `gamma * (x - mean) / sqrt(variance + epsilon) + beta`.

    Keras's semantics: the variance is the biased (population) one, both for normalizing and for
    the moving average `moving = moving * momentum + batch * (1 - momentum)`; a layer with
    `trainable=False` runs in inference mode, also inside `fit`.

    Args:
        axis: the channels axis; only -1 (channels-last), as cnnkit's tensors are.
        momentum: float in [0, 1], weight of the old moving statistics. Default 0.99.
        epsilon: float > 0, added to the variance. Default 1e-3.
        center: bool, learn an offset `beta`. Default True.
        scale: bool, learn a factor `gamma`. Default True.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer: names or callables; "zeros", "ones", "zeros", "ones".

    Weights, in Keras's order: gamma, beta (trainable), moving_mean, moving_variance (not).

    Input shape: any, channels last. Output shape: the same.

    Example:
        >>> layer = BatchNormalization()
        >>> layer.build_for((None, 26, 26, 32))
        (None, 26, 26, 32)
        >>> layer.count_params()
        128
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1, [-1], (-1,)):
            raise ValueError(
                f"Layer '{self.name}': cnnkit tensors are channels-last, so BatchNormalization "
                f"normalizes axis -1 only. Received: axis={axis!r}"
            )
        if not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"Argument `momentum` of layer '{self.name}' must be in [0, 1]. Received: momentum={momentum!r}")
        if not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise ValueError(f"Argument `epsilon` of layer '{self.name}' must be > 0. Received: epsilon={epsilon!r}")
        self.axis = -1
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise self.incompatible_input(input_shape, "at least 2 dimensions with known channels (last axis)")

    def build(self, input_shape):
        shape = (input_shape[-1],)
        self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma") if self.scale else None
        self.beta = self.add_weight(shape, self.beta_initializer, name="beta") if self.center else None
        self.moving_mean = self.add_weight(shape, self.moving_mean_initializer, trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape, self.moving_variance_initializer, trainable=False,
                                               name="moving_variance")

    def call(self, inputs, training=None):
        x = inputs.movedim(-1, 1)  # (N, C, ...) view; channels-last memory stays as it is
        if not (training and self.trainable):
            return F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                                False, 0.0, self.epsilon).movedim(1, -1)
        if x.numel() == x.shape[1]:
            return self.normalize_single_values(inputs)
        mean, variance = torch.zeros_like(self.moving_mean), torch.zeros_like(self.moving_variance)
        # momentum=1 makes torch write the batch's mean and (unbiased) variance into the buffers
        outputs = F.batch_norm(x, mean, variance, self.gamma, self.beta, True, 1.0, self.epsilon)
        count = x.numel() // x.shape[1]
        self.update_moving_statistics(mean, variance * ((count - 1) / count))
        return outputs.movedim(1, -1)

    def call_then_relu(self, inputs, training=None):
        """`relu(self.call(inputs, training))`: in training on float32 CPU images one native op
        that reads and writes memory fewer times (`cnnkit.kernels.batch_norm_relu`)."""
        if training and self.trainable and batch_norm_relu.fits(inputs, self.gamma, self.beta):
            outputs, mean, variance = batch_norm_relu.apply(inputs, self.gamma, self.beta, self.epsilon)
            self.update_moving_statistics(mean, variance)
            return outputs
        return torch.relu(self.call(inputs, training=training))  # not relu_: on a view, autograd copies back

    def normalize_single_values(self, inputs):
        """Training on one value per channel (a batch of one vector): torch's batch_norm refuses
        it; Keras takes the variance as 0, so the output is `beta`."""
        mean = inputs.reshape(-1)
        outputs = (inputs - mean) * torch.rsqrt(torch.tensor(self.epsilon, dtype=inputs.dtype))
        outputs = outputs * self.gamma if self.gamma is not None else outputs
        outputs = outputs + self.beta if self.beta is not None else outputs
        self.update_moving_statistics(mean, torch.zeros_like(mean))
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    @torch.no_grad()
    def update_moving_statistics(self, mean, variance):
        """Keras's moving averages, of the batch's mean and biased variance."""
        self.moving_mean.lerp_(mean, 1.0 - self.momentum)
        self.moving_variance.lerp_(variance, 1.0 - self.momentum)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": self.beta_initializer,
            "gamma_initializer": self.gamma_initializer,
            "moving_mean_initializer": self.moving_mean_initializer,
            "moving_variance_initializer": self.moving_variance_initializer,
        }
