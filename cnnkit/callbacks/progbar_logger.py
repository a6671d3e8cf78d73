"""Prints `Epoch 1/5` and a Keras progress bar for fit, evaluate and predict."""

import sys

from cnnkit.callbacks.callback import Callback
from cnnkit.callbacks.progbar import Progbar


class ProgbarLogger(Callback):
    """Draws each epoch's progress (and evaluate's, predict's) from the logs.

    `self.params["steps"]` is the number of steps of the loop being drawn.
    """

    def __init__(self, verbose=1, stream=None):
        super().__init__()
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.progbar = None
        self.in_fit = False  # fit's validation pass calls the on_test_* hooks: not drawn, as in Keras

    def start(self):
        self.progbar = Progbar(self.params["steps"], verbose=self.verbose, stream=self.stream)

    def on_train_begin(self, logs=None):
        self.in_fit = True

    def on_train_end(self, logs=None):
        self.in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.params["epochs"] > 1:  # Keras prints no "Epoch 1/1"
            self.stream.write(f"Epoch {epoch + 1}/{self.params['epochs']}\n")
        self.start()

    def on_train_batch_end(self, batch, logs=None):
        self.progbar.update(batch + 1, lambda: dict(logs), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self.progbar.update(self.params["steps"], dict(logs), finalize=True)

    def on_test_begin(self, logs=None):
        if not self.in_fit:
            self.start()

    def on_test_batch_end(self, batch, logs=None):
        if not self.in_fit:
            self.progbar.update(batch + 1, lambda: dict(logs), finalize=False)

    def on_test_end(self, logs=None):
        if not self.in_fit:
            self.progbar.update(self.params["steps"], dict(logs or {}), finalize=True)

    def on_predict_begin(self, logs=None):
        self.start()

    def on_predict_batch_end(self, batch, logs=None):
        self.progbar.update(batch + 1, finalize=False)

    def on_predict_end(self, logs=None):
        self.progbar.update(self.params["steps"], finalize=True)
