"""cnnkit.random: shapes, dtypes, ranges, seeds (int, SeedGenerator, global) and the missing-name error."""

import numpy as np
import pytest
import torch

import cnnkit
from cnnkit import random


def test_shapes_and_default_dtypes():
    assert random.uniform((2, 3)).shape == (2, 3) and random.uniform((2, 3)).dtype == torch.float32
    assert random.normal(4).shape == (4,) and random.normal(4).dtype == torch.float32
    assert random.randint((5,), 0, 3).dtype == torch.int32  # Keras's default dtype="int32"
    assert random.uniform((2,), dtype="bfloat16").dtype == torch.bfloat16
    assert random.randint([2, 2], 0, 3, dtype="int64").dtype == torch.int64


def test_ranges():
    values = random.uniform((10_000,), minval=-2.0, maxval=3.0, seed=0)
    assert values.min() >= -2.0 and values.max() < 3.0
    integers = random.randint((10_000,), 2, 5, seed=0)
    assert set(integers.unique().tolist()) == {2, 3, 4}  # maxval excluded
    normal = random.normal((20_000,), mean=1.0, stddev=2.0, seed=0)
    assert abs(normal.mean().item() - 1.0) < 0.05 and abs(normal.std().item() - 2.0) < 0.05


@pytest.mark.parametrize("draw", [
    lambda seed: random.uniform((4,), seed=seed),
    lambda seed: random.normal((4,), seed=seed),
    lambda seed: random.randint((4,), 0, 1000, seed=seed),
    lambda seed: random.shuffle(torch.arange(10), seed=seed),
])
def test_an_int_seed_gives_the_same_values_every_call(draw):
    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))


def test_a_seed_generator_moves_on_and_repeats_from_its_seed():
    generator = random.SeedGenerator(42)
    first, second = random.normal((8,), seed=generator), random.normal((8,), seed=generator)
    assert not torch.equal(first, second)
    again = random.SeedGenerator(42)
    assert torch.equal(random.normal((8,), seed=again), first)
    assert torch.equal(random.normal((8,), seed=again), second)
    other = random.SeedGenerator(43)
    assert not torch.equal(random.normal((8,), seed=other), first)


def test_unseeded_draws_follow_set_random_seed():
    cnnkit.set_random_seed(7)
    values, generator_seed = random.uniform((4,)), random.SeedGenerator().seed
    cnnkit.set_random_seed(7)
    assert torch.equal(random.uniform((4,)), values)
    assert random.SeedGenerator().seed == generator_seed
    assert not torch.equal(random.uniform((4,)), random.uniform((4,)))


def test_shuffle_is_a_permutation_along_its_axis():
    x = np.arange(12, dtype="float32").reshape(3, 4)
    rows = random.shuffle(x, seed=1)
    assert sorted(rows[:, 0].tolist()) == [0.0, 4.0, 8.0]
    assert all(torch.equal(row - row[0], torch.arange(4.0)) for row in rows)  # whole rows moved
    columns = random.shuffle(torch.tensor(x), axis=1, seed=1)
    assert columns.shape == (3, 4) and sorted(columns[0].tolist()) == [0.0, 1.0, 2.0, 3.0]
    assert torch.equal(columns[1] - columns[0], torch.full((4,), 4.0))
    assert not torch.equal(random.shuffle(torch.arange(100), seed=0), torch.arange(100))


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match=r"floating point dtype. Received: dtype='int32'"):
        random.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match=r"floating point dtype. Received: dtype='bool'"):
        random.normal((2,), dtype="bool")
    with pytest.raises(ValueError, match=r"integer dtype. Received: dtype='float32'"):
        random.randint((2,), 0, 3, dtype="float32")
    with pytest.raises(ValueError, match=r"Received: minval=3, maxval=3"):
        random.randint((2,), 3, 3)
    with pytest.raises(ValueError, match=r"Received: seed=1.5"):
        random.uniform((2,), seed=1.5)
    with pytest.raises(ValueError, match=r"Received: seed='a'"):
        random.SeedGenerator("a")


def test_a_missing_function_says_what_cnnkit_implements():
    with pytest.raises(AttributeError, match=r"cnnkit.random has no function 'categorical'.*uniform"):
        random.categorical
    assert all(hasattr(random, name) for name in random.__all__)
