"""Arguments a layer does not take (a Keras argument cnnkit does not implement, or a misspelling)
fail with one clear error naming the layer, the argument and what is supported, for every layer."""

import inspect

import pytest

from cnnkit import layers
from cnnkit.layers.base import UnsupportedArgumentError

# A valid value for each required argument of the public layers.
REQUIRED = {
    "units": 2, "filters": 2, "kernel_size": 3, "rate": 0.5, "stddev": 0.1, "activation": "relu",
    "scale": 0.5, "height": 4, "width": 4, "factor": 0.1, "height_factor": 0.1, "width_factor": 0.1,
    "dims": (2, 1), "target_shape": (4,),
}


def public_layer_classes():
    found = []
    for name in layers.__all__:
        value = getattr(layers, name)
        if inspect.isclass(value) and issubclass(value, layers.Layer) and value is not layers.Layer:
            found.append(value)
    return found


def required_arguments(cls):
    parameters = inspect.signature(cls.__init__).parameters.values()
    names = [p.name for p in parameters if p.name != "self" and p.default is p.empty
             and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    missing = [name for name in names if name not in REQUIRED]
    assert not missing, f"add a sample value for {cls.__name__}'s required argument(s) {missing} to REQUIRED"
    arguments = {name: REQUIRED[name] for name in names}
    if cls is layers.InputLayer:  # takes `shape` or `batch_shape`, both optional in its signature
        arguments["shape"] = (3,)
    return arguments


@pytest.mark.parametrize("cls", public_layer_classes(), ids=lambda cls: cls.__name__)
def test_every_layer_names_an_unsupported_argument(cls):
    with pytest.raises(UnsupportedArgumentError) as raised:
        cls(**required_arguments(cls), lora_rank=4)
    message = str(raised.value)
    assert message.startswith(f"{cls.__name__} does not support argument `lora_rank` "), message
    assert "a Keras argument cnnkit does not implement" in message
    supported = message.split("Supported: ")[1].rstrip(".").split(", ")
    for name in ("name", "trainable", "dtype", "activity_regularizer", *required_arguments(cls)):
        assert name in supported, (name, message)
    assert "lora_rank" not in supported and "kwargs" not in supported and "self" not in supported
    assert "unexpected keyword argument" not in message


def test_the_message_in_full():
    with pytest.raises(UnsupportedArgumentError) as raised:
        layers.Dense(4, lora_rank=4, lora_alpha=2)
    assert str(raised.value) == (
        "Dense does not support arguments `lora_alpha`, `lora_rank` (a Keras argument cnnkit does not implement, "
        "or a misspelled name). Supported: units, activation, use_bias, kernel_initializer, bias_initializer, "
        "kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, name, "
        "input_shape, trainable, dtype, input_dim."
    )


def test_it_is_a_type_error_as_python_and_a_value_error_as_keras():
    for error in (TypeError, ValueError):
        with pytest.raises(error):
            layers.Conv2D(2, 3, quantization_config=None, lora_rank=2)


def test_unsupported_values_of_supported_arguments_keep_their_own_errors():
    with pytest.raises(ValueError, match="data_format='channels_last' only"):
        layers.Conv2D(2, 3, data_format="channels_first")


def test_input_dim_is_keras_s_input_shape():
    layer = layers.Dense(3, input_dim=5)
    assert layer.batch_input_shape == (None, 5)
