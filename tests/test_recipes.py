"""The fast recipe and its one-cycle schedule."""

import math

import numpy as np
import pytest

import cnnkit
from cnnkit.datasets import mnist
from cnnkit.optimizers.schedules import OneCycle
from cnnkit.recipes import RECIPES, mnist_fast
from cnnkit.recipes.mnist_fast import bfloat16_is_native
from cnnkit.utils import to_categorical


def test_one_cycle_warms_up_linearly_then_decays_by_cosine():
    schedule = OneCycle(0.01, total_steps=100, warmup_fraction=0.2, start_divisor=10, end_divisor=100)
    assert schedule(0) == pytest.approx(0.001)
    assert schedule(10) == pytest.approx(0.001 + 0.009 * 10 / 20)
    assert schedule(20) == pytest.approx(0.01)
    assert schedule(60) == pytest.approx(0.0001 + (0.01 - 0.0001) * (1 + math.cos(math.pi * 0.5)) / 2)
    assert schedule(100) == pytest.approx(0.0001) and schedule(500) == pytest.approx(0.0001)
    rates = [schedule(step) for step in range(101)]
    assert rates.index(max(rates)) == 20
    assert all(a <= b for a, b in zip(rates[:21], rates[1:21])) and all(a >= b for a, b in zip(rates[20:], rates[21:]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(total_steps=0), "`total_steps` of OneCycle must be a positive int. Received: total_steps=0"),
    (dict(total_steps=10, warmup_fraction=1.5), "`warmup_fraction` of OneCycle must be in"),
])
def test_one_cycle_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OneCycle(0.01, **kwargs)


def test_fast_recipe_is_the_seed_convnet_with_adam_one_cycle_and_its_fit_settings(fresh_names):
    model, fit_kwargs = mnist_fast(seed=0, train_size=1000, epochs=3, batch_size=100)
    assert fit_kwargs == {"epochs": 3, "batch_size": 100}
    assert model.count_params() == 93_322 and model.loss is not None
    schedule = model.optimizer._schedule
    assert (schedule.total_steps, schedule.max_learning_rate) == (30, 0.006)
    expected = "mixed_bfloat16" if bfloat16_is_native(cnnkit.get_device()) else "float32"
    assert model.dtype_policy.name == expected
    assert RECIPES["fast"] is mnist_fast


def test_fast_recipe_repeats_with_a_seed(fresh_names):
    first, _ = mnist_fast(seed=4)
    second, _ = mnist_fast(seed=4)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_fast_recipe_reaches_99_percent_on_mnist(fresh_names):
    """The recipe in full on the real MNIST (the speed and the 99.2 % are benchmarks/time_to_accuracy.py's)."""
    (x, y), (x_test, y_test) = mnist.load_data()
    model, fit_kwargs = mnist_fast(seed=0)
    model.fit(x.reshape(-1, 28, 28, 1) / 255, to_categorical(y), verbose=0, **fit_kwargs)
    accuracy = (model.predict(x_test.reshape(-1, 28, 28, 1) / 255, verbose=0).argmax(1) == y_test).mean()
    assert accuracy >= 0.99
