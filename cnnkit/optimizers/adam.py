"""Adam with Keras's rule: bias correction folded into the step size."""

import numpy as np
import torch

from cnnkit.optimizers.base import Optimizer, _check_float


class Adam(Optimizer):
    """Adaptive moment estimation.

    Update rule (Keras's), with `t = iterations + 1`:
    `alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`;
    `m += (g - m) * (1 - beta_1)`; `v += (g**2 - v) * (1 - beta_2)`;
    with `amsgrad=True`, `v_hat = max(v_hat, v)` replaces `v` below;
    `p -= alpha * m / (sqrt(v) + epsilon)`.

    Args:
        learning_rate: float or schedule `f(iterations)`. Defaults to 0.001.
        beta_1: float in [0, 1), decay of the first moment. Defaults to 0.9.
        beta_2: float in [0, 1), decay of the second moment. Defaults to 0.999.
        epsilon: float >= 0, added to sqrt(v). Defaults to 1e-7.
        amsgrad: bool, use the running maximum of v. Defaults to False.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `name`, as in `Optimizer`.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.zeros(1))
        >>> opt = Adam(learning_rate=0.1)
        >>> opt.build([w])
        >>> w.grad = torch.ones(1)
        >>> opt.step()
        >>> round(w.item(), 4)  # the first Adam step moves by about lr
        -0.1
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _check_float("beta_1", beta_1, 0.0, 1.0, self.name, high_inclusive=False)
        self.beta_2 = _check_float("beta_2", beta_2, 0.0, 1.0, self.name, high_inclusive=False)
        self.epsilon = _check_float("epsilon", epsilon, 0.0, float("inf"), self.name)
        self.amsgrad = bool(amsgrad)

    def _slot_names(self):
        return ("momentum", "velocity", "velocity_hat") if self.amsgrad else ("momentum", "velocity")

    def _update(self, params, grads, slots, lr):
        alpha = self._step_size(lr, params[0].dtype)
        m, v = slots["momentum"], slots["velocity"]
        torch._foreach_lerp_(m, grads, 1.0 - self.beta_1)
        torch._foreach_mul_(v, self.beta_2)
        torch._foreach_addcmul_(v, grads, grads, value=1.0 - self.beta_2)
        if self.amsgrad:
            torch._foreach_maximum_(slots["velocity_hat"], v)
            v = slots["velocity_hat"]
        denominators = torch._foreach_sqrt(v)
        torch._foreach_add_(denominators, self.epsilon)
        torch._foreach_addcdiv_(params, m, denominators, value=-alpha)

    def _step_size(self, lr, dtype):
        """`lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`, on the host.

        Computed in the parameters' precision (float32 unless float64), as
        Keras does: `1 - beta_2**t` cancels, and its float32 rounding moves the
        first steps by ~1e-5 relative, so float64 here would not match Keras.
        """
        f = np.float64 if dtype == torch.float64 else np.float32
        t = f(self.iterations + 1)
        one = f(1.0)
        return float(f(lr) * np.sqrt(one - f(self.beta_2) ** t) / (one - f(self.beta_1) ** t))

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }
