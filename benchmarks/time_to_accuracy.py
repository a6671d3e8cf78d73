"""Seconds of training `cnnkit.recipes.mnist_fast` needs to reach 99.0 % and 99.2 % MNIST test accuracy.

Run from the project root (about a minute per seed on a quiet 2-core machine):

    CNNKIT_DATA=../shared/datasets .venv/bin/python benchmarks/time_to_accuracy.py --seeds 0 1 2

For each seed: the training seconds of the whole recipe and its final test accuracy, and the
training seconds at which the test accuracy, checked every `--check-every` steps with the clock
paused, first reached each target.
"""

import argparse
import os
import sys
import time

import torch

import cnnkit
from cnnkit.callbacks import Callback
from cnnkit.datasets import mnist
from cnnkit.recipes import mnist_fast
from cnnkit.utils import to_categorical

TARGETS = (0.990, 0.992)


def test_accuracy(model, x, labels, batch_size=2000):
    """Top-1 accuracy in inference mode; leaves the model in the mode it found it in."""
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        correct = sum(int((model(x[i:i + batch_size]).argmax(-1) == labels[i:i + batch_size]).sum())
                      for i in range(0, len(x), batch_size))
    model.train(was_training)
    return correct / len(x)


class TimeToAccuracy(Callback):
    """Checks the test accuracy every `every` steps with the clock stopped; records when each target is met."""

    def __init__(self, x_test, labels, every):
        super().__init__()
        self.x_test, self.labels, self.every = x_test, labels, every
        self.reached = {}
        self.step = 0

    def on_train_begin(self, logs=None):
        self.start, self.paused = time.perf_counter(), 0.0

    def training_seconds(self):
        return time.perf_counter() - self.start - self.paused

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0 and len(self.reached) < len(TARGETS):
            self.check()

    def on_train_end(self, logs=None):
        self.seconds = self.training_seconds()
        self.check()

    def check(self):
        seconds, pause_start = self.training_seconds(), time.perf_counter()
        self.accuracy = test_accuracy(self.model, self.x_test, self.labels)
        for target in TARGETS:
            if self.accuracy >= target and target not in self.reached:
                self.reached[target] = seconds
        self.paused += time.perf_counter() - pause_start


def load():
    (x, y), (x_test, y_test) = mnist.load_data()
    scale = lambda images: torch.from_numpy(images.reshape(-1, 28, 28, 1).astype("float32") / 255)  # noqa: E731
    return scale(x), torch.from_numpy(to_categorical(y)), scale(x_test), torch.from_numpy(y_test.astype("int64"))


def run(seed, data, check_every):
    x, y, x_test, labels = data
    model, fit_kwargs = mnist_fast(seed=seed, train_size=len(x))
    timer = TimeToAccuracy(x_test, labels, check_every)
    model.fit(x, y, verbose=0, callbacks=[timer], **fit_kwargs)
    return timer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--check-every", type=int, default=94, help="steps between accuracy checks (default 94)")
    args = parser.parse_args(argv)
    cnnkit.set_device("cpu")
    data = load()
    print(f"mnist_fast: {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.2f}", flush=True)
    for seed in args.seeds:
        timer = run(seed, data, args.check_every)
        targets = ", ".join(f"{target:.1%} at {timer.reached[target]:.1f} s" if target in timer.reached
                            else f"{target:.1%} not reached" for target in TARGETS)
        print(f"seed {seed}: trained {timer.seconds:.1f} s, test accuracy {timer.accuracy:.4f}; {targets}; "
              f"load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
