"""RMSprop with Keras's rule: epsilon inside the square root."""

import torch

from cnnkit.optimizers.base import Optimizer, _check_float


class RMSprop(Optimizer):
    """Divides each gradient by a running root-mean-square of past gradients.

    Update rule (Keras's, which differs from `torch.optim.RMSprop` by putting
    epsilon inside the square root):
    `v = rho * v + (1 - rho) * g**2`;
    `increment = lr * g / sqrt(v + epsilon)`, where `centered=True` uses
    `v - a**2` for `v`, with `a = rho * a + (1 - rho) * g`;
    then `p -= increment`, or with momentum `m = momentum * m + increment`,
    `p -= m`.

    Args:
        learning_rate: float or schedule `f(iterations)`. Defaults to 0.001.
        rho: float in [0, 1], discount of the old squared gradients. Defaults to 0.9.
        momentum: float in [0, 1]. Defaults to 0.0.
        epsilon: float >= 0, added under the square root. Defaults to 1e-7.
        centered: bool, normalise by the estimated variance. Defaults to False.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `name`, as in `Optimizer`.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([10.0]))
        >>> opt = RMSprop(learning_rate=0.1)
        >>> opt.build([w])
        >>> w.grad = w.detach().clone()  # gradient of w**2 / 2
        >>> opt.step()
        >>> round(w.item(), 4)
        9.6838
    """

    def __init__(
        self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs
    ):
        super().__init__(learning_rate, **kwargs)
        self.rho = _check_float("rho", rho, 0.0, 1.0, self.name)
        self.momentum = _check_float("momentum", momentum, 0.0, 1.0, self.name)
        self.epsilon = _check_float("epsilon", epsilon, 0.0, float("inf"), self.name)
        self.centered = bool(centered)

    def _slot_names(self):
        names = ("velocity",)
        if self.momentum > 0:
            names += ("momentum",)
        if self.centered:
            names += ("average_gradient",)
        return names

    def _update(self, params, grads, slots, lr):
        v = slots["velocity"]
        torch._foreach_mul_(v, self.rho)
        torch._foreach_addcmul_(v, grads, grads, value=1.0 - self.rho)
        if self.centered:
            a = slots["average_gradient"]
            torch._foreach_lerp_(a, grads, 1.0 - self.rho)
            denominators = torch._foreach_addcmul(v, a, a, value=-1.0)
            torch._foreach_add_(denominators, self.epsilon)
        else:
            denominators = torch._foreach_add(v, self.epsilon)
        torch._foreach_sqrt_(denominators)
        if self.momentum > 0:
            m = slots["momentum"]
            torch._foreach_mul_(m, self.momentum)
            torch._foreach_addcdiv_(m, grads, denominators, value=lr)
            torch._foreach_sub_(params, m)
        else:
            torch._foreach_addcdiv_(params, grads, denominators, value=-lr)

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }
