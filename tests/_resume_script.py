"""Trains a tiny model for 6 epochs with BackupAndRestore; run by test_backup_and_restore.py.

Usage: python _resume_script.py BACKUP_DIR STALL_AFTER
Prints "begin N" / "done N" (epochs from 1) as they happen; after epoch STALL_AFTER (0: never)
it sleeps, so that the test can kill it there with SIGKILL. Prints the final history as JSON.
"""

import json
import sys
import time

import numpy as np
import torch

import cnnkit
from cnnkit import layers, models
from cnnkit.callbacks import BackupAndRestore, Callback


class Report(Callback):
    def __init__(self, stall_after):
        super().__init__()
        self.stall_after = stall_after

    def on_epoch_begin(self, epoch, logs=None):
        print(f"begin {epoch + 1}", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        print(f"done {epoch + 1}", flush=True)
        if epoch + 1 == self.stall_after:
            time.sleep(300)


def main(backup_dir, stall_after):
    torch.set_num_threads(1)
    cnnkit.set_device("cpu")
    cnnkit.set_random_seed(0)
    generator = np.random.default_rng(0)
    x = generator.random((64, 4, 4, 1), dtype=np.float32)
    y = np.eye(2, dtype=np.float32)[generator.integers(0, 2, 64)]
    model = models.Sequential([layers.Input((4, 4, 1)), layers.Conv2D(3, 3, activation="relu"), layers.Flatten(),
                               layers.Dropout(0.3), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=6, batch_size=16, verbose=0,
                        callbacks=[BackupAndRestore(backup_dir), Report(stall_after)])
    print("history " + json.dumps({"epoch": history.epoch, "history": history.history}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
