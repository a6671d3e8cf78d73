"""The `cnnkit` command: train, evaluate, summary, predict, explain, export, serve.

Example:
    $ cnnkit train                      # the seed convnet on MNIST, saved in runs/<timestamp>/
    $ cnnkit predict runs/<timestamp>/model.cnnkit my_digit.png
    $ cnnkit explain runs/<timestamp>/model.cnnkit my_digit.png --out explain/
    $ cnnkit export runs/<timestamp>/model.cnnkit --format onnx
    $ cnnkit serve runs/<timestamp>/model.cnnkit   # the web page on http://127.0.0.1:8000/

From Python, `main(["train", "--epochs", "1"])` returns the exit status. Building the parser
imports no torch: `cnnkit --help` and `cnnkit COMMAND --help` answer at once.
"""

import os
import sys

from cnnkit.cli import evaluate, explain, export, predict, serve, summary, train
from cnnkit.cli._parser import CliError, Parser, printable

COMMANDS = (train, evaluate, summary, predict, explain, export, serve)
# Errors whose message says it all (and cnnkit's own, DatasetError...); any other is shown with its type's name.
EXPECTED_ERRORS = (CliError, ValueError, OSError, ImportError)
# import name -> the package to install, where they differ
PIP_NAMES = {"PIL": "pillow", "multipart": "python-multipart", "python_multipart": "python-multipart"}


def build_parser():
    parser = Parser(prog="cnnkit", description="The Keras convnet workflow on PyTorch, from the shell.")
    parser.add_argument("--version", action="version", version=f"cnnkit {_version()}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True,
                                       parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv=None):
    """Runs the command line `argv` (default sys.argv[1:]); returns the exit status.

    Any failure is one line on stderr, `cnnkit: error: ...`, never a traceback: status 2 for
    bad arguments, 1 for everything else (missing files or packages, undecodable images, bad
    data, a failure inside torch), 130 for Ctrl-C. `CNNKIT_DEBUG=1` shows the traceback instead.
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit:  # --help, --version and argument errors
        return exit.code
    try:
        return args.run(args)
    except KeyboardInterrupt:
        sys.stderr.write("cnnkit: interrupted\n")
        return 130
    except Exception as error:
        if os.environ.get("CNNKIT_DEBUG"):
            raise
        sys.stderr.write(f"cnnkit: error: {describe(error)}\n")
        return 1


def describe(error):
    """`error` as one line: its message (a missing module says what to install), with the
    error's type for the unexpected ones.

    Example:
        >>> describe(ModuleNotFoundError("No module named 'PIL'", name="PIL"))
        "the package 'pillow' is not installed (No module named 'PIL'): pip install pillow"
        >>> describe(RuntimeError("out of memory\\nmore details"))
        'RuntimeError: out of memory more details (CNNKIT_DEBUG=1 shows the traceback)'
    """
    message = printable(" ".join(line.strip() for line in str(error).splitlines() if line.strip()))
    if isinstance(error, ModuleNotFoundError) and error.name:
        package = PIP_NAMES.get(error.name.partition(".")[0], error.name.partition(".")[0])
        return f"the package '{package}' is not installed ({message}): pip install {package}"
    if (isinstance(error, EXPECTED_ERRORS) or type(error).__module__.startswith("cnnkit.")) and message:
        return message
    return f"{type(error).__name__}: {message or 'no message'} (CNNKIT_DEBUG=1 shows the traceback)"


def _version():
    from cnnkit import __version__

    return __version__
