"""Automatic, process-unique names in Keras's style: conv2d, conv2d_1, ..."""

import collections
import re

_name_counts = collections.Counter()


def to_snake_case(name):
    """'MaxPooling2D' -> 'max_pooling2d', as Keras names layers."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix):
    """The first call for a prefix returns it as is, later ones add _1, _2, ..."""
    count = _name_counts[prefix]
    _name_counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"
