"""BatchNormalization in training followed by ReLU as one autograd op over channels-last float32
images on the CPU (`batch_norm_relu.c`); `fits` says where it applies, and everywhere else the
layer's own torch ops run.

Example:
    >>> x = torch.randn(4, 5, 5, 3)
    >>> y, mean, variance = apply(x, torch.ones(3), torch.zeros(3), 1e-3)  # doctest: +SKIP
    >>> bool((y >= 0).all()), mean.shape  # doctest: +SKIP
    (True, torch.Size([3]))
"""

import ctypes

import torch

from cnnkit.kernels import native


MAX_CHANNELS = 16384  # each OpenMP thread keeps its per-channel sums on its stack


def fits(x, *weights):
    """Whether the native kernel computes this call: float32 contiguous CPU tensors, more than one
    value per channel, at most `MAX_CHANNELS` channels, and the kernel built on this machine."""
    return (x.dtype == torch.float32 and x.device.type == "cpu" and x.is_contiguous() and x.dim() >= 2
            and x.numel() > x.shape[-1] and x.shape[-1] <= MAX_CHANNELS and not torch.is_autocast_enabled("cpu")
            and all(w is None or (w.dtype == torch.float32 and w.device.type == "cpu") for w in weights)
            and native("batch_norm_relu") is not None)


def apply(x, gamma, beta, epsilon):
    """(relu(batch_norm(x)), batch mean, biased batch variance) with the batch's statistics;
    `gamma` or `beta` None: 1 or 0 (not learned)."""
    channels = x.shape[-1]
    gamma_ = gamma if gamma is not None else torch.ones(channels)
    beta_ = beta if beta is not None else torch.zeros(channels)
    return _BatchNormReLU.apply(x, gamma_, beta_, float(epsilon))


def _check(status):
    if status != 0:
        raise MemoryError("BatchNormalization + ReLU kernel: no memory for its per-channel sums")


def _pointer(tensor):
    return ctypes.c_void_p(tensor.data_ptr())


class _BatchNormReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, gamma, beta, epsilon):
        channels = x.shape[-1]
        pixels = x.numel() // channels
        gamma, beta = gamma.detach().contiguous(), beta.detach().contiguous()
        y = torch.empty_like(x)
        mean, variance, invstd, scale, shift = torch.empty(5, channels).unbind(0)
        _check(native("batch_norm_relu").bn_relu_forward(
            _pointer(x), _pointer(y), ctypes.c_int64(pixels), ctypes.c_int64(channels), _pointer(gamma),
            _pointer(beta), ctypes.c_double(epsilon), *map(_pointer, (mean, variance, invstd, scale, shift))))
        ctx.save_for_backward(x, gamma, mean, invstd, scale, shift)
        ctx.mark_non_differentiable(mean, variance)
        return y, mean, variance

    @staticmethod
    def backward(ctx, grad, _mean_grad, _variance_grad):
        x, gamma, mean, invstd, scale, shift = ctx.saved_tensors
        channels = x.shape[-1]
        grad = grad.contiguous()
        dx = torch.empty_like(x)
        dgamma, dbeta = torch.empty(2, channels).unbind(0)
        _check(native("batch_norm_relu").bn_relu_backward(
            _pointer(x), _pointer(grad), _pointer(dx), ctypes.c_int64(x.numel() // channels),
            ctypes.c_int64(channels), *map(_pointer, (gamma, mean, invstd, scale, shift, dgamma, dbeta))))
        return dx, dgamma, dbeta, None
