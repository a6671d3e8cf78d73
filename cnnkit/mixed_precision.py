"""Mixed precision in Keras's style: one global policy, float32 weights, bfloat16 compute.

Under `"mixed_bfloat16"` the forward passes of `fit`, `evaluate` and `predict` run under
`torch.autocast(device, dtype=torch.bfloat16)`; the weights, their gradients, the optimizer
state and the loss stay float32. The policy in force when `fit`/`evaluate`/`predict` is
called is the one they use.

Example:
    >>> from cnnkit import mixed_precision
    >>> mixed_precision.set_global_policy("mixed_bfloat16")
    >>> mixed_precision.global_policy().compute_dtype
    'bfloat16'
    >>> mixed_precision.set_global_policy("float32")
"""

import contextlib

import torch

_POLICIES = {  # name -> (compute dtype, variable dtype)
    "float32": ("float32", "float32"),
    "mixed_bfloat16": ("bfloat16", "float32"),
}


class Policy:
    """A dtype policy: the dtype layers compute in and the dtype their weights are kept in.

    Args:
        name: "float32" or "mixed_bfloat16".

    Example:
        >>> policy = Policy("mixed_bfloat16")
        >>> policy.compute_dtype, policy.variable_dtype
        ('bfloat16', 'float32')
    """

    def __init__(self, name):
        if not isinstance(name, str) or name not in _POLICIES:
            raise ValueError(
                f"Unknown dtype policy {name!r}. Expected one of: {', '.join(_POLICIES)}. "
                f"(mixed_float16 is not supported: it needs loss scaling.)"
            )
        self.name = name
        self.compute_dtype, self.variable_dtype = _POLICIES[name]

    @classmethod
    def of(cls, policy):
        """`policy` if it is a Policy, else the Policy of that name."""
        return policy if isinstance(policy, cls) else cls(policy)

    def autocast(self, device):
        """A context for a forward pass on `device`: autocast to bfloat16, or nothing."""
        if self.compute_dtype == self.variable_dtype:
            return contextlib.nullcontext()
        return torch.autocast(torch.device(device).type, dtype=getattr(torch, self.compute_dtype))

    def get_config(self):
        return {"name": self.name}

    def __eq__(self, other):
        return isinstance(other, Policy) and other.name == self.name

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'


_global_policy = Policy("float32")


def set_global_policy(policy):
    """Sets the policy of the following fit/evaluate/predict calls: a name or a `Policy`."""
    global _global_policy
    _global_policy = Policy.of(policy)


def global_policy():
    """The policy in force (default "float32")."""
    return _global_policy


__all__ = ["Policy", "global_policy", "set_global_policy"]
