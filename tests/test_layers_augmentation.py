"""RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast, RandomBrightness and
RandomCrop: Keras"s pixels where the transform is pinned, seeds, one transform per image, when
they are active, configs, saving.

Expected values marked "Keras" are from Keras 3.15.1, TensorFlow backend (/work/kerasenv),
recorded once: `layer(images, training=True)` with the factors pinned (lower == upper), rounded
to 3 decimals. Bilinear outputs are compared within 2e-3 on a 0-255 scale (the rounding, and
float32 sums in another order: the largest gap seen over 600 pinned cases was 6e-4); nearest
interpolation, flips and integer shifts are compared exactly.
"""

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import cnnkit
from cnnkit import layers, models

# np.random.default_rng(0).integers(0, 256, (5, 6, 1)), as float32.
SMALL = np.array([[217, 163, 130, 69, 78, 10], [19, 4, 44, 208, 166, 233], [128, 155, 248, 186, 161, 139],
                  [143, 239, 71, 208, 171, 0], [100, 219, 141, 8, 195, 186]], dtype="float32")[..., None]

# (name, layer class, arguments, Keras"s output channel 0 for SMALL).
KERAS_SMALL = [
    ("rotation_reflect", layers.RandomRotation, dict(factor=(0.1, 0.1)),
     [[131.709, 101.815, 82.464, 139.337, 203.389, 152.966], [160.847, 104.71, 149.087, 180.714, 151.836, 47.198],
      [96.05, 35.122, 188.468, 192.801, 180.01, 132.653], [56.011, 136.812, 177.227, 112.794, 84.663, 182.8],
      [130.229, 147.675, 224.233, 158.126, 69.452, 83.583]]),
    ("rotation_wrap", layers.RandomRotation, dict(factor=(0.1, 0.1), fill_mode="wrap"),
     [[164.671, 79.548, 82.464, 139.337, 203.389, 111.806], [213.911, 104.71, 149.087, 180.714, 151.836, 137.907],
      [96.05, 35.122, 188.468, 192.801, 180.01, 132.653], [201.082, 136.812, 177.227, 112.794, 84.663, 77.413],
      [118.349, 147.675, 224.233, 158.126, 97.185, 82.737]]),
    ("rotation_constant", layers.RandomRotation, dict(factor=(0.1, 0.1), fill_mode="constant", fill_value=7.5),
     [[7.5, 54.685, 82.464, 139.337, 203.389, 51.414], [118.143, 104.71, 149.087, 180.714, 151.836, 42.818],
      [96.05, 35.122, 188.468, 192.801, 180.01, 132.653], [50.659, 136.812, 177.227, 112.794, 84.663, 133.982],
      [44.55, 147.675, 224.233, 158.126, 38.494, 7.5]]),
    ("rotation_nearest", layers.RandomRotation, dict(factor=(0.1, 0.1), fill_mode="nearest"),
     [[141.45, 101.815, 82.464, 139.337, 203.389, 152.966], [160.847, 104.71, 149.087, 180.714, 151.836, 47.198],
      [96.05, 35.122, 188.468, 192.801, 180.01, 132.653], [56.011, 136.812, 177.227, 112.794, 84.663, 182.8],
      [130.229, 147.675, 224.233, 158.126, 69.452, 72.884]]),
    ("rotation_nearest_interpolation", layers.RandomRotation, dict(factor=(-0.3, -0.3), interpolation="nearest"),
     [[219, 219, 239, 128, 19, 217], [141, 141, 71, 155, 4, 163], [8, 208, 186, 248, 44, 130],
      [195, 171, 161, 208, 69, 69], [186, 0, 139, 166, 78, 78]]),
    ("zoom_reflect", layers.RandomZoom, dict(height_factor=(0.3, 0.3), width_factor=(-0.2, -0.2)),
     [[190, 153.1, 123.9, 75.1, 75.3, 44], [65.05, 57.13, 79.45, 156.65, 147.61, 152.85],
      [141.5, 182.9, 241.8, 192.2, 168.5, 150], [181.55, 190.7, 97.6, 142.4, 169.14, 117],
      [159.5, 195.6, 127.7, 21.3, 138.9, 190.5]]),
    ("zoom_in_nearest_ties", layers.RandomZoom, dict(height_factor=(-0.5, -0.5), interpolation="nearest"),
     [[4, 44, 44, 208, 208, 166], [155, 248, 248, 186, 186, 161], [155, 248, 248, 186, 186, 161],
      [239, 71, 71, 208, 208, 171], [239, 71, 71, 208, 208, 171]]),
    ("zoom_out_wrap", layers.RandomZoom, dict(height_factor=(1.0, 1.0), fill_mode="wrap", interpolation="nearest"),
     [[171, 0, 71, 171, 143, 71], [78, 10, 130, 78, 217, 130], [161, 139, 248, 161, 128, 248],
      [195, 186, 141, 195, 100, 141], [166, 233, 44, 166, 19, 44]]),
    ("translation_wrap", layers.RandomTranslation,
     dict(height_factor=(0.25, 0.25), width_factor=(-0.37, -0.37), fill_mode="wrap"),
     [[109.09, 86.82, 178.11, 110.75, 135.665, 201.89], [111.74, 49.14, 193.02, 100, 126.18, 201.84],
      [89.205, 166.815, 151.315, 68.5, 63.055, 48.535], [195.79, 185.065, 162.305, 100.75, 104.38, 134.795],
      [134.445, 195.02, 139.075, 139.25, 156.575, 195.395]]),
    ("translation_reflect_far", layers.RandomTranslation, dict(height_factor=(1.0, 1.0), width_factor=(-0.6, -0.6)),
     [[120.2, 189.6, 186, 191.4, 82.8, 87.8], [185.8, 68.4, 0, 102.6, 193.2, 125.8],
      [171, 147.8, 139, 152.2, 176, 223.2], [182.8, 206.2, 233, 192.8, 191.2, 109.6],
      [74.4, 37.2, 10, 50.8, 72.6, 105.6]]),
    ("translation_constant", layers.RandomTranslation,
     dict(height_factor=(-0.5, -0.5), width_factor=(0.5, 0.5), fill_mode="constant", interpolation="nearest",
          fill_value=-1.0),
     [[-1, -1, -1, 143, 239, 71], [-1, -1, -1, 100, 219, 141], [-1, -1, -1, -1, -1, -1], [-1, -1, -1, -1, -1, -1],
      [-1, -1, -1, -1, -1, -1]]),
    ("contrast", layers.RandomContrast, dict(factor=(-0.5, 0.5)),
     [[255, 177.183, 127.683, 36.183, 49.683, 0], [0, 0, 0, 244.683, 181.683, 255],
      [124.683, 165.183, 255, 211.683, 174.183, 141.183], [147.183, 255, 39.183, 244.683, 189.183, 0],
      [82.683, 255, 144.183, 0, 225.183, 211.683]]),
    ("brightness", layers.RandomBrightness, dict(factor=(0.1, 0.1)),
     [[242.5, 188.5, 155.5, 94.5, 103.5, 35.5], [44.5, 29.5, 69.5, 233.5, 191.5, 255],
      [153.5, 180.5, 255, 211.5, 186.5, 164.5], [168.5, 255, 96.5, 233.5, 196.5, 25.5],
      [125.5, 244.5, 166.5, 33.5, 220.5, 211.5]]),
]

