"""What the random regularization layers share: the rate check and their seeded generators."""

import numbers

from cnnkit import random
from cnnkit.utils.argument_validation import is_integer


def check_rate(layer, rate, upper=1, name="rate"):
    """`rate` as a float in [0, upper], or a ValueError naming the layer and the argument."""
    if not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not 0 <= rate <= upper:
        raise ValueError(f"Argument `{name}` of layer '{layer.name}' must be in [0, {upper}]. "
                         f"Received: {name}={rate!r}")
    return float(rate)


def layer_seed_generator(layer, seed):
    """A `cnnkit.random.SeedGenerator` for an int `seed` (the layer's own sequence of draws), None for None."""
    if seed is None:
        return None
    if not is_integer(seed):
        raise ValueError(f"Argument `seed` of layer '{layer.name}' must be an int or None. Received: seed={seed!r}")
    return random.SeedGenerator(int(seed))


def torch_generator(seed_generator, device):
    """A torch.Generator on `device` for the next draw of `seed_generator`; None (torch's global one) for None."""
    return None if seed_generator is None else random._generator(seed_generator, device)
