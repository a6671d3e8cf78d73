"""Rescaling, Normalization, Resizing and CenterCrop against Keras 3's numbers.

Resizing is compared with Keras on a real photo: the first test cat of CIFAR-10
(`cifar10-jpg/test/cat/0000.jpg` in the shared datasets' `cifar10-jpg.zip`, 32x32 RGB), extracted
with zipfile into a temporary folder and decoded with Pillow. Expected values are from Keras 3.15,
TensorFlow backend (`keras.layers.Resizing(...)` on the same decoded pixels, as float32).
"""

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import cnnkit as keras
from cnnkit import layers, models

Image = pytest.importorskip("PIL.Image")

SHARED = next((p for p in (Path(os.environ.get("CNNKIT_DATA", "/nonexistent")),
                           Path(__file__).resolve().parents[2] / "shared" / "datasets",
                           Path("/work/shared/datasets")) if (p / "cifar10-jpg.zip").is_file()), None)
CAT = "cifar10-jpg/test/cat/0000.jpg"
CAT_PIXEL_SUM = 332902  # of the decoded uint8 pixels Keras was given: the same JPEG decoding


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    """The photo as a (32, 32, 3) uint8 array."""
    if SHARED is None:
        pytest.skip("shared datasets folder (cifar10-jpg.zip) not found")
    folder = tmp_path_factory.mktemp("cifar")
    with zipfile.ZipFile(SHARED / "cifar10-jpg.zip") as archive:
        path = archive.extract(CAT, folder)
    with Image.open(path) as image:
        pixels = np.array(image.convert("RGB"))
    assert pixels.shape == (32, 32, 3) and int(pixels.sum()) == CAT_PIXEL_SUM, "JPEG decoded differently"
    return pixels


# -- Rescaling ----------------------------------------------------------------------------------
PIXELS = np.array([[0, 1, 127, 128, 254, 255]], "float32")


def test_rescaling_matches_keras_to_the_bit():
    # Keras: Rescaling(1 / 255)(PIXELS), Rescaling(1 / 127.5, offset=-1)(PIXELS)
    keras_01 = np.float32([[0.0, 0.003921569, 0.498039246, 0.501960814, 0.996078491, 1.0]])
    keras_11 = np.float32([[-1.0, -0.992156863, -0.003921509, 0.003921628, 0.992156982, 1.0]])
    np.testing.assert_array_equal(layers.Rescaling(1 / 255)(PIXELS).numpy(), keras_01)
    np.testing.assert_array_equal(layers.Rescaling(1 / 127.5, offset=-1)(PIXELS).numpy(), keras_11)


def test_rescaling_per_channel_and_integer_inputs():
    layer = layers.Rescaling([0.5, 2.0, -1.0], offset=[1.0, 0.0, 0.5])
    out = layer(np.arange(6, dtype="float32").reshape(2, 3))
    np.testing.assert_array_equal(out.numpy(), [[1.0, 2.0, -1.5], [2.5, 8.0, -4.5]])  # Keras's numbers
    out = layers.Rescaling(2)(torch.tensor([[1, 2]], dtype=torch.uint8))
    assert out.dtype == torch.float32 and out.tolist() == [[2.0, 4.0]]  # floats, as Keras


def test_rescaling_config(fresh_names):
    assert layers.Rescaling(1 / 255).get_config() == {"name": "rescaling", "trainable": True,
                                                       "scale": 1 / 255, "offset": 0.0}
    layer = layers.Rescaling(np.array([1.0, 2.0]), name="r")
    assert layer.get_config()["scale"] == [1.0, 2.0]
    keras_numpy = {"class_name": "__numpy__", "config": {"value": [1.0, 2.0], "dtype": "float64"}}
    assert layers.Rescaling(keras_numpy).get_config()["scale"] == [1.0, 2.0]  # as a .keras file stores arrays
    with pytest.raises(ValueError, match=r"`scale` of layer 'bad'.*scale='x'"):
        layers.Rescaling("x", name="bad")


