"""Any picture of one digit, prepared the way MNIST's digits were made.

MNIST's recipe (LeCun et al.): the digit's bounding box is scaled to fit a 20x20 box,
keeping its aspect ratio, with antialiasing; it is then placed in a 28x28 frame so that
its centre of mass lands on the frame's centre, white ink on a black background.
"""

import os

import numpy as np

FRAME = 28
BOX = 20
MIN_CONTRAST = 0.1   # ink must differ from the background by 10% of the full range
INK_THRESHOLD = 0.1  # of the ink's range: pixels counted in the bounding box


def load_digit(path, invert=None, size=(FRAME, FRAME)):
    """Reads a PNG/JPEG/... of one digit and prepares it as `prepare_digit` does.

    Args:
        path: the image file; any size, grey or colour, with or without alpha.
        invert: None detects a dark digit on a light background and inverts it;
            True always inverts, False never does.
        size: (height, width) of the result. Default (28, 28).

    Returns:
        float32 array of shape `size`, values in [0, 1], white digit on black.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not an image Pillow can decode, or it shows no digit.

    Example:
        >>> load_digit("seven.png").shape  # doctest: +SKIP
        (28, 28)
    """
    image = read_image(path)
    try:
        return prepare_digit(image, invert, size)
    except ValueError as error:
        raise ValueError(f"Image '{path}': {error}") from None


def read_image(path):
    """The image at `path` as a Pillow image, rotated by its EXIF orientation.

    Raises:
        FileNotFoundError: no file at `path`.
        ImageFileError: not an image, truncated or corrupt, or over `image_utils.MAX_IMAGE_PIXELS`.
    """
    from PIL import ImageOps

    from cnnkit.utils.image_utils import open_image

    if not os.path.isfile(path):
        raise FileNotFoundError(f"Image file not found: '{path}'")
    with open_image(path) as image:
        image.load()
        return ImageOps.exif_transpose(image)


def prepare_digit(image, invert=None, size=(FRAME, FRAME)):
    """A digit image as MNIST input: cropped, fitted in 20x20, centred by mass in 28x28.

    Args:
        image: a Pillow image, or an array (height, width[, 3 or 4]) of uint8 0-255
            or floats 0-1.
        invert: None (detect a dark digit on a light background), True or False.
        size: (height, width) of the frame; the box is 20/28 of it. Default (28, 28).

    Returns:
        float32 array of shape `size`, values in [0, 1], white digit on black.

    Raises:
        ValueError: the image is blank (no pixel stands out from the background).

    Example:
        >>> digit = np.zeros((100, 60), np.uint8); digit[20:80, 25:35] = 255
        >>> prepared = prepare_digit(digit)
        >>> prepared.shape, round(float(prepared.max()), 2)
        ((28, 28), 1.0)
    """
    grey = grey_array(image)
    background = float(np.median(border(grey)))
    if invert is None:
        invert = background - grey.min() > grey.max() - background
    ink = (background - grey) if invert else (grey - background)
    contrast = float(ink.max())
    if contrast < MIN_CONTRAST:
        raise ValueError(_blank_message(grey, background, invert))
    ink = np.clip(ink / contrast, 0.0, 1.0)
    box = round(min(size) * BOX / FRAME)
    return centre_by_mass(fit_in_box(crop_to_ink(ink), box), size)


def _blank_message(grey, background, inverted):
    """Says the image is blank, or which way to invert when the other way shows a digit."""
    other_contrast = (grey.max() - background) if inverted else (background - grey.min())
    if other_contrast < MIN_CONTRAST:
        return f"no digit found: the image is blank (no pixel stands out from the background by {MIN_CONTRAST:.0%})"
    if inverted:
        return "no dark digit found on a light background; for a light digit on a dark one, try --no-invert"
    return "no light digit found on a dark background; for a dark digit on a light one, try --invert"


def grey_array(image):
    """Luminance in [0, 1] as a float32 (height, width) array; alpha composited on a contrasting background."""
    array = _to_float(_pixels(image))
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        grey = array[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
        return _composite(grey, array[..., 3]) if array.shape[-1] == 4 else grey
    if array.ndim != 2:
        raise ValueError(f"expected a grey or colour image; received an array of shape {array.shape}.")
    return array


def _pixels(image):
    """A Pillow image as an array: grey, RGB or RGBA (anything else is converted)."""
    if not hasattr(image, "mode"):
        return np.asarray(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        return np.asarray(image.convert("RGBA"))
    if image.mode in ("1", "L", "RGB") or image.mode.startswith(("I", "F")):
        return np.asarray(image)
    return np.asarray(image.convert("RGB"))


def _to_float(array):
    """uint8 0-255 (16-bit 0-65535) to float32 0-1; floats are taken as 0-1 already."""
    if np.issubdtype(array.dtype, np.floating) or array.dtype == bool:
        return array.astype(np.float32)
    top = 255.0 if array.dtype == np.uint8 or array.max(initial=0) <= 255 else 65535.0
    return array.astype(np.float32) / top


def _composite(grey, alpha):
    """Transparent pixels take the opposite brightness of the opaque ones (the ink)."""
    opaque = alpha > 0.5
    ink_is_dark = not opaque.any() or grey[opaque].mean() < 0.5
    background = 1.0 if ink_is_dark else 0.0
    return grey * alpha + background * (1.0 - alpha)


def border(array):
    """The outermost ring of pixels, flattened."""
    return np.concatenate([array[0], array[-1], array[1:-1, 0], array[1:-1, -1]])


def crop_to_ink(ink):
    """The smallest box holding every pixel above INK_THRESHOLD."""
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    columns = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    return ink[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]


def fit_in_box(ink, box):
    """Resizes `ink` so its longer side is `box` pixels, keeping the aspect ratio (Lanczos)."""
    from PIL import Image

    height, width = ink.shape
    scale = box / max(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(Image.fromarray(ink.astype(np.float32), mode="F").resize(new_size, Image.LANCZOS))
    resized = np.clip(resized, 0.0, None)
    return resized / resized.max()


def centre_by_mass(ink, size):
    """Places `ink` in a frame of `size` with its centre of mass on the frame's centre (whole pixels)."""
    frame = np.zeros(size, np.float32)
    offsets = []
    for axis, (length, frame_length) in enumerate(zip(ink.shape, size)):
        profile = ink.sum(axis=1 - axis)
        centre = float((profile * np.arange(length)).sum() / profile.sum())
        offset = round(frame_length / 2 - centre)
        offsets.append(min(max(offset, 0), frame_length - length))
    top, left = offsets
    frame[top:top + ink.shape[0], left:left + ink.shape[1]] = np.clip(ink, 0.0, 1.0)
    return frame
