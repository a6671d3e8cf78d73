"""The memory that building a model from a file's config may take, set by the weights the file holds.

A config is a few bytes of JSON that can ask for any size (`"units": 10**9`), and building the
model would allocate those weights before they could be compared with the file's. While a loader
builds the model, `BuildBudget` counts what torch's factory functions (`empty`, `zeros`, ...)
are asked for against the bytes the file's weights take as float32, plus `PROBE_BYTES` for the
zeros some layers run to learn their output shape; past it, building stops with a ModelFileError.

Example:
    >>> import torch
    >>> with BuildBudget(weight_count=10, where="m.cnnkit: config.json"):
    ...     torch.zeros(1000, 1000, 1000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    cnnkit.saving.errors.ModelFileError: m.cnnkit: config.json: building the model it describes asks for more than ...
"""

import math

import torch
from torch.overrides import TorchFunctionMode

from cnnkit.saving.errors import ModelFileError

PROBE_BYTES = 64 * 2**20
_FACTORIES = {torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn, torch.randint}


class BuildBudget(TorchFunctionMode):
    """A context in which torch's factory functions may allocate, together, at most 4 bytes per weight
    of `weight_count` plus `PROBE_BYTES`; `where` names the file and entry in the error."""

    def __init__(self, weight_count, where):
        super().__init__()
        self.weight_count, self.where = weight_count, where
        self.limit, self.spent = 4 * weight_count + PROBE_BYTES, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _FACTORIES:
            self.spent += _requested_bytes(func, args, kwargs)
            if self.spent > self.limit:
                raise ModelFileError(
                    f"{self.where}: building the model it describes asks for more than {self.limit} bytes, but the "
                    f"file holds {self.weight_count} weights ({4 * self.weight_count} bytes as float32, plus "
                    f"{PROBE_BYTES} for shape probes): its layers are larger than its weights.")
        return func(*args, **kwargs)


def _requested_bytes(func, args, kwargs):
    """The bytes a factory call asks for: `zeros((2, 3))`, `zeros(2, 3)`, `full((2, 3), 1.0)`, `randint(9, (2, 3))`."""
    if func is torch.randint:
        size = next((arg for arg in args if isinstance(arg, (tuple, list, torch.Size))), kwargs.get("size", ()))
    elif args and isinstance(args[0], (tuple, list, torch.Size)):
        size = args[0]
    else:
        size = kwargs.get("size", [arg for arg in args if isinstance(arg, int)])
    dtype = kwargs.get("dtype") or torch.get_default_dtype()
    return max(0, math.prod(int(dim) for dim in size)) * dtype.itemsize
