"""compile / fit / evaluate / predict: learning, History, callbacks, output, errors."""

import io
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import cnnkit
from cnnkit import layers, models, optimizers
from cnnkit.callbacks import Callback
from cnnkit.utils import to_categorical

STEP_TIME = r"\d+(?:s|ms|us)/step"
VALUE = r"\d+\.\d{4}(?:e[+-]\d\d)?"


def two_blobs(n=64, seed=0):
    """Two separable Gaussian blobs in 4 dimensions; labels 0/1."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 4)).astype("float32") + (labels[:, None] * 2.0 - 1.0) * 1.5
    return x, labels


def classifier(loss="categorical_crossentropy", metrics=("accuracy",), learning_rate=0.01):
    cnnkit.set_random_seed(1234)
    model = models.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                               layers.Dense(2, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(learning_rate), loss=loss, metrics=list(metrics))
    return model


def fixed_classifier(metrics=("accuracy",)):
    """Zero weights: every prediction is [0.5, 0.5], whose argmax is class 0."""
    model = models.Sequential([layers.Input((4,)), layers.Dense(2, activation="softmax")])
    model.set_weights([np.zeros((4, 2), "float32"), np.zeros(2, "float32")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=list(metrics))
    return model


class Recorder(Callback):
    """Records every hook call as (hook,) or (hook, epoch or batch index)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            return lambda *args, **kwargs: self.calls.append((name, *(a for a in args[:1] if isinstance(a, int))))
        return super().__getattribute__(name)


# -- learning -------------------------------------------------------------------------------
def test_fit_lowers_the_loss_and_learns():
    x, labels = two_blobs()
    model = classifier()
    history = model.fit(x, to_categorical(labels), epochs=8, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 8 and losses[-1] < 0.5 * losses[0]
    assert history.history["accuracy"][-1] >= 0.95
    assert history.epoch == list(range(8)) and model.history is history


def test_a_small_convnet_trains():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 48)
    x = rng.normal(0, 0.3, (48, 6, 6, 1)).astype("float32")
    x[labels == 1, 1:5, 2:4, 0] += 1.0  # class 1 has a vertical bar
    cnnkit.set_random_seed(0)
    model = models.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(4, 3, activation="relu"),
                               layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, labels, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.evaluate(x, labels, verbose=0)[1] >= 0.9


def test_validation_split_uses_the_last_samples():
    x, labels = two_blobs(40)
    y = to_categorical(labels)
    model = classifier()
    history = model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 2 for values in history.history.values())
    val_loss, val_accuracy = model.evaluate(x[30:], y[30:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_accuracy)


def test_validation_data():
    x, labels = two_blobs(40)
    model = classifier(loss="sparse_categorical_crossentropy")
    history = model.fit(x[:32], labels[:32], epochs=3, validation_data=(x[32:], labels[32:]), verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x[32:], labels[32:], verbose=0)[0], rel=1e-5)


def test_initial_epoch_resumes_the_count(capsys):
    x, labels = two_blobs(16)
    history = classifier().fit(x, to_categorical(labels), epochs=4, initial_epoch=2, verbose=2)
    assert history.epoch == [2, 3] and len(history.history["loss"]) == 2
    assert re.findall(r"Epoch \d/\d", capsys.readouterr().out) == ["Epoch 3/4", "Epoch 4/4"]