# -- Normalization ------------------------------------------------------------------------------
DATA = (np.arange(60, dtype="float32").reshape(5, 4, 3) ** 1.5) % 11
# Keras: Normalization().adapt(DATA), get_weights() and the output for DATA[:1]
KERAS_MEAN = [5.0228677, 4.8811555, 3.2837658]
KERAS_VARIANCE = [10.5657063, 9.9090357, 8.078042]
KERAS_OUTPUT = [[[-1.5452632, -1.2329496, -0.160207], [0.0533104, 0.9907818, -1.0919138],
                 [-0.4079163, 0.8383793, -0.9346136], [-0.0070351, 1.5062987, 0.0700538]]]
# Keras: Normalization(axis=(1, 2)).adapt([DATA[:2], DATA[2:]]) (two batches)
KERAS_MEAN_12 = [[5.1397009, 2.9868753, 3.3174572], [3.8709521, 6.8243198, 3.3633676],
                 [6.6779361, 5.7601643, 2.8036113], [4.4028826, 3.9532633, 3.6506271]]
KERAS_VARIANCE_12 = [[10.8518066, 2.0536382, 7.3082848], [6.8740649, 12.070858, 11.286088],
                     [14.475317, 6.3323565, 4.7755256], [5.5974455, 10.181468, 8.569665]]


def test_normalization_adapt_matches_keras(fresh_names):
    layer = layers.Normalization()
    layer.adapt(DATA)
    mean, variance, count = layer.get_weights()
    np.testing.assert_allclose(mean, KERAS_MEAN, rtol=1e-6)
    np.testing.assert_allclose(variance, KERAS_VARIANCE, rtol=1e-6)
    assert count == 0  # Keras keeps count for old files and leaves it at 0
    np.testing.assert_allclose(layer(DATA[:1]).numpy(), KERAS_OUTPUT, atol=1e-6)
    assert [path for path, *_ in layer.weight_entries()] == ["mean", "variance", "count"]
    assert layer.count_params() == 7 and not layer.trainable_weights  # Keras: 7, all non-trainable


def test_normalization_adapt_on_batches_tuples_and_tensors():
    for data in ([DATA[:2], DATA[2:]], ((x, None) for x in (DATA[:2], DATA[2:])),
                 [torch.from_numpy(DATA[:3]), torch.from_numpy(DATA[3:])]):
        layer = layers.Normalization(axis=(1, 2))
        layer.adapt(data)
        np.testing.assert_allclose(layer.get_weights()[0], KERAS_MEAN_12, rtol=1e-6)
        np.testing.assert_allclose(layer.get_weights()[1], KERAS_VARIANCE_12, rtol=1e-6)


def test_normalization_axis_none_and_invert_match_keras():
    layer = layers.Normalization(axis=None)
    layer.adapt(DATA)
    np.testing.assert_allclose([w.item() for w in layer.get_weights()[:2]], [4.3959293, 10.1393976], rtol=1e-6)
    np.testing.assert_allclose(layer(DATA[:1]).numpy()[0, 0], [-1.3805262, -1.0664797, -0.4922686], atol=1e-6)
    inverse = layers.Normalization(invert=True)
    inverse.adapt(DATA)
    np.testing.assert_allclose(inverse(np.array([[[1.0, -1.0, 0.5]]], "float32")).numpy(),
                               [[[8.2733612, 1.7332933, 4.7048607]]], rtol=1e-6)


def test_normalization_given_mean_and_variance_match_keras():
    layer = layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.0])
    np.testing.assert_allclose(layer(np.array([[1.0, 4.0, 5.0]], "float32")).numpy(), [[0.0, 2.0, 2e7]])
    assert not layer.weights  # given statistics are constants, not weights (as Keras)
    right_aligned = layers.Normalization(axis=(1, 2), mean=[1.0, 2.0], variance=[4.0, 9.0])
    np.testing.assert_allclose(right_aligned(np.ones((1, 3, 2), "float32")).numpy(),
                               [[[0.0, -0.3333333], [0.0, -0.3333333], [0.0, -0.3333333]]], atol=1e-7)
    with pytest.raises(ValueError, match="was given `mean` and `variance`"):
        layer.adapt(DATA)


