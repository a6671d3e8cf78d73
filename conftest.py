"""For the doctests in cnnkit/: the dataset loaders' examples run offline.

`mnist.load_data()` and `fashion_mnist.load_data()` download their files when nothing local
holds them. Their doctests use `$CNNKIT_DATA`, else the shared datasets folder beside the
project (`../shared/datasets`), else the cache; with none of these they are skipped, and a
download is never tried (`$CNNKIT_DATASETS_URL` points at a closed local port meanwhile).
"""

import os
from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parent.parent / "shared" / "datasets"
OFFLINE_URL = "http://127.0.0.1:9/"  # the discard port: refused at once


@pytest.fixture(autouse=True)
def _dataset_doctests_offline(request, monkeypatch):
    """Runs a dataset loader's doctest on local files only (see the module docstring)."""
    module = _dataset_module(request.node)
    if module is None:
        return
    from cnnkit.datasets._download import cache_dir

    def holds_all(folder):
        return all((folder / module._FOLDER / name).is_file() for name in module._SHA256)

    given = os.environ.get("CNNKIT_DATA")
    if not (given and holds_all(Path(given))):
        if holds_all(SHARED_DATASETS):
            monkeypatch.setenv("CNNKIT_DATA", str(SHARED_DATASETS))
        elif not holds_all(cache_dir()):
            pytest.skip(f"no local copy of {module._FOLDER} (set CNNKIT_DATA to a folder holding "
                        f"{module._FOLDER}/); the doctest does not download it")
    monkeypatch.setenv("CNNKIT_DATASETS_URL", OFFLINE_URL)


def _dataset_module(item):
    """The dataset module whose `load_data` doctest `item` is, else None."""
    if type(item).__name__ != "DoctestItem" or not item.name.endswith(".load_data"):
        return None
    import cnnkit.datasets

    module = getattr(cnnkit.datasets, item.name.split(".")[-2], None)
    return module if item.name.startswith("cnnkit.datasets.") and hasattr(module, "_SHA256") else None