DATASETS = next((path for path in (Path(os.environ.get("CNNKIT_DATA", "/nonexistent")),
                                   Path(__file__).resolve().parents[2] / "shared" / "datasets",
                                   Path("/work/shared/datasets")) if (path / "cifar10-jpg.zip").is_file()), None)
CIFAR_CAT = "cifar10-jpg/test/cat/0000.jpg"

# (name, layer class, arguments, Keras"s output[::8, ::8] and its per-channel means for the CIFAR cat).
KERAS_REAL = [
    ("rotation", layers.RandomRotation, dict(factor=(0.1, 0.1)),
     [[[145.173, 112.211, 65.818], [157.02, 112.656, 45.262], [92.121, 75.108, 37.513], [132.521, 108.695, 82.303]],
      [[159.895, 106.954, 43.666], [101.841, 79.046, 32.378], [153.832, 155.646, 139.96],
       [114.056, 109.986, 101.286]],
      [[73.978, 57.273, 11.146], [191.824, 158.224, 133.829], [118.348, 99.911, 81.895], [45.776, 65.13, 89.162]],
      [[101.886, 103.239, 114.303], [159.12, 161.12, 160.12], [95.014, 106.785, 115.979],
       [42.979, 87.591, 127.814]]],
     [114.2411, 112.7799, 105.8987]),
    ("zoom", layers.RandomZoom, dict(height_factor=(0.3, 0.3), width_factor=(-0.2, -0.2)),
     [[[163.21, 123.43, 52.285], [169.7, 118.2, 54.05], [116.295, 92.46, 49.39], [98.75, 84.2, 76.565]],
      [[111.2, 83.925, 23.975], [168.25, 119, 61.5], [80.75, 74.45, 58.4], [99.375, 98.95, 102.5]],
      [[179.835, 179.1, 175.345], [124.9, 115.65, 102.9], [116.27, 99.005, 81.76], [134.86, 125.77, 117.325]],
      [[41.095, 81.64, 118.655], [70.375, 94.725, 115.2], [42.29, 84.885, 126.175], [51.335, 100.235, 146.205]]],
     [108.2329, 108.328, 101.8314]),
    ("translation", layers.RandomTranslation,
     dict(height_factor=(0.1, 0.1), width_factor=(-0.37, -0.37), fill_mode="wrap"),
     [[[52.192, 89.336, 126.216], [52.864, 98.368, 137.6], [66.768, 120.848, 168.184], [39.632, 86.64, 130.184]],
      [[168.472, 132.384, 82.072], [129.832, 121.584, 123.64], [95.232, 80.384, 35.24], [156.232, 118.656, 45.768]],
      [[183, 164.128, 152.712], [186.512, 185.064, 167.464], [111.936, 101.288, 93.008], [148.768, 138.24, 118.16]],
      [[134.152, 139.336, 145.368], [38.336, 54.384, 71.808], [94.68, 107.528, 110.288],
       [171.496, 178.376, 184.384]]],
     [107.4576, 110.2615, 107.203]),
    ("contrast", layers.RandomContrast, dict(factor=(-0.5, 0.5)),
     [[[195.462, 105.302, 18.186], [195.462, 117.302, 30.186], [202.962, 129.302, 0], [162.462, 100.802, 34.686]],
      [[178.962, 183.302, 175.686], [184.962, 109.802, 33.186], [55.962, 55.802, 43.686], [58.962, 58.802, 61.686]],
      [[255, 255, 255], [120.462, 114.302, 99.186], [121.962, 96.302, 75.186], [69.462, 54.302, 39.186]],
      [[16.962, 75.302, 136.686], [255, 255, 255], [24.462, 76.802, 127.686], [16.962, 87.302, 156.186]]],
     [109.6063, 109.6344, 104.1643]),
]

