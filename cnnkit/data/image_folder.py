"""Image files decoded and resized in a torch DataLoader's worker processes, as Keras's tf.data pipeline does.

Decoding is Pillow's, resizing TensorFlow's arithmetic (`cnnkit.layers.preprocessing._resize`; "bilinear",
half-pixel centers and no antialias, as two matrix products), a batch's images of one size resized together.
Against Keras 3 + TF on CIFAR-10 JPEG files the pixels differ by at most a few levels (TF's libjpeg decodes
with the fast integer DCT, Pillow with the exact one); tests/test_image_dataset.py measures it.
"""

import contextlib
import math
import mmap
import os
import sys
import threading

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from cnnkit.data.dataset import Dataset
from cnnkit.layers.preprocessing import _resize
from cnnkit.utils import image_utils

_SIXTEEN_BIT_GREY = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def default_num_workers():
    """Worker processes for decoding: two, or fewer on a machine with fewer cores."""
    return min(2, os.cpu_count() or 1)


def load_images(paths, image_size, num_channels, interpolation="bilinear", crop_to_aspect_ratio=False,
                pad_to_aspect_ratio=False):
    """The images at `paths` as a float32 tensor (len(paths), height, width, num_channels) of 0..255 values,
    each resized to `image_size` as Keras's `image_dataset_from_directory` resizes it (images of the same
    size are resized together, in one call).

    Raises:
        ValueError: a file is not an image Pillow can decode (empty, truncated, not an image), naming it.
    """
    return _DecodedImages(paths, image_size, num_channels, interpolation, crop_to_aspect_ratio,
                          pad_to_aspect_ratio).resized()


def load_image(path, *load_arguments):
    """The image at `path` as a float32 tensor (height, width, channels); arguments as `load_images`."""
    return load_images([path], *load_arguments)[0]


def _decode(path, num_channels):
    """Pixels of the file, its size checked against `image_utils.MAX_IMAGE_PIXELS` before decoding."""
    with image_utils.open_image(path, formats=image_utils.COMMON_FORMATS) as image:
        return _pixels(image, num_channels)


class _DecodedImages:
    """A batch of images decoded at their own sizes (uint8 stacks, one per size) and how to resize them."""

    def __init__(self, paths, image_size, num_channels, *resizing):
        decoded = [_decode(path, num_channels) for path in paths]
        by_shape = {}
        for index, pixels in enumerate(decoded):
            by_shape.setdefault(pixels.shape, []).append(index)
        self.groups = [(torch.tensor(indices), torch.from_numpy(np.stack([decoded[index] for index in indices])))
                       for indices in by_shape.values()]
        self.shape, self.resizing = (len(paths), *image_size, num_channels), resizing

    def resized(self):
        """The float32 batch `self.shape` (in a DataLoader worker, in shared memory)."""
        images = _new_batch(self.shape)
        with _one_thread():
            for indices, pixels in self.groups:
                target = images if len(self.groups) == 1 else images.new_empty((len(indices), *self.shape[1:]))
                _resize_into(target, pixels, *self.resizing)
                if target is not images:
                    images.index_copy_(0, indices, target)
        return images

    def to_send(self):
        """What a worker sends: the batch resized along the width only when that is smaller (same-size images
        grown along the height, as CIFAR's 32x32 to 180x180: 1/5.6 of the bytes), else resized."""
        pixels = self.groups[0][1]
        if len(self.groups) > 1 or self.resizing != ("bilinear", False, False) or pixels.shape[1] >= self.shape[1]:
            return self.resized()
        with _one_thread():
            return _WidthResized(pixels.to(torch.float32), self.shape, shared=True)


class _WidthResized:
    """Same-size images resized along the width (float32 (n, h, out_width * c)), to be resized along the height
    (`into`) by the main process, writing the batch once, in memory it reuses (`_BatchBuffers`). The bilinear
    resize is these two matrix products, along the width then the height as TF interpolates: the same weights
    as `F.interpolate(mode="bilinear", align_corners=False)` (equal within 1e-3 on 0..255 values), 3x faster
    on small images."""

    def __init__(self, images, shape, shared=False):
        count, height, width, channels = images.shape
        self.shape = shape
        across = torch.matmul(images.transpose(2, 3).contiguous(), _bilinear_weights(width, shape[2]).T)
        self.across = (_new_batch if shared else torch.empty)((count, height, shape[2] * channels))
        self.across.view(count, height, shape[2], channels).copy_(across.transpose(2, 3))

    def into(self, out):
        count, height = self.across.shape[:2]
        rows = _bilinear_weights(height, self.shape[1]).expand(count, self.shape[1], height)
        with _one_thread():
            torch.bmm(rows, self.across, out=out.view(count, self.shape[1], -1))  # matmul: a temporary, a copy
        return out


