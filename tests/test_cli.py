"""The `cnnkit` command: help, one-line errors, tiny training runs, resume, seeds, evaluate/summary/predict."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnkit.cli import main

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")

SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "datasets",
                           Path("/work/shared/datasets")) if (p / "mnist").is_dir()), None)
needs_mnist = pytest.mark.skipif(SHARED is None, reason="shared datasets folder not found")
TINY = ["--epochs", "1", "--limit", "256", "--batch-size", "64"]  # --limit: a hidden option for tests


@pytest.fixture(autouse=True)
def data_folder(monkeypatch):
    if SHARED is not None:
        monkeypatch.setenv("CNNKIT_DATA", str(SHARED))


def run_main(argv):
    """(exit status, stdout, stderr) of main(argv), for module-scoped fixtures where capsys is not available."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def only_run_folder(out):
    (folder,) = [path for path in Path(out).iterdir() if path.is_dir()]
    return folder


def png_size(path):
    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.load()
        return image.size


@pytest.fixture(scope="module")
def shared_data():
    """CNNKIT_DATA for module-scoped fixtures (the autouse one is per test)."""
    if SHARED is None:
        pytest.skip("shared datasets folder not found")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNKIT_DATA", str(SHARED))
        yield


@pytest.fixture(scope="module")
def trained(shared_data, tmp_path_factory):
    """One tiny `cnnkit train` run: (run folder, stdout)."""
    out = tmp_path_factory.mktemp("runs")
    status, stdout, stderr = run_main(["train", *TINY, "--seed", "7", "--out", str(out)])
    assert status == 0, stderr
    return only_run_folder(out), stdout


@pytest.fixture(scope="module")
def digit_pngs(shared_data, tmp_path_factory):
    """Real MNIST test digits, upscaled and drawn dark on light: (paths, labels)."""
    from cnnkit.datasets import mnist

    _, (x_test, y_test) = mnist.load_data()
    folder = tmp_path_factory.mktemp("digits")
    paths = []
    for index in range(3):
        path = folder / f"digit{index}.png"
        Image.fromarray(255 - x_test[index]).resize((96, 96), Image.BICUBIC).save(path)
        paths.append(str(path))
    return paths, y_test[:3].tolist()


# -- help and argument errors --------------------------------------------------------------
@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["summary"], ["predict"]])
def test_help_on_every_command(capsys, command):
    assert main([*command, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: {' '.join(['cnnkit', *command])}")


def test_help_imports_no_torch():
    """`cnnkit --help` and `cnnkit COMMAND --help` answer without importing torch (1.5 s)."""
    script = ("import contextlib, io, json, sys\n"
              "from cnnkit.cli import main\n"
              "statuses = []\n"
              "for argv in ([], ['train'], ['evaluate'], ['summary'], ['predict']):\n"
              "    with contextlib.redirect_stdout(io.StringIO()):\n"
              "        statuses.append(main([*argv, '--help']))\n"
              "print(json.dumps({'statuses': statuses, 'torch': sorted(m for m in sys.modules if m.startswith('torch'))}))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CNNKIT_SEED": ""})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"statuses": [0, 0, 0, 0, 0], "torch": []}


