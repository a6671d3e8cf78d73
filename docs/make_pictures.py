"""Draws the README's insight pictures into docs/: Grad-CAM and activations of an MNIST test digit
for a model trained by `cnnkit train`, and its top losses on the first 2000 test digits.

Run from the project root, with the MNIST files where `cnnkit train` finds them:

    CNNKIT_DATA=../shared/datasets .venv/bin/cnnkit train --epochs 1 --seed 0
    CNNKIT_DATA=../shared/datasets .venv/bin/python docs/make_pictures.py runs/<timestamp>

MODEL is a .cnnkit file or a run folder (default: the latest run in runs/).
"""

import argparse
from pathlib import Path

import cnnkit
from cnnkit import viz
from cnnkit.cli.data import load_dataset

DOCS = Path(__file__).resolve().parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a .cnnkit file or run folder (default: the latest in runs/)")
    parser.add_argument("--digit", type=int, default=0, help="index of the MNIST test digit (default 0, a 7)")
    args = parser.parse_args()
    path = Path(args.model) if args.model else sorted(Path("runs").glob("*/model.cnnkit"))[-1]
    if path.is_dir():
        path = path / "model.cnnkit"
    model = cnnkit.saving.load_model(path)
    _, (x_test, y_test) = load_dataset("mnist", limit=2000)
    digit = x_test[args.digit]

    cam = viz.grad_cam(model, digit, path=DOCS / "grad_cam.png")
    print(f"grad_cam.png: test digit {args.digit} (label {y_test[args.digit]}), predicted {cam.class_name}, "
          f"layer {cam.layer}")
    maps = viz.activations(model, digit, path=DOCS / "activations.png")
    print("activations.png:", ", ".join(f"{name} {tuple(value.shape)}" for name, value in maps.items()))

    indices, losses = viz.plot_top_losses(model, x_test, y_test, k=9, path=DOCS / "top_losses.png")
    print("top_losses.png: test digits", ", ".join(f"{i} (loss {loss:.2f})" for i, loss in zip(indices, losses)))

if __name__ == "__main__":
    main()
