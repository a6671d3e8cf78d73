"""Models: the `Model` base, Functional and Sequential models, and loading saved ones."""

from cnnkit.models.functional import Functional
from cnnkit.models.model import Model
from cnnkit.models.sequential import Sequential
from cnnkit.saving import load_model

__all__ = ["Functional", "Model", "Sequential", "load_model"]
