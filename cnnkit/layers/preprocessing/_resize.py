"""Resizing channels-last image batches as TensorFlow's `tf.image.resize` (Keras's pixels), on F.interpolate.

What torch gives, against TF 2 (measured on a CIFAR-10 photo, pixel values 0..255, in
tests/test_layers_preprocessing.py):

- "bilinear": TF uses half-pixel centers, so `align_corners=False`; equal to float32 rounding
  (max difference 1e-4), with and without `antialias`, also after crop or pad to the aspect ratio.
- "nearest": TF rounds half-pixel centers down, as torch's "nearest-exact"; equal.
- "bicubic": TF's kernel is Keys' with a = -0.5, torch's plain bicubic uses a = -0.75; torch's
  antialiased bicubic uses a = -0.5, so when no side shrinks (or with `antialias=True`) that one
  is used: equal up to TF's coefficient table (max 0.06, mean 0.006). Shrinking a side without
  antialias has no torch twin and uses torch's a = -0.75 kernel: max difference 6 to 10, mean 1 to 1.7.
- "area": torch's is adaptive average pooling, TF's weights partly covered pixels: equal (max 0.002)
  when each output size divides or is a multiple of the input size, otherwise max 20 to 40, mean 4.
- "lanczos3", "lanczos5": torch has no Lanczos kernel; refused.
"""

import numpy as np
import torch
import torch.nn.functional as F

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area")
_KERAS_ONLY = ("lanczos3", "lanczos5")


def check_interpolation(value, layer_name):
    """`value` if cnnkit resizes with it, else a ValueError naming the layer and the supported ones."""
    if value in INTERPOLATIONS:
        return value
    if value in _KERAS_ONLY:
        raise ValueError(f"Layer '{layer_name}': interpolation={value!r} is not supported in cnnkit (torch has no "
                         f"Lanczos kernel). Supported: {', '.join(INTERPOLATIONS)}.")
    raise ValueError(f"Invalid value for argument `interpolation` of layer '{layer_name}'. Expected one of "
                     f"{INTERPOLATIONS + _KERAS_ONLY}. Received: interpolation={value!r}")


def resize_images(images, size, interpolation="bilinear", antialias=False):
    """`images` (N, H, W, C), floating point, resized to `size` = (height, width) as TF resizes them."""
    if tuple(images.shape[1:3]) == tuple(size):
        return images
    x = images.permute(0, 3, 1, 2)  # NCHW view of channels-last memory: interpolate keeps that layout
    if interpolation == "nearest":
        outputs = F.interpolate(x, size, mode="nearest-exact")
    elif interpolation == "area":
        outputs = F.interpolate(x, size, mode="area")
    else:
        if interpolation == "bicubic" and not antialias:
            # torch's antialiased bicubic is Keys' a = -0.5 kernel, TF's; without shrinking it is not widened.
            antialias = all(new >= old for new, old in zip(size, x.shape[2:]))
        outputs = F.interpolate(x, size, mode=interpolation, align_corners=False, antialias=antialias)
    return outputs.permute(0, 2, 3, 1)


def aspect_crop_box(height, width, target_height, target_width, single_precision=False):
    """`(top, left, crop_height, crop_width)`: the largest centered window of the target's aspect ratio,
    with Keras's arithmetic (float32 in its TF backend's resize, Python floats in `smart_resize`)."""
    real = np.float32 if single_precision else float
    crop_height = max(min(height, int(real(width * target_height) / real(target_width))), 1)
    crop_width = max(min(width, int(real(height * target_width) / real(target_height))), 1)
    return int(real(height - crop_height) / 2), int(real(width - crop_width) / 2), crop_height, crop_width


def crop_to_aspect_ratio(images, size, single_precision=False):
    """The centered window of `images` (N, H, W, C) with the aspect ratio of `size`: a view, no copy."""
    top, left, height, width = aspect_crop_box(*images.shape[1:3], *size, single_precision)
    return images[:, top:top + height, left:left + width, :]


def pad_to_aspect_ratio(images, size, fill_value=0.0):
    """`images` (N, H, W, C) padded evenly with `fill_value` on its short side to the aspect ratio of `size`,
    as Keras's TF backend pads (the same number of rows or columns on both sides)."""
    height, width = images.shape[1:3]
    target_height, target_width = size
    pad_height = max(height, int(np.float32(width * target_height) / np.float32(target_width)))
    pad_width = max(width, int(np.float32(height * target_width) / np.float32(target_height)))
    top = int(np.float32(pad_height - height) / 2)
    left = int(np.float32(pad_width - width) / 2)
    if not (top or left):
        return images
    padded = F.pad(images.permute(0, 3, 1, 2), (left, left, top, top), value=float(fill_value))
    return padded.permute(0, 2, 3, 1)


def resized_shape(input_shape, height, width):
    """The shape of `input_shape` images (one `(h, w, c)` or a batch) made `height` x `width`."""
    if len(input_shape) == 3:
        return (height, width, input_shape[2])
    return (input_shape[0], height, width, input_shape[3])


def as_batch(images):
    """`(batch, unbatched)`: rank-3 `images` (one image) as a batch of one (a view), rank 4 as they are."""
    if images.dim() not in (3, 4):
        raise ValueError(f"Expected images of rank 3 (one image) or 4 (a batch of images). "
                         f"Received: shape={tuple(images.shape)}")
    return (images.unsqueeze(0), True) if images.dim() == 3 else (images, False)


def saturate_cast(values, dtype):
    """Float `values` rounded and clipped to the range of the integer `dtype`, as Keras casts resized images."""
    info = torch.iinfo(dtype)
    return values.round().clamp_(info.min, info.max).to(dtype)