# Keras"s resize (keras.ops.image.resize) of the centred 21x32 window of the CIFAR cat to 8x12, [::2, ::3].
KERAS_CENTRE_CROP = [
    [[107.646, 94.583, 55.229], [172.292, 120.25, 57.854], [71.594, 68.781, 61.365], [95.375, 92.823, 79.562]],
    [[103.552, 107.594, 120.812], [192.792, 157.052, 129.802], [93.865, 86.74, 72.156], [101.417, 95.885, 96.99]],
    [[162.271, 158.271, 158.646], [100.021, 94.146, 83.24], [108.573, 93.5, 76.146], [84.927, 71.177, 55.896]],
    [[163.219, 184.51, 206.312], [236.094, 234.906, 231.406], [100.833, 118.698, 133.323], [61.844, 88.448, 115.573]],
]


def as_batch(image):
    return torch.from_numpy(np.ascontiguousarray(image, dtype="float32"))[None]


@pytest.fixture(scope="module")
def cifar_cat(tmp_path_factory):
    """A real photo: the first test cat of CIFAR-10 (32x32 RGB JPEG), extracted to a temp folder."""
    if DATASETS is None:
        pytest.skip("cifar10-jpg.zip not found (set CNNKIT_DATA to the shared datasets folder)")
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path_factory.mktemp("cifar")
    with zipfile.ZipFile(DATASETS / "cifar10-jpg.zip") as archive:
        path = archive.extract(CIFAR_CAT, folder)
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype="float32")
    # The pixels Keras was given; a different JPEG decoder would change the expected values below.
    assert pixels.shape == (32, 32, 3) and pixels.sum() == 332902
    assert pixels[0, 0].tolist() == [167, 107, 47] and pixels[31, 31].tolist() == [27, 79, 129]
    return pixels


