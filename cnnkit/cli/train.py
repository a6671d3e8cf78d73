"""`cnnkit train`: train a named model on a dataset; save the model, its history and pictures.

Building the parser imports no torch (`cnnkit train --help` answers at once); `run` does.
"""

import argparse
import functools
import importlib.util
import random
import shutil
from pathlib import Path

import cnnkit
from cnnkit.cli import runs
from cnnkit.cli._parser import (
    CliError, add_device_option, add_limit_option, fraction, int_between, positive_float, positive_int,
)
from cnnkit.cli.data import CLASS_NAMES, DATASETS, load_dataset, targets_for
from cnnkit.cli.models import MODELS

DEFAULTS = {"dataset": "mnist", "model": "seed", "epochs": 5, "batch_size": 64, "optimizer": None,
            "learning_rate": None, "validation_split": 0.1, "seed": None, "limit": None}
# Each optimizer's own default learning rate (tests check them against the classes).
DEFAULT_LEARNING_RATES = {"sgd": 0.01, "rmsprop": 0.001, "adam": 0.001, "adamw": 0.001}
OPTIMIZERS = list(DEFAULT_LEARNING_RATES)
# What `cnnkit train` needs after training (saving, pictures), checked before it starts: import name, pip name.
REQUIRED_PACKAGES = (("safetensors", "safetensors"), ("matplotlib", "matplotlib"), ("PIL", "pillow"))
LATEST = "latest"
HELP_FORMAT = functools.partial(argparse.RawDescriptionHelpFormatter, max_help_position=30)

DESCRIPTION = """\
Train a model and save it with its history and pictures in a new run folder.

With no options: the seed convnet on MNIST, 5 epochs, batch 64, rmsprop, 10% of the
training images held out for validation; about 0.99 test accuracy. `--model fast` is
cnnkit.recipes.mnist_fast: 2 epochs of batch 128 in bfloat16 where native, no
validation split, about 0.992 in seconds. The run folder gets model.cnnkit,
history.csv, run.json (the settings), curves.png, confusion.png and mistakes.png.

`--nproc N` trains data-parallel in N processes on this machine (torch.distributed;
`--batch-size` stays the global batch); under `torchrun` the command joins its group."""

LEARNING_RATE_HELP = (
    "default: the optimizer's own (" + ", ".join(f"{name} {rate}" for name, rate in DEFAULT_LEARNING_RATES.items())
    + "); --model fast follows a one-cycle schedule instead, so it takes --learning-rate only with --optimizer"
)


def add_parser(subparsers):
    parser = subparsers.add_parser("train", help="train a model (default: the seed convnet on MNIST)",
                                   description=DESCRIPTION, formatter_class=HELP_FORMAT)
    parser.add_argument("--dataset", choices=sorted(DATASETS), help="default: mnist")
    parser.add_argument("--model", choices=sorted(MODELS), help="default: seed; fast: the mnist_fast recipe")
    parser.add_argument("--epochs", type=positive_int, metavar="N", help="default: 5 (with --resume: the total to reach)")
    parser.add_argument("--batch-size", type=positive_int, metavar="N", help="default: 64")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, help="default: rmsprop (or the model's own)")
    parser.add_argument("--learning-rate", type=positive_float, metavar="LR", help=LEARNING_RATE_HELP)
    parser.add_argument("--validation-split", type=fraction, metavar="F",
                        help="fraction of the training data held out, in [0, 1); default: 0.1")
    parser.add_argument("--seed", type=int_between(-2**63, 2**64 - 1), metavar="N",
                        help="random seed; same seed and device, same result (default: a random one, saved in run.json)")
    parser.add_argument("--out", default="runs", metavar="DIR", help="where run folders are created (default: runs)")
    parser.add_argument("--resume", nargs="?", const=LATEST, metavar="RUN_DIR",
                        help="continue a run: an interrupted one from its backup, a finished one up to "
                             "--epochs; without RUN_DIR, the latest run in --out")
    parser.add_argument("--nproc", type=positive_int, default=1, metavar="N",
                        help="processes training data-parallel on this machine (default: 1)")
    add_device_option(parser)
    add_limit_option(parser)
    parser.set_defaults(run=run)


