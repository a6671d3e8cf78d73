"""MNIST handwritten digits: 60,000 train and 10,000 test 28x28 grey images, 10 classes."""

from ._download import mirror_urls
from ._idx import load_idx_dataset

_FOLDER = "mnist"
_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_SHA256 = {  # of the decompressed bytes
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def load_data(base_url: str | None = None, timeout: float = 30.0):
    """Load MNIST from the four IDX `.gz` files, downloading them once if needed.

    Each file is looked for in `$CNNKIT_DATA/mnist/`, then in the cache
    `$CNNKIT_CACHE/datasets/mnist/` (default `~/.cache/cnnkit/datasets/mnist/`),
    else downloaded into the cache. Every file's SHA-256 is checked.

    Args:
        base_url: URL of a folder holding the four files, replacing the public
            mirrors and `$CNNKIT_DATASETS_URL`. Defaults to `None`.
        timeout: seconds to wait on the network. Defaults to 30.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: uint8 images of shape
        `(60000, 28, 28)` and `(10000, 28, 28)`, uint8 labels 0-9 of shape
        `(60000,)` and `(10000,)`.

    Raises:
        DatasetError: a file is corrupt, or missing and cannot be downloaded.

    Example:
    >>> (x_train, y_train), (x_test, y_test) = load_data()
    >>> x_train.shape, y_test.dtype
    ((60000, 28, 28), dtype('uint8'))
    """
    urls = mirror_urls(_FOLDER, _MIRRORS, base_url)
    return load_idx_dataset(_FOLDER, _SHA256, urls, timeout)
