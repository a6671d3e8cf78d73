"""Models: Sequential, and loading saved models (`load_model`)."""

from cnnkit.models.sequential import Sequential
from cnnkit.saving import load_model

__all__ = ["Sequential", "load_model"]
