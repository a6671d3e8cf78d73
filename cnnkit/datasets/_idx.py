"""Parse IDX files (the MNIST format) into NumPy arrays and load a four-file IDX dataset."""

import math

import numpy as np

from ._download import DatasetError, fetch

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension


def parse_idx(data: bytes, magic: int, source: str) -> np.ndarray:
    """Return the uint8 array held by the IDX bytes `data`, checking magic, dims and length.

    Args:
        data: decompressed IDX bytes.
        magic: expected magic number, `IMAGES_MAGIC` or `LABELS_MAGIC`; its
            last byte is the number of dimensions.
        source: file name, for error messages.

    Returns:
        A writable uint8 array shaped as the dims in the header.

    Raises:
        DatasetError: wrong magic number, or the length does not match the dims (checked before
            any array is made, so a header declaring huge dims allocates nothing).

    Example:
    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]), LABELS_MAGIC, "x")
    array([7, 3], dtype=uint8)
    """
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DatasetError(f"{source}: expected IDX magic number 0x{magic:08x}, "
                           f"found 0x{found:08x}.")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{source}: {len(data)} bytes, too short for an IDX header "
                           f"of {header} bytes.")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    expected = header + math.prod(dims)  # exact: numpy's product of huge dims wraps around
    if len(data) != expected:
        raise DatasetError(f"{source}: dims {dims} need {expected} bytes, found {len(data)}.")
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims).copy()


def load_idx_dataset(folder: str, checksums: dict, urls, timeout: float):
    """Fetch, verify and parse the train and t10k image and label files of a dataset.

    Args:
        folder: dataset folder name, e.g. `"mnist"`.
        checksums: file name -> SHA-256 of its decompressed bytes, for the four files.
        urls: mirror base URLs to try when a file is neither local nor cached.
        timeout: seconds to wait on the network.

    Returns:
        `((x_train, y_train), (x_test, y_test))`, uint8 arrays.

    Example:
    >>> load_idx_dataset("mnist", mnist._SHA256, [], 30.0)  # doctest: +SKIP
    """
    def read(name, magic):
        return parse_idx(fetch(folder, name, checksums[name], urls, timeout), magic, name)

    splits = []
    for prefix in ("train", "t10k"):
        images = read(f"{prefix}-images-idx3-ubyte.gz", IMAGES_MAGIC)
        labels = read(f"{prefix}-labels-idx1-ubyte.gz", LABELS_MAGIC)
        if len(images) != len(labels):
            raise DatasetError(f"{folder}/{prefix}: {len(images)} images but "
                               f"{len(labels)} labels; expected the same number.")
        splits.append((images, labels))
    return tuple(splits)
