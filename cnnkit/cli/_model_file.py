"""Opening a `.cnnkit` model file named on the command line."""

from pathlib import Path

from cnnkit.cli._parser import CliError


def open_model(path):
    """The model saved at `path`; a missing file or folder is a one-line CliError."""
    path = Path(path)
    if path.is_dir() and (path / "model.cnnkit").is_file():
        path = path / "model.cnnkit"
    if not path.is_file():
        raise CliError(f"model file not found: '{path}'")
    from cnnkit.models import load_model

    return load_model(path)
