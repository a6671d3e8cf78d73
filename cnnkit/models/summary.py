"""Keras's model summary table, drawn with box characters."""

COLUMNS = (("Layer (type)", 31, "<"), ("Output Shape", 22, "<"), ("Param #", 13, ">"))


def format_size(num_bytes):
    """'364.54 KB', '0.00 B', as Keras prints parameter memory."""
    for unit in ("B", "KB", "MB", "GB"):
        if num_bytes < 1024 or unit == "GB":
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024


def format_shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _line(left, fill, middle, right, widths):
    return left + middle.join(fill * (width + 2) for width in widths) + right


def _row(cells, widths, border):
    padded = (f"{cell:{align}{width}}" for cell, width, (_, _, align) in zip(cells, widths, COLUMNS))
    return border + border.join(f" {cell} " for cell in padded) + border


def summary_lines(model):
    """The summary as a list of lines."""
    rows = [
        (f"{layer.name} ({type(layer).__name__})",
         format_shape(layer.output_shape) if layer.output_shape else "?",
         f"{layer.count_params():,}" if layer.built else "0 (unbuilt)")
        for layer in model.layers
    ]
    widths = [max([minimum, len(title), *(len(row[i]) for row in rows)])
              for i, (title, minimum, _) in enumerate(COLUMNS)]
    lines = [f'Model: "{model.name}"', _line("┏", "━", "┳", "┓", widths),
             _row([title for title, _, _ in COLUMNS], widths, "┃"), _line("┡", "━", "╇", "┩", widths)]
    for index, row in enumerate(rows):
        if index:
            lines.append(_line("├", "─", "┼", "┤", widths))
        lines.append(_row(row, widths, "│"))
    lines.append(_line("└", "─", "┴", "┘", widths))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    for label, count in (("Total", trainable + frozen), ("Trainable", trainable), ("Non-trainable", frozen)):
        lines.append(f" {label} params: {count:,} ({format_size(count * 4)})")
    return lines


def print_summary(model, print_fn=None):
    """Prints the summary; `print_fn` receives the whole text at once, ending in a newline as in Keras."""
    text = "\n".join(summary_lines(model)) + "\n"
    if print_fn is None:
        print(text, end="")
    else:
        print_fn(text)
