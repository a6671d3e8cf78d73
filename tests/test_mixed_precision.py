"""The Keras-style dtype policy: float32 weights, bfloat16 compute, float32 loss."""

import numpy as np
import pytest
import torch

from cnnkit import layers, mixed_precision, models


@pytest.fixture
def mixed_bfloat16():
    mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    mixed_precision.set_global_policy("float32")


def small_model():
    model = models.Sequential([
        layers.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"), layers.BatchNormalization(),
        layers.Flatten(), layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=32):
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(n, 8, 8, 1, generator=generator)
    y = torch.nn.functional.one_hot(torch.randint(0, 3, (n,), generator=generator), 3).float()
    return x, y


def test_policies_as_in_keras():
    assert mixed_precision.global_policy().name == "float32"
    policy = mixed_precision.Policy("mixed_bfloat16")
    assert (policy.compute_dtype, policy.variable_dtype) == ("bfloat16", "float32")
    assert mixed_precision.Policy("float32").compute_dtype == "float32"
    with pytest.raises(ValueError, match="mixed_float16 is not supported"):
        mixed_precision.set_global_policy("mixed_float16")


def test_fit_computes_in_bfloat16_and_keeps_float32_weights(seeded, mixed_bfloat16):
    model = small_model()
    seen = []
    model.layers[0].register_forward_hook(lambda layer, inputs, output: seen.append(output.dtype))
    history = model.fit(*data(), batch_size=16, epochs=2, verbose=0)
    assert seen and set(seen) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(np.isfinite(history.history["loss"]))
    assert isinstance(model.evaluate(*data(), verbose=0)[0], float)


def test_predict_under_bfloat16_is_float32_and_close(seeded):
    model = small_model()
    x, _ = data()
    exact = model.predict(x, verbose=0)
    mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = model.predict(x, verbose=0)
    finally:
        mixed_precision.set_global_policy("float32")
    assert mixed.dtype == np.float32
    np.testing.assert_allclose(mixed, exact, atol=3e-2)
    assert not np.array_equal(mixed, exact)  # it really ran in bfloat16


def test_a_model_policy_overrides_the_global_one_and_is_saved(seeded, tmp_path):
    model = small_model()
    x, _ = data()
    exact = model.predict(x, verbose=0)
    model.dtype_policy = "mixed_bfloat16"
    assert model.dtype_policy == mixed_precision.Policy("mixed_bfloat16")
    assert mixed_precision.global_policy().name == "float32"
    mixed = model.predict(x, verbose=0)
    assert not np.array_equal(mixed, exact)
    model.save(tmp_path / "m.cnnkit")
    restored = models.load_model(tmp_path / "m.cnnkit")
    assert restored.dtype_policy.name == "mixed_bfloat16"
    np.testing.assert_array_equal(restored.predict(x, verbose=0), mixed)
    model.dtype_policy = None  # back to following the global policy
    np.testing.assert_array_equal(model.predict(x, verbose=0), exact)


def test_a_bad_model_policy_is_named():
    with pytest.raises(ValueError, match="Unknown dtype policy 'half'"):
        models.Sequential().dtype_policy = "half"


def test_a_saved_policy_that_is_not_a_name_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Unknown dtype policy \{'name': 'float32'\}"):
        mixed_precision.Policy({"name": "float32"})
