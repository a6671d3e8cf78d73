"""Ready-made models with their training settings, one call away.

Example:
    >>> from cnnkit.recipes import mnist_fast
    >>> model, fit_kwargs = mnist_fast()
    >>> sorted(fit_kwargs)
    ['batch_size', 'epochs']
"""

from cnnkit.recipes.image_convnets import mini_xception, small_convnet
from cnnkit.recipes.mnist_fast import mnist_fast
from cnnkit.recipes.seed_convnet import seed_convnet

RECIPES = {"fast": mnist_fast}

__all__ = ["RECIPES", "mini_xception", "mnist_fast", "seed_convnet", "small_convnet"]
