"""Random tensors by Keras name, on cnnkit's device.

`seed` is as in Keras: an int gives the same numbers on every call; a `SeedGenerator` gives new
numbers on every call, the same sequence each time it starts from the same seed; None draws
from torch's global generator, which `cnnkit.set_random_seed` makes repeat.

Example:
    >>> a = uniform((3,), seed=7)
    >>> bool((a == uniform((3,), seed=7)).all()), a.dtype
    (True, torch.float32)
"""

import torch

from cnnkit.engine.device import get_device
from cnnkit.ops.core import _FLOATX, _to_tensor, _torch_dtype

__all__ = ["SeedGenerator", "normal", "randint", "shuffle", "uniform"]

_GOLDEN = 0x9E3779B97F4A7C15  # spreads consecutive draws of a SeedGenerator over 64-bit seeds


class SeedGenerator:
    """A seed that moves on at every draw, so that seeded random ops differ from call to call.

    Args:
        seed: int, where the sequence starts. Default None: drawn from torch's global generator
            (so `cnnkit.set_random_seed` repeats it).
        name: str or None, kept for Keras's signature.

    Example:
        >>> generator = SeedGenerator(42)
        >>> bool((normal((2,), seed=generator) == normal((2,), seed=generator)).all())
        False
    """

    def __init__(self, seed=None, name=None):
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, ()))
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"`seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        self.name = name
        self._draws = 0

    def _next_seed(self):
        """The seed for the next draw; each call moves the generator on."""
        value = (self.seed + self._draws * _GOLDEN) % 2**64
        self._draws += 1
        return value

    def __repr__(self):
        return f"SeedGenerator(seed={self.seed}, draws={self._draws})"


def _generator(seed, device):
    """A torch.Generator for `seed` on `device`, or None (the global generator) when `seed` is None."""
    if seed is None:
        return None
    if isinstance(seed, SeedGenerator):
        seed = seed._next_seed()
    elif not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` must be an int, a SeedGenerator or None. Received: seed={seed!r}")
    return torch.Generator(device=device).manual_seed(seed % 2**64)


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def _float_dtype(dtype, op):
    torch_dtype = _torch_dtype(dtype) or _FLOATX
    if not torch_dtype.is_floating_point:
        raise ValueError(f"`cnnkit.random.{op}` requires a floating point dtype. Received: dtype={dtype!r}")
    return torch_dtype


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Values drawn uniformly from `[minval, maxval)`; float32 by default."""
    device = get_device()
    values = torch.empty(_shape(shape), dtype=_float_dtype(dtype, "uniform"), device=device)
    return values.uniform_(minval, maxval, generator=_generator(seed, device))


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Values drawn from a normal distribution of mean `mean` and standard deviation `stddev`."""
    device = get_device()
    values = torch.empty(_shape(shape), dtype=_float_dtype(dtype, "normal"), device=device)
    return values.normal_(mean, stddev, generator=_generator(seed, device))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from `[minval, maxval)` (`maxval` excluded)."""
    torch_dtype = _torch_dtype(dtype) or torch.int32
    if torch_dtype.is_floating_point or torch_dtype.is_complex or torch_dtype == torch.bool:
        raise ValueError(f"`cnnkit.random.randint` requires an integer dtype. Received: dtype={dtype!r}")
    if not minval < maxval:
        raise ValueError(f"`minval` must be below `maxval`. Received: minval={minval}, maxval={maxval}")
    device = get_device()
    return torch.randint(minval, maxval, _shape(shape), dtype=torch_dtype, device=device,
                         generator=_generator(seed, device))


def shuffle(x, axis=0, seed=None):
    """`x` with its slices along `axis` in a random order."""
    x = _to_tensor(x)
    order = torch.randperm(x.shape[axis], device=x.device, generator=_generator(seed, x.device))
    return x.index_select(axis, order)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise AttributeError(
        f"cnnkit.random has no function {name!r}: cnnkit implements uniform, normal, randint, "
        "shuffle and SeedGenerator. Its tensors are torch tensors, so torch's random functions work too."
    )
