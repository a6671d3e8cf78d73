"""The fast recipe and its one-cycle schedule."""

import importlib
import math
import platform
import sys

import numpy as np
import pytest
import torch

from cnnkit.datasets import mnist
from cnnkit.optimizers.schedules import OneCycle
from cnnkit.recipes import RECIPES, mnist_fast, seed_convnet
from cnnkit.recipes.mnist_fast import bfloat16_is_native
from cnnkit.utils import to_categorical

mnist_fast_module = importlib.import_module("cnnkit.recipes.mnist_fast")  # the module, not the function


def configs(model):
    """Each layer's config but its (automatic) name."""
    return [{key: value for key, value in layer.get_config().items() if key != "name"} for layer in model.layers]


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
    assert configs(model) == configs(seed_convnet())
    assert model.count_params() == 93_322 and model.loss.name == "categorical_crossentropy"
    assert type(model.optimizer).__name__ == "Adam"
    schedule = model.optimizer._schedule
    assert (schedule.total_steps, schedule.max_learning_rate) == (30, 0.006)  # 3 epochs of ceil(1000 / 100) steps


@pytest.mark.parametrize("native, policy", [(True, "mixed_bfloat16"), (False, "float32")])
def test_fast_recipe_computes_in_bfloat16_only_where_the_device_does_natively(monkeypatch, native, policy):
    monkeypatch.setattr(mnist_fast_module, "bfloat16_is_native", lambda device: native)
    model, _ = mnist_fast(seed=0)
    assert model.dtype_policy.name == policy


@pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.machine() == "x86_64"),
                    reason="reads the x86 CPU flags in /proc/cpuinfo")
def test_bfloat16_is_native_on_cpus_where_onednn_computes_it():
    """oneDNN computes bfloat16 on x86 CPUs with AVX-512 F, BW, VL and DQ (avx512_core), or AVX-NE-CONVERT."""
    with open("/proc/cpuinfo") as cpuinfo:
        flags = set(next(line for line in cpuinfo if line.startswith("flags")).split(":")[1].split())
    native = bfloat16_is_native(torch.device("cpu"))
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        assert native
    elif "avx_ne_convert" not in flags:
        assert not native


def test_bfloat16_is_native_on_gpus_that_support_it(monkeypatch):
    for supported in (True, False):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: supported)
        assert bfloat16_is_native(torch.device("cuda")) is supported
    assert bfloat16_is_native(torch.device("meta")) is False


def test_every_recipe_is_a_model_the_command_trains(fresh_names):
    """RECIPES names what `cnnkit train --model NAME` builds: the same layers, optimizer, schedule and policy."""
    from cnnkit.cli.models import MODELS

    for name, recipe in RECIPES.items():
        expected, _ = recipe(train_size=1000, epochs=3, batch_size=100)
        built = MODELS[name].build(1000, 3, 100)
        assert configs(built) == configs(expected) and built.dtype_policy.name == expected.dtype_policy.name
        assert type(built.optimizer) is type(expected.optimizer)
        assert vars(built.optimizer._schedule) == vars(expected.optimizer._schedule)
        _, default_fit_kwargs = recipe()
        assert {key: MODELS[name].defaults[key] for key in default_fit_kwargs} == default_fit_kwargs


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
