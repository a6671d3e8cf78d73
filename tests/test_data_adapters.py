"""fit, evaluate and predict take any input kind (arrays, generators, torch DataLoaders and Datasets,
PyDatasets), with Keras's steps_per_epoch, validation_freq, sample_weight and class_weight.

Expected numbers come from Keras 3.15 (TensorFlow backend) on the same model, weights and data.
"""

import numpy as np
import pytest
import torch

from cnnkit import layers, models, optimizers
from cnnkit.utils import PyDataset

X = np.arange(24, dtype="float32").reshape(8, 3) / 10 - 1
Y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
SW = np.array([1, 2, 0.5, 1, 3, 1, 0, 2], "float32")


def model():
    net = models.Sequential([layers.Input((3,)), layers.Dense(2, activation="softmax")])
    net.set_weights([np.array([[0.5, -0.2], [0.1, 0.3], [-0.4, 0.2]], "float32"), np.array([0.05, -0.05], "float32")])
    net.compile(optimizer=optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return net


def assert_history(history, expected):
    assert sorted(history.history) == sorted(expected)
    for name, values in expected.items():
        np.testing.assert_allclose(history.history[name], values, rtol=1e-5, err_msg=name)


def test_sample_weight_weights_the_loss_not_the_metrics_as_keras():
    net = model()
    history = net.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0, sample_weight=SW)
    assert_history(history, {"accuracy": [0.375, 0.5], "loss": [0.8908780813, 0.8475278020]})
    np.testing.assert_allclose(net.get_weights()[0], [[0.46542296, -0.16542301], [0.05555321, 0.34444684],
                                                      [-0.45431659, 0.2543166]], rtol=1e-5)


def test_class_weight_as_keras():
    net = model()
    history = net.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0, class_weight={0: 1.0, 1: 3.0})
    assert_history(history, {"accuracy": [0.375, 0.5], "loss": [1.3654837608, 1.2800068856]})
    np.testing.assert_allclose(net.get_weights()[0], [[0.5017361, -0.20173612], [0.08464923, 0.31535077],
                                                      [-0.43243769, 0.23243767]], rtol=1e-5)


def test_evaluate_with_sample_weight_as_keras():
    logs = model().evaluate(X, Y, sample_weight=SW, verbose=0, return_dict=True)
    assert logs == pytest.approx({"accuracy": 0.375, "loss": 0.8883518576}, rel=1e-5)


def test_validation_freq_and_weighted_validation_data_as_keras():
    history = model().fit(X, Y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                          validation_data=(X[:4], Y[:4], SW[:4]), validation_freq=2)
    assert_history(history, {"accuracy": [0.375, 0.5, 0.5], "loss": [0.6939702630, 0.6937307119, 0.6935608387],
                             "val_accuracy": [0.5], "val_loss": [0.7825019360]})


def batches():
    while True:
        for start in range(0, 8, 4):
            yield X[start:start + 4], Y[start:start + 4]


KERAS_GENERATOR = {"accuracy": [0.4166666567, 0.5], "loss": [0.6937353015, 0.6937726140]}
KERAS_GENERATOR_KERNEL = [[0.50622535, -0.20622538], [0.10679339, 0.29320663], [-0.3926386, 0.19263862]]


def test_a_generator_with_steps_per_epoch_continues_across_epochs_as_keras():
    net = model()
    history = net.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    assert_history(history, KERAS_GENERATOR)
    np.testing.assert_allclose(net.get_weights()[0], KERAS_GENERATOR_KERNEL, rtol=1e-5)