@pytest.mark.parametrize("kwargs, message", [
    ({"mean": 1.0}, r"'norm'.*both `mean` and `variance` must be set"),
    ({"mean": [1.0, 2.0], "variance": [1.0]}, r"'norm'.*same shape.*\(2,\).*\(1,\)"),
    ({"mean": [[1.0]], "variance": [[1.0]]}, r"'norm'.*rank of `mean` must be less than or equal to .* \(1\)"),
    ({"axis": "x"}, r"`axis` of layer 'norm'"),
])
def test_normalization_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.Normalization(name="norm", **kwargs)


def test_normalization_bad_axes_for_the_input():
    with pytest.raises(ValueError, match=r"range \[-ndim, ndim\). Received inputs with ndim=2, while axis=\(3,\)"):
        layers.Normalization(axis=3).build_for((None, 2))
    with pytest.raises(ValueError, match="known shape.*unknown axis at index 1"):
        layers.Normalization(axis=1).build_for((None, None, 3))
    layer = layers.Normalization()
    layer.adapt(DATA)
    with pytest.raises(ValueError, match=r"adapt\(\) got a batch of shape \(2, 5\)"):
        layer.adapt(np.zeros((2, 5), "float32"))


def test_normalization_config(fresh_names):
    layer = layers.Normalization(axis=(1, 2), mean=[1.0, 2.0], variance=[4.0, 9.0])
    config = layer.get_config()
    assert config == {"name": "normalization", "trainable": True, "axis": [1, 2], "invert": False,
                      "mean": [1.0, 2.0], "variance": [4.0, 9.0]}
    assert layers.Normalization.from_config(json.loads(json.dumps(config))).get_config() == config
    assert layers.Normalization(axis=None).get_config()["axis"] == []


