"""Uploaded bytes to a checked Pillow image: known formats only, size read from the header first."""

import io

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
MAX_PIXELS = 25_000_000  # 5000 x 5000: a decompression bomb is refused before its pixels are decoded


class BadImage(ValueError):
    """An upload that is not a usable image; its message is safe to show to the client."""


def decode_image(data, max_pixels=MAX_PIXELS):
    """The image in `data` (bytes), decoded, rotated by its EXIF orientation.

    Raises:
        BadImage: not one of FORMATS, truncated or corrupt, or more than `max_pixels` pixels
            (checked from the header, before decoding).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise BadImage("the upload is empty")
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:
        raise BadImage(f"the image has too many pixels (limit {max_pixels:,})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise BadImage(f"not an image, or not one of {', '.join(FORMATS)}") from None
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise BadImage(f"the image is {width}x{height}: too many pixels (limit {max_pixels:,})")
        try:
            image.load()
        except Image.DecompressionBombError:
            raise BadImage(f"the image has too many pixels (limit {max_pixels:,})") from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise BadImage(f"the {image.format} image is truncated or corrupt") from None
        return ImageOps.exif_transpose(image)
