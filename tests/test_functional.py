"""Functional graphs against Keras 3's recorded numbers: structure, shapes, weights, outputs, names,
errors, `input`/`output`, shared layers, nested models and eager calls."""

import numpy as np
import pytest
import torch

import cnnkit as keras
from cnnkit import layers
from _keras_oracle import (
    ORACLE, build_chain, build_nested, build_residual, build_two_io, model_inputs, output_shapes, seed_weights,
    weight_paths,
)

BUILDERS = {"chain": build_chain, "residual": build_residual, "two_io": build_two_io, "nested": build_nested}


@pytest.fixture(params=sorted(BUILDERS))
def graph(request):
    """(cnnkit model, Keras's record) for each oracle graph."""
    return BUILDERS[request.param](), ORACLE[request.param]


def test_structure_matches_keras(graph):
    model, keras_record = graph
    assert model.name == keras_record["name"]
    assert [layer.name for layer in model.layers] == keras_record["layer_names"]
    assert [type(layer).__name__ for layer in model.layers] == keras_record["layer_classes"]
    assert [tensor.name for tensor in model.inputs] == keras_record["input_names"]
    assert model.count_params() == keras_record["count_params"]
    assert output_shapes(model) == keras_record["layer_output_shapes"]
    assert [list(w.shape) for w in model.get_weights()] == keras_record["weight_shapes"]
    assert weight_paths(model) == keras_record["weight_paths"]


def test_outputs_match_keras_with_the_same_weights(graph):
    model, keras_record = graph
    predicted = model.predict(model_inputs(model), verbose=0)
    expected = keras_record["outputs"]
    if isinstance(predicted, list):
        assert len(predicted) == len(expected)
    else:
        predicted, expected = [predicted], [expected]
    for ours, theirs in zip(predicted, expected):
        np.testing.assert_allclose(ours, np.array(theirs, dtype=np.float32), rtol=1e-5, atol=1e-6)


def test_eager_call_equals_predict_and_is_differentiable():
    model = build_chain()
    x = model_inputs(model)
    out = model(x)
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.detach().numpy(), np.array(ORACLE["chain"]["outputs"]), rtol=1e-5, atol=1e-6)
    image = torch.tensor(x, requires_grad=True)
    model(image)[:, 2].sum().backward()
    assert image.grad.shape == (2, 28, 28, 1) and image.grad.abs().sum() > 0


def test_class_score_gradient_is_the_dense_kernel_column():
    """d(sum_n out[n, k]) / dx = W[:, k] for out = x @ W + b: hand-computed."""
    inputs = keras.Input((4,), name="x")
    model = seed_weights(keras.Model(inputs, layers.Dense(3, name="d")(inputs)))
    kernel = model.get_weights()[0]
    x = torch.tensor(np.random.default_rng(1).standard_normal((2, 4)).astype("float32"), requires_grad=True)
    model(x)[:, 1].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.tile(kernel[:, 1], (2, 1)), rtol=1e-6)


def test_model_and_layer_on_numpy_give_tensors_in_inference_unless_training_true():
    inputs = keras.Input((1000,), name="x")
    model = keras.Model(inputs, layers.Dropout(0.5, name="drop")(inputs))
    ones = np.ones((2, 1000), dtype="float32")
    out = model(ones)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), ones)  # inference by default, as Keras
    trained = model(ones, training=True).numpy()
    assert set(np.unique(trained)) == {0.0, 2.0}  # kept units scaled by 1 / (1 - rate)
    assert 0.4 < (trained == 0).mean() < 0.6
    layer = model.get_layer("drop")
    np.testing.assert_array_equal(layer(ones).numpy(), ones)
    assert set(np.unique(layer(ones, training=True).numpy())) == {0.0, 2.0}


