"""Backs training up every epoch and resumes from the backup after an interruption."""

import json
import os

import torch

from cnnkit.callbacks.callback import Callback
from cnnkit.distributed import is_main_process
from cnnkit.engine.device import get_device
from cnnkit.saving.errors import ModelFileError
from cnnkit.saving.model_file import restore_model_state, save_model
from cnnkit.saving.weights import tensors_from_bytes, tensors_to_bytes

BACKUP_FILE = "latest.cnnkit"
TRAINING_STATE = "training_state.json"
RNG_STATE = "rng_state.safetensors"


def get_rng_state():
    """torch's random state (CPU, and the current CUDA device's when on CUDA): shuffling and dropout resume alike."""
    state = {"cpu": torch.get_rng_state()}
    if get_device().type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(get_device())
    return state


def set_rng_state(state):
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and get_device().type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], get_device())


class BackupAndRestore(Callback):
    """Keras's `BackupAndRestore`: survive a killed process without losing finished epochs.

    At the end of each epoch (or every `save_freq` batches) it writes one file,
    `backup_dir/latest.cnnkit`, atomically: the weights, the optimizer's state, the number
    of finished epochs, the history so far and torch's random state. When `fit` starts and
    that file exists, it restores all of it and `fit` continues with the next epoch, ending
    at the same `epochs` as an uninterrupted run; the history then holds every epoch.

    Args:
        backup_dir: str or path of the folder for the backup (created when needed).
        save_freq: "epoch", or an int: also back up every that many batches (a resumed run
            then restarts the interrupted epoch from its beginning, as in Keras).
        delete_checkpoint: bool, delete the backup when training finishes. Default True.

    The resume hook: in `on_train_begin` this callback sets `model._initial_epoch`, which
    `fit` reads right after `on_train_begin` as the first epoch to run.

    Example:
        >>> backup = BackupAndRestore("run/backup")
        >>> model.fit(x, y, epochs=20, callbacks=[backup])  # doctest: +SKIP
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool) or save_freq < 1):
            raise ValueError(
                f"Invalid value for argument `save_freq`. Received: save_freq={save_freq!r}. "
                "Expected either 'epoch' or a positive int."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.backup_path = os.path.join(self.backup_dir, BACKUP_FILE)
        self.completed_epochs = 0
        self.batches_since_save = 0

    def on_train_begin(self, logs=None):
        if not os.path.exists(self.backup_path):
            return
        entries = restore_model_state(self.model, self.backup_path, extra_entries=(TRAINING_STATE, RNG_STATE))
        state = self.read_training_state(entries)
        self.completed_epochs = state["epoch"]
        if self.model.history is not None:
            self.model.history.history = state["history"]
            self.model.history.epoch = state["history_epochs"]
        if RNG_STATE in entries:
            set_rng_state(tensors_from_bytes(entries[RNG_STATE], f"{self.backup_path}: {RNG_STATE}"))
        self.model._initial_epoch = self.completed_epochs

    def read_training_state(self, entries):
        where = f"{self.backup_path}: {TRAINING_STATE}"
        if TRAINING_STATE not in entries:
            raise ModelFileError(f"{self.backup_path}: missing entry '{TRAINING_STATE}'; not a BackupAndRestore backup.")
        try:
            state = json.loads(entries[TRAINING_STATE])
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ModelFileError(f"{where}: not valid JSON: {error}") from error
        if not isinstance(state, dict) or not isinstance(state.get("epoch"), int) \
                or not isinstance(state.get("history"), dict) or not isinstance(state.get("history_epochs"), list):
            raise ModelFileError(f"{where}: expected keys 'epoch' (int), 'history' (dict), 'history_epochs' (list).")
        return state

    def on_epoch_begin(self, epoch, logs=None):
        self.completed_epochs = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self.batches_since_save += 1
        if self.batches_since_save >= self.save_freq:
            self.batches_since_save = 0
            self.back_up()

    def on_epoch_end(self, epoch, logs=None):
        self.completed_epochs = epoch + 1
        if self.save_freq == "epoch":
            self.back_up(logs)

    def back_up(self, epoch_logs=None):
        """Writes the backup file atomically (rank 0 under torchrun); `epoch_logs` are the current
        epoch's, not yet in History."""
        if not is_main_process():
            return
        history = self.model.history
        recorded, epochs = ({}, []) if history is None else (history.history, history.epoch)
        if epoch_logs is not None and self.completed_epochs - 1 not in epochs:
            recorded = {k: list(v) for k, v in recorded.items()}
            for key, value in epoch_logs.items():
                recorded.setdefault(key, []).append(value)
            epochs = [*epochs, self.completed_epochs - 1]
        state = {"epoch": self.completed_epochs, "history": recorded, "history_epochs": list(epochs)}
        os.makedirs(self.backup_dir, exist_ok=True)
        save_model(self.model, self.backup_path, include_optimizer=True, extra_entries={
            TRAINING_STATE: json.dumps(state).encode(),
            RNG_STATE: tensors_to_bytes(get_rng_state()),
        })

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint or not is_main_process():
            return
        if os.path.exists(self.backup_path):
            os.remove(self.backup_path)
        try:
            os.rmdir(self.backup_dir)
        except OSError:  # not empty (other files of the user's) or already gone
            pass
