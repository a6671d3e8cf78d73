"""argparse, with errors on one line (`cnnkit: error: ...`) and the value checks the commands share."""

import argparse
import sys


class CliError(Exception):
    """A user-facing error: printed as `cnnkit: error: <message>`, exit status 1."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, exit status 2, no usage dump."""

    def error(self, message):
        sys.stderr.write(f"cnnkit: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def positive_int(text):
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def positive_float(text):
    """argparse type: a float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got '{text}'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def fraction(text):
    """argparse type: a float in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got '{text}'") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return value


def add_device_option(parser):
    parser.add_argument("--device", help="where to compute: cpu, cuda or cuda:N (default: $CNNKIT_DEVICE, "
                                         "else cuda when available, else cpu)")


def add_limit_option(parser):
    """--limit N: use only the first N samples of each split (for quick tests; not in --help)."""
    parser.add_argument("--limit", type=positive_int, help=argparse.SUPPRESS)