def test_input_output_accessors():
    model = build_chain()
    image = model.get_layer("image").output
    assert model.input is image and model.inputs == [image]
    assert model.output is model.get_layer("predictions").output and model.outputs == [model.output]
    conv1 = model.get_layer("conv1")
    assert conv1.input is image
    assert conv1.output.shape == (None, 26, 26, 32) and conv1.output.dtype == "float32"
    assert model.get_layer("pool1").input is conv1.output
    assert model.get_layer(index=1) is conv1 and model.get_layer(index=-1).name == "predictions"

    two_io = build_two_io()
    assert [t.name for t in two_io.input] == ["image", "meta"]
    assert [t.shape for t in two_io.output] == [(None, 3), (None, 1)]
    assert two_io.output_names == ORACLE["two_io"]["output_names"]
    assert two_io.get_layer("concat").input == [two_io.get_layer("flatten").output, two_io.input[1]]


def test_input_tensor():
    x = keras.Input((28, 28, 1), name="image")
    assert (x.shape, x.dtype, x.name, x.ndim) == ((None, 28, 28, 1), "float32", "image", 4)
    assert keras.Input((3,), batch_size=8).shape == (8, 3)


def test_automatic_names_as_keras(fresh_names):
    record = ORACLE["auto_names"]
    inp = keras.Input((4,))
    assert inp.name == record["input_tensor_name"]
    assert inp._keras_history[0].name == record["input_layer_name"]
    assert type(inp._keras_history[0]).__name__ == record["input_layer_class"]
    inp2 = keras.Input((4,))
    assert inp2.name == record["second_input_tensor_name"]
    assert inp2._keras_history[0].name == record["second_input_layer_name"]
    dense = layers.Dense(2)
    assert dense.name == record["dense_layer_name"]
    out = dense(inp)
    assert out.name == record["dense_output_tensor_name"]
    assert keras.Model(inp, out).name == record["model_name"]
    model2 = keras.Model(inp2, layers.Dense(2)(inp2))
    assert model2.name == record["second_model_name"]
    assert [layer.name for layer in model2.layers] == record["second_model_layer_names"]
    assert keras.Sequential().name == record["sequential_name"]


@pytest.mark.parametrize("case", ["sequential_with_input", "functional"])
def test_automatic_names_in_a_fresh_session(fresh_names, case):
    if case == "functional":
        inp = keras.Input((4,))
        model = keras.Model(inp, layers.Dense(2)(inp))
        assert model.name == ORACLE["auto_names"]["functional"]["model_name"]
    else:
        model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    assert [layer.name for layer in model.layers] == ORACLE["auto_names"][case]["layer_names"]


def test_automatic_layer_names_per_class(fresh_names):
    expected = ORACLE["auto_names"]["after_clear_session"]
    assert [layers.Conv2D(1, 1).name, layers.Conv2D(1, 1).name] == expected["conv2d"]
    assert layers.MaxPooling2D().name == expected["max_pooling2d"]
    assert layers.GlobalAveragePooling2D().name == expected["global_average_pooling2d"]
    assert layers.BatchNormalization().name == expected["batch_normalization"]
    assert layers.Add().name == expected["add"]
    assert layers.Concatenate().name == expected["concatenate"]
    assert layers.Flatten().name == expected["flatten"]
    assert [layers.Dense(1).name, layers.Dense(1).name] == expected["dense"]


# -- errors -----------------------------------------------------------------------------


def _small_model():
    inp = keras.Input((3,), name="x")
    return keras.Model(inp, layers.Dense(2, name="dense")(inp), name="m")


def test_get_layer_errors_as_keras():
    model = _small_model()
    for call, key in ((lambda: model.get_layer("nope"), "get_layer_missing"),
                      (lambda: model.get_layer(index=5), "get_layer_index_out_of_range")):
        record = ORACLE["errors"][key]
        with pytest.raises(ValueError) as error:
            call()
        assert record["type"] == "ValueError" and str(error.value) == record["message"]


