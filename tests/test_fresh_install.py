"""`pip install cnnkit` into a fresh virtual environment, with only its declared dependencies,
runs the main job: `cnnkit train` saves its model and pictures, and `cnnkit predict` reads a PNG."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = next((p for p in (REPO.parent / "shared" / "datasets", Path("/work/shared/datasets"))
               if (p / "mnist").is_dir()), None)
TORCH = "torch==2.13.0"  # the CPU wheel this machine serves to pip; nothing else may pull another torch


def run(command, **kwargs):
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
@pytest.mark.skipif(SHARED is None, reason="shared datasets folder not found")
def test_a_fresh_install_trains_saves_and_predicts(tmp_path, monkeypatch):
    from PIL import Image

    from cnnkit.datasets import mnist

    # the project as pip gets it (not editable), without this checkout's build leftovers
    source = tmp_path / "source"
    shutil.copytree(REPO / "cnnkit", source / "cnnkit", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], timeout=300)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run([*pip, TORCH], timeout=900)
    run([*pip, source], timeout=900)
    listed = run([venv / "bin" / "python", "-m", "pip", "list", "--format=freeze"], timeout=120).stdout
    installed = {line.split("==")[0].lower() for line in listed.splitlines()}
    assert {"cnnkit", "torch", "numpy", "safetensors", "matplotlib", "pillow"} <= installed
    assert not {"pytest", "tensorboard"} & installed  # optional, not installed: the main job runs without

    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "CNNKIT_DEBUG")}
    env.update(CNNKIT_DATA=str(SHARED), OMP_NUM_THREADS="2")
    cnnkit = venv / "bin" / "cnnkit"
    work = tmp_path / "work"
    work.mkdir()
    trained = run([cnnkit, "train", "--epochs", "1", "--limit", "512", "--seed", "0"], cwd=work, env=env, timeout=600)
    (folder,) = (work / "runs").iterdir()
    assert {"model.cnnkit", "history.csv", "run.json", "curves.png", "confusion.png", "mistakes.png"} <= {
        path.name for path in folder.iterdir()}
    assert "Test accuracy: " in trained.stdout and f"Saved in runs/{folder.name}/:" in trained.stdout

    monkeypatch.setenv("CNNKIT_DATA", str(SHARED))
    _, (x_test, _) = mnist.load_data()
    Image.fromarray(255 - x_test[0]).resize((96, 96)).save(work / "digit.png")  # dark on light, as drawn
    predicted = run([cnnkit, "predict", folder / "model.cnnkit", "digit.png", "--json"], cwd=work, env=env,
                    timeout=300)
    assert predicted.stdout.startswith('{"image": "digit.png", "class": ')
