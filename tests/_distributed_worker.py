"""One process of the distributed tests, started as torchrun would (RANK, WORLD_SIZE, MASTER_*).

Usage: python _distributed_worker.py SCENARIO OUT_DIR
  train: fits, evaluates and predicts on tiny data; writes OUT_DIR/rank<R>.npz
  die:   rank 1 exits in the middle of fit; rank 0 must fail, not hang
  hang:  rank 1 stops responding in the middle of fit; rank 0 must fail after the timeout
  stop:  a callback on rank 1 alone stops training at its third step; both ranks stop there
  batchnorm: trains batch-normalized models, down to last batches of 1 sample (a share of 1 and
         an empty one); writes the weights, moving statistics included
  resume: only rank 0 finds a BackupAndRestore backup (no shared disk); both resume from it
"""

import os
import sys
import time

import numpy as np
import torch

import cnnkit
from cnnkit import callbacks, distributed, layers, models, optimizers

TRAIN_SIZE, EVAL_SIZE, BATCH = 51, 37, 8


def tiny_data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 6, 1)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]
    return x, y


def tiny_model():
    cnnkit.set_random_seed(0)
    model = models.Sequential([
        layers.Input((6, 6, 1)), layers.Conv2D(2, 3, activation="relu"), layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=optimizers.SGD(0.1), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def train(out):
    x, y = tiny_data(TRAIN_SIZE, 1)
    x_test, y_test = tiny_data(EVAL_SIZE, 2)
    model = tiny_model()
    cnnkit.set_random_seed(5)  # rank 0's generator draws the shuffling seeds
    history = model.fit(x, y, batch_size=BATCH, epochs=2, verbose=2)
    model.fit(x[:49], y[:49], batch_size=BATCH, epochs=1, shuffle=False, verbose=0)  # last batch: 1 sample
    scores = model.evaluate(x_test, y_test, batch_size=BATCH, verbose=0)
    predictions = model.predict(x_test, batch_size=BATCH, verbose=0)
    np.savez(os.path.join(out, f"rank{distributed.rank()}.npz"), *model.get_weights(),
             loss=history.history["loss"], accuracy=history.history["accuracy"],
             scores=scores, predictions=predictions)


class FailAt(callbacks.Callback):
    """Rank 1 exits (or hangs) before its third step."""

    def __init__(self, hang):
        super().__init__()
        self.hang = hang

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 2 and distributed.rank() == 1:
            time.sleep(300) if self.hang else os._exit(3)


class StopAt(callbacks.Callback):
    """Rank 1 alone asks to stop after its third step (as TerminateOnNaN would on a local NaN)."""

    def on_train_batch_end(self, batch, logs=None):
        if batch == 2 and distributed.rank() == 1:
            self.model.stop_training = True


def stop(out):
    distributed.configure(timeout=20)
    x, y = tiny_data(TRAIN_SIZE, 1)
    model = tiny_model()
    model.fit(x, y, batch_size=BATCH, epochs=5, verbose=0, callbacks=[StopAt()])
    np.savez(os.path.join(out, f"rank{distributed.rank()}.npz"), iterations=model.optimizer.iterations,
             epochs=len(model.history.epoch))


def batchnorm(out):
    x, y = tiny_data(TRAIN_SIZE, 1)
    cnnkit.set_random_seed(0)
    model = models.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3), layers.BatchNormalization(),
                               layers.Flatten(), layers.Dense(4), layers.BatchNormalization(),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)  # last batch: 3 samples, shares of 2 and 1
    model.fit(x[:49], y[:49], batch_size=BATCH, verbose=0)  # last batch: 1 sample, shares of 1 and 0
    np.savez(os.path.join(out, f"rank{distributed.rank()}.npz"), *model.get_weights())


def resume(out):
    x, y = tiny_data(TRAIN_SIZE, 1)
    model = tiny_model()
    backup = callbacks.BackupAndRestore(os.path.join(out, f"backup{distributed.rank()}"))
    history = model.fit(x, y, batch_size=BATCH, epochs=4, verbose=0, callbacks=[backup])
    np.savez(os.path.join(out, f"rank{distributed.rank()}.npz"), *model.get_weights(),
             epochs=history.epoch)


def fail(out, hang=False):
    distributed.configure(timeout=5)
    x, y = tiny_data(TRAIN_SIZE, 1)
    tiny_model().fit(x, y, batch_size=BATCH, epochs=50, verbose=0, callbacks=[FailAt(hang)])


if __name__ == "__main__":
    torch.set_num_threads(1)
    cnnkit.set_device("cpu")
    scenarios = {"train": train, "stop": stop, "batchnorm": batchnorm, "resume": resume, "die": fail,
                 "hang": lambda out: fail(out, hang=True)}
    scenarios[sys.argv[1]](sys.argv[2])