# -- Resizing -----------------------------------------------------------------------------------
# Keras's Resizing(13, 17) of the cat (bilinear, the default), rounded to 2 decimals: every pixel.
KERAS_BILINEAR = np.array("""
    166.24 109.16 49.01 168.72 113.24 46.89 162.02 108.32 36.71 173.08 120.06 50.95 158.22 106.90 44.61 165.98
    113.98 55.99 161.54 109.68 47.81 168.02 117.38 45.47 164.90 117.60 32.98 157.39 112.57 32.17 153.41 110.53
    54.81 138.76 98.02 61.55 147.24 108.19 70.90 141.53 104.61 52.53 141.41 101.05 39.25 140.47 93.53 34.89 135.97
    83.21 32.28 146.91 109.20 51.49 155.08 114.46 47.29 162.88 117.10 39.27 171.68 120.58 41.42 173.10 119.94 48.99
    164.23 113.79 52.00 189.56 145.15 85.35 151.12 113.25 50.79 139.75 109.77 54.15 116.13 91.48 54.07 109.75 85.58
    66.24 105.76 84.00 75.51 81.76 62.90 47.15 92.05 74.52 37.57 114.60 91.75 40.40 133.32 104.57 48.59 124.66
    92.08 37.97 114.13 100.65 61.68 94.75 73.06 18.70 151.63 115.73 45.15 167.07 119.28 40.19 171.35 118.03 48.45
    166.60 118.88 63.62 139.39 105.98 62.94 110.62 90.40 52.30 76.69 67.62 44.31 75.86 72.05 67.27 127.46 124.44
    127.06 114.68 113.04 119.96 101.65 100.88 100.93 94.20 90.94 75.62 65.23 56.99 26.31 102.24 87.07 46.14 123.88
    103.41 58.28 142.44 144.35 136.41 85.79 77.43 51.14 152.52 126.54 77.93 160.16 116.20 56.41 168.48 118.87 66.73
    148.09 104.84 70.28 162.79 136.96 118.17 134.65 125.04 115.05 77.27 75.71 67.44 82.70 83.48 74.86 84.75 87.40
    80.24 127.47 132.10 128.24 80.06 83.71 84.24 92.07 88.40 85.89 66.52 57.02 46.54 66.68 49.21 31.28 124.36
    101.13 76.58 147.72 152.33 166.13 158.09 153.44 148.59 175.50 156.88 127.82 154.67 122.59 81.70 171.85 133.39
    97.56 223.42 188.53 169.24 176.07 154.00 147.83 143.61 135.32 137.07 105.98 100.54 95.12 70.18 64.53 47.38
    131.16 129.96 109.61 153.08 155.35 136.89 102.44 101.95 94.22 101.84 96.13 97.73 98.28 84.98 85.21 66.89 46.83
    38.09 83.98 61.34 42.52 147.86 150.36 165.08 165.96 162.41 159.75 132.35 120.64 96.75 149.98 129.95 94.74
    103.32 77.55 44.39 144.08 119.05 96.22 183.18 164.15 151.46 187.32 176.12 166.90 139.06 128.52 126.08 101.37
    92.44 89.16 162.01 158.80 145.42 140.08 141.27 123.99 93.12 95.12 84.38 79.45 77.86 78.27 103.96 96.96 94.70
    101.58 91.08 74.09 90.88 77.67 45.58 173.07 170.85 175.47 176.56 175.07 171.29 134.25 131.54 117.12 133.96
    129.28 108.69 116.03 107.10 87.54 148.97 135.26 116.69 200.25 183.41 167.62 140.37 121.37 103.63 126.00 109.00
    97.25 105.44 92.21 86.13 150.16 141.59 130.32 147.96 144.31 132.10 101.76 98.21 88.25 94.37 86.59 75.35 113.25
    99.07 76.62 112.15 91.13 52.03 127.57 104.29 49.66 202.30 201.19 205.96 171.02 171.28 173.23 175.68 177.68
    176.68 87.47 89.39 86.21 156.18 155.24 150.24 118.43 112.02 104.10 118.46 106.39 97.98 119.50 103.46 93.67
    126.62 113.40 98.65 119.50 110.74 95.09 125.45 118.79 110.22 102.30 98.11 97.18 63.12 58.73 57.48 64.24 54.15
    44.53 111.46 95.01 70.48 150.73 126.72 85.60 144.70 115.27 64.60 153.36 167.21 182.86 168.40 177.91 189.27
    167.87 172.46 175.65 105.58 104.40 100.14 205.28 203.51 197.33 122.99 120.58 117.47 111.57 114.05 117.41 162.98
    169.02 176.96 164.65 172.38 178.77 100.58 109.74 115.08 52.83 64.32 76.46 45.51 61.25 78.63 38.01 54.25 73.60
    66.33 81.12 96.09 101.74 112.23 116.79 100.55 106.20 98.98 95.60 99.29 83.89 81.48 113.84 143.94 147.84 171.65
    194.24 167.78 179.81 189.52 170.08 173.30 173.69 248.52 248.40 246.17 152.58 158.78 163.50 70.81 89.21 105.46
    48.39 76.53 103.22 56.27 85.73 113.42 49.98 77.35 103.85 56.21 86.94 118.16 54.46 88.23 124.75 48.46 86.42
    126.62 51.13 89.20 127.46 54.90 93.77 127.78 57.89 94.46 121.25 56.18 92.52 115.17 54.43 99.76 144.82 48.05
    85.74 121.67 107.23 133.22 155.85 211.88 226.82 237.96 152.59 166.02 174.67 65.02 83.22 99.97 60.31 90.93
    119.30 44.12 84.31 123.34 40.65 82.17 121.38 40.06 80.21 117.03 39.35 82.56 123.35 46.53 91.91 136.76 51.51
    100.60 146.98 54.32 105.61 152.99 47.16 99.51 147.68 59.41 113.24 159.60 79.26 133.30 179.03 48.97 102.79
    155.36 43.44 92.99 139.12 35.87 77.13 114.44 128.43 161.96 190.18 74.90 105.60 129.69 59.61 92.07 119.22 62.27
    97.21 133.19 54.88 95.85 137.44 39.40 82.40 124.90 42.24 87.12 127.88 45.78 91.52 132.36 44.90 91.93 134.37
    46.75 96.18 139.62 36.93 89.57 134.40 58.93 112.87 160.29 38.13 94.39 143.65 32.20 88.39 139.77 51.88 110.36
    165.80 32.42 87.03 140.19 36.14 87.06 133.56 30.11 76.10 116.77 45.54 88.86 123.74 23.51 63.67 98.90 29.56
    67.71 106.11 37.75 75.30 115.65 40.58 82.08 121.81 59.18 103.80 142.60 70.50 114.50 151.36 52.35 97.78 133.87
    37.57 85.05 122.57 78.38 127.04 166.50 94.24 144.40 186.99 45.89 97.38 144.70 19.52 71.93 121.93
""".split(), dtype="float32").reshape(13, 17, 3)

