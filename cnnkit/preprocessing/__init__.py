"""Preparing outside images for models trained on MNIST-like data.

Example:
    >>> from cnnkit.preprocessing import load_digit
    >>> x = load_digit("my_seven.png")[None, ..., None]  # doctest: +SKIP
"""

from cnnkit.preprocessing.digits import load_digit, prepare_digit, read_image

__all__ = ["load_digit", "prepare_digit", "read_image"]
