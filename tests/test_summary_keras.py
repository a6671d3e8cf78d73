"""`model.summary()` text, character for character as Keras 3 prints it (the oracle records each
text with the line_length that reproduces it)."""

import numpy as np
import pytest

import cnnkit as keras
from cnnkit import layers
from _keras_oracle import (
    ORACLE, build_bn_model, build_chain, build_nested, build_residual, build_tiny, build_two_io, fit_tiny,
    summary_text,
)

CASES = {
    "chain": (build_chain, ["summary"]),
    "residual": (build_residual, ["summary", "summary_show_trainable", "summary_line_length_120"]),
    "two_io": (build_two_io, ["summary"]),
    "nested": (build_nested, ["summary", "summary_expand_nested"]),
    "batchnorm_counts": (build_bn_model, ["summary"]),
}


@pytest.mark.parametrize("section,key", [(s, k) for s, (_, keys) in CASES.items() for k in keys])
def test_summary_as_keras(section, key):
    record = ORACLE[section][key]
    assert summary_text(CASES[section][0](), record) == record["text"]


@pytest.mark.parametrize("key", ["summary_after_freeze", "summary_show_trainable_after_freeze",
                                 "summary_expand_nested_show_trainable_after_freeze"])
def test_summary_of_a_frozen_nested_model(key):
    model = build_nested()
    model.get_layer("conv_base").trainable = False
    record = ORACLE["nested"][key]
    assert summary_text(model, record) == record["text"]


def test_summary_with_frozen_batch_normalization():
    model = build_bn_model()
    model.get_layer("bn").trainable = False
    record = ORACLE["batchnorm_counts"]["after_bn_frozen"]["summary"]
    assert summary_text(model, record) == record["text"]


def test_summary_of_a_frozen_model_after_fit_has_no_optimizer_line():
    model = build_tiny()
    model.trainable = False
    model.compile("sgd", "mse")
    with pytest.warns(UserWarning, match="The model does not have any trainable weights."):
        fit_tiny(model)
    record = ORACLE["freezing"]["whole_model_frozen_then_compile"]["summary_after_fit"]
    assert summary_text(model, record) == record["text"]


@pytest.mark.parametrize("optimizer,lines", [
    # Recorded from Keras 3.15.1 (the oracle's tiny model after one fit): float state counts 4 bytes,
    # the step counter 8.
    ("sgd", [" Total params: 21 (88.00 B)", " Trainable params: 19 (76.00 B)",
             " Non-trainable params: 0 (0.00 B)", " Optimizer params: 2 (12.00 B)"]),
    ("adam", [" Total params: 59 (240.00 B)", " Trainable params: 19 (76.00 B)",
              " Non-trainable params: 0 (0.00 B)", " Optimizer params: 40 (164.00 B)"]),
])
def test_summary_counts_the_optimizer_as_keras(optimizer, lines):
    model = build_tiny(compile=False)
    model.compile(optimizer, "mse")
    fit_tiny(model)
    text = summary_text(model, ORACLE["freezing"]["whole_model_frozen_then_compile"]["summary_after_fit"])
    assert text.splitlines()[-4:] == lines


@pytest.mark.parametrize("case", ["sequential_with_input", "functional"])
def test_summary_with_automatic_names(fresh_names, case):
    if case == "functional":
        inp = keras.Input((4,))
        model = keras.Model(inp, layers.Dense(2)(inp))
    else:
        model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    record = ORACLE["auto_names"][case]
    assert summary_text(model, record["summary"]) == record["summary"]["text"]
    assert ("InputLayer" in record["summary"]["text"]) == record["summary_has_input_layer_row"]


# Recorded from Keras 3.15.1: a layer called twice lists both calls in "Connected to".
SHARED = """\
Model: "siamese"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)                  ┃ Output Shape              ┃         Param # ┃ Connected to               ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ a (InputLayer)                │ (None, 3)                 │               0 │ -                          │
├───────────────────────────────┼───────────────────────────┼─────────────────┼────────────────────────────┤
│ b (InputLayer)                │ (None, 3)                 │               0 │ -                          │
├───────────────────────────────┼───────────────────────────┼─────────────────┼────────────────────────────┤
│ shared (Dense)                │ (None, 2)                 │               8 │ a[0][0], b[0][0]           │
├───────────────────────────────┼───────────────────────────┼─────────────────┼────────────────────────────┤
│ add (Add)                     │ (None, 2)                 │               0 │ shared[0][0], shared[1][0] │
└───────────────────────────────┴───────────────────────────┴─────────────────┴────────────────────────────┘
 Total params: 8 (32.00 B)
 Trainable params: 8 (32.00 B)
 Non-trainable params: 0 (0.00 B)
"""


def test_summary_of_a_shared_layer():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = layers.Dense(2, name="shared")
    model = keras.Model([a, b], layers.Add(name="add")([shared(a), shared(b)]), name="siamese")
    chunks = []
    model.summary(line_length=108, print_fn=chunks.append)
    assert chunks == [SHARED]


def test_summary_prints_once_to_stdout(capsys):
    build_chain().summary(line_length=ORACLE["chain"]["summary"]["line_length"])
    assert capsys.readouterr().out == ORACLE["chain"]["summary"]["text"]


def test_summary_of_a_chain_is_not_changed_by_predict():
    model = build_chain()
    model.predict(np.zeros((1, 28, 28, 1), "float32"), verbose=0)
    record = ORACLE["chain"]["summary"]
    assert summary_text(model, record) == record["text"]
