"""Shared fixtures: predictable layer names, the CPU, seeded generators."""

import pytest

import cnnkit
from cnnkit.utils import naming


@pytest.fixture
def fresh_names(monkeypatch):
    """Automatic names start over (conv2d, conv2d_1, ...) as in a new Keras process."""
    monkeypatch.setattr(naming, "_name_counts", type(naming._name_counts)())


@pytest.fixture
def seeded():
    """Seeds Python, NumPy and torch so that a test's random numbers repeat."""
    cnnkit.set_random_seed(1234)


@pytest.fixture(autouse=True, scope="session")
def on_cpu():
    cnnkit.set_device("cpu")
