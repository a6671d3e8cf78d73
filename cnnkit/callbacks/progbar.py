"""Keras's progress bar: `938/938 ━━━━━━━━━━━━━━━━━━━━ 12s 13ms/step - accuracy: 0.9521 - loss: 0.1602`."""

import math
import os
import sys
import time

BAR = "━"
BOLD, GREEN, GREY, RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


def format_step_time(seconds, unit="step"):
    """'13ms/step', '2s/step' or '850us/step', as Keras prints it."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def format_duration(seconds):
    """An ETA as Keras prints it, in whole seconds cut down: '12s', '5:23' or '1:02:03'."""
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def format_values(values):
    """' - loss: 0.6931 - lr: 1.0000e-04' as Keras prints logs; a value that is not a number
    (one a callback added to the logs) as it is."""
    return "".join(f" - {name}: {format_value(value)}" for name, value in values.items())


def format_value(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.4f}" if abs(number) > 1e-3 else f"{number:.4e}"


def redraws_in_place(stream):
    """Whether `stream` shows `\\r` as a redraw of the line: a terminal, or the process's own
    stdout or stderr in Jupyter (ipykernel loaded) or PyCharm's console, as Keras detects them.

    (Keras also counts any POSIX system as one, which would write every redraw into a file or
    a pipe; cnnkit leaves that out.)
    """
    if hasattr(stream, "isatty") and stream.isatty():
        return True
    own = stream is sys.stdout or stream is sys.stderr
    return own and ("ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ)


class Progbar:
    """A progress bar over `target` steps.

    Args:
        target: total number of steps.
        verbose: 1 draws a bar (redrawn in place on a terminal or in a Jupyter notebook, one
            final line otherwise), 2 prints one plain line at the end, 0 prints nothing.
        stream: where to write; default sys.stdout.
        interval: minimum seconds between redraws.

    `update(current, values)` takes `values` as a mapping or a zero-argument callable
    returning one; a callable is only called when a line is drawn, so reading device
    metrics back to the host happens at the redraw rate, not every step.
    """

    def __init__(self, target, verbose=1, stream=None, width=20, interval=0.05, unit_name="step"):
        self.target = target
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.width = width
        self.interval = interval
        self.unit_name = unit_name
        self.dynamic = verbose == 1 and redraws_in_place(self.stream)
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.time_after_first_step = None
        self.previous_width = 0

    def step_time(self, current, now):
        if current == 1 or self.time_after_first_step is None:
            if current == 1:
                self.time_after_first_step = now
            return (now - self.start) / max(current, 1)
        return (now - self.time_after_first_step) / (current - 1)

    def update(self, current, values=None, finalize=None):
        finalize = current >= self.target if finalize is None else finalize
        now = time.perf_counter()
        per_step = self.step_time(current, now) if current else 0.0
        if self.verbose == 0 or not finalize and (not self.dynamic or now - self.last_draw < self.interval):
            return
        self.last_draw = now
        values = values() if callable(values) else dict(values or {})
        if self.verbose == 2:
            self.write(f"{self.counter(current)} - {now - self.start:.0f}s - "
                       f"{format_step_time(per_step, self.unit_name)}{format_values(values)}\n")
            return
        elapsed = now - self.start
        # Keras: the final line shows the elapsed seconds ('75s'), a running line the ETA ('1:15').
        timing = f"{elapsed:.0f}s" if finalize else format_duration(per_step * (self.target - current))
        self.draw(current, f" {self.bold(timing)} {format_step_time(per_step, self.unit_name)}"
                           f"{format_values(values)}", finalize)

    def counter(self, current):
        digits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
        return f"{current:{digits}d}/{self.target}"

    def bold(self, text):
        return f"{BOLD}{text}{RESET}" if self.dynamic else text

    def draw(self, current, info, finalize):
        done = int(self.width * current / self.target) if self.target else self.width
        if self.dynamic:
            bar = f"{self.bold(self.counter(current))} {GREEN}{BAR * done}{RESET}{GREY}{BAR * (self.width - done)}{RESET}"
            visible = len(self.counter(current)) + 1 + self.width + len(info) - len(BOLD) - len(RESET)
            padding = " " * max(self.previous_width - visible, 0)
            self.previous_width = visible
            self.write(f"\r{bar}{info}{padding}" + ("\n" if finalize else ""))
        else:
            self.write(f"{self.counter(current)} {BAR * self.width}{info}\n")

    def write(self, text):
        self.stream.write(text)
        self.stream.flush()
