"""The sizes model-file readers accept, checked before they work: `set_limits` and `get_limits`.

Every reader of `.cnnkit`, `.keras`, `.weights.h5` and safetensors files checks what the file
declares (zip entry sizes, safetensors and HDF5 headers) against these limits and against the
model's own shapes before it reads any tensor, and reads zip entries in chunks, stopping at the
limit whatever the entry declares: a hostile file costs at most the limit, never what it claims
or expands to. Past a limit, loading raises a `ModelFileError` naming the file, the entry, the
limit and what was found.

| limit                   | default | applies to                                                    |
|-------------------------|---------|---------------------------------------------------------------|
| `max_weights_bytes`     | 16 GiB  | a weights entry or file, uncompressed (safetensors, HDF5)     |
| `max_config_bytes`      | 64 MiB  | a JSON entry (`config.json`, ...) and a safetensors header    |
| `max_compression_ratio` | 100     | uncompressed / compressed size of an entry larger than 16 MiB |

Example:
    >>> previous = set_limits(max_weights_bytes=32 * 2**30)  # a 20 GB model
    >>> get_limits()["max_weights_bytes"] // 2**30
    32
    >>> _ = set_limits(**previous)
"""

GIB, MIB = 2**30, 2**20
RATIO_FREE_BYTES = 16 * MIB  # entries up to this size may compress as well as they like
_DEFAULTS = {"max_weights_bytes": 16 * GIB, "max_config_bytes": 64 * MIB, "max_compression_ratio": 100}
_limits = dict(_DEFAULTS)


def get_limits():
    """The current limits, `{name: value}` (a copy)."""
    return dict(_limits)


def set_limits(max_weights_bytes=None, max_config_bytes=None, max_compression_ratio=None):
    """Changes the limits every model-file reader checks; arguments left None keep their value.

    Args:
        max_weights_bytes: int, largest uncompressed weights entry or file. Default 16 GiB.
        max_config_bytes: int, largest JSON entry or safetensors header. Default 64 MiB.
        max_compression_ratio: number, largest uncompressed / compressed size of a zip entry
            larger than 16 MiB (a zip bomb expands about 1000 times). Default 100.

    Returns:
        The previous limits, as a dict: `set_limits(**previous)` restores them.

    Raises:
        ValueError: a limit that is not a positive number.
    """
    given = {"max_weights_bytes": max_weights_bytes, "max_config_bytes": max_config_bytes,
             "max_compression_ratio": max_compression_ratio}
    for name, value in given.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
            raise ValueError(f"set_limits: {name} must be a positive number. Received: {name}={value!r}")
    previous = get_limits()
    _limits.update({name: value for name, value in given.items() if value is not None})
    return previous