# -- Keras's pixels where the transform is pinned ------------------------------------------------

@pytest.mark.parametrize("name, cls, arguments, expected", KERAS_SMALL, ids=[case[0] for case in KERAS_SMALL])
def test_pinned_transforms_match_keras_on_a_synthetic_image(name, cls, arguments, expected):
    out = cls(**arguments)(as_batch(SMALL))[0, :, :, 0].numpy()
    if arguments.get("interpolation") == "nearest":
        np.testing.assert_array_equal(out, expected)
    else:
        np.testing.assert_allclose(out, expected, atol=2e-3)


def test_nearest_interpolation_rounds_halves_away_from_zero_as_keras():
    # Zooming in 2x on 5 rows samples rows 1, 1.5, 2, 2.5, 3: Keras takes rows 1, 2, 2, 3, 3 (torch's
    # own rounding would take 1, 2, 2, 2, 3).
    out = layers.RandomZoom((-0.5, -0.5), interpolation="nearest")(as_batch(SMALL))[0, :, 0, 0]
    assert out.tolist() == SMALL[[1, 2, 2, 3, 3], 1, 0].tolist()


@pytest.mark.parametrize("name, cls, arguments, patch, means", KERAS_REAL, ids=[case[0] for case in KERAS_REAL])
def test_pinned_transforms_match_keras_on_a_real_photo(cifar_cat, name, cls, arguments, patch, means):
    out = cls(**arguments)(as_batch(cifar_cat))[0].numpy()
    np.testing.assert_allclose(out[::8, ::8], patch, atol=2e-3)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), means, atol=1e-3)


@pytest.mark.parametrize("factor, turns", [(0.25, 1), (0.5, 2), (-0.25, 3)])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_quarter_turns_are_np_rot90_as_in_keras(cifar_cat, factor, turns, interpolation):
    # Keras: factor 0.25 turns counter-clockwise, exactly np.rot90 (nearest; bilinear within 3.3e-4).
    out = layers.RandomRotation((factor, factor), interpolation=interpolation)(as_batch(cifar_cat))[0].numpy()
    expected = np.rot90(cifar_cat, turns)
    if interpolation == "nearest":
        np.testing.assert_array_equal(out, expected)
    else:
        np.testing.assert_allclose(out, expected, atol=2e-3)


@pytest.mark.parametrize("fill_mode, pad_mode", [("reflect", "symmetric"), ("wrap", "wrap"), ("constant", "constant"),
                                                 ("nearest", "edge")])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_whole_pixel_shifts_fill_as_numpy_pads(cifar_cat, fill_mode, pad_mode, interpolation):
    # 8 rows down and 4 columns left: Keras's output is exactly this slice of np.pad (checked for
    # every fill mode and interpolation): reflect is `d c b a | a b c d`, the edge pixel repeated.
    layer = layers.RandomTranslation((0.25, 0.25), (-0.125, -0.125), fill_mode=fill_mode, interpolation=interpolation)
    out = layer(as_batch(cifar_cat))[0].numpy()
    expected = np.pad(cifar_cat, ((8, 8), (4, 4), (0, 0)), mode=pad_mode)[0:32, 8:40]
    np.testing.assert_allclose(out, expected, atol=1e-3 if interpolation == "bilinear" else 0)


def test_contrast_and_brightness_by_hand(cifar_cat):
    images = as_batch(cifar_cat)
    mean = cifar_cat.mean(axis=(0, 1))
    contrast = layers.RandomContrast((-0.5, 0.5))(images)[0].numpy()  # factor drawn in [1.5, 1.5]
    np.testing.assert_allclose(contrast, np.clip((cifar_cat - mean) * 1.5 + mean, 0, 255), atol=1e-3)
    brighter = layers.RandomBrightness((0.1, 0.1))(images)[0].numpy()  # + 0.1 * 255
    np.testing.assert_allclose(brighter, np.clip(cifar_cat + 25.5, 0, 255), atol=1e-4)
    darker = layers.RandomBrightness((-0.4, -0.4), value_range=(0, 1))(images / 255)[0].numpy()
    np.testing.assert_allclose(darker, np.clip(cifar_cat / 255 - 0.4, 0, 1), atol=1e-6)


