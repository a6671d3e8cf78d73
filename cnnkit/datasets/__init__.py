"""Datasets: MNIST and Fashion-MNIST, found locally or downloaded once, checksum-verified.

Environment variables:
    CNNKIT_DATA: a folder with one subfolder per dataset (`mnist/`,
        `fashion-mnist/`) holding the original `.gz` files; looked in first.
    CNNKIT_CACHE: the cnnkit cache root (default `~/.cache/cnnkit`); datasets
        are cached in its `datasets/` subfolder.
    CNNKIT_DATASETS_URL: a mirror root URL with the same subfolders, used
        instead of the public mirrors (the `base_url=` argument wins over it).
"""

from . import fashion_mnist, mnist
from ._download import DatasetError

__all__ = ["DatasetError", "fashion_mnist", "mnist"]
