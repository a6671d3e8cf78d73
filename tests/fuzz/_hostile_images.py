"""Image files that lie about their size: a real PNG or JPEG whose header declares another, and PNG bombs."""

import zlib


def with_size(data, width, height):
    """`data` (a PNG or a JPEG) with its header declaring `width` x `height`, the PNG's checksum made right."""
    if data.startswith(b"\x89PNG"):
        ihdr = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + data[24:29]
        return data[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + data[33:]
    start = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))  # baseline or progressive frame header
    return data[:start + 5] + (height & 0xFFFF).to_bytes(2, "big") + (width & 0xFFFF).to_bytes(2, "big") \
        + data[start + 9:]


def png_bomb(width, height):
    """A few hundred bytes declaring `width` x `height` grey pixels (of one all-zero row)."""
    def chunk(kind, body):
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(width + 1)))
            + chunk(b"IEND", b""))