def run(args):
    """Checks everything it can before training (packages, settings, the run folder); a failed
    run leaves no run folder it created without a model or a backup in it."""
    check_packages()
    if args.device:
        cnnkit.set_device(args.device)
    folder, settings, created = _open_run(args)
    try:
        if args.nproc > 1:
            status = _launch(args.nproc, folder, args.device)
        else:
            status = _train(folder, settings, append=not created)
    except BaseException:
        if created:
            _remove_if_unused(folder)
        raise
    if status and created:
        _remove_if_unused(folder)
    return status


def check_packages():
    """Raises a CliError naming the packages `cnnkit train` needs to save its results, if any is missing."""
    missing = [pip_name for module, pip_name in REQUIRED_PACKAGES if importlib.util.find_spec(module) is None]
    if missing:
        raise CliError(f"cnnkit train saves its model and pictures with {', '.join(p for _, p in REQUIRED_PACKAGES)}, "
                       f"but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: "
                       f"pip install {' '.join(missing)}")


def _train(folder, settings, append):
    import numpy as np

    from cnnkit import distributed

    main = distributed.is_main_process()  # under torchrun, rank 0 prints and writes
    cnnkit.set_random_seed(settings["seed"])
    (x, y), (x_test, y_test) = load_dataset(settings["dataset"], settings["limit"])
    model, initial_epoch = _model_for(folder, settings, len(x))
    if main:
        model.summary()
        print(f"Run folder: {folder} (seed {settings['seed']})")
    model.fit(x, targets_for(model, y), batch_size=settings["batch_size"], epochs=settings["epochs"],
              validation_split=settings["validation_split"], initial_epoch=initial_epoch,
              callbacks=_callbacks(folder, append=initial_epoch > 0 or append))
    scores = model.evaluate(x_test, targets_for(model, y_test), batch_size=settings["batch_size"],
                            return_dict=True)
    predicted = np.argmax(model.predict(x_test, batch_size=settings["batch_size"], verbose=0), axis=1)
    if main:
        print("Test " + ", ".join(f"{name}: {value:.4f}" for name, value in scores.items()))
        model.class_names = CLASS_NAMES[settings["dataset"]]  # saved with the model, shown by predict and explain
        model.save(folder / runs.MODEL_FILE)
        _draw(folder, x_test, y_test, predicted, CLASS_NAMES[settings["dataset"]])
        _print_outputs(folder)
    return 0


def _launch(nproc, folder, device):
    """Trains the run in `folder` (its run.json written) in `nproc` processes under torch.distributed."""
    from cnnkit import distributed

    print(f"Run folder: {folder}; training in {nproc} processes")
    return distributed.launch(nproc, ["train", "--resume", str(folder), *(["--device", device] if device else [])])


def _open_run(args):
    """(run folder, settings, whether this command created the folder); under torchrun, rank 0's
    folder and settings, shared with the others."""
    from cnnkit import distributed

    main = distributed.is_main_process()
    folder, settings, created = _open_run_here(args) if main else (None, None, False)
    folder = Path(distributed.share_from_main_process(str(folder) if main else ""))
    return (folder, settings, created) if main else (folder, runs.read_settings(folder), False)


def _open_run_here(args):
    """Creates or reopens the run folder, once its settings are checked: defaults, the model's,
    a resumed run's, the options given. Writing run.json checks that the folder is writable."""
    given = {name: getattr(args, name) for name in DEFAULTS if getattr(args, name) is not None}
    if args.resume is None:
        folder, saved = None, {}
    else:
        folder = runs.latest_run_folder(args.out) if args.resume == LATEST else Path(args.resume)
        saved = runs.read_settings(folder)
    model = given.get("model") or saved.get("model") or DEFAULTS["model"]
    settings = {**DEFAULTS, **MODELS[model].defaults, **saved, **given}
    if settings["seed"] is None:
        settings["seed"] = random.SystemRandom().randrange(2**31)
    check_settings(settings, args.nproc)
    created = folder is None
    if created:
        folder = runs.new_run_folder(args.out)
    try:
        runs.write_settings(folder, settings)
    except OSError as error:
        if created:
            _remove_if_unused(folder)
        raise CliError(f"cannot write in the run folder '{folder}': {error.strerror or error}") from None
    return folder, settings, created


