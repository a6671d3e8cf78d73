"""The Keras progress bar: number formats and the exact lines, on a fake clock."""

import io
import sys
import types

import pytest

from cnnkit.callbacks import progbar
from cnnkit.callbacks.progbar import Progbar, format_duration, format_step_time, format_values

BAR = "━" * 20


class FakeClock:
    """Stands in for the `time` module: perf_counter() returns `now`, moved by hand."""

    def __init__(self):
        self.now = 100.0

    def perf_counter(self):
        return self.now


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progbar, "time", fake)
    return fake


@pytest.mark.parametrize("seconds, text", [
    (0.013, "13ms/step"), (0.0034, "3ms/step"), (2.4, "2s/step"), (1.0, "1s/step"),
    (0.00085, "850us/step"), (0.0, "0s/step"),
])
def test_format_step_time(seconds, text):
    assert format_step_time(seconds) == text


def test_format_step_time_other_unit():
    assert format_step_time(0.5, "epoch") == "500ms/epoch"


@pytest.mark.parametrize("seconds, text", [
    (0.4, "0s"), (12.7, "12s"), (60.0, "60s"), (75.9, "1:15"), (323.0, "5:23"), (3600.0, "60:00"), (3723.9, "1:02:03"),
])
def test_format_duration_cuts_down_as_keras_eta(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("values, text", [
    ({"loss": 0.693147}, " - loss: 0.6931"),
    ({"accuracy": 0.5, "loss": 0.69314}, " - accuracy: 0.5000 - loss: 0.6931"),
    ({"loss": 0.0005}, " - loss: 5.0000e-04"),
    ({"loss": 0.001}, " - loss: 1.0000e-03"),
    ({"loss": 0.0011}, " - loss: 0.0011"),
    ({"loss": 0.0}, " - loss: 0.0000e+00"),
    ({"loss": 12.345678}, " - loss: 12.3457"),
    ({}, ""),
])
def test_format_values(values, text):
    assert format_values(values) == text


def test_verbose_2_prints_one_line_at_the_end(clock):
    stream = io.StringIO()
    bar = Progbar(2, verbose=2, stream=stream)
    clock.now += 0.004
    bar.update(1, {"loss": 1.0}, finalize=False)
    assert stream.getvalue() == ""
    clock.now += 0.006
    bar.update(2, {"accuracy": 0.5, "loss": 0.693147}, finalize=True)
    # first step 4 ms, then 6 ms per step after it
    assert stream.getvalue() == "2/2 - 0s - 6ms/step - accuracy: 0.5000 - loss: 0.6931\n"


def test_verbose_1_off_a_terminal_prints_only_the_final_line(clock):
    stream = io.StringIO()
    bar = Progbar(10, verbose=1, stream=stream)
    for step in range(1, 10):
        clock.now += 0.5
        bar.update(step, lambda: {"loss": 1.0}, finalize=False)
    assert stream.getvalue() == ""
    clock.now += 0.5
    bar.update(10, {"accuracy": 0.25, "loss": 0.5}, finalize=True)
    assert stream.getvalue() == f"10/10 {BAR} 5s 500ms/step - accuracy: 0.2500 - loss: 0.5000\n"


def test_final_line_shows_elapsed_seconds_even_past_a_minute(clock):
    stream = io.StringIO()
    bar = Progbar(3, verbose=1, stream=stream)
    clock.now += 25.0
    bar.update(1, finalize=False)
    clock.now += 50.0
    bar.update(3, {"loss": 0.25}, finalize=True)
    assert stream.getvalue() == f"3/3 {BAR} 75s 25s/step - loss: 0.2500\n"


def test_counter_is_padded_to_the_target_width(clock):
    stream = io.StringIO()
    bar = Progbar(938, verbose=2, stream=stream)
    clock.now += 0.012
    bar.update(7, {}, finalize=True)
    assert stream.getvalue().startswith("  7/938 - 0s - ")


def test_values_callable_is_called_only_when_drawing(clock):
    calls = []

    def values():
        calls.append(1)
        return {"loss": 1.0}

    bar = Progbar(5, verbose=1, stream=io.StringIO())
    for step in range(1, 5):
        bar.update(step, values, finalize=False)
    assert calls == []
    bar.update(5, values, finalize=True)
    assert calls == [1]


def test_terminal_redraws_in_place(clock):
    stream = FakeTerminal()
    bar = Progbar(4, verbose=1, stream=stream, interval=0.05)
    clock.now += 1.0
    bar.update(1, lambda: {"loss": 2.0}, finalize=False)
    clock.now += 0.01  # within the interval: no redraw
    bar.update(2, lambda: {"loss": 1.5}, finalize=False)
    clock.now += 1.0
    bar.update(3, lambda: {"loss": 1.25}, finalize=False)
    clock.now += 1.0
    bar.update(4, {"loss": 1.0}, finalize=True)
    text = stream.getvalue()
    frames = text.split("\r")[1:]
    assert text.startswith("\r") and len(frames) == 3 and text.endswith("\n") and text.count("\n") == 1
    bold, green, grey, reset = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"
    # step 1: 1 s per step, 3 steps left -> ETA 3s; bar 5 of 20 cells done
    assert frames[0] == (f"{bold}1/4{reset} {green}{'━' * 5}{reset}{grey}{'━' * 15}{reset}"
                         f" {bold}3s{reset} 1s/step - loss: 2.0000")
    assert frames[2] == (f"{bold}4/4{reset} {green}{'━' * 20}{reset}{grey}{reset}"
                         f" {bold}3s{reset} 670ms/step - loss: 1.0000\n")  # 2.01 s over steps 2-4


def test_terminal_pads_over_a_longer_previous_line(clock):
    stream = FakeTerminal()
    bar = Progbar(2, verbose=1, stream=stream, interval=0)
    clock.now += 1.0
    bar.update(1, lambda: {"loss": 123456.0, "val_loss": 1.0}, finalize=False)
    clock.now += 1.0
    bar.update(2, {"loss": 1.0}, finalize=True)
    first, second = stream.getvalue().split("\r")[1:]
    visible = [len(line.rstrip("\n").replace("\x1b[1m", "").replace("\x1b[32m", "").replace("\x1b[37m", "")
                   .replace("\x1b[0m", "")) for line in (first, second)]
    assert visible[1] >= visible[0]


def test_verbose_0_prints_nothing(clock):
    stream = FakeTerminal()
    bar = Progbar(2, verbose=0, stream=stream)
    bar.update(1, {"loss": 1.0})
    bar.update(2, {"loss": 1.0})
    assert stream.getvalue() == ""


@pytest.fixture
def notebook(monkeypatch, capsys):
    """Jupyter as Keras's Progbar detects it: ipykernel imported; sys.stdout (captured here) is no terminal.
    Returns a function giving what was printed so far."""
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert not sys.stdout.isatty()
    printed = []

    def output():
        printed.append(capsys.readouterr().out)
        return "".join(printed)

    return output


def test_a_notebook_sees_the_bar_redrawn_live(clock, notebook):
    bar = Progbar(4, verbose=1)
    for step in range(1, 4):
        clock.now += 1.0
        bar.update(step, lambda: {"loss": 1.0 / step}, finalize=False)
    running = notebook()
    assert running.count("\r") == 3 and running.endswith(" - loss: 0.3333")  # shown before the epoch ends
    clock.now += 1.0
    bar.update(4, {"loss": 0.25}, finalize=True)
    frames = notebook().split("\r")[1:]
    assert len(frames) == 4 and frames[-1].endswith(" - loss: 0.2500\n")


def test_a_notebook_sees_fit_progress_live(clock, notebook):
    from cnnkit.callbacks import ProgbarLogger

    logger = ProgbarLogger(verbose=1)
    logger.set_params({"epochs": 1, "steps": 2, "verbose": 1})
    logger.on_epoch_begin(0)
    clock.now += 1.0
    logger.on_train_batch_end(0, {"loss": 0.5})
    printed = notebook()
    assert printed.startswith("\r\x1b[1m1/2\x1b[0m ") and printed.endswith(" - loss: 0.5000")


def test_pycharm_console_redraws_too(monkeypatch, capsys):
    monkeypatch.setenv("PYCHARM_HOSTED", "1")
    assert Progbar(4).dynamic
    monkeypatch.delenv("PYCHARM_HOSTED")
    assert not Progbar(4).dynamic


def test_a_file_in_a_notebook_gets_only_the_final_line(clock, notebook):
    stream = io.StringIO()
    bar = Progbar(4, verbose=1, stream=stream)
    for step in range(1, 4):
        clock.now += 1.0
        bar.update(step, lambda: {"loss": 1.0}, finalize=False)
    clock.now += 1.0
    bar.update(4, {"loss": 0.25}, finalize=True)
    assert stream.getvalue() == f"4/4 {BAR} 4s 1s/step - loss: 0.2500\n"


def test_a_value_added_to_the_logs_that_is_no_number_is_shown_as_it_is():
    assert format_values({"loss": 0.5, "phase": "warm-up", "lr": 1e-4}) == (
        " - loss: 0.5000 - phase: warm-up - lr: 1.0000e-04")