@contextlib.contextmanager
def _one_thread():
    """torch on one thread meanwhile: resizing runs beside the decoding workers (and, in `fit`, the training
    step's threads), and torch's parallel ops slow down several-fold when their threads share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _new_batch(shape):
    """An uninitialised float32 tensor; in a DataLoader worker, in shared memory (as the DataLoader's own collate
    makes its batches), so that the worker's queue sends a handle, not a copy of the pixels."""
    if torch.utils.data.get_worker_info() is None:
        return torch.empty(shape)
    storage = torch.UntypedStorage._new_shared(math.prod(shape) * 4)
    return torch.empty(0).set_(storage).view(shape)


class _BatchBuffers:
    """Memory for the batches the main process resizes, reused once no tensor uses it.

    Fresh memory costs a page fault per 4 KB (on a 2-core VM, writing a 180x180 batch of 64 into fresh pages
    took 3 to 6 times as long as into reused ones), and 25 MB blocks from malloc's heap, between the
    DataLoader's own allocations, fragmented it (peak memory grew with the number of batches). So each batch
    gets its own private mapping, kept for reuse: at most `keep` of them, each taken again once no tensor
    holds it. With a GPU, batches go to pinned memory instead (torch keeps that for reuse), so that copying
    them to the GPU does not wait.
    """

    def __init__(self, keep=4):
        self.keep, self.mappings, self.lock = keep, [], threading.Lock()

    def new(self, shape):
        if torch.cuda.is_available():
            return torch.empty(shape, pin_memory=True)
        with self.lock:
            mapping = self._free(math.prod(shape) * 4)
            return torch.frombuffer(mapping, dtype=torch.float32).view(shape)

    def _free(self, size):
        """A kept mapping of `size` bytes that no tensor holds, else a new one (kept while there is room)."""
        for mapping in self.mappings:
            if len(mapping) == size and sys.getrefcount(mapping) == _UNUSED_COUNT:  # counted as the probe counts
                return mapping
        mapping = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)
        if len(self.mappings) < self.keep and _UNUSED_COUNT is not None:
            self.mappings.append(mapping)
        return mapping


def _count_references_when_unused():
    """`sys.getrefcount` of a kept mapping that no tensor holds, as this interpreter counts (the list, the
    loop's name, the argument); None where a tensor over the mapping would not show in the count, so that
    nothing is ever reused there."""
    kept = [mmap.mmap(-1, 4, flags=mmap.MAP_PRIVATE)]
    counts = []
    for mapping in kept:
        counts.append(sys.getrefcount(mapping))
        tensor = torch.frombuffer(mapping, dtype=torch.float32)
        counts.append(sys.getrefcount(mapping))
        del tensor
    return counts[0] if counts[1] > counts[0] else None


_UNUSED_COUNT = _count_references_when_unused()


def _resize_into(out, pixels, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio):
    """Writes `pixels` (uint8 (n, h, w, c)) resized to `out`'s height and width into `out` (float32)."""
    size = tuple(out.shape[1:3])
    images = pixels.to(torch.float32)
    if crop_to_aspect_ratio:
        images = _resize.crop_to_aspect_ratio(images, size, single_precision=True)
    elif pad_to_aspect_ratio:
        return out.copy_(_resize_with_pad(images, size, interpolation))
    if interpolation == "bilinear":
        return _bilinear(images, out)
    return out.copy_(_resize.resize_images(images, size, interpolation))


def _bilinear(images, out):
    """TF's bilinear resize (half-pixel centers, no antialias) of `images` (N, H, W, C) into `out`."""
    return _WidthResized(images, out.shape).into(out)


def _bilinear_weights(in_size, out_size):
    """(out_size, in_size) float32 matrix of bilinear weights with half-pixel centers."""
    source = ((torch.arange(out_size, dtype=torch.float64) + 0.5) * (in_size / out_size) - 0.5).clamp(min=0)
    low = source.floor().long().clamp(max=in_size - 1)
    high = (low + 1).clamp(max=in_size - 1)
    fraction = source - low
    weights = torch.zeros(out_size, in_size, dtype=torch.float64)
    rows = torch.arange(out_size)
    weights.index_put_((rows, low), 1 - fraction, accumulate=True)
    weights.index_put_((rows, high), fraction, accumulate=True)
    return weights.to(torch.float32)


def _pixels(image, num_channels):
    """uint8 (height, width, num_channels) of the first frame, channels converted as TF's decoders do:
    16-bit values keep their high byte, alpha is dropped for RGB, grey is repeated for RGB."""
    if image.mode in _SIXTEEN_BIT_GREY:
        image = Image.fromarray((np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8), "L")
    elif image.format == "JPEG" and num_channels == 1:
        image.draft("L", image.size)  # libjpeg's own grey output (the Y channel), as TF asks for it
    if image.mode == "P" and num_channels != 1:
        image = image.convert("RGBA")
    mode = _MODES[num_channels]
    pixels = np.asarray(image if image.mode == mode else image.convert(mode))  # read-only: stacked before use
    return pixels[..., None] if pixels.ndim == 2 else pixels