class Batches(PyDataset):
    """The same two batches as `batches()`, by index."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.epochs_ended = 0

    def __len__(self):
        return 2

    def __getitem__(self, index):
        return X[4 * index:4 * index + 4], Y[4 * index:4 * index + 4]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_a_re_iterable_source_with_steps_per_epoch_starts_over_when_it_ends():
    """steps_per_epoch=3 over 2 batches: batches 0, 1, 0 then 1, 0, 1, as the generator gives them."""
    for source in (Batches(), torch.utils.data.DataLoader(list(zip(X, Y)), batch_size=4)):
        net = model()
        history = net.fit(source, steps_per_epoch=3, epochs=2, verbose=0, shuffle=False)
        assert_history(history, KERAS_GENERATOR)
        np.testing.assert_allclose(net.get_weights()[0], KERAS_GENERATOR_KERNEL, rtol=1e-5)


def test_every_input_kind_trains_to_the_same_weights_as_arrays():
    expected = model()
    expected.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    sources = {
        "PyDataset": Batches(),
        "PyDataset in 2 worker processes": Batches(workers=2, use_multiprocessing=True),
        "DataLoader": torch.utils.data.DataLoader(list(zip(X, Y)), batch_size=4),
        "torch Dataset": torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)),
    }
    for name, source in sources.items():
        net = model()
        net.fit(source, epochs=2, verbose=0, shuffle=False, batch_size=4)
        for got, want in zip(net.get_weights(), expected.get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=name)


def test_py_dataset_on_epoch_end_is_called_after_each_epoch():
    data = Batches()
    model().fit(data, epochs=3, verbose=0)
    assert data.epochs_ended == 3


def test_evaluate_and_predict_take_streams():
    net = model()
    expected_logs = net.evaluate(X, Y, verbose=0, return_dict=True)
    assert net.evaluate(Batches(), verbose=0, return_dict=True) == pytest.approx(expected_logs)
    expected = net.predict(X, verbose=0)
    np.testing.assert_allclose(net.predict((x for x, _ in Batches()), verbose=0), expected, rtol=1e-6)
    np.testing.assert_allclose(net.predict(Batches(), verbose=0), expected, rtol=1e-6)
    np.testing.assert_allclose(net.predict(Batches(), steps=1, verbose=0), expected[:4], rtol=1e-6)


def test_an_exhausted_generator_stops_training_with_keras_warning():
    def three_batches():
        for _ in range(3):
            yield X[:4], Y[:4]

    with pytest.warns(UserWarning, match="Your input ran out of data; interrupting training"):
        history = model().fit(three_batches(), steps_per_epoch=2, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1


def test_an_unbuilt_model_builds_from_the_first_batch_of_a_generator():
    net = models.Sequential([layers.Dense(2, activation="softmax")])
    net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    gen = batches()
    history = net.fit(gen, steps_per_epoch=2, epochs=1, verbose=0)
    assert net.built and net.count_params() == 8 and len(history.history["loss"]) == 1


def test_bad_inputs_say_what_was_expected():
    net = model()
    with pytest.raises(ValueError, match="`y` and `sample_weight` are given only with arrays"):
        net.fit(Batches(), Y)
    with pytest.raises(TypeError, match="Unrecognized data type: x=object"):
        net.fit(object())
    with pytest.raises(ValueError, match="`validation_split` is only supported for arrays"):
        net.fit(Batches(), validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match="`sample_weight` must hold one weight per sample"):
        net.fit(X, Y, sample_weight=SW[:3], verbose=0)
    with pytest.raises(ValueError, match="`steps_per_epoch` must be a positive int"):
        net.fit(X, Y, steps_per_epoch=0, verbose=0)
    with pytest.raises(ValueError, match="A batch must be x, \\(x,\\), \\(x, y\\) or \\(x, y, sample_weight\\)"):
        net.fit(iter([(X, Y, SW, SW)]), verbose=0)


def test_a_built_model_fed_a_stream_is_on_the_device_before_its_optimizer_builds(monkeypatch):
    """On a GPU, fit on a dataset with an already built (Functional) model made the optimizer's
    slots on the CPU, then moved the weights with the first batch: "cuda:0 and cpu" at the first
    step. "meta" stands in for the GPU here."""
    from cnnkit.data import Dataset
    from cnnkit.engine import training
    from cnnkit.engine.data_adapters import EpochIterator, get_data_adapter

    monkeypatch.setattr(training, "get_device", lambda: torch.device("meta"))
    model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="rmsprop", loss="mse")
    batches = Dataset.from_tensor_slices((np.zeros((4, 3), "float32"), np.zeros((4, 2), "float32"))).batch(2)
    EpochIterator(get_data_adapter(batches), training.BatchConverter(model), None, False).build_model()
    model.build_optimizer()
    assert {slot.device.type for slots in model.optimizer._slots.values() for slot in slots} == {"meta"}