@pytest.mark.parametrize("shuffle", [False, True])
def test_runs_repeat(shuffle):
    x, labels = two_blobs(40)
    y = to_categorical(labels)
    runs = []
    for _ in range(2):
        model = classifier()
        cnnkit.set_random_seed(7)
        runs.append((model.fit(x, y, epochs=2, batch_size=8, shuffle=shuffle, verbose=0).history,
                     model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for first, second in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("shuffle", [False, True])
def test_shuffle_sets_the_order_of_the_samples_each_epoch(shuffle):
    """The samples themselves, as the model sees them: in order without shuffle, a new permutation
    each epoch with it (Keras shuffles before every epoch)."""
    seen = []

    class SeenSamples(layers.Layer):
        """Passes its inputs on, recording their first feature: the sample's index here."""

        def call(self, inputs):
            seen.append([int(index) for index in inputs[:, 0].tolist()])
            return inputs

        def compute_output_shape(self, input_shape):  # else cnnkit infers it by calling on zeros
            return input_shape

    x, labels = two_blobs(10)
    x = np.concatenate([np.arange(10, dtype="float32")[:, None], x], axis=1)
    cnnkit.set_random_seed(3)
    model = models.Sequential([layers.Input((5,)), SeenSamples(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.fit(x, to_categorical(labels), batch_size=4, epochs=2, shuffle=shuffle, verbose=0)
    assert [len(batch) for batch in seen] == [4, 4, 2] * 2
    epochs = [sum(seen[:3], []), sum(seen[3:], [])]
    if shuffle:
        assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(10))  # every sample once per epoch
        assert epochs[0] != list(range(10)) and epochs[1] != list(range(10)) and epochs[0] != epochs[1]
    else:
        assert seen == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] * 2


# -- callbacks ------------------------------------------------------------------------------------
def test_fit_calls_the_hooks_in_order_with_the_right_counts():
    x, labels = two_blobs(10)
    recorder = Recorder()
    classifier().fit(x, to_categorical(labels), batch_size=4, epochs=2, verbose=0, callbacks=[recorder])
    epoch = lambda e: [("on_epoch_begin", e),  # noqa: E731
                       *[call for b in range(3) for call in (("on_train_batch_begin", b), ("on_train_batch_end", b))],
                       ("on_epoch_end", e)]
    assert recorder.calls == [("on_train_begin",), *epoch(0), *epoch(1), ("on_train_end",)]
    assert recorder.params["epochs"] == 2 and recorder.params["steps"] == 3


def test_evaluate_and_predict_call_their_hooks():
    x, labels = two_blobs(10)
    model = classifier()
    recorder = Recorder()
    model.evaluate(x, to_categorical(labels), batch_size=4, verbose=0, callbacks=[recorder])
    batches = lambda kind: [call for b in range(3)  # noqa: E731
                            for call in ((f"on_{kind}_batch_begin", b), (f"on_{kind}_batch_end", b))]
    assert recorder.calls == [("on_test_begin",), *batches("test"), ("on_test_end",)]
    recorder.calls.clear()
    model.predict(x, batch_size=4, verbose=0, callbacks=[recorder])
    assert recorder.calls == [("on_predict_begin",), *batches("predict"), ("on_predict_end",)]


def test_epoch_logs_hold_floats():
    received = []

    class Logs(Callback):
        def on_epoch_end(self, epoch, logs=None):
            received.append(dict(logs))

    x, labels = two_blobs(16)
    classifier().fit(x, to_categorical(labels), epochs=1, verbose=0, validation_split=0.25, callbacks=[Logs()])
    assert sorted(received[0]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(isinstance(value, float) for value in received[0].values())


def test_stop_training_at_epoch_end():
    class StopAfterFirst(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    x, labels = two_blobs(16)
    history = classifier().fit(x, to_categorical(labels), epochs=5, verbose=0, callbacks=[StopAfterFirst()])
    assert history.epoch == [0]


def test_stop_training_mid_epoch():
    batches = []

    class StopAtSecondBatch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)
            if batch == 1:
                self.model.stop_training = True

    x, labels = two_blobs(40)
    history = classifier().fit(x, to_categorical(labels), batch_size=4, epochs=3, verbose=0,
                               callbacks=[StopAtSecondBatch()])
    assert batches == [0, 1] and history.epoch == [0]


# -- evaluate and predict --------------------------------------------------------------------------
def test_evaluate_by_hand():
    x, labels = two_blobs(10)
    y = to_categorical(labels)
    loss, accuracy = fixed_classifier().evaluate(x, y, batch_size=3, verbose=0)
    assert loss == pytest.approx(math.log(2), rel=1e-6)
    assert accuracy == pytest.approx(np.mean(labels == 0))
    assert fixed_classifier(metrics=()).evaluate(x, y, verbose=0) == pytest.approx(math.log(2), rel=1e-6)
    logs = fixed_classifier().evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}


def test_evaluate_weights_a_short_last_batch_by_its_size():
    model = models.Sequential([layers.Input((1,)), layers.Dense(1, use_bias=False)])
    model.set_weights([np.ones((1, 1), "float32")])
    model.compile(optimizer="sgd", loss="mae")
    x = np.array([[1.0], [2.0], [3.0], [10.0]], "float32")
    y = np.zeros((4, 1), "float32")
    for batch_size in (1, 3, 4):  # errors 1, 2, 3, 10: the mean is 4 however the batches fall
        assert model.evaluate(x, y, batch_size=batch_size, verbose=0) == pytest.approx(4.0)


def test_predict_returns_numpy_of_the_right_shape():
    x, _ = two_blobs(10)
    model = classifier()
    predictions = model.predict(x, batch_size=3, verbose=0)
    assert isinstance(predictions, np.ndarray) and predictions.shape == (10, 2) and predictions.dtype == np.float32
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(model.predict(x, batch_size=10, verbose=0), predictions, rtol=1e-6)


def test_predict_takes_integer_images():
    model = models.Sequential([layers.Input((2, 2, 1)), layers.Flatten(), layers.Dense(1, use_bias=False)])
    model.set_weights([np.ones((4, 1), "float32")])
    images = np.array([[[[1], [2]], [[3], [250]]]], dtype=np.uint8)
    assert model.predict(images, verbose=0).tolist() == [[256.0]]


# -- printed output -----------------------------------------------------------------------------------
def test_verbose_0_prints_nothing(capsys):
    x, labels = two_blobs(8)
    model = classifier()
    model.fit(x, to_categorical(labels), epochs=2, verbose=0, validation_split=0.25)
    model.evaluate(x, to_categorical(labels), verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


def test_verbose_2_prints_one_line_per_epoch(capsys):
    x, labels = two_blobs(8)
    classifier().fit(x, to_categorical(labels), epochs=2, batch_size=4, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    for line in (lines[1], lines[3]):
        assert re.fullmatch(rf"2/2 - \d+s - {STEP_TIME} - accuracy: {VALUE} - loss: {VALUE}", line), line


def test_verbose_1_off_a_terminal_prints_the_final_line_of_each_epoch(capsys):
    x, labels = two_blobs(12)
    classifier().fit(x, to_categorical(labels), epochs=2, batch_size=4, verbose=1, validation_split=0.25)
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 4 and lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    for line in (lines[1], lines[3]):
        assert re.fullmatch(rf"3/3 ━{{20}} \d+s {STEP_TIME} - accuracy: {VALUE} - loss: {VALUE}"
                            rf" - val_accuracy: {VALUE} - val_loss: {VALUE}", line), line


def test_one_epoch_prints_no_epoch_header(capsys):
    x, labels = two_blobs(8)
    classifier().fit(x, to_categorical(labels), epochs=1, batch_size=4)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("2/2 ━")


def test_verbose_1_on_a_terminal_redraws_in_place(monkeypatch):
    class FakeTerminal(io.StringIO):
        def isatty(self):
            return True

    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    x, labels = two_blobs(8)
    classifier().fit(x, to_categorical(labels), epochs=2, batch_size=4)
    out = terminal.getvalue()
    assert out.startswith("Epoch 1/2\n\r") and "\nEpoch 2/2\n\r" in out and out.endswith("\n")
    final = out.split("\r")[-1]
    assert final.startswith("\x1b[1m2/2\x1b[0m \x1b[32m" + "━" * 20) and " - accuracy: " in final


def test_evaluate_and_predict_print_a_bar(capsys):
    x, labels = two_blobs(8)
    model = classifier()
    model.evaluate(x, to_categorical(labels), batch_size=4)
    model.predict(x, batch_size=4)
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(rf"2/2 ━{{20}} \d+s {STEP_TIME} - accuracy: {VALUE} - loss: {VALUE}", lines[0]), lines[0]
    assert re.fullmatch(rf"2/2 ━{{20}} \d+s {STEP_TIME}", lines[1]), lines[1]


# -- errors -------------------------------------------------------------------------------------------------
def test_integer_labels_with_categorical_crossentropy():
    x, labels = two_blobs(8)
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy.*to_categorical"):
        classifier().fit(x, labels, verbose=0)


def test_sparse_labels_out_of_range():
    x, _ = two_blobs(8)
    with pytest.raises(ValueError, match=r"\[0, 2\).*from 0 to 2"):
        classifier(loss="sparse_categorical_crossentropy").fit(x, np.arange(8) % 3, verbose=0)


def test_x_and_y_lengths_differ():
    x, labels = two_blobs(8)
    with pytest.raises(ValueError, match="8 inputs and 7 targets"):
        classifier().fit(x, to_categorical(labels)[:7], verbose=0)
    with pytest.raises(ValueError, match="8 inputs and 7 targets"):
        classifier().fit(x, to_categorical(labels)[:7], verbose=0, validation_split=0.25)
    with pytest.raises(ValueError, match="8 inputs and 7 targets"):
        classifier().evaluate(x, to_categorical(labels)[:7], verbose=0)


def test_missing_channel_axis_in_fit():
    model = models.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3), layers.Flatten(),
                               layers.Dense(2, activation="softmax")])
    model.compile(loss="categorical_crossentropy")
    with pytest.raises(ValueError) as error:
        model.fit(np.zeros((4, 6, 6), "float32"), np.eye(2)[[0, 1, 0, 1]], verbose=0)
    assert "(None, 6, 6)" in str(error.value) and "(None, 6, 6, 1)" in str(error.value)


def test_fit_before_compile():
    x, labels = two_blobs(8)
    model = models.Sequential([layers.Input((4,)), layers.Dense(2)])
    with pytest.raises(RuntimeError, match=r"compiled before fit\(\)"):
        model.fit(x, labels)
    with pytest.raises(RuntimeError, match=r"compiled before evaluate\(\)"):
        model.evaluate(x, labels)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"verbose": 3}, "verbose=3"),
    ({"batch_size": 0}, "batch_size=0"),
    ({"validation_split": 1.0}, "validation_split=1.0"),
    ({"validation_split": 0.9}, "leaves no training samples"),
])
def test_bad_fit_arguments(kwargs, fragment):
    x, labels = two_blobs(8)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        classifier().fit(x, to_categorical(labels), **kwargs)