def test_learning_rate_help_gives_each_optimizer_its_own_default(capsys):
    import inspect

    from cnnkit import optimizers
    from cnnkit.cli.train import DEFAULT_LEARNING_RATES

    for name, rate in DEFAULT_LEARNING_RATES.items():
        assert inspect.signature(type(optimizers.get(name))).parameters["learning_rate"].default == rate
    assert sorted(DEFAULT_LEARNING_RATES) == sorted(["sgd", "rmsprop", "adam", "adamw"])
    assert main(["train", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "default: the optimizer's own (sgd 0.01, rmsprop 0.001, adam 0.001, adamw 0.001)" in help_text


def test_python_dash_m_cnnkit_runs_the_command():
    done = subprocess.run([sys.executable, "-m", "cnnkit", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().startswith("cnnkit ")


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: COMMAND"),
    (["fly"], "invalid choice: 'fly'"),
    (["train", "--epochs", "0"], "argument --epochs: expected a positive integer, got 0"),
    (["train", "--batch-size", "many"], "argument --batch-size: expected a positive integer, got 'many'"),
    (["train", "--dataset", "cifar"], "argument --dataset: invalid choice: 'cifar'"),
    (["train", "--validation-split", "1"], "argument --validation-split: expected a number in [0, 1), got 1.0"),
    (["train", "--learning-rate", "-1"], "argument --learning-rate: expected a positive number, got -1.0"),
    (["predict", "model.cnnkit"], "the following arguments are required: IMAGE"),
    (["predict", "m", "a.png", "--invert", "--no-invert"], "not allowed with argument --invert"),
])
def test_bad_arguments_are_one_line_and_status_2(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("cnnkit: error: ")
    assert message in captured.err


@pytest.mark.parametrize("argv", [["evaluate", "missing.cnnkit"], ["summary", "missing.cnnkit"],
                                  ["predict", "missing.cnnkit", __file__]])
def test_missing_model_file_is_one_line_and_status_1(capsys, monkeypatch, tmp_path, argv):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    assert capsys.readouterr().err == "cnnkit: error: model file not found: 'missing.cnnkit'\n"


def test_unusable_device_is_one_line_and_creates_no_run_folder(capsys, tmp_path):
    if __import__("torch").cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["train", "--device", "cuda", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err == ("cnnkit: error: Device 'cuda' was asked for, but torch sees no CUDA GPU here.\n")
    assert list(tmp_path.iterdir()) == []


def one_error_line(err):
    """The message of `err`, checked to be one `cnnkit: error: ` line and no traceback."""
    assert err.count("\n") == 1 and err.startswith("cnnkit: error: ") and "Traceback" not in err, err
    return err[len("cnnkit: error: "):-1]


def test_missing_dataset_is_one_line_and_leaves_no_run_folder(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CNNKIT_DATASETS_URL", "http://127.0.0.1:9/")  # refused at once: no download
    out = tmp_path / "runs"
    assert main(["train", "--out", str(out)]) == 1
    message = one_error_line(capsys.readouterr().err)
    assert message.startswith("Could not get mnist/train-images-idx3-ubyte.gz") and "Fix: set CNNKIT_DATA" in message
    assert list(out.iterdir()) == []


def test_missing_package_fails_before_training_with_what_to_install(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert main(["train", *TINY, "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert one_error_line(captured.err) == ("cnnkit train saves its model and pictures with safetensors, matplotlib, "
                                            "pillow, but matplotlib is not installed: pip install matplotlib")
    assert captured.out == "" and list(tmp_path.iterdir()) == []  # nothing trained, no run folder


def test_an_unexpected_error_is_one_line_with_its_type_and_removes_the_run_folder(capsys, monkeypatch, tmp_path):
    from cnnkit.cli import train

    def fail(*args, **kwargs):
        raise RuntimeError("stack overflow\n  in a frame")

    monkeypatch.setattr(train, "_train", fail)
    assert main(["train", "--out", str(tmp_path)]) == 1
    assert one_error_line(capsys.readouterr().err) == (
        "RuntimeError: stack overflow in a frame (CNNKIT_DEBUG=1 shows the traceback)")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("CNNKIT_DEBUG", "1")
    with pytest.raises(RuntimeError, match="stack overflow"):
        main(["train", "--out", str(tmp_path)])


def test_a_missing_module_says_which_package_to_install():
    from cnnkit.cli import describe

    assert describe(ModuleNotFoundError("No module named 'PIL'", name="PIL")) == (
        "the package 'pillow' is not installed (No module named 'PIL'): pip install pillow")


def test_out_that_is_not_a_writable_folder_fails_before_training(capsys, monkeypatch, tmp_path):
    from cnnkit.cli import runs

    (tmp_path / "file").write_text("")
    assert main(["train", "--out", str(tmp_path / "file")]) == 1
    captured = capsys.readouterr()
    assert one_error_line(captured.err) == f"--out '{tmp_path / 'file'}' is a file, not a folder"
    assert main(["train", "--out", str(tmp_path / "file" / "runs")]) == 1
    assert one_error_line(capsys.readouterr().err) == (
        f"cannot create a run folder in --out '{tmp_path / 'file' / 'runs'}': Not a directory")

    def unwritable(folder, settings):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(runs, "write_settings", unwritable)  # as when --out is read-only (root writes anyway)
    assert main(["train", "--out", str(tmp_path / "runs")]) == 1
    captured = capsys.readouterr()
    assert one_error_line(captured.err).endswith("': Permission denied")
    assert captured.out == "" and list((tmp_path / "runs").iterdir()) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write in a read-only folder")
def test_read_only_out_fails_before_training(capsys, tmp_path):
    out = tmp_path / "runs"
    out.mkdir()
    out.chmod(0o500)
    try:
        assert main(["train", "--out", str(out)]) == 1
    finally:
        out.chmod(0o700)
    assert one_error_line(capsys.readouterr().err) == f"cannot create a run folder in --out '{out}': Permission denied"


def test_learning_rate_does_not_replace_the_fast_models_schedule(capsys, tmp_path):
    argv = ["train", "--model", "fast", "--learning-rate", "0.01", *TINY, "--out", str(tmp_path)]
    assert main(argv) == 1
    assert one_error_line(capsys.readouterr().err) == (
        "--learning-rate 0.01 would replace the learning-rate schedule of --model fast (Adam on a one-cycle "
        "schedule); leave it out, or give --optimizer too to train with a constant rate")
    assert list(tmp_path.iterdir()) == []


def test_learning_rate_with_an_optimizer_compiles_a_constant_rate():
    from cnnkit.cli.train import _compiled, check_settings
    from cnnkit.cli.models import MODELS

    settings = {"model": "fast", "learning_rate": 0.01, "optimizer": "sgd", "batch_size": 128}
    check_settings(settings, nproc=1)  # allowed: --optimizer replaces the recipe's Adam and its schedule
    model = _compiled(MODELS["fast"].build(1000, 1, 128), "sgd", 0.01)
    assert type(model.optimizer).__name__ == "SGD" and model.optimizer.learning_rate == 0.01


def test_evaluate_a_model_saved_without_compile_settings_says_so(capsys, tmp_path):
    from cnnkit.recipes import seed_convnet

    seed_convnet().save(tmp_path / "uncompiled.cnnkit")
    assert main(["evaluate", str(tmp_path / "uncompiled.cnnkit"), "--limit", "64"]) == 1
    assert one_error_line(capsys.readouterr().err) == (
        f"model '{tmp_path / 'uncompiled.cnnkit'}' was saved without compile settings (no loss, no metrics), "
        "which evaluate needs: call model.compile(loss=..., metrics=[...]) before model.save()")


def test_resume_with_nothing_to_resume(capsys, tmp_path):
    assert main(["train", "--resume", "--out", str(tmp_path)]) == 1
    assert "no run to resume" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path)]) == 1
    assert "is not a run folder (it has no run.json)" in capsys.readouterr().err


# -- a tiny training run -------------------------------------------------------------------
@needs_mnist
def test_train_prints_the_summary_progress_test_accuracy_and_where(trained):
    folder, stdout = trained
    assert "Total params: 93,322 (364.54 KB)" in stdout
    assert f"Run folder: {folder} (seed 7)" in stdout
    assert "4/4 ━━━━━━━━━━━━━━━━━━━━" in stdout  # 230 training samples (10% held out), batch 64
    assert "Test accuracy: " in stdout and f"Saved in {folder}/:" in stdout
    assert f"cnnkit predict {folder}/model.cnnkit IMAGE.png" in stdout


@needs_mnist
def test_train_writes_the_model_history_settings_and_pictures(trained):
    folder, _ = trained
    assert sorted(p.name for p in folder.iterdir()) == [
        "confusion.png", "curves.png", "history.csv", "mistakes.png", "model.cnnkit", "run.json"]
    header, row = (folder / "history.csv").read_text().splitlines()
    assert header == "epoch,accuracy,loss,val_accuracy,val_loss" and row.startswith("0,")
    settings = json.loads((folder / "run.json").read_text())
    assert settings == {"dataset": "mnist", "model": "seed", "epochs": 1, "batch_size": 64, "optimizer": None,
                        "learning_rate": None, "validation_split": 0.1, "seed": 7, "limit": 256}
    assert png_size(folder / "curves.png") == (1200, 450)
    assert png_size(folder / "confusion.png") == (800, 720)
    assert png_size(folder / "mistakes.png") == (720, 760)  # a 6x6 grid: 1 epoch on 230 images errs a lot


@needs_mnist
def test_same_seed_same_result_across_processes_and_another_seed_differs(trained, tmp_path, digit_pngs):
    """The end-to-end check, as a newcomer would type it: train, then predict a PNG."""
    folder, _ = trained
    env = {**os.environ, "CNNKIT_DATA": str(SHARED)}
    done = subprocess.run([sys.executable, "-m", "cnnkit", "train", *TINY, "--seed", "7"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    again = only_run_folder(tmp_path / "runs")
    assert (again / "history.csv").read_text() == (folder / "history.csv").read_text()
    predicted = subprocess.run([sys.executable, "-m", "cnnkit", "predict", str(again / "model.cnnkit"),
                                digit_pngs[0][0]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.startswith(f"{digit_pngs[0][0]}: ")

    status, _, _ = run_main(["train", *TINY, "--seed", "8", "--out", str(tmp_path / "other")])
    assert status == 0
    other = only_run_folder(tmp_path / "other")
    assert (other / "history.csv").read_text() != (folder / "history.csv").read_text()


# -- the saved model -----------------------------------------------------------------------
@needs_mnist
def test_evaluate_and_summary_of_the_saved_model(trained, capsys):
    folder, stdout = trained
    assert main(["evaluate", str(folder / "model.cnnkit"), "--limit", "256"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == next(line for line in stdout.splitlines() if line.startswith("Test ")).replace(
        "Test ", "Test (mnist, 256 images) ")
    assert main(["summary", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Trainable params: 93,322 (364.54 KB)" in out
    assert "Optimizer params: 93,324" in out  # as Keras 3 shows a model whose optimizer is built
    assert "Compiled with optimizer RMSprop (learning_rate 0.001), loss categorical_crossentropy" in out


@needs_mnist
def test_predict_prints_class_and_top3_per_image(trained, digit_pngs, capsys):
    folder, _ = trained
    paths, _ = digit_pngs
    assert main(["predict", str(folder / "model.cnnkit"), *paths]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for path, line in zip(paths, lines):
        name, rest = line.split(": ", 1)
        predicted, top = rest.split("  (")
        pairs = [item.split(": ") for item in top.rstrip(")").split(", ")]
        assert name == path and len(pairs) == 3 and pairs[0][0] == predicted
        assert [float(p) for _, p in pairs] == sorted((float(p) for _, p in pairs), reverse=True)


@needs_mnist
def test_predict_json_lines_agree_with_model_predict(trained, digit_pngs, capsys):
    from cnnkit.models import load_model
    from cnnkit.preprocessing import load_digit

    folder, _ = trained
    paths, _ = digit_pngs
    assert main(["predict", str(folder), *paths, "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    probabilities = load_model(folder / "model.cnnkit").predict(
        np.stack([load_digit(p) for p in paths])[..., None], verbose=0)
    for path, record, row in zip(paths, records, probabilities):
        assert list(record) == ["image", "class", "top3", "class_name"] and record["image"] == path
        assert record["class_name"] == str(record["class"])  # `cnnkit train` saves MNIST's names, '0'..'9'
        assert record["class"] == int(row.argmax()) == record["top3"][0][0]
        for label, probability in record["top3"]:
            assert probability == pytest.approx(row[label], rel=1e-3)  # 4 significant digits, even when tiny
        assert sum(p for _, p in record["top3"]) <= 1.0 + 1e-3


@needs_mnist
def test_predict_errors_name_the_image(trained, tmp_path, capsys):
    folder, _ = trained
    Image.new("L", (40, 40), 255).save(tmp_path / "blank.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    for name, message in [("blank.png", "no digit found: the image is blank"),
                          ("broken.jpg", "cannot be decoded"), ("absent.png", "image file not found")]:
        assert main(["predict", str(folder), str(tmp_path / name)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("cnnkit: error: ") and err.count("\n") == 1 and message in err
        assert err.count(name) == 1
        assert "Traceback" not in err


# -- resume --------------------------------------------------------------------------------
@needs_mnist
def test_resume_a_finished_run_up_to_more_epochs(trained, tmp_path, capsys):
    folder = Path(shutil.copytree(trained[0], tmp_path / "run"))
    assert main(["train", "--resume", str(folder)]) == 1
    assert "has already trained 1 epochs; pass --epochs N with N > 1" in capsys.readouterr().err
    assert main(["train", "--resume", str(folder), "--epochs", "2"]) == 0
    assert "Epoch 2/2" in capsys.readouterr().out
    lines = (folder / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines] == ["epoch", "0", "1"]
    assert json.loads((folder / "run.json").read_text())["epochs"] == 2
    assert not (folder / "backup").exists()


@needs_mnist
def test_resume_an_interrupted_run_from_its_backup(tmp_path, capsys, monkeypatch):
    from cnnkit.callbacks import Callback
    from cnnkit.cli import train

    class Interrupt(Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    make_callbacks = train._callbacks
    monkeypatch.setattr(train, "_callbacks", lambda *args, **kwargs: [*make_callbacks(*args, **kwargs), Interrupt()])
    argv = ["train", "--epochs", "2", "--limit", "256", "--seed", "3", "--out", str(tmp_path)]
    assert main(argv) == 130
    assert capsys.readouterr().err == "cnnkit: interrupted\n"
    folder = only_run_folder(tmp_path)
    assert (folder / "backup").is_dir() and not (folder / "model.cnnkit").exists()

    monkeypatch.setattr(train, "_callbacks", make_callbacks)
    assert main(["train", "--resume", "--out", str(tmp_path)]) == 0  # the latest run in --out
    out = capsys.readouterr().out
    assert "Epoch 1/2" not in out and "Epoch 2/2" in out
    lines = (folder / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines] == ["epoch", "0", "1"]
    assert (folder / "model.cnnkit").is_file() and not (folder / "backup").exists()


# -- named models and several processes ----------------------------------------------------

@needs_mnist
def test_fast_model_brings_its_own_training_settings(tmp_path):
    status, stdout, stderr = run_main(["train", "--model", "fast", "--limit", "256", "--epochs", "1",
                                       "--seed", "1", "--out", str(tmp_path)])
    assert status == 0, stderr
    settings = json.loads((only_run_folder(tmp_path) / "run.json").read_text())
    assert (settings["model"], settings["batch_size"], settings["validation_split"]) == ("fast", 128, 0.0)
    assert settings["epochs"] == 1  # an option given wins over the model's default (2)
    assert "Total params: 93,322" in stdout and "val_loss" not in stdout


@needs_mnist
def test_nproc_trains_in_two_processes_with_one_output(tmp_path):
    """`cnnkit train --nproc 2`: two gloo processes; rank 0 alone prints and writes the run folder."""
    environment = {**os.environ, "CNNKIT_DATA": str(SHARED), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "cnnkit", "train", "--nproc", "2", *TINY, "--seed", "2",
                           "--out", str(tmp_path)], env=environment, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = only_run_folder(tmp_path)
    assert done.stdout.count("Test accuracy:") == 1 and done.stdout.count("Total params: 93,322") == 1
    assert f"Run folder: {folder}; training in 2 processes" in done.stdout
    assert len((folder / "history.csv").read_text().splitlines()) == 2  # header + one epoch, written once
    assert {"model.cnnkit", "curves.png", "confusion.png", "mistakes.png"} <= {p.name for p in folder.iterdir()}
    assert json.loads((folder / "run.json").read_text())["seed"] == 2


def test_nproc_that_does_not_divide_the_batch_fails_before_starting_processes(tmp_path, capsys):
    assert main(["train", "--nproc", "3", "--out", str(tmp_path)]) == 1
    assert "--batch-size 64 is the global batch, split evenly over the processes: use a multiple of --nproc 3" \
        in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
