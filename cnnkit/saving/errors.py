"""The one error a broken, tampered or incompatible model file raises."""

import contextlib


class ModelFileError(ValueError):
    """A model or weights file cannot be loaded: the message names the file, the entry and the problem.

    Example:
        >>> raise ModelFileError("digits.cnnkit: entry 'config.json' is not valid JSON")  # doctest: +SKIP
    """


# What code that rebuilds a model from well-formed JSON raises on hostile JSON: a list where a dict
# belongs, a string for a size, a size too large for torch, a missing key.
_MALFORMED = (TypeError, AttributeError, KeyError, IndexError, ValueError, OverflowError, RuntimeError)


@contextlib.contextmanager
def malformed_entry(where):
    """Turns the errors that rebuilding a model from a malformed config raises into a ModelFileError
    naming `where` (the file and entry) and the error.

    Example:
        >>> with malformed_entry("m.keras: config.json"):
        ...     {"units": 3}["filters"]
        Traceback (most recent call last):
        cnnkit.saving.errors.ModelFileError: m.keras: config.json: malformed entry (KeyError: 'filters')
    """
    try:
        yield
    except ModelFileError:
        raise
    except _MALFORMED as error:
        raise ModelFileError(f"{where}: malformed entry ({type(error).__name__}: {error})") from error
