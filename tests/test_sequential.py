"""Sequential: building, layers, weights, shape errors and Keras's summary table."""

import numpy as np
import pytest

from cnnkit import layers, models

# Printed by Keras 3.15.1 (/work/kerasenv) for the same models, outside a terminal.
KERAS_SEED_CONVNET_BASE = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ conv2d (Conv2D)                 │ (None, 26, 26, 32)     │           320 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ max_pooling2d (MaxPooling2D)    │ (None, 13, 13, 32)     │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ conv2d_1 (Conv2D)               │ (None, 11, 11, 64)     │        18,496 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ max_pooling2d_1 (MaxPooling2D)  │ (None, 5, 5, 64)       │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ conv2d_2 (Conv2D)               │ (None, 3, 3, 64)       │        36,928 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 55,744 (217.75 KB)
 Trainable params: 55,744 (217.75 KB)
 Non-trainable params: 0 (0.00 B)
"""

KERAS_SEED_CONVNET_FULL = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ conv2d (Conv2D)                 │ (None, 26, 26, 32)     │           320 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ max_pooling2d (MaxPooling2D)    │ (None, 13, 13, 32)     │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ conv2d_1 (Conv2D)               │ (None, 11, 11, 64)     │        18,496 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ max_pooling2d_1 (MaxPooling2D)  │ (None, 5, 5, 64)       │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ conv2d_2 (Conv2D)               │ (None, 3, 3, 64)       │        36,928 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ flatten (Flatten)               │ (None, 576)            │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 64)             │        36,928 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 10)             │           650 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 93,322 (364.54 KB)
 Trainable params: 93,322 (364.54 KB)
 Non-trainable params: 0 (0.00 B)
"""

KERAS_FROZEN = """\
Model: "frozen"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ d (Dense)                       │ (None, 3)              │            15 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ head (Dense)                    │ (None, 2)              │             8 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 23 (92.00 B)
 Trainable params: 8 (32.00 B)
 Non-trainable params: 15 (60.00 B)
"""

KERAS_UNBUILT = """\
Model: "unbuilt"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ x (Dense)                       │ ?                      │   0 (unbuilt) │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 0 (0.00 B)
 Trainable params: 0 (0.00 B)
 Non-trainable params: 0 (0.00 B)
"""


def seed_convnet_base():
    """The seed program's convolutional base, built exactly as it does."""
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    return model


def add_classifier(model):
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def summary_text(model):
    captured = []
    model.summary(print_fn=captured.append)
    assert len(captured) == 1, "print_fn receives the whole table at once, as in Keras"
    return captured[0]


# -- summary ------------------------------------------------------------------------------
def test_seed_base_summary_is_keras_text(fresh_names):
    assert summary_text(seed_convnet_base()) == KERAS_SEED_CONVNET_BASE


def test_seed_full_summary_is_keras_text(fresh_names):
    model = seed_convnet_base()
    summary_text(model)
    assert summary_text(add_classifier(model)) == KERAS_SEED_CONVNET_FULL


def test_seed_convnet_counts_and_shapes(fresh_names):
    model = add_classifier(seed_convnet_base())
    assert [layer.name for layer in model.layers] == [
        "conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "conv2d_2", "flatten", "dense", "dense_1"]
    assert [layer.output_shape for layer in model.layers] == [
        (None, 26, 26, 32), (None, 13, 13, 32), (None, 11, 11, 64), (None, 5, 5, 64), (None, 3, 3, 64),
        (None, 576), (None, 64), (None, 10)]
    assert [layer.count_params() for layer in model.layers] == [320, 0, 18496, 0, 36928, 0, 36928, 650]
    assert model.count_params() == 93322
    assert model.output_shape == (None, 10)


def test_summary_prints_to_stdout_by_default(fresh_names, capsys):
    seed_convnet_base().summary()
    assert capsys.readouterr().out == KERAS_SEED_CONVNET_BASE


def test_summary_counts_frozen_weights_as_non_trainable():
    frozen = layers.Dense(3, name="d")
    model = models.Sequential([layers.Input((4,)), frozen, layers.Dense(2, name="head")], name="frozen")
    frozen.trainable = False
    assert summary_text(model) == KERAS_FROZEN


def test_summary_of_an_unbuilt_model():
    model = models.Sequential([layers.Dense(3, name="x")], name="unbuilt")
    assert summary_text(model) == KERAS_UNBUILT


# -- structure ------------------------------------------------------------------------------
def test_add_and_list_give_the_same_model():
    listed = models.Sequential([layers.Input((5,)), layers.Dense(4, name="a"), layers.Dense(2, name="b")])
    added = models.Sequential()
    added.add(layers.Input((5,)))
    added.add(layers.Dense(4, name="a"))
    added.add(layers.Dense(2, name="b"))
    for model in (listed, added):
        assert [layer.name for layer in model.layers] == ["a", "b"]
        assert model.output_shape == (None, 2)
        assert model.count_params() == 5 * 4 + 4 + 4 * 2 + 2


def test_pop_removes_the_last_layer():
    model = models.Sequential([layers.Input((5,)), layers.Dense(4, name="a"), layers.Dense(2, name="b")])
    popped = model.pop()
    assert popped.name == "b"
    assert [layer.name for layer in model.layers] == ["a"]
    assert model.output_shape == (None, 4)
    assert model.count_params() == 24
    model.pop()
    with pytest.raises(ValueError, match="no layers to pop"):
        model.pop()


def test_layers_is_a_copy():
    model = models.Sequential([layers.Input((5,)), layers.Dense(4)])
    model.layers.clear()
    assert len(model.layers) == 1


def test_duplicate_names_are_rejected_and_leave_the_model_unchanged():
    model = models.Sequential([layers.Input((5,)), layers.Dense(4, name="same")])
    with pytest.raises(ValueError, match="'same' is already taken"):
        model.add(layers.Dense(2, name="same"))
    assert [layer.name for layer in model.layers] == ["same"]


def test_a_layer_that_does_not_fit_is_rejected_naming_layer_and_shapes():
    model = models.Sequential([layers.Input((8, 8, 1)), layers.Flatten(name="flat")])
    with pytest.raises(ValueError) as error:
        model.add(layers.Conv2D(4, 3, name="late_conv"))
    message = str(error.value)
    assert "late_conv" in message and "(None, 64)" in message and "(batch, height, width, channels)" in message
    assert [layer.name for layer in model.layers] == ["flat"]
    assert model.output_shape == (None, 64)
    model.add(layers.Dense(3, name="fits"))
    assert model.output_shape == (None, 3)


def test_a_kernel_larger_than_the_input_is_rejected():
    model = models.Sequential([layers.Input((2, 2, 1))])
    with pytest.raises(ValueError, match=r"'big'.*\(None, 2, 2, 1\)"):
        model.add(layers.Conv2D(1, 3, name="big"))
    assert model.layers == []


def test_an_input_after_layers_is_rejected():
    model = models.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="first entry"):
        model.add(layers.Input((3,)))


