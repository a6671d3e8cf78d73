"""`cnnkit` command lines from anyone: random argument lists (commands, their options, hostile values and files)
to `cnnkit.cli.main` in process. Each ends in an exit status with, on failure, one `cnnkit: error: ...` line
naming a cnnkit or argument error, never a traceback nor an unexpected error type, within bounds."""

import argparse
import contextlib
import io

import numpy as np
import pytest
from _bounds import MIB, budget
from _report import case
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

import cnnkit
from cnnkit import distributed
from cnnkit.cli import build_parser, main
from cnnkit.recipes import seed_convnet

SECONDS, MEMORY = 60.0, 1024 * MIB  # a valid command line runs: an export or a Grad-CAM takes seconds, more when busy
UNEXPECTED = "CNNKIT_DEBUG=1 shows the traceback"  # how main describes an error of an unexpected type


def _options():
    """{command: its option strings} from the parser itself."""
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    return {name: sorted(s for action in parser._actions for s in action.option_strings)
            for name, parser in commands.items()}


OPTIONS = _options()
VALUES = ["0", "1", "-1", "2", "inf", "-inf", "nan", "1e400", "0.5", "1.0", "9" * 30, "", " ", "\x00", "é", "-",
          "--", "cpu", "cuda", "cuda:7", "meta", "mnist", "fashion_mnist", "seed", "fast", "adam", "onnx", "conv2d",
          "dense_99", "{model}", "{image}", "{corrupt}", "{bomb}", "{folder}", "{missing}", "{new}"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A saved model, a digit image, a corrupt one, a bomb, a folder and a missing path, for the values."""
    root = tmp_path_factory.mktemp("cli")
    cnnkit.set_random_seed(0)
    seed_convnet().save(root / "model.cnnkit")
    pixels = np.full((28, 28), 250, np.uint8)
    pixels[6:22, 12:16] = 0
    Image.fromarray(pixels).save(root / "digit.png")
    (root / "corrupt.png").write_bytes((root / "digit.png").read_bytes()[:60])
    Image.new("1", (9000, 9000)).save(root / "bomb.png")
    paths = {"model": root / "model.cnnkit", "image": root / "digit.png", "corrupt": root / "corrupt.png",
             "bomb": root / "bomb.png", "folder": root, "missing": root / "missing.png", "new": root / "new" / "x.onnx"}
    return {key: str(path) for key, path in paths.items()}


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No dataset anywhere (a closed port as the mirror), outputs in a temporary folder, no server started,
    no training processes launched."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CNNKIT_DATASETS_URL", "http://127.0.0.1:9/")
    monkeypatch.delenv("CNNKIT_DEBUG", raising=False)
    uvicorn = pytest.importorskip("uvicorn")
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    monkeypatch.setattr(distributed, "launch", lambda nproc, argv: 0)
    yield
    cnnkit.set_device("cpu")


@st.composite
def argv(draw):
    """A command (or a misspelt one), then files and values as positionals, then options with values; or a
    command and any words at all."""
    command = draw(st.sampled_from(sorted(OPTIONS) + ["", "-h", "--version", "trian"]))
    value = st.one_of(st.sampled_from(VALUES), st.text(max_size=8))
    if draw(st.integers(0, 3)) == 0:
        return [command, *draw(st.lists(value, max_size=4))]
    files = st.sampled_from(["{model}", "{image}", "{corrupt}", "{bomb}", "{folder}", "{missing}"])
    positionals = [draw(st.sampled_from(["{model}", "{folder}"]))] + draw(st.lists(st.one_of(files, value), max_size=2))
    options = draw(st.lists(st.tuples(st.sampled_from(OPTIONS.get(command, ["--help"]) + ["--nope"]),
                                      st.one_of(value, st.none())), max_size=3))
    return [command, *positionals, *[word for option in options for word in option if word is not None]]


def run(arguments):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(arguments)
    return status, out.getvalue(), err.getvalue()


@budget(500)
@given(arguments=argv())
def test_random_command_lines_end_in_a_status_and_a_message(files, offline, arguments):
    arguments = [files.get(word.strip("{}"), word) if word.startswith("{") else word for word in arguments]
    with case("cli", (), SECONDS, MEMORY) as result:
        status, out, err = run(arguments)
        result.outcome = f"{arguments[0] if arguments[0] in OPTIONS else 'no command'}: exit {status}"
    assert status in (0, 1, 2), (status, err)
    assert "Traceback" not in out + err and UNEXPECTED not in err, err
    if status != 0:
        assert err.rstrip().splitlines()[-1].startswith("cnnkit: error: "), err


@pytest.mark.parametrize("arguments", [["evaluate", "--batch-size", "\x1b[2J\r"], ["summary", "\x1b[31mred\nline"]])
def test_control_characters_in_arguments_stay_escaped_on_one_line(offline, arguments):
    """A carriage return or a terminal escape code in an argument used to reach the terminal raw."""
    status, _, err = run(arguments)
    assert status in (1, 2) and err.endswith("\n") and err[:-1].isprintable() and "\\x1b[" in err, err


@pytest.mark.parametrize("arguments", [
    ["serve", "{model}", "--max-upload-mb", "inf"], ["serve", "{model}", "--port", "70000"],
    ["train", "--seed", "9" * 30], ["predict", "{model}", "{image}", "--device", "meta"]])
def test_values_that_failed_inside_the_command_are_argument_errors(files, offline, arguments):
    """These used to end in OverflowError, a torch error or an unusable port, found by the fuzzer above."""
    status, _, err = run([files.get(word.strip("{}"), word) for word in arguments])
    assert status == 2 and err.startswith(f"cnnkit: error: argument {arguments[-2]}: expected "), err
