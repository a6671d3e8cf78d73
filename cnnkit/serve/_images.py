"""Uploaded bytes to a checked Pillow image: known formats only, size read from the header first."""

import io

from cnnkit.utils.image_utils import COMMON_FORMATS as FORMATS
from cnnkit.utils.image_utils import ImageFileError, open_image

MAX_PIXELS = 25_000_000  # 5000 x 5000: a decompression bomb is refused before its pixels are decoded


class BadImage(ValueError):
    """An upload that is not a usable image; its message is safe to show to the client."""


def decode_image(data, max_pixels=MAX_PIXELS):
    """The image in `data` (bytes), decoded, rotated by its EXIF orientation.

    Raises:
        BadImage: not one of FORMATS, truncated or corrupt, or more than `max_pixels` pixels
            (checked from the header, before decoding).
    """
    from PIL import ImageOps

    if not data:
        raise BadImage("the upload is empty")
    try:
        with open_image(io.BytesIO(data), "upload", max_pixels, FORMATS) as image:
            image.load()
            return ImageOps.exif_transpose(image)
    except ImageFileError as error:
        raise BadImage(str(error)) from None
