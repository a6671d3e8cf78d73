"""Affine warps of channels-last images as Keras's TensorFlow backend computes them, on F.grid_sample.

Keras (`ImageProjectiveTransformV3`) maps each output pixel `(x, y)` (pixel centres at integers)
to the input point `(a0 x + a1 y + a2, b0 x + b1 y + b2)`, moves a point outside the image back
in by the fill mode, clamps it to `[0, size - 1]`, and samples there (bilinear, or the nearest
pixel rounding halves away from zero). torch's padding modes of `F.grid_sample` with
`align_corners=False` are the same functions for three of the four modes:

- "reflect" (`d c b a | a b c d | d c b a`, mirrored about the outer edge of the edge pixel)
  is grid_sample's "reflection" (mirrored about -0.5 and size - 0.5, then clipped);
- "nearest" (`a a a a | a b c d | d d d d`) is "border" (clamped);
- "constant" (`k k k k | a b c d | k k k k`) is "zeros" on `images - k`, plus `k`;
- "wrap" is TensorFlow's own arithmetic (below): a point between the last and the first pixel
  takes one of them whole, it is not blended, so it is mapped here before sampling.

The sampling grid is computed in pixel coordinates from an integer base grid (as TensorFlow
computes it, rather than F.affine_grid's normalized base grid) so that points TensorFlow puts
exactly on a pixel, where "wrap" jumps from the last pixel to the first and nearest rounding
breaks ties, land exactly there too.

Example:
    >>> images = torch.arange(12.0).view(1, 3, 4, 1)
    >>> shift_right = torch.tensor([[[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]])
    >>> affine_transform(images, shift_right, "nearest", "reflect")[0, 0, :, 0].tolist()
    [0.0, 0.0, 1.0, 2.0]
    >>> affine_transform(images, shift_right, "bilinear", "wrap")[0, 0, :, 0].round(decimals=4).tolist()
    [3.0, 0.0, 1.0, 2.0]
"""

import torch
import torch.nn.functional as F

from cnnkit.layers.preprocessing._augmentation import _Augmentation, is_number

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")
_PADDING = {"reflect": "reflection", "nearest": "border", "constant": "zeros", "wrap": "border"}


def affine_transform(images, matrices, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """Warps `(N, H, W, C)` images by one `(2, 3)` matrix each (output pixel -> input point).

    Returns a channels-last `(N, H, W, C)` tensor (a permuted view of grid_sample's output).
    """
    count, height, width, channels = images.shape
    # grid_sample's coordinates: pixel x of a row of `size` pixels is (2x + 1) / size - 1.
    (scale_x, shift_x), (scale_y, shift_y) = ((2.0 / size, 1.0 / size - 1.0) for size in (width, height))
    matrices = matrices.to(device=images.device, dtype=torch.float32)
    exact = interpolation == "nearest" or fill_mode == "wrap"
    if not exact:  # normalize inside the matrices: one matmul gives grid_sample's grid
        matrices = torch.stack([matrices[:, 0] * scale_x, matrices[:, 1] * scale_y], dim=1)
        matrices[:, 0, 2] += shift_x
        matrices[:, 1, 2] += shift_y
    grid = _base_grid(height, width, images.device).matmul(matrices.transpose(1, 2)).view(count, height, width, 2)
    if exact:
        columns = _map_coordinates(grid[..., 0], width, fill_mode)
        rows = _map_coordinates(grid[..., 1], height, fill_mode)
        if interpolation == "nearest":
            columns, rows = _round_half_away(columns), _round_half_away(rows)
        grid = torch.stack([columns * scale_x + shift_x, rows * scale_y + shift_y], dim=-1)
    x = images.permute(0, 3, 1, 2)  # NCHW view, no copy
    constant = fill_mode == "constant" and fill_value != 0
    if constant:
        x = x - fill_value
    padding = "zeros" if exact and fill_mode == "constant" else _PADDING[fill_mode]
    out = F.grid_sample(x, grid, mode=interpolation, padding_mode=padding, align_corners=False)
    if constant:
        out = out + fill_value
    return out.permute(0, 2, 3, 1)


def _base_grid(height, width, device):
    """`(1, H * W, 3)` rows `(x, y, 1)` of every pixel, row by row: exact integers."""
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float32, device=device),
                            torch.arange(width, dtype=torch.float32, device=device), indexing="ij")
    return torch.stack([xs, ys, torch.ones_like(xs)], dim=-1).view(1, height * width, 3)


def _map_coordinates(coords, size, fill_mode):
    """TensorFlow's MapCoordinate: a point outside `[0, size - 1]` moved in by `fill_mode`, clamped."""
    if fill_mode == "constant":
        return coords
    if size <= 1:
        return torch.zeros_like(coords)
    if fill_mode == "reflect":
        period = 2 * size
        low = coords + period * torch.trunc(-coords / period)
        low = torch.where(low < -size, low + period, -low - 1)
        high = coords - period * torch.trunc(coords / period)
        high = torch.where(high >= size, period - high - 1, high)
        coords = torch.where(coords < 0, low, torch.where(coords > size - 1, high, coords))
    elif fill_mode == "wrap":
        span = size - 1
        low = coords + size * (torch.trunc(-coords / span) + 1)
        high = coords - size * torch.trunc(coords / span)
        coords = torch.where(coords < 0, low, torch.where(coords > span, high, coords))
    return coords.clamp(0, size - 1)


def _round_half_away(coords):
    """`std::round`: halves go away from zero (torch.round sends them to the even neighbour)."""
    rounded = torch.round(coords)
    return torch.where((rounded - coords).abs() == 0.5, coords + 0.5 * torch.sign(coords), rounded)


class _AffineAugmentation(_Augmentation):
    """Base of RandomRotation, RandomZoom and RandomTranslation: fill mode, interpolation, fill value.

    Subclasses implement `matrices(images, generator)`: `(N, 2, 3)` float32, output pixel -> input point.
    """

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if fill_mode not in FILL_MODES:
            raise NotImplementedError(
                f"Unknown `fill_mode` {fill_mode!r} for layer '{self.name}'. Expected one of {FILL_MODES}."
            )
        if interpolation not in INTERPOLATIONS:
            raise NotImplementedError(
                f"Unknown `interpolation` {interpolation!r} for layer '{self.name}'. Expected one of {INTERPOLATIONS}."
            )
        if not is_number(fill_value) or isinstance(fill_value, bool):
            raise ValueError(f"Argument `fill_value` of layer '{self.name}' must be a number. "
                             f"Received: fill_value={fill_value!r}")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def augment(self, images, generator):
        return affine_transform(images, self.matrices(images, generator), self.interpolation,
                                self.fill_mode, self.fill_value)

    def matrices(self, images, generator):
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "seed": self.seed, "fill_value": self.fill_value}


def affine_matrices(a0, a1, a2, b0, b1, b2):
    """`(N, 2, 3)` matrices `[[a0, a1, a2], [b0, b1, b2]]` from six `(N,)` tensors."""
    return torch.stack([a0, a1, a2, b0, b1, b2], dim=-1).view(-1, 2, 3)
