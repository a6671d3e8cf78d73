"""The one error a broken, tampered or incompatible model file raises."""


class ModelFileError(ValueError):
    """A model or weights file cannot be loaded: the message names the file, the entry and the problem.

    Example:
        >>> raise ModelFileError("digits.cnnkit: entry 'config.json' is not valid JSON")  # doctest: +SKIP
    """
