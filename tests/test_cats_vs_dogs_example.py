"""examples/cats_vs_dogs.py learns from image folders: a few epochs, test accuracy clearly above chance."""

import importlib.util
import os
import pathlib

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "cats_vs_dogs.py"


@pytest.mark.slow
def test_cats_vs_dogs_learns_from_folders(tmp_path):
    spec = importlib.util.spec_from_file_location("cats_vs_dogs", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    if not os.path.exists(example.CIFAR_ZIP):
        pytest.skip(f"{example.CIFAR_ZIP} is missing")
    data = example.extract_cats_and_dogs(str(tmp_path / "data"))
    assert sorted(os.listdir(data)) == ["test", "train", "validation"]
    test_accuracy = example.main(data, epochs=6, image_size=32, workdir=str(tmp_path))  # measured: 0.608
    assert (tmp_path / "best.keras").exists() and test_accuracy > 0.57
