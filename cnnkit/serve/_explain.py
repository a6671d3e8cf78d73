"""The pictures of `cnnkit.viz` (Grad-CAM overlay, activation grid) as PNG data URLs for the page."""

import base64
import io

import numpy as np

SCALE = 4  # activation grids are shown with each map pixel as SCALE x SCALE


def grid_png(maps):
    """Every channel of `maps` (h, w, channels), each normalised to [0, 1], tiled in a near-square grid."""
    height, width, channels = maps.shape
    columns = int(np.ceil(np.sqrt(channels)))
    rows = int(np.ceil(channels / columns))
    grid = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), 0.25, np.float32)
    for channel in range(channels):
        plane = maps[..., channel]
        span = float(plane.max() - plane.min())
        plane = (plane - plane.min()) / span if span > 0 else np.zeros_like(plane)
        top, left = divmod(channel, columns)
        grid[top * (height + 1):top * (height + 1) + height, left * (width + 1):left * (width + 1) + width] = plane
    return _png_data_url((grid * 255).astype(np.uint8), SCALE)


def overlay_png(overlay):
    """`cnnkit.viz.grad_cam`'s overlay (H, W, 3) uint8, enlarged for the page."""
    return _png_data_url(overlay, max(1, 224 // max(overlay.shape[:2])))


def _png_data_url(pixels, scale):
    from PIL import Image

    image = Image.fromarray(pixels)
    image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
