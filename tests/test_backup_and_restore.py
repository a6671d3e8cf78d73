"""BackupAndRestore: a training process killed with SIGKILL resumes at the next epoch."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cnnkit import layers, models
from cnnkit.callbacks import BackupAndRestore, Callback
from cnnkit.saving import ModelFileError

SCRIPT = os.path.join(os.path.dirname(__file__), "_resume_script.py")


def run_to_the_end(command):
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "CNNKIT_DEVICE": "cpu"})
    assert finished.returncode == 0, finished.stderr
    lines = finished.stdout.splitlines()
    return lines, json.loads(lines[-1].removeprefix("history "))


def test_killed_training_resumes_from_the_next_epoch(tmp_path):
    backup = tmp_path / "backup"
    command = [sys.executable, SCRIPT, str(backup), "3"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, "CNNKIT_DEVICE": "cpu"})
    try:
        seen = []
        for line in process.stdout:
            seen.append(line.strip())
            if line.strip() == "done 3":
                break
        process.kill()  # SIGKILL: no cleanup runs
    finally:
        process.wait(timeout=30)
        process.stdout.close()
    assert seen[-2:] == ["begin 3", "done 3"] and os.listdir(backup) == ["latest.cnnkit"]

    lines, resumed = run_to_the_end(command)  # the same command again
    assert lines[:-1] == ["begin 4", "done 4", "begin 5", "done 5", "begin 6", "done 6"]
    assert resumed["epoch"] == [0, 1, 2, 3, 4, 5]
    assert all(len(values) == 6 for values in resumed["history"].values())
    assert not backup.exists()  # deleted when training finished

    _, uninterrupted = run_to_the_end([sys.executable, SCRIPT, str(tmp_path / "other"), "0"])
    assert resumed == uninterrupted  # weights, optimizer and random state all resumed exactly


def tiny_model():
    model = models.Sequential([layers.Input((3,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


class InterruptAfter(Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_in_process_resume_keeps_history_and_optimizer_state(tmp_path):
    x, y = np.ones((8, 3), np.float32), np.eye(2, dtype=np.float32)[[0, 1] * 4]
    model = tiny_model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=4, verbose=0, callbacks=[BackupAndRestore(tmp_path / "b"), InterruptAfter(1)])
    saved_iterations = model.optimizer.iterations
    model = tiny_model()  # a new process would build a fresh model: new names, fresh weights
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[BackupAndRestore(tmp_path / "b", delete_checkpoint=False)])
    assert history.epoch == [0, 1, 2, 3] and len(history.history["loss"]) == 4
    assert saved_iterations == 2 and model.optimizer.iterations == 4
    assert os.listdir(tmp_path / "b") == ["latest.cnnkit"]


def test_a_broken_backup_is_a_clear_error(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "latest.cnnkit").write_bytes(b"half a file")
    with pytest.raises(ModelFileError, match=r"latest.cnnkit: not a readable cnnkit model file"):
        tiny_model().fit(np.ones((2, 3)), np.eye(2), verbose=0, callbacks=[BackupAndRestore(tmp_path / "b")])


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="Empty `backup_dir` argument passed"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="Received: save_freq='batch'"):
        BackupAndRestore("b", save_freq="batch")


def test_batch_backups_restart_the_interrupted_epoch(tmp_path):
    class InterruptAtBatch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations == 6:  # epoch 2 (from 1), batch 2
                raise KeyboardInterrupt

    x, y = np.ones((8, 3), np.float32), np.eye(2, dtype=np.float32)[[0, 1] * 4]
    model = tiny_model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=3, batch_size=2, verbose=0,
                  callbacks=[BackupAndRestore(tmp_path / "b", save_freq=2), InterruptAtBatch()])
    model = tiny_model()
    history = model.fit(x, y, epochs=3, batch_size=2, verbose=0, callbacks=[BackupAndRestore(tmp_path / "b")])
    assert history.epoch == [0, 1, 2]
    assert model.optimizer.iterations == 6 + 8  # resumed at the backup after 6 steps, then epochs 2 and 3 again
