"""cnnkit.data.Dataset: the tf.data methods on torch tensors, and fit on a dataset."""

import numpy as np
import pytest
import torch

import cnnkit as keras
from cnnkit.data import AUTOTUNE, INFINITE, Dataset


def values(dataset):
    return [element.tolist() for element in dataset]


def test_from_tensor_slices_batches_are_slices_with_keras_dtypes():
    x, y = np.arange(20, dtype="float64").reshape(10, 2), np.arange(10)
    batches = list(Dataset.from_tensor_slices((x, y)).batch(4))
    assert [tuple(b[0].shape) for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert batches[0][0].dtype == torch.float32 and batches[0][1].dtype == torch.int64
    assert len(Dataset.from_tensor_slices((x, y)).batch(4, drop_remainder=True)) == 2
    with pytest.raises(ValueError, match="same first dimension"):
        Dataset.from_tensor_slices((x, y[:5]))


def test_take_skip_repeat_len():
    ds = Dataset.from_tensor_slices(np.arange(5))
    assert values(ds.take(2)) == [0, 1] and values(ds.skip(3)) == [3, 4]
    assert values(ds.repeat(2)) == [0, 1, 2, 3, 4] * 2 and len(ds.repeat(2)) == 10
    assert values(ds.repeat().take(7)) == [0, 1, 2, 3, 4, 0, 1]
    assert ds.repeat().cardinality() == INFINITE
    with pytest.raises(TypeError, match="infinite"):
        len(ds.repeat())
    assert len(ds.take(-1)) == 5 and len(ds.skip(-1)) == 0 and len(ds.take(9)) == 5


def test_batch_unbatch_roundtrip_and_dicts():
    ds = Dataset.from_tensor_slices({"a": np.arange(6), "b": np.ones((6, 2))})
    batch = next(iter(ds.batch(4)))
    assert batch["a"].tolist() == [0, 1, 2, 3] and batch["b"].shape == (4, 2)
    assert [e["a"].item() for e in ds.batch(4).unbatch()] == list(range(6))
    rows = Dataset.from_tensor_slices(np.arange(7)).map(lambda v: v * 2).batch(3)  # stacks mapped rows
    assert values(rows) == [[0, 2, 4], [6, 8, 10], [12]]


def test_shuffle_is_a_seeded_permutation_reshuffled_each_pass():
    ds = Dataset.from_tensor_slices(np.arange(50)).shuffle(10, seed=3)
    first, second = values(ds), values(ds)
    assert sorted(first) == list(range(50)) and first != list(range(50)) and first != second
    assert values(Dataset.from_tensor_slices(np.arange(50)).shuffle(10, seed=3)) == first
    fixed = Dataset.from_tensor_slices(np.arange(50)).shuffle(10, seed=3, reshuffle_each_iteration=False)
    assert values(fixed) == values(fixed)


def test_map_unpacks_tuples_and_cache_runs_the_source_once():
    calls = []

    def double(x, y):
        calls.append(1)
        return x * 2, y

    ds = Dataset.from_tensor_slices((np.arange(4), np.arange(4))).batch(2).map(double, num_parallel_calls=AUTOTUNE)
    ds = ds.cache().prefetch(AUTOTUNE)
    assert [x.tolist() for x, _ in ds] == [[0, 2], [4, 6]]
    assert [x.tolist() for x, _ in ds] == [[0, 2], [4, 6]] and len(calls) == 2
    with pytest.raises(ValueError, match="in-memory"):
        ds.cache("file")
    with pytest.raises(TypeError, match="callable"):
        ds.map(3)


def test_fit_evaluate_predict_on_a_dataset():
    keras.utils.set_random_seed(0)
    x = np.random.rand(64, 4, 4, 1).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("int64")
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    train = Dataset.from_tensor_slices((x, y)).shuffle(64, seed=1).batch(16).prefetch(AUTOTUNE)
    history = model.fit(train, validation_data=Dataset.from_tensor_slices((x, y)).batch(32), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and "val_accuracy" in history.history
    assert len(model.evaluate(Dataset.from_tensor_slices((x, y)).batch(32), verbose=0)) == 2
    assert model.predict(Dataset.from_tensor_slices(x).batch(10), verbose=0).shape == (64, 2)


def test_fit_gives_each_map_its_input_on_the_training_device(monkeypatch):
    """fit, evaluate and predict iterate a dataset with each `map` given its input on the model's device, so
    augmentation layers run there, batched ("meta" stands in for a GPU here); the user's dataset is unchanged
    (iterated directly it stays on the CPU) and a cache below the maps is still the user's."""
    from cnnkit.engine.data_adapters import get_data_adapter, iterable_adapter

    monkeypatch.setattr(iterable_adapter, "get_device", lambda: torch.device("meta"))
    seen = []

    def record(x, y):
        seen.append((x.device.type, y.device.type))
        return x * 2, y

    cached = Dataset.from_tensor_slices((np.arange(4.0), np.arange(4))).batch(2).cache()
    ds = cached.map(record).prefetch(AUTOTUNE)
    adapter = get_data_adapter(ds)
    assert [x.device.type for x, _ in adapter.iterator()] == ["meta", "meta"] and seen == [("meta", "meta")] * 2
    assert adapter.stream.source is cached
    assert [x.tolist() for x, _ in ds] == [[0, 2], [4, 6]] and seen[2:] == [("cpu", "cpu")] * 2
