"""argparse, with errors on one line (`cnnkit: error: ...`) and the value checks the commands share."""

import argparse
import math
import re
import sys


class CliError(Exception):
    """A user-facing error: printed as `cnnkit: error: <message>`, exit status 1."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, exit status 2, no usage dump."""

    def error(self, message):
        sys.stderr.write(f"cnnkit: error: {printable(message)} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def printable(text):
    """`text` with its control characters (an argument may hold any: line breaks, terminal escape codes)
    written as escapes, so that an error message stays one plain line.

    Example:
        >>> print(printable("got '\\x1b[2J'"))
        got '\\x1b[2J'
    """
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


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
    """argparse type: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got '{text}'") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def int_between(low, high):
    """argparse type: an int in [low, high] (a TCP port, a seed torch takes)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer from {low} to {high}, got '{text}'") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an integer from {low} to {high}, got {value}")
        return value
    return parse


def device(text):
    """argparse type: cpu, cuda or cuda:N (the devices the commands run on)."""
    if not re.fullmatch(r"cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N, got '{text}'")
    return text


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
    parser.add_argument("--device", type=device, help="where to compute: cpu, cuda or cuda:N (default: $CNNKIT_DEVICE, "
                                         "else cuda when available, else cpu)")


def add_limit_option(parser):
    """--limit N: use only the first N samples of each split (for quick tests; not in --help)."""
    parser.add_argument("--limit", type=positive_int, help=argparse.SUPPRESS)
