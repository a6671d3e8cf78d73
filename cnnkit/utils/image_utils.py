"""Images as PIL images and NumPy arrays: `load_img`, `img_to_array`, `array_to_img`, `save_img`;
`open_image`, the checked opening every cnnkit reader of image files goes through."""

import contextlib
import io
import os
import struct
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_IMAGE_PIXELS = 80_000_000
"""The largest image cnnkit decodes, in pixels (width x height), read from the file's header before any
pixel is decoded, so a decompression bomb (a small file declaring a huge image) costs nothing. 80 M (a
10000x8000 photo, 240 MB as RGB), below Pillow's own warning threshold. Set it here, read at each call,
or pass `max_pixels=` to `load_img`; `None` leaves only Pillow's own guard (`PIL.Image.MAX_IMAGE_PIXELS`)."""

MAX_IMAGE_SIDE = 65_535
"""The longest side accepted, in pixels: JPEG's own maximum. It keeps a 1-pixel-high strip of 80 M pixels out,
whose resizing would cost memory in proportion to its length. Set it here, read at each call."""

COMMON_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")  # what TF's decode_image reads; Pillow reads many more
# What Pillow raises on hostile bytes: its own errors, and its parsers' on fields they did not expect.
_DECODING_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError, KeyError, TypeError,
                    ZeroDivisionError, Image.DecompressionBombError)

_RESAMPLING = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "hamming": Image.Resampling.HAMMING,
    "box": Image.Resampling.BOX,
    "lanczos": Image.Resampling.LANCZOS,
}
_MODES = {"grayscale": ("L", "I;16", "I"), "rgb": ("RGB",), "rgba": ("RGBA",)}


class ImageFileError(OSError, ValueError):
    """An image file cnnkit cannot use: not an image, truncated or corrupt, or over a size limit.

    The message names the file. It is an `OSError`, as Pillow's errors are (`load_img` raised those), and a
    `ValueError`, as cnnkit's image-folder reader raised before.
    """


@contextlib.contextmanager
def open_image(file, name=None, max_pixels=None, formats=None):
    """Open an image file with Pillow, refusing it when its header declares more than `max_pixels` pixels
    or a side longer than `MAX_IMAGE_SIDE`.

    Decode the pixels inside the `with` block: any error Pillow raises there, on bytes it cannot parse,
    becomes an `ImageFileError` naming the file. A missing or unreadable file stays an `OSError`.

    Args:
        file: str, path-like or binary file object.
        name: how messages name the file. Defaults to the path, or "<file object>".
        max_pixels: the largest width x height accepted, or `None` for `MAX_IMAGE_PIXELS` (read at the call).
        formats: Pillow format names accepted (e.g. `COMMON_FORMATS`), or `None` for all Pillow reads.

    Yields:
        The `PIL.Image.Image`, its pixels not decoded yet (`draft` still works).

    Raises:
        ImageFileError: not an image (of `formats`), truncated or corrupt, or too many pixels.

    Example:
    >>> with open_image(io.BytesIO(b"not an image"), "notes.png") as img:  # doctest: +ELLIPSIS
    ...     img.load()
    Traceback (most recent call last):
    cnnkit.utils.image_utils.ImageFileError: Image 'notes.png' cannot be decoded: not an image...
    """
    if name is None:
        name = os.fsdecode(file) if isinstance(file, (str, bytes, os.PathLike)) else "<file object>"
    try:
        with Image.open(file, formats=formats) as image:
            _check_pixels(image.size, MAX_IMAGE_PIXELS if max_pixels is None else max_pixels, name)
            yield image
    except (ImageFileError, FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except _DECODING_ERRORS as error:
        raise ImageFileError(_decoding_message(name, error, formats)) from error


def _check_pixels(size, limit, name):
    width, height = size
    if limit is not None and width * height > limit:
        raise ImageFileError(f"Image {name!r} is {width}x{height}: too many pixels "
                             f"({width * height:,}, limit {limit:,})")
    if max(width, height) > MAX_IMAGE_SIDE:
        raise ImageFileError(f"Image {name!r} is {width}x{height}: a side is too long "
                             f"(limit {MAX_IMAGE_SIDE:,} pixels)")


def _decoding_message(name, error, formats):
    if isinstance(error, Image.DecompressionBombError):
        return f"Image {name!r} has too many pixels for Pillow's own limit ({error})"
    if isinstance(error, UnidentifiedImageError):
        kinds = f"one of {', '.join(formats)}" if formats else "a format Pillow reads"
        return f"Image {name!r} cannot be decoded: not an image, or not {kinds}"
    return f"Image {name!r} cannot be decoded: truncated or corrupt ({type(error).__name__}: {error})"


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False, max_pixels=None):
    """Load an image file into a PIL image, converted to a colour mode and optionally resized.

    Args:
        path: str, path-like or `io.BytesIO`, the image file.
        color_mode: `"grayscale"`, `"rgb"` or `"rgba"`. Greyscale keeps 16- and 32-bit grey
            images as they are and turns anything else into 8-bit grey. Defaults to `"rgb"`.
        target_size: `(height, width)` or `None` to keep the file's size. Defaults to `None`.
        interpolation: PIL resampling when resizing: `"nearest"`, `"bilinear"`, `"bicubic"`,
            `"hamming"`, `"box"` or `"lanczos"`. Defaults to `"nearest"`.
        keep_aspect_ratio: bool, crop the centre of the image to the aspect ratio of
            `target_size` before resizing, instead of stretching. Defaults to `False`.
        max_pixels: the largest image accepted, width x height, checked before decoding. Defaults
            to `MAX_IMAGE_PIXELS` (80 M).

    Returns:
        A `PIL.Image.Image`, its pixels decoded.

    Raises:
        TypeError: `path` is neither path-like nor `io.BytesIO`.
        ValueError: an unknown `color_mode` or `interpolation`.
        ImageFileError: the file is not an image, is truncated or corrupt, has more than
            `max_pixels` pixels or a side over `MAX_IMAGE_SIDE`; the message names it. (An
            `OSError` and a `ValueError`.)
        OSError: the file is missing or unreadable.

    Example:
    >>> img = load_img("cat.jpg", target_size=(180, 180))  # doctest: +SKIP
    >>> img_to_array(img).shape  # doctest: +SKIP
    (180, 180, 3)
    """
    if color_mode not in _MODES:
        raise ValueError('color_mode must be "grayscale", "rgb" or "rgba". '
                         f"Received: color_mode={color_mode!r}")
    if isinstance(path, io.BytesIO):
        name = "<io.BytesIO>"
    elif isinstance(path, (str, bytes, os.PathLike)):
        name = os.fsdecode(path)  # Pillow opens the file, reads the header, and closes it once decoded
    else:
        raise TypeError(f"path must be path-like or io.BytesIO. Received: {type(path).__name__}")
    with open_image(path, name, max_pixels) as img:
        img.load()
        if img.mode not in _MODES[color_mode]:
            img = img.convert(_MODES[color_mode][0])
    if target_size is None:
        return img
    size = (int(target_size[1]), int(target_size[0]))  # PIL sizes are (width, height)
    if img.size == size:
        return img
    if interpolation not in _RESAMPLING:
        raise ValueError(f"interpolation must be one of {', '.join(_RESAMPLING)}. "
                         f"Received: interpolation={interpolation!r}")
    box = _centre_crop_box(img.size, size) if keep_aspect_ratio else None
    return img.resize(size, _RESAMPLING[interpolation], box=box)


