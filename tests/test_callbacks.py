"""The Keras callbacks against Keras's own behaviour: scripted metric sequences (expected values
recorded from keras 3's callbacks on the same sequences) and tiny real fits."""

import math
import os

import numpy as np
import pytest

from cnnkit import layers, metrics, models, optimizers
from cnnkit.callbacks import (
    Callback, CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau, TensorBoard,
    TerminateOnNaN, tensorboard,
)

VAL_LOSS = [1.0, 0.8, 0.85, 0.9, 0.7, 0.75, 0.76, 0.77, 0.78, 0.79]
VAL_ACCURACY = [0.5, 0.6, 0.6, 0.65, 0.64, 0.63, 0.7, 0.69, 0.68, 0.67]


# ------------------------------------------------------------------ a scripted loop
class FakeOptimizer:
    def __init__(self, learning_rate):
        self.learning_rate = learning_rate


class FakeModel:
    """Weights are the index of the last finished epoch, so restored weights name the epoch."""

    def __init__(self):
        self.stop_training = False
        self.weights = -1
        self.optimizer = FakeOptimizer(1.0)

    def get_weights(self):
        return [np.array(self.weights)]

    def set_weights(self, weights):
        self.weights = int(weights[0])


def drive(callback, key, values):
    """fit's epoch loop over scripted logs; returns (epochs run, final weights, lr after each epoch)."""
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    learning_rates = []
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        model.weights = epoch
        callback.on_epoch_end(epoch, {key: value})
        learning_rates.append(model.optimizer.learning_rate)
        if model.stop_training:
            break
    callback.on_train_end()
    return len(learning_rates), model.weights, learning_rates


# Each expectation is what keras 3.x's callback does on the same sequence.
@pytest.mark.parametrize("callback, key, values, epochs_run, final_weights", [
    (EarlyStopping(patience=2, restore_best_weights=True), "val_loss", VAL_LOSS, 4, 1),
    (EarlyStopping(), "val_loss", VAL_LOSS, 3, 2),
    (EarlyStopping(patience=1, min_delta=0.06, restore_best_weights=True), "val_loss", VAL_LOSS, 3, 1),
    (EarlyStopping(patience=3, baseline=0.5, restore_best_weights=True), "val_loss", VAL_LOSS, 3, 1),
    (EarlyStopping(start_from_epoch=3, restore_best_weights=True), "val_loss", VAL_LOSS, 6, 4),
    (EarlyStopping(monitor="val_accuracy", patience=2, restore_best_weights=True), "val_accuracy", VAL_ACCURACY, 6, 3),
])
def test_early_stopping_matches_keras(callback, key, values, epochs_run, final_weights):
    assert drive(callback, key, values)[:2] == (epochs_run, final_weights)


@pytest.mark.parametrize("callback, learning_rates", [
    (ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.2), [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2]),
    (ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_delta=0),
     [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625]),
])
def test_reduce_lr_on_plateau_matches_keras(callback, learning_rates):
    assert drive(callback, "val_loss", VAL_LOSS)[2] == learning_rates


def test_auto_mode_maximises_accuracies_and_minimises_the_rest():
    assert EarlyStopping(monitor="val_acc").mode == "max"
    assert EarlyStopping(monitor="categorical_accuracy").mode == "max"
    assert EarlyStopping(monitor="val_mae").mode == "min"
    with pytest.warns(UserWarning, match="EarlyStopping mode 'sideways' is unknown, fallback to auto mode"):
        assert EarlyStopping(monitor="loss", mode="sideways").mode == "min"


def test_reduce_lr_rejects_a_factor_of_one_or_more():
    with pytest.raises(ValueError, match="does not support a factor >= 1.0. Received factor=1.5"):
        ReduceLROnPlateau(factor=1.5)


