"""Models: Sequential, and (later) saving and loading."""

from cnnkit.models.sequential import Sequential

__all__ = ["Sequential"]