def test_compile_needs_a_loss():
    with pytest.raises(ValueError, match="needs a loss"):
        models.Sequential([layers.Dense(2)]).compile(optimizer="adam")


def test_cnnkit_seed_in_the_environment_seeds_a_program_on_import(tmp_path):
    """CNNKIT_SEED makes a program that never seeds repeat (the seed end-to-end test relies on it)."""
    program = "import cnnkit, torch; print(torch.rand(1).item())"
    run = lambda seed: subprocess.run([sys.executable, "-c", program], env={**os.environ, "CNNKIT_SEED": seed},  # noqa: E731
                                      capture_output=True, text=True)
    assert run("5").stdout == run("5").stdout != run("6").stdout
    failed = run("five")
    assert failed.returncode != 0 and "CNNKIT_SEED must be an integer; found 'five'" in failed.stderr


def test_fit_validation_calls_the_test_hooks_as_keras_does():
    """Keras 3.15 (printed): epoch_begin, test_begin, test_batch_end x2 (accuracy, loss),
    test_end (accuracy, loss), epoch_end (accuracy, loss, val_accuracy, val_loss)."""
    x, labels = two_blobs(10)
    received = []

    class Hooks(Callback):
        def on_test_batch_end(self, batch, logs=None):
            received.append(("test_batch_end", batch, sorted(logs)))

        def on_test_end(self, logs=None):
            received.append(("test_end", sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            received.append(("epoch_end", sorted(logs)))

    classifier().fit(x, to_categorical(labels), batch_size=4, epochs=1, verbose=0, callbacks=[Hooks()],
                     validation_data=(x[:6], to_categorical(labels[:6])))
    assert received == [("test_batch_end", 0, ["accuracy", "loss"]), ("test_batch_end", 1, ["accuracy", "loss"]),
                        ("test_end", ["accuracy", "loss"]),
                        ("epoch_end", ["accuracy", "loss", "val_accuracy", "val_loss"])]


def test_numpy_integers_are_accepted_wherever_keras_takes_ints():
    """Issue 9: batch_size=np.int64(32), epochs, steps and layer sizes as NumPy integers."""
    x, labels = two_blobs(8)
    model = models.Sequential([layers.Input((4,)), layers.Dense(np.int64(2), activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    history = model.fit(x, to_categorical(labels), batch_size=np.int64(4), epochs=np.int32(2),
                        steps_per_epoch=np.int64(2), verbose=0)
    assert len(history.history["loss"]) == 2 and model.optimizer.iterations == 4
    assert model.predict(x, batch_size=np.int16(3), verbose=0).shape == (8, 2)
    with pytest.raises(ValueError, match="`epochs` must be an int >= 0. Received: epochs=1.5"):
        model.fit(x, to_categorical(labels), epochs=1.5, verbose=0)


def test_an_empty_predict_has_the_output_shape():
    """Issue 9: predict on no samples gives (0, classes), not (0,)."""
    model = models.Sequential([layers.Input((4,)), layers.Dense(3)])
    assert model.predict(np.zeros((0, 4), "float32"), verbose=0).shape == (0, 3)
