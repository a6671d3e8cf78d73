"""The `cnnkit` command: train, evaluate, summary, predict.

Example:
    $ cnnkit train                      # the seed convnet on MNIST, saved in runs/<timestamp>/
    $ cnnkit predict runs/<timestamp>/model.cnnkit my_digit.png

From Python, `main(["train", "--epochs", "1"])` returns the exit status.
"""

import os
import sys

from cnnkit.cli import evaluate, predict, summary, train
from cnnkit.cli._parser import CliError, Parser

COMMANDS = (train, evaluate, summary, predict)


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

    Errors are one line on stderr, `cnnkit: error: ...`: status 2 for bad arguments, 1 for
    everything else (missing files, undecodable images, bad data). `CNNKIT_DEBUG=1` shows
    the traceback instead.
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
    except (CliError, ValueError, OSError) as error:
        if os.environ.get("CNNKIT_DEBUG"):
            raise
        sys.stderr.write(f"cnnkit: error: {error}\n")
        return 1


def _version():
    from cnnkit import __version__

    return __version__