# name: (Resizing kwargs, Keras's output shape, its mean per channel, its values at samples(shape)).
KERAS_RESIZED = {
    "bilinear_shrink": (dict(height=13, width=17), (13, 17, 3), [109.9480, 110.2538, 104.4598], [
        133.188, 167.207, 173.074, 152.523, 166.127, 98.02, 117.596, 98.02, 48.449, 82.563, 38.015, 133.188,
        140.368, 144.697, 166.503, 92.517, 111.574, 102.304, 115.271, 133.872, 57.019, 136.76, 45.506, 161.538,
        94.702, 114.436, 119.503, 147.24, 127.779, 85.731, 97.212, 166.595, 50.787, 82.404, 70.896, 85.597, 47.293,
        66.683, 86.132, 183.175]),
    "bilinear_grow": (dict(height=45, width=40), (45, 40, 3), [110.1985, 110.5218, 104.7538], [
        122.511, 182.61, 211.311, 152, 183.3, 101.823, 119.123, 115.1, 32.683, 82.598, 48.263, 123.993, 129.8,
        130.778, 181.783, 88.944, 94.787, 122.95, 116.093, 136.156, 68.539, 139.778, 49.948, 170.3, 74.344, 110.834,
        128.097, 142.003, 149.153, 91.067, 87.514, 162.667, 45.4, 79.008, 59.4, 56.06, 40.567, 70.7, 110.204, 182.79]),
    "bilinear_antialias": (dict(height=13, width=17, antialias=True), (13, 17, 3), [109.9783, 110.3367, 104.5913], [
        126.199, 170.32, 171.026, 149.706, 158.457, 94.809, 118.026, 94.809, 46.772, 83.908, 45.034, 126.199,
        144.662, 140.312, 164.038, 94.343, 117.406, 96.973, 113.965, 134.397, 60.271, 134.499, 49.897, 162.829,
        91.083, 127.189, 113.901, 134.78, 129.857, 102.148, 90.931, 164.725, 51.85, 85.922, 62.297, 77.577, 47.113,
        75.284, 92.422, 189.415]),
    "crop_to_aspect": (dict(height=18, width=30, crop_to_aspect_ratio=True),
        (18, 30, 3), [119.8393, 116.1770, 108.5790], [
        162.5, 204.229, 203.471, 179.383, 208.591, 107.697, 96.981, 131.169, 101.528, 61.868, 62.111, 104.242,
        132.958, 147.039, 145.921, 109.442, 122.594, 142.492, 108.442, 119.3, 84.675, 83.963, 52.444, 128.922,
        99.592, 177.236, 109.213, 95.89, 115.025, 143.108, 135.302, 228.245, 106.653, 149.194, 100.669, 63.921,
        10.694, 81.519, 121.315, 170.117]),
    "pad_to_aspect": (dict(height=30, width=18, pad_to_aspect_ratio=True, fill_value=7.0),
        (30, 18, 3), [69.2156, 69.4413, 66.0376], [
        7, 101.311, 188.444, 162.928, 62.593, 7, 7, 7, 8.35, 10.504, 46.25, 7, 123.791, 65.97, 7, 105.015, 131.574,
        88.428, 114.878, 7, 76.715, 11.222, 47.291, 7, 68.141, 7, 143.683, 7, 178.472, 86.272, 7, 11.987, 7, 7, 7,
        86.917, 7, 125.506, 115.348, 153.407]),
    "nearest_shrink": (dict(height=13, width=17, interpolation="nearest"),
        (13, 17, 3), [109.1629, 109.3665, 103.4570], [
        137, 160, 213, 151, 212, 95, 113, 95, 59, 79, 25, 137, 121, 141, 164, 94, 89, 104, 111, 134, 51, 134, 50,
        159, 99, 113, 101, 150, 129, 78, 99, 166, 55, 81, 76, 86, 44, 74, 73, 187]),
    "nearest_grow": (dict(height=45, width=40, interpolation="nearest"), (45, 40, 3), [109.1178, 109.2778, 103.4028], [
        123, 189, 213, 142, 181, 95, 118, 115, 29, 79, 44, 125, 121, 132, 187, 94, 89, 123, 121, 134, 73, 141, 47,
        171, 74, 107, 135, 140, 149, 81, 87, 167, 37, 78, 60, 58, 38, 91, 105, 169]),
    "bicubic_grow": (dict(height=45, width=40, interpolation="bicubic"), (45, 40, 3), [110.0588, 110.3794, 104.6106], [
        121.447, 183.482, 215.395, 158.463, 185.844, 102.772, 120.075, 116.238, 29.747, 82.178, 46.73, 123.855,
        126.548, 131.129, 185.074, 88.308, 89.03, 128.564, 116.503, 136.024, 68.68, 140.819, 51.204, 171.352,
        74.406, 107.438, 130.915, 144.081, 150.184, 89.096, 86.879, 160.024, 39.98, 78.123, 58.572, 55.625, 40.06,
        67.174, 114.017, 182.133]),
    "bicubic_shrink": (dict(height=13, width=17, interpolation="bicubic"),
        (13, 17, 3), [109.9772, 110.2960, 104.4959], [
        134.883, 165.618, 173.931, 152.724, 168.976, 98.648, 117.565, 98.648, 49.273, 81.971, 35.558, 134.883,
        137.484, 144.267, 167.21, 92.536, 108.066, 103.417, 114.477, 133.798, 56.269, 137.429, 44.266, 160.862,
        95.898, 109.646, 118.882, 150.343, 127.52, 83.893, 98.567, 167.75, 49.247, 80.819, 73.008, 87.309, 47.163,
        63.191, 81.98, 182.081]),
    "area_halve": (dict(height=16, width=16, interpolation="area"), (16, 16, 3), [110.0752, 110.3965, 104.6279], [
        121, 169.75, 184, 116.75, 143.5, 104.25, 114.5, 104.25, 38.5, 87, 58.5, 135.5, 123.75, 138.5, 159.25, 89.25,
        133.5, 121.25, 109.5, 133.25, 66.25, 147.25, 39, 168.25, 72.5, 136, 128.75, 142.75, 150.5, 96, 85, 161.5,
        47, 81.25, 65.5, 50.75, 44.25, 61, 115, 160.5]),
    "area_shrink": (dict(height=13, width=17, interpolation="area"), (13, 17, 3), [110.0751, 110.3964, 104.6279], [
        128.024, 169.481, 171.349, 149.891, 162.816, 96.401, 119.734, 96.401, 45.744, 83.49, 43.408, 128.024,
        142.065, 142.473, 165.407, 91.692, 115.887, 96.373, 114.285, 134.304, 59.138, 135.497, 47.285, 162.278,
        91.986, 121.981, 114.033, 138.036, 130.228, 100.063, 92.65, 163.051, 53.584, 84.391, 62.951, 79.938, 48.329,
        70.732, 87.588, 187.697]),
}
# How far cnnkit may be from those numbers: (max over the sampled pixels, max over the channel means).
# The 3-decimal rounding of the expected values counts 0.0005.
# Measured: bicubic_grow 0.024 / 0.0011 (TF's coefficient table), bicubic_shrink 4.2 / 0.13 (torch's a = -0.75
# kernel), area_shrink 12.0 / 0.73 (torch's integer windows); all others <= 0.0005 / 0.00005.
TOLERANCE = {"bicubic_shrink": (10.0, 0.3), "area_shrink": (40.0, 1.5), "bicubic_grow": (0.06, 0.002)}
EXACT = (0.001, 0.0002)  # bilinear (with crop / pad), nearest, area by whole factors


