"""SGD: gradient descent with optional (Nesterov) momentum, Keras's rule."""

import torch

from cnnkit.optimizers.base import Optimizer, _check_float


class SGD(Optimizer):
    """Gradient descent with optional momentum.

    Update rule (Keras's): without momentum `p -= lr * g`; with momentum
    `m = momentum * m - lr * g`, then `p += m`, or with `nesterov=True`
    `p += momentum * m - lr * g`.

    Args:
        learning_rate: float or schedule `f(iterations)`. Defaults to 0.01.
        momentum: float in [0, 1]. Defaults to 0.0.
        nesterov: bool. Defaults to False.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `name`, as in `Optimizer`.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.zeros(1))
        >>> opt = SGD(learning_rate=0.1, momentum=0.9)
        >>> opt.build([w])
        >>> for _ in range(2):
        ...     w.grad = torch.ones(1)
        ...     opt.step()
        >>> round(w.item(), 4)  # -0.1, then -0.1 + (-0.09 - 0.1)
        -0.29
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = _check_float("momentum", momentum, 0.0, 1.0, self.name)
        self.nesterov = bool(nesterov)

    def _slot_names(self):
        return ("momentum",) if self.momentum != 0 else ()

    def _update(self, params, grads, slots, lr):
        if self.momentum == 0:
            torch._foreach_add_(params, grads, alpha=-lr)
            return
        m = slots["momentum"]
        torch._foreach_mul_(m, self.momentum)
        torch._foreach_add_(m, grads, alpha=-lr)
        if self.nesterov:
            torch._foreach_add_(params, m, alpha=self.momentum)
            torch._foreach_add_(params, grads, alpha=-lr)
        else:
            torch._foreach_add_(params, m)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
