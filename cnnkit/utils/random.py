"""One seed for every random number generator cnnkit uses.

`CNNKIT_SEED=1337 python train.py` seeds a program that does not seed itself, when cnnkit is
imported (as `set_random_seed(1337)` would).
"""

import os
import random

import numpy as np
import torch


def set_random_seed(seed):
    """Seeds Python, NumPy and torch so that runs repeat (same seed, same device).

    Example:
        >>> set_random_seed(1337)
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` must be an int. Received: seed={seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_from_environment():
    """Calls `set_random_seed` with `$CNNKIT_SEED` when it is set (cnnkit does this on import)."""
    value = os.environ.get("CNNKIT_SEED", "").strip()
    if not value:
        return
    try:
        seed = int(value)
    except ValueError:
        raise ValueError(f"Environment variable CNNKIT_SEED must be an integer; found {value!r}.") from None
    set_random_seed(seed)
