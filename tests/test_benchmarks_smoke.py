"""The benchmark scripts' pieces run, and their baselines compute what cnnkit computes."""

import importlib.util
import pathlib

import numpy as np
import pytest
import torch

import cnnkit
from cnnkit import layers, models

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def seed_speed():
    return load_script("seed_speed")


def synthetic(n=128):
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(n, 28, 28, 1, generator=generator)
    y = torch.nn.functional.one_hot(torch.randint(0, 10, (n,), generator=generator), 10).float()
    return x, y


def test_flops_of_the_seed_model_counted_by_hand(seed_speed, fresh_names):
    # MACs: 26*26*32*9 + 11*11*64*288 + 3*3*64*576 + 576*64 + 64*10 = 2,794,240; x2 forward,
    # x2 again for the two backward gradients, less the first conv's input gradient (2 * 194,688).
    assert seed_speed.training_flops_per_image(seed_speed.seed_model()) == 6 * 2_794_240 - 2 * 194_688


def test_hand_written_loop_trains_exactly_as_fit(seed_speed, seeded):
    x, y = synthetic()
    model = seed_speed.seed_model()
    initial = model.get_weights()
    net = seed_speed.HandWrittenSeed()
    net.load_keras_weights(initial)
    cnnkit_logs = seed_speed.train_cnnkit(seed_speed.fresh_cnnkit(model, initial), x, y, 2, seed=3)
    hand_logs = seed_speed.train_hand_written(net, x, y, 2, seed=3)
    assert cnnkit_logs == pytest.approx(hand_logs, rel=1e-5)
    for ours, theirs in zip(model.get_weights(), net.keras_weights()):
        np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_predict_throughput_compares_the_same_outputs(seed_speed, seeded):
    x, _ = synthetic(64)
    rates, gap = seed_speed.predict_throughput(seed_speed.seed_model(), x.numpy(), batch_size=32, repeats=1)
    assert set(rates) == {"cnnkit", "torch"} and all(rate > 0 for rate in rates.values())
    assert gap < 1e-6


def test_time_to_accuracy_callback_checks_and_restores_training_mode(seeded):
    script = load_script("time_to_accuracy")
    x, y = synthetic(64)
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    timer = script.TimeToAccuracy(x, y.argmax(-1), every=1)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[timer])
    assert timer.seconds > 0 and 0 <= timer.accuracy <= 1
    assert model.training
