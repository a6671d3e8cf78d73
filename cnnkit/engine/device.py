"""Where tensors live: CUDA when available, else CPU.

The one way to choose is `cnnkit.set_device(...)`; its starting value comes from the
environment variable `CNNKIT_DEVICE` (e.g. `CNNKIT_DEVICE=cpu`), else "cuda" if torch
sees a GPU, else "cpu".
"""

import os

import torch

_device = None


def set_device(device):
    """Makes `device` ("cpu", "cuda", "cuda:1", a torch.device) the default for new work.

    Example:
        >>> import cnnkit
        >>> cnnkit.set_device("cpu")
    """
    global _device
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"Unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'.") from error
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"Device {device!r} was asked for, but torch sees no CUDA GPU here.")
    _device = chosen


def get_device():
    """The device new models and data go to."""
    if _device is None:
        set_device(os.environ.get("CNNKIT_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu"))
    return _device