def test_flips_are_keras_flips(cifar_cat):
    # Keras 3 flips each image with probability 1/2; "horizontal_and_vertical" flips both ways at
    # once on one draw (Keras's outputs are either the image or np.flip over both axes).
    images = as_batch(cifar_cat).repeat(16, 1, 1, 1)
    for mode, axes in [("horizontal", (1,)), ("vertical", (0,)), ("horizontal_and_vertical", (0, 1))]:
        out = layers.RandomFlip(mode, seed=3)(images).numpy()
        flipped = [bool(np.array_equal(image, np.flip(cifar_cat, axes))) for image in out]
        kept = [bool(np.array_equal(image, cifar_cat)) for image in out]
        assert all(f != k for f, k in zip(flipped, kept)) and any(flipped) and any(kept), mode


def test_random_crop_takes_a_window_of_the_image():
    images = torch.arange(2 * 6 * 7 * 1, dtype=torch.float32).view(2, 6, 7, 1)
    out = layers.RandomCrop(3, 4, seed=5)(images)
    assert out.shape == (2, 3, 4, 1)
    for image, crop in zip(images, out):
        top, left = divmod(int(crop[0, 0, 0]) % 42, 7)
        assert torch.equal(crop, image[top:top + 3, left:left + 4])


def test_random_crop_at_inference_resizes_the_centred_window_as_keras(cifar_cat):
    # The largest centred window of the 8:12 aspect ratio (rows 5..25), resized bilinear: Keras's numbers.
    model = models.Sequential([layers.Input((32, 32, 3)), layers.RandomCrop(8, 12, seed=1)])
    out = model.predict(cifar_cat[None], verbose=0)[0]
    assert out.shape == (8, 12, 3)
    np.testing.assert_allclose(out[::2, ::3], KERAS_CENTRE_CROP, atol=2e-3)
    # Images not larger than the crop in training take the same path.
    np.testing.assert_allclose(layers.RandomCrop(8, 32)(as_batch(cifar_cat)[:, :8]).numpy()[0], cifar_cat[:8])


# -- seeds, one transform per image, one image or a batch ---------------------------------------

def all_layers(seed=None):
    return [
        layers.RandomFlip(seed=seed), layers.RandomRotation(0.2, seed=seed), layers.RandomZoom(0.3, seed=seed),
        layers.RandomTranslation(0.2, 0.2, seed=seed), layers.RandomContrast((0.5, 0.5), seed=seed),
        layers.RandomBrightness(0.3, seed=seed), layers.RandomCrop(5, 6, seed=seed),
    ]


def noise_images(count=12):
    return torch.from_numpy(np.random.default_rng(1).uniform(0, 255, (count, 8, 9, 3)).astype("float32"))


@pytest.mark.parametrize("index", range(7))
def test_same_seed_same_transforms_every_run(index):
    images = noise_images()
    first, second = all_layers(seed=42)[index], all_layers(seed=42)[index]
    a1, a2 = first(images), first(images)
    b1, b2 = second(images), second(images)
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    assert not torch.equal(a1, a2)  # the seed generator moves on at every call
    assert not torch.equal(all_layers(seed=43)[index](images), a1)


@pytest.mark.parametrize("index", range(7))
def test_unseeded_layers_repeat_after_set_random_seed(index):
    images = noise_images()
    cnnkit.set_random_seed(7)
    first = all_layers()[index](images)
    cnnkit.set_random_seed(7)
    assert torch.equal(all_layers()[index](images), first)


@pytest.mark.parametrize("index", range(7))
def test_one_transform_per_image(index):
    image = torch.from_numpy(np.random.default_rng(1).uniform(0, 255, (1, 24, 24, 3)).astype("float32"))
    out = all_layers(seed=3)[index](image.repeat(16, 1, 1, 1))
    distinct = {tuple(o.flatten().tolist()) for o in out}
    # A flip has two outcomes; 16 crops of 5x6 among 380 places may meet.
    assert len(distinct) == 2 if index == 0 else len(distinct) >= (14 if index == 6 else 16)