def check_settings(settings, nproc):
    """Raises a CliError for settings that cannot train as asked, before anything is created."""
    if nproc > 1 and settings["batch_size"] % nproc:
        raise CliError(f"--batch-size {settings['batch_size']} is the global batch, split evenly over the "
                       f"processes: use a multiple of --nproc {nproc}")
    if settings["learning_rate"] is not None and MODELS[settings["model"]].schedule and settings["optimizer"] is None:
        raise CliError(f"--learning-rate {settings['learning_rate']} would replace the learning-rate schedule of "
                       f"--model {settings['model']} ({MODELS[settings['model']].schedule}); leave it out, or "
                       "give --optimizer too to train with a constant rate")


def _remove_if_unused(folder):
    """Deletes a run folder holding neither a model nor a backup to resume from (a run that failed early)."""
    folder = Path(folder)
    if folder.is_dir() and not (folder / runs.MODEL_FILE).exists() and not (folder / runs.BACKUP_FOLDER).exists():
        shutil.rmtree(folder, ignore_errors=True)


def _model_for(folder, settings, samples):
    """A new model, or the finished run's saved model with the number of epochs it has done."""
    from cnnkit.cli._model_file import open_model

    saved = folder / runs.MODEL_FILE
    if saved.is_file() and not (folder / runs.BACKUP_FOLDER).exists():
        done = len(runs.read_history(folder / runs.HISTORY_FILE).get("loss", []))
        if settings["epochs"] <= done:
            raise CliError(f"--resume: run '{folder}' has already trained {done} epochs; "
                           f"pass --epochs N with N > {done} to train further")
        return _compiled(open_model(saved), None, settings["learning_rate"]), done
    train_size = int(samples * (1 - settings["validation_split"]))
    model = MODELS[settings["model"]].build(train_size, settings["epochs"], settings["batch_size"])
    return _compiled(model, settings["optimizer"], settings["learning_rate"]), 0


def _compiled(model, optimizer, learning_rate):
    """Compiles `model` with `optimizer` when given or when the model is not compiled yet."""
    if model.optimizer is None or optimizer is not None:
        model.compile(optimizer=optimizer or "rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    if learning_rate is not None:
        model.optimizer.learning_rate = learning_rate
    return model


def _callbacks(folder, append):
    from cnnkit.callbacks import BackupAndRestore, CSVLogger

    return [BackupAndRestore(str(folder / runs.BACKUP_FOLDER)),
            CSVLogger(str(folder / runs.HISTORY_FILE), append=append)]


def _draw(folder, x_test, y_test, predicted, class_names):
    from cnnkit import viz

    viz.plot_history(runs.read_history(folder / runs.HISTORY_FILE), folder / "curves.png")
    viz.plot_confusion_matrix(y_test, predicted, folder / "confusion.png", class_names=class_names)
    viz.plot_mistakes(x_test, y_test, predicted, folder / "mistakes.png", class_names=class_names)


OUTPUTS = (
    (runs.MODEL_FILE, "the trained model: cnnkit predict {folder}/model.cnnkit IMAGE.png"),
    (runs.HISTORY_FILE, "loss and accuracy per epoch"),
    (runs.SETTINGS_FILE, "the settings, for --resume"),
    ("curves.png", "learning curves, train and validation"),
    ("confusion.png", "confusion matrix on the test set"),
    ("mistakes.png", "misclassified test images"),
)


def _print_outputs(folder):
    print(f"Saved in {folder}/:")
    for name, what in OUTPUTS:
        print(f"  {name:<14} {what.format(folder=folder)}")