def test_non_layers_are_rejected():
    with pytest.raises(TypeError, match="cnnkit layers"):
        models.Sequential([lambda x: x])


def test_without_input_shape_the_model_builds_on_first_predict():
    model = models.Sequential([layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(3)])
    assert not model.built and model.output_shape is None
    predictions = model.predict(np.zeros((4, 6, 6, 1), "float32"), verbose=0)
    assert predictions.shape == (4, 3)
    assert model.built and model.input_shape == (None, 6, 6, 1)
    assert model.count_params() == (9 * 2 + 2) + (4 * 4 * 2 * 3 + 3)


def test_without_input_shape_a_bad_first_batch_names_the_layer():
    model = models.Sequential([layers.Conv2D(2, 3, name="first_conv"), layers.Flatten()])
    with pytest.raises(ValueError, match=r"first_conv.*\(None, 28, 28\)"):
        model.predict(np.zeros((2, 28, 28), "float32"), verbose=0)


def test_predict_with_a_missing_channel_axis_says_both_shapes():
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(2, 3), layers.Flatten()])
    with pytest.raises(ValueError) as error:
        model.predict(np.zeros((2, 28, 28), "float32"), verbose=0)
    assert "(None, 28, 28)" in str(error.value) and "(None, 28, 28, 1)" in str(error.value)


# -- weights ----------------------------------------------------------------------------------
def test_weights_round_trip_in_keras_layouts():
    model = models.Sequential([layers.Input((6, 6, 2)), layers.Conv2D(3, (2, 3)), layers.Flatten(), layers.Dense(4)])
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(2, 3, 2, 3), (3,), (5 * 4 * 3, 4), (4,)]
    rng = np.random.default_rng(0)
    new = [rng.standard_normal(shape).astype("float32") for shape in shapes]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)


def test_set_weights_checks_count_and_shapes():
    model = models.Sequential([layers.Input((3,)), layers.Dense(2, name="d")])
    with pytest.raises(ValueError, match=r"expects 2 weight arrays \(d/kernel, d/bias\); received 1"):
        model.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"'kernel' of layer 'd' has shape \(3, 2\).*\(2, 3\)"):
        model.set_weights([np.zeros((2, 3)), np.zeros(2)])


def test_without_input_shape_the_model_builds_on_first_fit():
    model = models.Sequential([layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((4, 3, 3, 1), "float32"), np.array([0, 1, 0, 1]), verbose=0)
    assert model.input_shape == (None, 3, 3, 1) and model.output_shape == (None, 2)
    assert model.count_params() == 9 * 2 + 2


def test_summary_after_building_on_first_predict(fresh_names):
    model = models.Sequential([layers.Conv2D(2, 3), layers.Flatten()])
    model.predict(np.zeros((1, 5, 5, 1), "float32"), verbose=0)
    rows = [line for line in summary_text(model).splitlines() if line.startswith("│")]
    assert rows == [
        "│ conv2d (Conv2D)                 │ (None, 3, 3, 2)        │            20 │",
        "│ flatten (Flatten)               │ (None, 18)             │             0 │",
    ]
