"""Learning curves: loss and accuracy per epoch, train and validation."""

from cnnkit.viz._figure import new_figure, save_figure


def _as_dict(history):
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError("`history` must be a History (what fit returns) or a non-empty dict "
                         f"{{'loss': [...], ...}}. Received: {history!r}")
    return logs


def _panels(logs):
    """Metric names to draw, one panel each: 'loss' first, never the 'val_' twins."""
    names = [name for name in logs if not name.startswith("val_") and name not in ("epoch", "learning_rate")]
    return sorted(names, key=lambda name: (name != "loss", name))


def plot_history(history, path, first_epoch=1):
    """Draws each metric per epoch (train solid, validation dashed) and writes a PNG.

    Args:
        history: the `History` returned by `fit`, or a dict of per-epoch lists
            (`{"loss": [...], "accuracy": [...], "val_loss": [...], ...}`).
        path: where to write the PNG (written atomically).
        first_epoch: int, the number of the first epoch on the x axis. Default 1.

    Returns:
        `path`.

    Example:
        >>> plot_history({"loss": [0.3, 0.1], "val_loss": [0.2, 0.15]}, "curves.png")  # doctest: +SKIP
    """
    logs = _as_dict(history)
    panels = _panels(logs) or sorted(logs)
    figure = new_figure(600 * len(panels), 450)
    for index, name in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        for key, label, style in ((name, "train", "o-"), ("val_" + name, "validation", "s--")):
            values = list(logs.get(key, []))
            if values:
                epochs = range(first_epoch, first_epoch + len(values))
                axes.plot(epochs, values, style, label=label)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        _integer_ticks(axes, first_epoch, len(logs[name]))
        axes.grid(alpha=0.3)
        axes.legend()
    return save_figure(figure, path)


def _integer_ticks(axes, first_epoch, epochs):
    """Whole epoch numbers on the x axis: each one when few, else a few round ones."""
    if epochs <= 20:
        axes.set_xticks(range(first_epoch, first_epoch + epochs))
    else:
        from matplotlib.ticker import MaxNLocator

        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