def samples(shape, count=40):
    """The 40 (row, column, channel) positions the expected values were taken at."""
    rng = np.random.default_rng(0)
    return tuple(rng.integers(0, n, count) for n in shape)


def test_bilinear_resizing_matches_keras_on_every_pixel(cat):
    out = layers.Resizing(13, 17)(cat.astype("float32")).numpy()
    difference = np.abs(out - KERAS_BILINEAR)
    assert difference.max() <= 0.0051 and difference.mean() < 0.003  # 2-decimal rounding: 0.005


@pytest.mark.parametrize("name", sorted(KERAS_RESIZED))
def test_resizing_pixels_against_keras(cat, name):
    kwargs, shape, channel_means, values = KERAS_RESIZED[name]
    out = layers.Resizing(**kwargs)(cat.astype("float32")).numpy()
    assert out.shape == shape
    pixel_tolerance, mean_tolerance = TOLERANCE.get(name, EXACT)
    assert np.abs(out[samples(shape)] - values).max() <= pixel_tolerance
    assert np.abs(out.mean((0, 1)) - channel_means).max() <= mean_tolerance


def test_resizing_integer_images_stay_integers_as_keras(cat):
    out = layers.Resizing(13, 17)(cat)  # Keras: uint8 out, rounded and clipped
    assert out.dtype == torch.uint8 and out.shape == (13, 17, 3)
    assert int(out.long().sum()) == 71743 and out[0, :4, 0].tolist() == [166, 169, 162, 173]


