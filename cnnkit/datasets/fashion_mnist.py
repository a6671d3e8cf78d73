"""Fashion-MNIST: 60,000 train and 10,000 test 28x28 grey images of clothing, 10 classes."""

from ._download import mirror_urls
from ._idx import load_idx_dataset

_FOLDER = "fashion-mnist"
_MIRRORS = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",)
_SHA256 = {  # of the decompressed bytes
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_data(base_url: str | None = None, timeout: float = 30.0):
    """Load Fashion-MNIST from the four IDX `.gz` files, downloading them once if needed.

    Each file is looked for in `$CNNKIT_DATA/fashion-mnist/`, then in the cache
    `$CNNKIT_CACHE/datasets/fashion-mnist/` (default
    `~/.cache/cnnkit/datasets/fashion-mnist/`), else downloaded into the cache.
    Every file's SHA-256 is checked.

    Args:
        base_url: URL of a folder holding the four files, replacing the public
            mirror and `$CNNKIT_DATASETS_URL`. Defaults to `None`.
        timeout: seconds to wait on the network. Defaults to 30.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: uint8 images of shape
        `(60000, 28, 28)` and `(10000, 28, 28)`, uint8 labels 0-9 (names in
        `CLASS_NAMES`) of shape `(60000,)` and `(10000,)`.

    Raises:
        DatasetError: a file is corrupt, or missing and cannot be downloaded.

    Example:
    >>> (x_train, y_train), _ = load_data()
    >>> CLASS_NAMES[y_train[0]]
    'Ankle boot'
    """
    urls = mirror_urls(_FOLDER, _MIRRORS, base_url)
    return load_idx_dataset(_FOLDER, _SHA256, urls, timeout)
