"""AdamW: Adam with decoupled weight decay on by default, as in Keras."""

from cnnkit.optimizers.adam import Adam


class AdamW(Adam):
    """Adam with decoupled weight decay.

    Each step first shrinks the parameters, `p -= p * weight_decay * lr`,
    then applies the Adam rule (see `Adam`).

    Args:
        learning_rate: float or schedule `f(iterations)`. Defaults to 0.001.
        weight_decay: float >= 0. Defaults to 0.004.
        beta_1, beta_2, epsilon, amsgrad: as in `Adam`.
        **kwargs: `clipnorm`, `clipvalue`, `global_clipnorm`, `name`.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.ones(1))
        >>> opt = AdamW(learning_rate=0.1, weight_decay=0.5)
        >>> opt.build([w])
        >>> w.grad = torch.zeros(1)  # no gradient step, decay only
        >>> opt.step()
        >>> round(w.item(), 4)
        0.95
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError(
                "Argument `weight_decay` of AdamW must be a float >= 0. Received: weight_decay=None"
            )
        super().__init__(
            learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )
