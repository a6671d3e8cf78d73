"""Dropout (seeded, noise_shape), SpatialDropout2D, GaussianNoise and GaussianDropout: Keras's arguments and
configs, training-only behaviour, statistics, and the same random draws for the same seed."""

import json

import numpy as np
import pytest
import torch

import cnnkit as keras
from cnnkit import layers, models

# get_config() keys of Keras 3.15 (TensorFlow backend), "dtype" left out.
KERAS_KEYS = {
    "Dropout": {"name", "trainable", "rate", "seed", "noise_shape"},
    "SpatialDropout2D": {"name", "rate", "seed", "data_format"},
    "GaussianNoise": {"name", "trainable", "stddev", "seed"},
    "GaussianDropout": {"name", "trainable", "rate", "seed"},
}
LAYERS = {
    "Dropout": lambda seed=None: layers.Dropout(0.5, seed=seed),
    "SpatialDropout2D": lambda seed=None: layers.SpatialDropout2D(0.5, seed=seed),
    "GaussianNoise": lambda seed=None: layers.GaussianNoise(0.5, seed=seed),
    "GaussianDropout": lambda seed=None: layers.GaussianDropout(0.5, seed=seed),
}
IMAGES = torch.rand(4, 5, 5, 6) + 0.5  # no zeros: a zero in the output is a drop


def draws(layer, count=3):
    return [layer(IMAGES, training=True) for _ in range(count)]


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_identity_at_inference_and_by_default(kind):
    layer = LAYERS[kind](seed=1)
    assert layer(IMAGES) is IMAGES  # a direct call is inference, as Keras's `training=False` default
    assert layer(IMAGES, training=False) is IMAGES
    model = models.Sequential([keras.Input((5, 5, 6)), layer])
    np.testing.assert_array_equal(model.predict(IMAGES.numpy(), verbose=0), IMAGES.numpy())


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_a_seed_gives_the_same_sequence_whatever_the_global_generator(kind):
    torch.manual_seed(0)
    first = draws(LAYERS[kind](seed=42))
    torch.manual_seed(123)  # the seeded layers do not draw from torch's global generator
    second = draws(LAYERS[kind](seed=42))
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(first[0], first[1])  # a new draw at every call
    assert not torch.equal(first[0], draws(LAYERS[kind](seed=43), 1)[0])


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_without_a_seed_the_global_generator_repeats(kind):
    keras.set_random_seed(5)
    first = draws(LAYERS[kind]())
    keras.set_random_seed(5)
    second = draws(LAYERS[kind]())
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_config_keys_as_keras_and_round_trip(kind, fresh_names):
    layer = LAYERS[kind](seed=7)
    config = layer.get_config()
    assert set(config) == KERAS_KEYS[kind]
    assert config["seed"] == 7
    clone = type(layer).from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    torch.testing.assert_close(draws(clone, 1)[0], draws(LAYERS[kind](seed=7), 1)[0], rtol=0, atol=0)


# -- Dropout ------------------------------------------------------------------------------------
def test_dropout_rate_and_scale():
    x = torch.ones(100_000)
    out = layers.Dropout(0.3, seed=0)(x, training=True)
    assert out.unique().tolist() == [0.0, pytest.approx(1 / 0.7)]
    assert abs(float((out == 0).float().mean()) - 0.3) < 0.01


def test_dropout_gradient_is_the_mask():
    x = torch.ones(1000, requires_grad=True)
    out = layers.Dropout(0.5, seed=3)(x, training=True)
    out.sum().backward()
    torch.testing.assert_close(x.grad, out.detach())


def test_dropout_noise_shape_shares_the_mask_along_size_one_axes():
    layer = layers.Dropout(0.5, noise_shape=(None, 1, 6), seed=0)
    out = layer(torch.ones(8, 5, 6), training=True)
    assert torch.equal(out, out[:, :1, :].expand(8, 5, 6))  # the same mask at every step of axis 1
    assert 0 < int((out == 0).sum()) < out.numel()
    assert layer.get_config()["noise_shape"] == [None, 1, 6]
    with pytest.raises(ValueError, match=r"'drop'.*has 2 entries, but its input has rank 3"):
        layers.Dropout(0.5, noise_shape=(None, 1), name="drop")(torch.ones(2, 3, 4), training=True)


@pytest.mark.parametrize("noise_shape", ["abc", (2, 0), (2, 1.5), 3])
def test_dropout_bad_noise_shape(noise_shape):
    with pytest.raises(ValueError, match=rf"`noise_shape` of layer 'drop'.*Received: noise_shape="):
        layers.Dropout(0.5, noise_shape=noise_shape, name="drop")


def test_dropout_rates_zero_and_one():
    assert layers.Dropout(0.0)(IMAGES, training=True) is IMAGES
    assert not layers.Dropout(1.0, seed=1)(IMAGES, training=True).any()


