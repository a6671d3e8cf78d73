"""Keras callbacks: hooks into fit, evaluate and predict."""

from cnnkit.callbacks.callback import Callback, CallbackList
from cnnkit.callbacks.history import History
from cnnkit.callbacks.progbar_logger import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger"]