def _centre_crop_box(size, target):
    """The largest centred (left, top, right, bottom) box of `size` with `target`'s aspect ratio."""
    (width, height), (target_width, target_height) = size, target
    crop_height = min(height, width * target_height // target_width)
    crop_width = min(width, height * target_width // target_height)
    left, top = (width - crop_width) // 2, (height - crop_height) // 2
    return (left, top, left + crop_width, top + crop_height)


def img_to_array(img, data_format=None, dtype=None):
    """Convert a PIL image to a 3D NumPy array.

    Args:
        img: a PIL image (or anything `np.asarray` takes) of 2 or 3 dimensions.
        data_format: `"channels_last"` (height, width, channels) or `"channels_first"`.
            Defaults to `"channels_last"`.
        dtype: the array's dtype. Defaults to `"float32"`.

    Returns:
        A 3D array; a greyscale image gets a channel axis of size 1.

    Example:
    >>> img_to_array(Image.new("L", (4, 2))).shape
    (2, 4, 1)
    """
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[None] if data_format == "channels_first" else x[..., None]
    elif x.ndim == 3:
        if data_format == "channels_first":
            x = x.transpose(2, 0, 1)
    else:
        raise ValueError(f"img_to_array expects an image of 2 or 3 dimensions. Received shape: {x.shape}")
    return x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """Convert a 3D array to a PIL image: 1 channel gives `L` (or `I` above 255), 3 `RGB`, 4 `RGBA`.

    Args:
        x: array-like of 3 dimensions.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `"channels_last"`.
        scale: bool, stretch the values linearly to 0..255 (minimum to 0, maximum to 255).
            Defaults to `True`.
        dtype: dtype the array is taken as before scaling. Defaults to `"float32"`.

    Returns:
        A `PIL.Image.Image`. Values are truncated to integers as NumPy's `astype` does.

    Example:
    >>> array_to_img(np.array([[[0.0], [0.5]]])).getpixel((1, 0))
    255
    """
    data_format = _data_format(data_format)
    x = np.array(x, dtype=dtype or "float32")  # a copy: scaling works in place
    if x.ndim != 3:
        raise ValueError(f"array_to_img expects an array of 3 dimensions. Received shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x -= np.min(x)
        top = np.max(x)
        if top != 0:
            x /= top
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return Image.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if np.max(x) > 255:  # 32-bit integer greyscale
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img supports 1, 3 or 4 channels. Received shape: {x.shape}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Save an array as an image file, atomically: a crash leaves the previous file intact.

    Args:
        path: str or path-like, where to write.
        x: array-like of 3 dimensions, as for `array_to_img`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `"channels_last"`.
        file_format: PIL format name (`"png"`, `"jpeg"`, ...). Defaults to the extension of
            `path`; `"jpg"` means `"jpeg"`. An RGBA image saved as JPEG loses its alpha, with a
            warning.
        scale: bool, stretch the values to 0..255 as `array_to_img` does. Defaults to `True`.
        **kwargs: passed to `PIL.Image.Image.save` (e.g. `quality=95`).

    Example:
    >>> save_img("out.png", np.zeros((8, 8, 3)))  # doctest: +SKIP
    """
    from cnnkit.saving.atomic import atomic_write  # late: cnnkit.saving imports the models

    if file_format is None:
        file_format = os.path.splitext(os.fspath(path))[1][1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format and file_format.lower() == "jpeg":
        warnings.warn("JPEG has no alpha channel: the RGBA image is saved as RGB.", stacklevel=2)
        img = img.convert("RGB")
    if file_format is None:
        raise ValueError(f"Cannot tell the image format of {os.fspath(path)!r}: give the file an "
                         "extension or pass file_format= (e.g. 'png').")
    with atomic_write(path) as file:
        img.save(file, format=file_format, **kwargs)


def _data_format(data_format):
    data_format = "channels_last" if data_format is None else str(data_format).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError('data_format must be "channels_last" or "channels_first". '
                         f"Received: data_format={data_format!r}")
    return data_format