@pytest.mark.parametrize("index", range(7))
def test_one_image_is_a_batch_of_one(index):
    image = noise_images(1)
    single = all_layers(seed=9)[index](image[0])
    batched = all_layers(seed=9)[index](image)
    assert single.dim() == 3 and torch.equal(single, batched[0])


@pytest.mark.parametrize("index", range(7))
def test_any_memory_layout_gives_the_same_images(index):
    # A geometric layer hands on a permuted view (channels-first memory): the next layer takes it as it is.
    images = noise_images(4)
    channels_first = images.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)
    assert not channels_first.is_contiguous()
    expected = all_layers(seed=4)[index](images)
    np.testing.assert_allclose(all_layers(seed=4)[index](channels_first).numpy(), expected.numpy(), atol=1e-3)


def test_integer_images_come_out_as_float32():
    images = torch.randint(0, 256, (2, 6, 6, 3), dtype=torch.uint8)
    for layer in all_layers(seed=1):
        assert layer(images).dtype == torch.float32
        assert layer(images.numpy()).dtype == torch.float32


@pytest.mark.parametrize("index", range(7))
def test_gradients_flow_back_to_the_images(index):
    images = noise_images(2).requires_grad_()
    all_layers(seed=1)[index](images).sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


def test_wrong_rank_is_refused_with_the_layer_name():
    with pytest.raises(ValueError, match="'random_flip'.*rank 3 .*rank 4"):
        layers.RandomFlip(name="random_flip")(torch.zeros(2, 3, 4, 5, 1))


# -- when they are active -----------------------------------------------------------------------

@pytest.mark.parametrize("index", range(7))
def test_active_when_called_and_in_model_call_identity_in_predict(index):
    images = noise_images(4)
    layer = all_layers(seed=1)[index]
    model = models.Sequential([layers.Input((8, 9, 3)), layer])
    changed = lambda out: out.shape != images.shape or not np.allclose(np.asarray(out), images.numpy())  # noqa: E731
    assert changed(layer(images))                              # called directly: training=True by default
    assert changed(model(images))                              # model(x): the layer's default, as Keras
    assert changed(model(images, training=True))
    if index == 6:  # RandomCrop: the centred window at inference (the output shape must hold)
        assert model.predict(images, verbose=0).shape == (4, 5, 6, 3)
        return
    assert not changed(model(images, training=False))
    assert not changed(model.predict(images, verbose=0))
    assert not changed(layer(images, training=False))


def test_active_in_fit_identity_in_evaluate():
    seen = []

    class Probe(layers.Layer):
        def call(self, inputs, training=None):
            seen.append((training, inputs.detach().clone()))
            return inputs

    images = noise_images(8)
    inputs = layers.Input((8, 9, 3))
    x = layers.RandomRotation(0.3, seed=1)(inputs)
    x = Probe()(x)
    outputs = layers.Dense(1)(layers.Flatten()(x))
    model = models.Model(inputs, outputs)
    model.compile("sgd", "mse")
    seen.clear()  # building ran Probe on zeros
    model.fit(images, np.zeros((8, 1)), batch_size=8, epochs=2, shuffle=False, verbose=0)
    model.evaluate(images, np.zeros((8, 1)), verbose=0)
    (t1, fit1), (t2, fit2), (t3, evaluated) = seen
    assert (t1, t2, t3) == (True, True, False)
    assert all(not torch.equal(a, b) for a, b in zip(fit1, images)) and not torch.equal(fit1, fit2)
    assert torch.equal(evaluated, images)


# -- shapes, configs, validation, saving ----------------------------------------------------------

def test_output_shapes():
    assert layers.RandomRotation(0.1).build_for((None, 180, 180, 3)) == (None, 180, 180, 3)
    assert layers.RandomCrop(24, 20).build_for((None, 32, 32, 3)) == (None, 24, 20, 3)
    assert layers.RandomCrop(24, 20).compute_output_shape((32, 32, 3)) == (24, 20, 3)
    model = models.Sequential([layers.Input((32, 32, 3)), layers.RandomFlip(), layers.RandomCrop(24, 20),
                               layers.RandomZoom(0.1)])
    assert model.output_shape == (None, 24, 20, 3) and model.count_params() == 0