@pytest.mark.parametrize("seed", [1.5, "7", True])
def test_bad_seed_is_named(seed):
    with pytest.raises(ValueError, match=rf"`seed` of layer 'noise'.*seed={seed!r}"):
        layers.GaussianNoise(0.1, seed=seed, name="noise")


# -- SpatialDropout2D -------------------------------------------------------------------------
def test_spatial_dropout_drops_whole_channels():
    out = layers.SpatialDropout2D(0.5, seed=0)(IMAGES, training=True)
    dropped = (out == 0).all(dim=(1, 2))  # (batch, channels)
    kept = (out != 0).all(dim=(1, 2))
    assert bool((dropped | kept).all())  # every feature map all dropped or all kept
    assert 0 < int(dropped.sum()) < dropped.numel()
    torch.testing.assert_close(out[kept.unsqueeze(1).unsqueeze(1).expand_as(out)],
                               2 * IMAGES[kept.unsqueeze(1).unsqueeze(1).expand_as(out)])
    assert not torch.equal(dropped[0], dropped[1]) or not torch.equal(dropped[1], dropped[2])  # per image


def test_spatial_dropout_takes_images_only_and_channels_last():
    with pytest.raises(ValueError, match=r"'sd'.*\(batch, height, width, channels\)"):
        models.Sequential([keras.Input((5, 6)), layers.SpatialDropout2D(0.5, name="sd")])
    with pytest.raises(ValueError, match="channels_last"):
        layers.SpatialDropout2D(0.5, data_format="channels_first")
    assert layers.SpatialDropout2D(0.1).get_config()["data_format"] == "channels_last"


# -- GaussianNoise, GaussianDropout -------------------------------------------------------------
def test_gaussian_noise_statistics_and_gradient():
    x = torch.full((200_000,), 3.0, requires_grad=True)
    out = layers.GaussianNoise(0.25, seed=0)(x, training=True)
    noise = (out - 3.0).detach()
    assert abs(float(noise.mean())) < 0.005 and abs(float(noise.std()) - 0.25) < 0.005
    out.sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))


def test_gaussian_dropout_statistics():
    out = layers.GaussianDropout(0.2, seed=0)(torch.full((200_000,), 2.0), training=True) / 2.0
    assert abs(float(out.mean()) - 1.0) < 0.005
    assert abs(float(out.std()) - np.sqrt(0.2 / 0.8)) < 0.005


@pytest.mark.parametrize("make, message", [
    (lambda: layers.GaussianNoise(1.5, name="n"), r"`stddev` of layer 'n' must be in \[0, 1\]. Received: stddev=1.5"),
    (lambda: layers.GaussianDropout(-0.1, name="n"), r"`rate` of layer 'n' must be in \[0, 1\]"),
    (lambda: layers.GaussianDropout(1, name="n"), r"`rate` of layer 'n' must be below 1"),
    (lambda: layers.SpatialDropout2D(2, name="n"), r"`rate` of layer 'n' must be in \[0, 1\]"),
])
def test_bad_rates_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# -- in a model ----------------------------------------------------------------------------------
def build_model(seed):
    inputs = keras.Input((6, 6, 2))
    x = layers.Conv2D(4, 3, padding="same")(inputs)
    x = layers.SpatialDropout2D(0.3, seed=seed)(x)
    x = layers.GaussianNoise(0.1, seed=seed)(x)
    x = layers.Flatten()(x)
    x = layers.GaussianDropout(0.2, seed=seed)(x)
    x = layers.Dropout(0.5, seed=seed)(x)
    model = keras.Model(inputs, layers.Dense(1)(x))
    model.set_weights([np.full(w.shape, 0.1, "float32") for w in model.get_weights()])
    return model


def test_a_seeded_model_trains_the_same_way_twice(fresh_names):
    x = np.random.default_rng(0).standard_normal((8, 6, 6, 2)).astype("float32")
    y = np.random.default_rng(1).standard_normal((8, 1)).astype("float32")
    losses = []
    for global_seed in (0, 1):
        keras.set_random_seed(global_seed)  # fit's shuffling off: only the layers' seeds matter
        model = build_model(seed=11)
        model.compile("sgd", "mse")
        history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        losses.append(history.history["loss"])
    assert losses[0] == losses[1]


def test_save_and_load_inside_a_model(fresh_names, tmp_path):
    model = build_model(seed=3)
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 2)).astype("float32")
    model.save(tmp_path / "m.cnnkit")
    restored = models.load_model(tmp_path / "m.cnnkit")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [layer.get_config() for layer in restored.layers] == [layer.get_config() for layer in model.layers]
    fresh = build_model(seed=3)  # the restored layers start their random sequences from the seed again
    torch.testing.assert_close(restored(x, training=True), fresh(x, training=True), rtol=0, atol=0)