def _resize_with_pad(images, size, interpolation):
    """`tf.image.resize_with_pad`: resized to fit `size` with its aspect ratio kept, then zero-padded evenly."""
    height, width = images.shape[1:3]
    target_height, target_width = size
    ratio = max(width / target_width, height / target_height)
    new_height, new_width = max(int(height / ratio), 1), max(int(width / ratio), 1)
    top, left = (target_height - new_height) // 2, (target_width - new_width) // 2
    resized = _resize.resize_images(images, (new_height, new_width), interpolation)
    padded = F.pad(resized.permute(0, 3, 1, 2), (left, target_width - new_width - left,
                                                  top, target_height - new_height - top))
    return padded.permute(0, 2, 3, 1).contiguous()


def _labels_tensor(labels, label_mode, num_classes):
    """The labels of all files as Keras gives them: int32, one-hot float32, or float32 (n, 1) for binary."""
    labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    if label_mode == "categorical":
        return F.one_hot(labels, num_classes).to(torch.float32)
    if label_mode == "binary":
        return labels.to(torch.float32).unsqueeze(-1)
    return labels.to(torch.int32)


class _ImageFiles(torch.utils.data.Dataset):
    """Map-style dataset of files (what the workers read): index -> image, or (image, label)."""

    def __init__(self, paths, labels, load_arguments):
        self.paths, self.labels, self.load_arguments = paths, labels, load_arguments

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        image = load_image(self.paths[index], *self.load_arguments)
        return image if self.labels is None else (image, self.labels[index])

    def __getitems__(self, indices):
        """A whole batch (the DataLoader's batched fetch), resized in one call, or resized along the width only
        when that is smaller to send (then `_resized` finishes it in the main process)."""
        images = _DecodedImages([self.paths[index] for index in indices], *self.load_arguments).to_send()
        return images if self.labels is None else (images, self.labels[indices])


class _EpochOrder(torch.utils.data.Sampler):
    """Indices (or lists of `batch_size` indices) in file order, or in a new random order each epoch,
    reproducible from `seed`."""

    def __init__(self, size, batch_size, shuffle, seed):
        self.size, self.batch_size, self.shuffle, self.seed, self.epoch = size, batch_size, shuffle, seed, 0

    def __len__(self):
        return self.size if self.batch_size is None else math.ceil(self.size / self.batch_size)

    def __iter__(self):
        if self.shuffle:
            order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed + self.epoch)).tolist()
            self.epoch += 1
        else:
            order = range(self.size)
        if self.batch_size is None:
            return iter(order)
        return (list(order[start:start + self.batch_size]) for start in range(0, self.size, self.batch_size))


def _as_batch(batch):
    return batch  # `_ImageFiles.__getitems__` gives whole batches


def _resized(element, buffers):
    """An element from the DataLoader with its images resized along the height into `buffers` where a worker
    resized them along the width only; a list (the DataLoader's collation of `(x, y)`) as a tuple."""
    if isinstance(element, (tuple, list)):
        return tuple(_resized(part, buffers) for part in element)
    return element.into(buffers.new(element.shape)) if isinstance(element, _WidthResized) else element


class ImageFolderDataset(Dataset):
    """Image files and their labels, as `cnnkit.utils.image_dataset_from_directory` returns them.

    Each element is a batch `(images, labels)` (or `images` without labels; one image per element when
    `batch_size` is None): float32 images `(batch, height, width, channels)` of 0..255 values. Files are
    decoded in `num_workers` DataLoader worker processes (an attribute you may change; 0 decodes in this
    process), kept alive across epochs; with `shuffle`, each epoch visits the files in a new order.

    Attributes:
        class_names: the class names (folder names, or the sorted labels given), None without labels.
        file_paths: the paths of the files, in the order of the split (before per-epoch shuffling).
        num_workers: decoding processes; default `min(2, os.cpu_count())`.
    """

    def __init__(self, file_paths, labels, label_mode, class_names, batch_size, shuffle, seed, load_arguments):
        self.file_paths, self.class_names = list(file_paths), class_names
        self.batch_size = batch_size
        label_tensor = None if label_mode is None else _labels_tensor(labels, label_mode, len(class_names or ()))
        self._files = _ImageFiles(self.file_paths, label_tensor, load_arguments)
        self._order = _EpochOrder(len(self.file_paths), batch_size, shuffle, int(seed or 0))
        self._num_workers, self._loader, self._buffers = default_num_workers(), None, _BatchBuffers()

    @property
    def num_workers(self):
        return self._num_workers

    @num_workers.setter
    def num_workers(self, value):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"`num_workers` must be a non-negative int. Received: num_workers={value!r}")
        self._num_workers, self._loader = value, None

    def cardinality(self):
        return len(self._order)

    def _elements(self):
        if self._loader is None:
            workers = self._num_workers
            order = {"batch_sampler": self._order, "collate_fn": _as_batch} if self.batch_size is not None else {
                "sampler": self._order, "batch_size": None}
            self._loader = torch.utils.data.DataLoader(
                self._files, **order, num_workers=workers, persistent_workers=workers > 0,
                pin_memory=torch.cuda.is_available(),
            )
        for element in self._loader:
            yield _resized(element, self._buffers)

    def __repr__(self):
        return (f"<ImageFolderDataset: {len(self.file_paths)} files, batch_size={self.batch_size}, "
                f"class_names={self.class_names}>")