# Keras's get_config() for these layers, without "dtype".
KERAS_CONFIGS = [
    (lambda: layers.RandomFlip("vertical", seed=5),
     {"name": "random_flip", "trainable": True, "data_format": "channels_last", "seed": 5, "mode": "vertical"}),
    (lambda: layers.RandomRotation(0.2, fill_mode="constant", interpolation="nearest", seed=3, fill_value=1.5),
     {"name": "random_rotation", "trainable": True, "data_format": "channels_last", "factor": (-0.2, 0.2),
      "fill_mode": "constant", "fill_value": 1.5, "interpolation": "nearest", "seed": 3}),
    (lambda: layers.RandomRotation((-0.1, 0.3)),
     {"name": "random_rotation", "trainable": True, "data_format": "channels_last", "factor": (-0.1, 0.3),
      "fill_mode": "reflect", "fill_value": 0.0, "interpolation": "bilinear", "seed": None}),
    (lambda: layers.RandomZoom(0.2),
     {"name": "random_zoom", "trainable": True, "data_format": "channels_last", "height_factor": 0.2,
      "width_factor": None, "fill_mode": "reflect", "interpolation": "bilinear", "seed": None, "fill_value": 0.0}),
    (lambda: layers.RandomZoom((-0.3, 0.1), 0.4, fill_mode="wrap", seed=7),
     {"name": "random_zoom", "trainable": True, "data_format": "channels_last", "height_factor": (-0.3, 0.1),
      "width_factor": 0.4, "fill_mode": "wrap", "interpolation": "bilinear", "seed": 7, "fill_value": 0.0}),
    (lambda: layers.RandomTranslation(0.1, (-0.2, 0.3), fill_mode="nearest", seed=9),
     {"name": "random_translation", "trainable": True, "data_format": "channels_last", "height_factor": 0.1,
      "width_factor": (-0.2, 0.3), "fill_mode": "nearest", "interpolation": "bilinear", "seed": 9, "fill_value": 0.0}),
    (lambda: layers.RandomContrast(0.2),  # Keras 3: a single number f gives (0, f)
     {"name": "random_contrast", "trainable": True, "data_format": "channels_last", "factor": (0, 0.2),
      "value_range": (0, 255), "seed": None}),
    (lambda: layers.RandomContrast((0.1, 0.4), value_range=(0, 1), seed=2),
     {"name": "random_contrast", "trainable": True, "data_format": "channels_last", "factor": (0.1, 0.4),
      "value_range": (0, 1), "seed": 2}),
    (lambda: layers.RandomBrightness(0.2),
     {"name": "random_brightness", "trainable": True, "data_format": "channels_last", "factor": (-0.2, 0.2),
      "value_range": [0, 255], "seed": None}),
    (lambda: layers.RandomBrightness((-0.1, 0.3), value_range=(1, 0), seed=4),
     {"name": "random_brightness", "trainable": True, "data_format": "channels_last", "factor": (-0.1, 0.3),
      "value_range": [0, 1], "seed": 4}),
    (lambda: layers.RandomCrop(24, 20, seed=11),
     {"name": "random_crop", "trainable": True, "data_format": "channels_last", "height": 24, "width": 20,
      "seed": 11}),
]


@pytest.mark.parametrize("make, expected", KERAS_CONFIGS)
def test_config_is_keras_and_round_trips(fresh_names, make, expected):
    layer = make()
    config = layer.get_config()
    assert config == expected
    again = type(layer).from_config(config)
    assert again.get_config() == config
    images = noise_images(3)
    assert torch.equal(layer(images), again(images)) or config["seed"] is None


def test_random_crop_draws_a_seed_it_reports():
    config = layers.RandomCrop(4, 4).get_config()
    assert isinstance(config["seed"], int) and 1 <= config["seed"] <= 10**9