# ---------------------------------------------------------------- tiny real fits
def tiny_classifier(learning_rate=0.01):
    model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(learning_rate=learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def tiny_data(n=32):
    generator = np.random.default_rng(0)
    return generator.random((n, 4), dtype=np.float32), np.eye(3, dtype=np.float32)[generator.integers(0, 3, n)]


class Scripted(Callback):
    """Puts a scripted value under `key` in each epoch's logs, ahead of the callbacks that read it."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class WeightsPerEpoch(Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def test_early_stopping_in_fit_stops_and_restores_the_best_weights(capsys):
    model, (x, y), recorder = tiny_classifier(), tiny_data(), WeightsPerEpoch()
    stop = EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    history = model.fit(x, y, epochs=10, batch_size=8, verbose=0,
                        callbacks=[Scripted("val_loss", VAL_LOSS), recorder, stop])
    assert history.epoch == [0, 1, 2, 3] and len(history.history["loss"]) == 4
    for restored, best in zip(model.get_weights(), recorder.weights[1]):
        assert np.array_equal(restored, best)
    assert capsys.readouterr().out == "Epoch 4: early stopping\nRestoring model weights from the end of the best epoch: 2.\n"


def test_a_missing_monitor_warns_naming_the_available_keys():
    model, (x, y) = tiny_classifier(), tiny_data()
    with pytest.warns(UserWarning, match=r"Early stopping is conditioned on metric `val_loss` which is not "
                                         r"available. Available metrics are: accuracy,loss"):
        history = model.fit(x, y, epochs=2, verbose=0, callbacks=[EarlyStopping()])
    assert len(history.epoch) == 2


def test_reduce_lr_on_plateau_halves_the_rate_at_the_right_epoch(capsys):
    model, (x, y) = tiny_classifier(0.01), tiny_data()
    reduce = ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.002, verbose=1)
    history = model.fit(x, y, epochs=10, batch_size=8, verbose=0, callbacks=[Scripted("val_loss", VAL_LOSS), reduce])
    assert history.history["learning_rate"] == pytest.approx(
        [0.01, 0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.0025, 0.0025, 0.002])
    assert model.optimizer.learning_rate == pytest.approx(0.002)
    assert "\nEpoch 4: ReduceLROnPlateau reducing learning rate to 0.005.\n" in capsys.readouterr().out


@pytest.mark.parametrize("callback", [ReduceLROnPlateau(monitor="loss", patience=0),
                                      LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
def test_a_learning_rate_schedule_is_never_replaced_by_a_callback(callback):
    """Keras raises TypeError ("... hence its learning rate is not settable") for these with a schedule
    (checked with Keras 3.15); cnnkit raises it before the first step instead of after epochs of training."""
    from cnnkit.optimizers.schedules import OneCycle

    model, (x, y) = tiny_classifier(), tiny_data()
    schedule = OneCycle(0.01, total_steps=8)
    model.compile(optimizer=optimizers.SGD(learning_rate=schedule), loss="categorical_crossentropy")
    before = model.get_weights()
    with pytest.raises(TypeError, match=rf"^{type(callback).__name__} cannot set the learning rate of optimizer "
                                        r"'sgd': it was created with a learning-rate schedule"):
        model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[callback])
    assert model.optimizer._schedule is schedule
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)  # not one step taken


def test_learning_rate_scheduler_as_in_the_keras_example():
    model, (x, y) = tiny_classifier(0.01), tiny_data(5)
    schedule = LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * math.exp(-0.1))
    history = model.fit(x, y, epochs=15, verbose=0, callbacks=[schedule])
    assert round(model.optimizer.learning_rate, 5) == 0.00607  # Keras's docstring example
    assert history.history["learning_rate"][9:11] == pytest.approx([0.01, 0.01 * math.exp(-0.1)])


def test_learning_rate_scheduler_takes_one_argument_schedules_and_rejects_ints():
    model, (x, y) = tiny_classifier(), tiny_data(8)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))])
    assert model.optimizer.learning_rate == pytest.approx(0.05)
    with pytest.raises(ValueError, match="The output of the `schedule` function should be a float. Got: 1"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda epoch, lr: 1)])


# ----------------------------------------------------------------------- CSVLogger
def drive_rows(callback, rows, first_epoch=0):
    callback.on_train_begin()
    for epoch, row in enumerate(rows, first_epoch):
        callback.on_epoch_end(epoch, dict(row))
    callback.on_train_end()


def test_csv_logger_writes_what_keras_writes(tmp_path):
    path = tmp_path / "log.csv"
    drive_rows(CSVLogger(path), [{"loss": 0.5, "accuracy": 0.25}, {"loss": 0.125, "accuracy": 0.75}])
    assert path.read_bytes() == b"epoch,accuracy,loss,val_accuracy,val_loss\r\n0,0.25,0.5,NA,NA\r\n1,0.75,0.125,NA,NA\r\n"
    drive_rows(CSVLogger(path, append=True), [{"loss": 0.1, "accuracy": 0.9}], first_epoch=2)
    assert path.read_bytes().endswith(b"1,0.75,0.125,NA,NA\r\n2,0.9,0.1,NA,NA\r\n")
    drive_rows(CSVLogger(tmp_path / "semi.csv", separator=";"), [{"loss": 0.5, "val_loss": 0.625}])
    assert (tmp_path / "semi.csv").read_bytes() == b"epoch;loss;val_loss\r\n0;0.5;0.625\r\n"


def test_csv_logger_in_fit(tmp_path):
    model, (x, y) = tiny_classifier(), tiny_data()
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25, callbacks=[CSVLogger(tmp_path / "fit.csv")])
    lines = (tmp_path / "fit.csv").read_text().splitlines()
    assert lines[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert [float(v) for v in lines[3].split(",")[1:]] == [history.history[k][2] for k in
                                                           ("accuracy", "loss", "val_accuracy", "val_loss")]


# ------------------------------------------------------------------ TerminateOnNaN
def data_with_nan_in_batch(batch, batch_size=4, n=96):
    x, y = tiny_data(n)
    x[batch * batch_size + 1, 2] = np.nan
    return x, y


def test_terminate_on_nan_names_batch_and_epoch(capsys):
    model = tiny_classifier()
    x, y = data_with_nan_in_batch(16)
    with pytest.warns(RuntimeWarning, match="Epoch 1: the training loss is nan"):
        history = model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0, callbacks=[TerminateOnNaN()])
    assert capsys.readouterr().out == "Batch 17 of epoch 1: invalid loss nan, terminating training\n"
    assert history.epoch == [0]


def test_terminate_on_nan_in_a_later_epoch_can_raise():
    class PoisonAtEpoch3(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                self.model.set_weights([np.full_like(w, np.inf) for w in self.model.get_weights()])

    model, (x, y) = tiny_classifier(), tiny_data()
    with pytest.raises(RuntimeError, match="Batch 1 of epoch 3: invalid loss nan, terminating training"):
        model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[PoisonAtEpoch3(), TerminateOnNaN(raise_error=True)])


def test_fit_warns_of_a_nan_epoch_without_reading_the_loss_every_batch(monkeypatch):
    reads = []
    real_result = metrics.Mean.result
    monkeypatch.setattr(metrics.Mean, "result", lambda self: reads.append(self.name) or real_result(self))
    model = tiny_classifier()
    x, y = data_with_nan_in_batch(3)
    with pytest.warns(RuntimeWarning) as warned:
        model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert [str(w.message).split(";")[0] for w in warned] == [
        "Epoch 1: the training loss is nan", "Epoch 2: the training loss is nan"]
    assert warned[0].filename == __file__  # points at the caller's fit
    assert reads.count("loss") == 2  # once per epoch (24 batches per epoch): no per-batch sync


# ------------------------------------------------------------------ ModelCheckpoint
def test_model_checkpoint_saves_only_improvements_with_formatted_names(tmp_path, capsys):
    model, (x, y) = tiny_classifier(), tiny_data()
    pattern = str(tmp_path / "ckpt" / "epoch{epoch:02d}-{val_loss:.2f}.cnnkit")
    best = ModelCheckpoint(pattern, save_best_only=True, verbose=1)
    model.fit(x, y, epochs=4, verbose=0, callbacks=[Scripted("val_loss", [1.0, 0.8, 0.85, 0.7]), best])
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["epoch01-1.00.cnnkit", "epoch02-0.80.cnnkit", "epoch04-0.70.cnnkit"]
    restored = models.load_model(tmp_path / "ckpt" / "epoch04-0.70.cnnkit")
    assert np.array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    out = capsys.readouterr().out
    assert "\nEpoch 3: val_loss did not improve from 0.80000\n" in out
    assert "\nEpoch 4: val_loss improved from 0.80000 to 0.70000, saving model to " in out


def test_model_checkpoint_weights_only_every_epoch_and_every_n_batches(tmp_path):
    model, (x, y) = tiny_classifier(), tiny_data()
    every_epoch = ModelCheckpoint(tmp_path / "w{epoch}.safetensors", save_weights_only=True)
    every_3_batches = ModelCheckpoint(tmp_path / "b-{epoch}-{batch}.safetensors", save_weights_only=True, save_freq=3)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[every_epoch, every_3_batches])
    assert sorted(os.listdir(tmp_path)) == ["b-1-3.safetensors", "b-2-2.safetensors", "w1.safetensors",
                                            "w2.safetensors"]
    fresh = tiny_classifier()
    fresh.load_weights(tmp_path / "w2.safetensors")
    assert np.array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_checkpoint_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"must end in `.keras` or `.cnnkit` for a whole model. Received: filepath=best.h5"):
        ModelCheckpoint("best.h5")
    with pytest.raises(ValueError, match=r"must end in `.weights.h5` or `.safetensors` with `save_weights_only=True`"):
        ModelCheckpoint("best.keras", save_weights_only=True)
    with pytest.raises(ValueError, match="Unrecognized save_freq: 'batch'"):
        ModelCheckpoint("best.cnnkit", save_freq="batch")
    model, (x, y) = tiny_classifier(), tiny_data()
    with pytest.raises(KeyError, match=r'Failed to format this callback filepath: ".*\{val_auc\}.cnnkit"'):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path / "{val_auc}.cnnkit"))])


# ---------------------------------------------------------------------- TensorBoard
def test_tensorboard_without_the_package_says_how_to_install_it():
    try:
        import tensorboard as _  # noqa: F401
        pytest.skip("tensorboard is installed here")
    except ImportError:
        pass
    with pytest.raises(ImportError, match=r"needs the `tensorboard` package.*pip install tensorboard"):
        TensorBoard("logs")


def test_tensorboard_writes_epoch_scalars_per_run(tmp_path, monkeypatch):
    written = []

    class FakeWriter:
        def __init__(self, log_dir):
            self.log_dir = log_dir

        def add_scalar(self, tag, value, step):
            written.append((os.path.basename(self.log_dir), tag, step))

        def flush(self): ...
        def close(self): ...

    monkeypatch.setattr(tensorboard, "summary_writer_class", lambda: FakeWriter)
    model, (x, y) = tiny_classifier(), tiny_data()
    model.fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[TensorBoard(tmp_path)])
    assert ("train", "epoch_loss", 1) in written and ("validation", "epoch_accuracy", 0) in written
    assert len(written) == 8