@pytest.mark.parametrize("key", ["add_shape_mismatch", "concatenate_shape_mismatch"])
def test_merge_shape_errors_as_keras(key):
    record = ORACLE["errors"][key]
    with pytest.raises(ValueError) as error:
        if key == "add_shape_mismatch":
            layers.Add(name="add")([keras.Input((3,), name="p"), keras.Input((4,), name="q")])
        else:
            layers.Concatenate(name="concat")([keras.Input((3, 2), name="p"), keras.Input((4, 3), name="q")])
    assert str(error.value) == record["message"]


def test_incompatible_input_fails_at_the_call_naming_layer_and_shape():
    # Keras: "Input 0 with name 'None' of layer 'conv' is incompatible with the layer: expected
    # min_ndim=4, found ndim=2. Full shape received: (None, 5)". cnnkit words it its own way.
    assert ORACLE["errors"]["conv2d_on_rank2_input"]["type"] == "ValueError"
    with pytest.raises(ValueError, match=r"layer 'conv' \(Conv2D\).*\(None, 5\)"):
        layers.Conv2D(4, 3, name="conv")(keras.Input((5,), name="vec"))


def test_shared_layer_rejects_an_incompatible_second_call():
    record = ORACLE["errors"]["shared_layer_incompatible_second_call"]
    shared = layers.Dense(2, name="shared")
    shared(keras.Input((3,), name="a"))
    with pytest.raises(ValueError, match=r"'shared'.*\(None, 7\)"):
        shared(keras.Input((7,), name="b"))
    assert record["raised"]


@pytest.mark.parametrize("key,layers_given", [("sequential_input_before_build", True),
                                              ("empty_sequential_input", False)])
def test_never_called_error(key, layers_given):
    # Keras raises AttributeError; cnnkit raises ValueError with the same message (an
    # AttributeError inside a torch Module property is swallowed by Module.__getattr__).
    record = ORACLE["errors"][key]
    model = keras.Sequential([layers.Dense(2, name="dense")] if layers_given else None, name="seq")
    with pytest.raises(ValueError) as error:
        model.input
    assert str(error.value) == record["message"]
    with pytest.raises(ValueError, match="The layer dense has never been called and thus has no defined output."):
        layers.Dense(2, name="dense").output


def test_shared_layer_output_is_its_first_call():
    assert ORACLE["errors"]["shared_layer_output"]["raised"] is False  # Keras 3 answers node 0's output
    shared = layers.Dense(2, name="shared")
    first = shared(keras.Input((3,), name="a"))
    shared(keras.Input((3,), name="b"))
    assert shared.output is first


# -- shared layers and nested models -------------------------------------------------------


def test_shared_layer_shares_its_weights_and_counts_once():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = layers.Dense(2, name="shared")
    model = seed_weights(keras.Model([a, b], layers.Add(name="add")([shared(a), shared(b)]), name="siamese"))
    assert [layer.name for layer in model.layers] == ["a", "b", "shared", "add"]
    assert model.count_params() == 3 * 2 + 2 and len(model.weights) == 2
    kernel, bias = model.get_weights()
    xa, xb = model_inputs(model)
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), (xa + xb) @ kernel + 2 * bias, rtol=1e-5, atol=1e-6)


def test_nested_model_called_on_a_tensor_computes_as_its_parts():
    model = build_nested()
    conv_base = model.get_layer("conv_base")
    assert [layer.name for layer in conv_base.layers] == ORACLE["nested"]["conv_base_layer_names"]
    kernel, bias = model.get_weights()[2:]
    x = model_inputs(model)
    features = conv_base.predict(x, verbose=0)
    assert features.shape == (2, 3, 3, 2)
    np.testing.assert_allclose(features.reshape(2, -1) @ kernel + bias, np.array(ORACLE["nested"]["outputs"]),
                               rtol=1e-5, atol=1e-6)
    for ours, whole in zip(conv_base.get_weights(), model.get_weights()[:2]):
        np.testing.assert_array_equal(ours, whole)
