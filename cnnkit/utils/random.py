"""One seed for every random number generator cnnkit uses."""

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
