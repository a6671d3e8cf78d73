"""Ready-made models with their training settings, one call away.

Example:
    >>> from cnnkit.recipes import mnist_fast
    >>> model, fit_kwargs = mnist_fast()
    >>> sorted(fit_kwargs)
    ['batch_size', 'epochs']
"""

from cnnkit.recipes.mnist_fast import mnist_fast
from cnnkit.recipes.seed_convnet import seed_convnet

RECIPES = {"fast": mnist_fast}

__all__ = ["RECIPES", "mnist_fast", "seed_convnet"]