def test_resizing_one_image_or_a_batch_and_shapes():
    layer = layers.Resizing(4, 6, interpolation="nearest")
    batch = torch.arange(2 * 8 * 12 * 3, dtype=torch.float32).reshape(2, 8, 12, 3)
    out = layer(batch)
    assert out.shape == (2, 4, 6, 3) and out.is_contiguous()
    torch.testing.assert_close(layer(batch[1]), out[1])
    torch.testing.assert_close(out, batch[:, 1::2, 1::2, :])  # half-pixel centers: the odd rows and columns
    assert layer.compute_output_shape((None, None, None, 3)) == (None, 4, 6, 3)
    assert layer.compute_output_shape((8, 12, 3)) == (4, 6, 3)
    model = models.Sequential([keras.Input((None, None, 3)), layers.Resizing(5, 7)])
    assert model.output_shape == (None, 5, 7, 3)


@pytest.mark.parametrize("kwargs, message", [
    ({"interpolation": "lanczos3"}, r"'resize'.*not supported in cnnkit.*bilinear, nearest, bicubic, area"),
    ({"interpolation": "linear"}, r"`interpolation` of layer 'resize'.*interpolation='linear'"),
    ({"crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True}, "only one of"),
    ({"fill_mode": "reflect"}, r"Only `'constant'` is supported. Received: fill_mode='reflect'"),
    ({"height": 0}, r"`height` of layer 'resize'.*height=0"),
    ({"data_format": "channels_first"}, "channels_last"),
])
def test_resizing_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.Resizing(**{"height": 4, "width": 4, "name": "resize", **kwargs})


def test_resizing_config_as_keras(fresh_names):
    config = layers.Resizing(4, 5).get_config()
    assert config == {"name": "resizing", "trainable": True, "data_format": "channels_last", "height": 4, "width": 5,
                      "interpolation": "bilinear", "crop_to_aspect_ratio": False, "pad_to_aspect_ratio": False,
                      "fill_mode": "constant", "fill_value": 0.0, "antialias": False}  # Keras's, less dtype
    assert layers.Resizing.from_config(json.loads(json.dumps(config))).get_config() == config


# -- CenterCrop ---------------------------------------------------------------------------------
def test_center_crop_takes_the_middle():
    image = np.arange(42, dtype="float32").reshape(6, 7, 1)
    # Keras: CenterCrop(5, 4)(image): odd differences start the window on the smaller side
    assert layers.CenterCrop(5, 4)(image)[..., 0].tolist() == [
        [1.0, 2.0, 3.0, 4.0], [8.0, 9.0, 10.0, 11.0], [15.0, 16.0, 17.0, 18.0], [22.0, 23.0, 24.0, 25.0],
        [29.0, 30.0, 31.0, 32.0]]


def test_center_crop_of_the_photo_matches_keras(cat):
    out = layers.CenterCrop(20, 25)(cat)
    assert out.dtype == torch.float32  # Keras casts to float32
    np.testing.assert_array_equal(out.numpy(), cat[6:26, 3:28].astype("float32"))  # Keras's output
    # Smaller than the target on one side: Keras crops to the aspect ratio and resizes (bilinear).
    small = layers.CenterCrop(40, 24)(cat[None].astype("float32")).numpy()[0]
    assert small.shape == (40, 24, 3)
    np.testing.assert_allclose(small.mean((0, 1)), [112.0097, 110.8306, 105.2459], atol=2e-4)
    np.testing.assert_allclose(small[samples(small.shape)], [
        124.988, 107.5, 126.8, 164.042, 69.0, 112.325, 115.669, 111.146, 68.521, 81.031, 60.844, 139.254, 123.0,
        51.2, 135.894, 87.8, 112.86, 126.731, 56.594, 147.667, 127.496, 121.25, 73.075, 168.646, 88.548, 137.052,
        106.062, 153.169, 126.394, 80.571, 82.606, 150.031, 54.819, 81.608, 55.958, 90.94, 42.444, 84.625, 107.094,
        193.363], atol=1e-3)


def test_center_crop_shapes_config_and_errors(fresh_names):
    layer = layers.CenterCrop(3, 2)
    assert layer.compute_output_shape((None, 8, 8, 3)) == (None, 3, 2, 3)
    assert layer(torch.zeros(2, 8, 8, 3)).shape == (2, 3, 2, 3)
    assert layer.get_config() == {"name": "center_crop", "trainable": True, "data_format": "channels_last",
                                  "height": 3, "width": 2}
    with pytest.raises(ValueError, match=r"`width` of layer 'crop'.*width=-1"):
        layers.CenterCrop(3, -1, name="crop")
    with pytest.raises(ValueError, match=r"'crop2'.*rank 3 \(one image\) or rank 4"):
        models.Sequential([keras.Input((8,)), layers.CenterCrop(3, 3, name="crop2")])


# -- in a model ---------------------------------------------------------------------------------
def test_preprocessing_layers_save_and_load_inside_a_model(fresh_names, tmp_path):
    inputs = keras.Input((None, None, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Resizing(12, 14, crop_to_aspect_ratio=True)(x)
    x = layers.CenterCrop(10, 10)(x)
    x = layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.1, 0.2, 0.3])(x)
    model = keras.Model(inputs, layers.GlobalAveragePooling2D()(x))
    assert model.output_shape == (None, 3)
    images = np.random.default_rng(0).integers(0, 256, (3, 16, 20, 3)).astype("float32")
    model.save(tmp_path / "m.cnnkit")
    restored = models.load_model(tmp_path / "m.cnnkit")
    np.testing.assert_array_equal(restored.predict(images, verbose=0), model.predict(images, verbose=0))
    assert [layer.get_config() for layer in restored.layers] == [layer.get_config() for layer in model.layers]


def test_adapted_normalization_saves_and_loads_inside_a_model(fresh_names, tmp_path):
    adapted = layers.Normalization(name="adapted")
    model = models.Sequential([keras.Input((4, 3)), adapted, layers.Dense(2)])
    adapted.adapt(DATA)
    model.save(tmp_path / "m.cnnkit")
    restored = models.load_model(tmp_path / "m.cnnkit")
    np.testing.assert_array_equal(restored.predict(DATA, verbose=0), model.predict(DATA, verbose=0))
    np.testing.assert_array_equal(restored.get_layer("adapted").get_weights()[1], adapted.get_weights()[1])
