"""The learning-rate finder: loss against an exponentially growing learning rate (Smith, 2015)."""

import copy
import dataclasses

import numpy as np
import torch

SMOOTHING = 0.98   # exponential moving average of the loss, debiased (as fastai)
DIVERGED = 4.0     # stop once the smoothed loss exceeds this many times its minimum


@dataclasses.dataclass
class LrFind:
    """What `lr_find` measured.

    Attributes:
        learning_rates: float array, the rate of each step taken.
        losses: float array, the smoothed training loss after each step.
        raw_losses: float array, each step's batch loss.
        suggestion: float, the rate where the smoothed loss falls fastest against log(rate).
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    suggestion: float


def lr_find(model, x, y, start=1e-7, end=10.0, steps=100, batch_size=32, path=None, seed=0):
    """Sweeps the learning rate from `start` to `end` exponentially, one batch per step.

    The sweep trains a deep copy of `model` (weights, optimizer and its state together), so
    the model's weights and optimizer state are left exactly as they were, bit for bit; the
    global torch and NumPy random states are restored too. It stops early when the loss
    diverges (4x its minimum, or not finite).

    Args:
        model: a compiled model.
        x, y: training arrays; batches of `batch_size` drawn in a seeded random order, cycling.
        start, end: floats, the first and last learning rates. Defaults 1e-7 and 10.
        steps: int, the number of steps (batches). Default 100.
        batch_size: int. Default 32.
        path: optional; write a PNG there: loss against learning rate (log axis), the
            suggestion marked.
        seed: int, seeds the batch order. Default 0.

    Returns:
        An `LrFind` (`.learning_rates`, `.losses`, `.raw_losses`, `.suggestion`).

    Raises:
        ValueError: the model is not compiled, or `0 < start < end` and `steps >= 2` do not hold.

    Example:
        >>> found = lr_find(model, x_train, y_train, path="lr.png")  # doctest: +SKIP
        >>> model.optimizer.learning_rate = found.suggestion  # doctest: +SKIP
    """
    if model.optimizer is None or model.loss is None:
        raise ValueError(f"lr_find needs a compiled model; call model.compile(...) on '{model.name}' first.")
    if not (0 < start < end) or int(steps) < 2:
        raise ValueError(f"lr_find needs 0 < start < end and steps >= 2. Received: start={start}, end={end}, "
                         f"steps={steps}")
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    try:
        rates, raw = _sweep(copy.deepcopy(model), x, y, start, end, int(steps), batch_size, seed)
    finally:
        torch.set_rng_state(torch_state)
        np.random.set_state(numpy_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
    smoothed = _smooth(raw)
    result = LrFind(np.asarray(rates), smoothed, np.asarray(raw), _steepest(rates, smoothed))
    if path is not None:
        plot_lr_find(result, path)
    return result


def plot_lr_find(result, path):
    """Writes the smoothed loss against the learning rate (log axis) with the suggestion marked."""
    from cnnkit.viz._figure import new_figure, save_figure

    figure = new_figure(640, 420)
    axes = figure.add_subplot(1, 1, 1)
    axes.plot(result.learning_rates, result.losses, label="smoothed loss")
    axes.plot(result.learning_rates, result.raw_losses, alpha=0.3, label="batch loss")
    at = int(np.argmin(np.abs(result.learning_rates - result.suggestion)))
    axes.plot([result.suggestion], [result.losses[at]], "o", color="red",
              label=f"steepest descent: {result.suggestion:.2e}")
    axes.set_xscale("log")
    axes.set_xlabel("learning rate")
    axes.set_ylabel("loss")
    low, high = np.nanmin(result.losses), np.nanmax(result.losses[: at + 1])
    axes.set_ylim(low - 0.05 * (high - low + 1e-12), max(high, result.losses[0]) * 1.1 + 1e-12)
    axes.legend()
    axes.set_title("learning-rate finder")
    return save_figure(figure, path)


def _sweep(model, x, y, start, end, steps, batch_size, seed):
    x, y = np.asarray(x), np.asarray(y)
    order = np.random.default_rng(seed).permutation(len(x))
    rates, losses, best, position = [], [], np.inf, 0
    for step in range(steps):
        if position + batch_size > len(order):
            position = 0
        batch = order[position:position + batch_size]
        position += batch_size
        rate = start * (end / start) ** (step / (steps - 1))
        model.optimizer.learning_rate = rate
        result = model.train_on_batch(x[batch], y[batch])
        loss = float(result[0] if isinstance(result, (list, tuple)) else result)
        rates.append(rate)
        losses.append(loss)
        smoothed = _smooth(losses)[-1]
        if not np.isfinite(smoothed) or smoothed > DIVERGED * best:
            break
        best = min(best, smoothed)
    return rates, losses


def _smooth(losses):
    average, smoothed = 0.0, []
    for step, loss in enumerate(losses, 1):
        average = SMOOTHING * average + (1 - SMOOTHING) * loss
        smoothed.append(average / (1 - SMOOTHING ** step))
    return np.asarray(smoothed)


def _steepest(rates, smoothed):
    """The rate where d(loss)/d(log rate) is most negative, before the loss's minimum (past it,
    the loss only diverges)."""
    rates = np.asarray(rates)
    usable = np.isfinite(smoothed)
    rates, smoothed = rates[usable], smoothed[usable]
    if len(rates):
        lowest = int(np.argmin(smoothed)) + 1
        rates, smoothed = rates[:lowest], smoothed[:lowest]
    if len(rates) < 3:
        return float(rates[0]) if len(rates) else float("nan")
    slopes = np.gradient(smoothed, np.log(rates))
    return float(rates[int(np.argmin(slopes))])