@pytest.mark.parametrize("make, message", [
    (lambda: layers.RandomRotation(1.5),
     r"`factor` of layer 'bad' should be a number .* \[-1, 1\]. Received: factor=1.5"),
    (lambda: layers.RandomRotation("0.2"), r"`factor`.*Received: factor='0.2'"),
    (lambda: layers.RandomContrast((0.5, -0.2)), r"`factor`.* \[0, 1\]"),
    (lambda: layers.RandomBrightness((0.1, 0.2, 0.3)), r"`factor`.* \[-1, 1\]"),
    (lambda: layers.RandomZoom(-1.0), r"`height_factor`.*\(-1.0, 1.0\]. Received: height_factor=-1.0"),
    (lambda: layers.RandomZoom(0.2, (0.1, 2)), r"`width_factor`.*Received: width_factor=\(0.1, 2\)"),
    (lambda: layers.RandomTranslation(0.1, 1.2), r"`width_factor`.*\[-1.0, 1.0\]"),
    (lambda: layers.RandomBrightness(0.1, value_range=255), r"`value_range`.*two numbers. Received: value_range=255"),
    (lambda: layers.RandomFlip("diagonal"), r"`mode`.*'horizontal', 'vertical', 'horizontal_and_vertical'"),
    (lambda: layers.RandomCrop(0, 4), r"`height` of layer 'bad' must be a positive int. Received: height=0"),
    (lambda: layers.RandomFlip(seed=1.5), r"`seed`.*int or None"),
    (lambda: layers.RandomFlip(data_format="channels_first"), r"channels_last"),
])
def test_invalid_arguments_are_refused_naming_layer_and_argument(monkeypatch, make, message):
    monkeypatch.setattr("cnnkit.layers.base.unique_name", lambda base: "bad")
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("argument, value", [("fill_mode", "mirror"), ("interpolation", "bicubic")])
def test_unknown_fill_mode_or_interpolation_is_not_implemented_as_in_keras(argument, value):
    with pytest.raises(NotImplementedError, match=f"Unknown `{argument}` '{value}'.*Expected one of"):
        layers.RandomRotation(0.1, **{argument: value})


def test_numpy_numbers_are_accepted():
    layer = layers.RandomCrop(np.int64(4), np.int32(5), seed=np.int64(3))
    assert (layer.height, layer.width, layer.seed) == (4, 5, 3)
    assert layers.RandomRotation(np.float32(0.25)).factor == (-0.25, 0.25)


def test_save_and_load_inside_a_model(fresh_names, tmp_path):
    model = models.Sequential([
        layers.Input((16, 16, 3)), layers.RandomFlip("horizontal", seed=1), layers.RandomRotation(0.1, seed=2),
        layers.RandomZoom(0.2, fill_mode="constant", seed=3), layers.RandomTranslation(0.1, 0.1, seed=4),
        layers.RandomContrast(0.3, seed=5), layers.RandomBrightness(0.2, seed=6), layers.RandomCrop(12, 12, seed=7),
        layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(1),
    ])
    images = np.random.default_rng(2).uniform(0, 255, (3, 16, 16, 3)).astype("float32")
    model.save(tmp_path / "model.cnnkit")
    loaded = models.load_model(tmp_path / "model.cnnkit")
    configs = lambda m: json.loads(json.dumps([layer.get_config() for layer in m.layers]))  # noqa: E731
    assert configs(loaded) == configs(model)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), model.predict(images, verbose=0))
    # Seeds restart at load: a loaded model augments as the saved one did from its first call.
    fresh = models.load_model(tmp_path / "model.cnnkit")
    np.testing.assert_array_equal(fresh(images).detach().numpy(), loaded(images).detach().numpy())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_the_gpu_pinned_transforms_match_the_cpu():
    images = noise_images(4)
    for layer in [layers.RandomRotation((0.1, 0.1)), layers.RandomZoom((0.3, 0.3), fill_mode="wrap"),
                  layers.RandomTranslation((0.2, 0.2), (-0.3, -0.3), interpolation="nearest"),
                  layers.RandomContrast((-0.5, 0.5)), layers.RandomBrightness((0.1, 0.1))]:
        on_gpu = layer(images.cuda())
        assert on_gpu.device.type == "cuda"
        np.testing.assert_allclose(on_gpu.cpu().numpy(), layer(images).numpy(), atol=2e-3)
    for index in range(7):  # random draws on the GPU: seeded, one per image
        out = all_layers(seed=1)[index](images.cuda())
        assert out.device.type == "cuda" and torch.equal(out, all_layers(seed=1)[index](images.cuda()))
