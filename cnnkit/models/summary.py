"""Keras's model summary table, drawn with box characters, cell for cell as Keras 3 prints it.

Columns: "Layer (type)", "Output Shape", "Param #", plus "Connected to" for graphs that are
not a plain chain and "Trainable" with `show_trainable`. Widths follow Keras: fractions of
`line_length` (88, or 108 with connections, +12 with show_trainable), squeezed evenly to fit
the borders and padding, with long cells wrapped at spaces.
"""

import shutil

from cnnkit.layers.node import flatten

CHAIN = (("Layer (type)", "<"), ("Output Shape", "<"), ("Param #", ">"))
CONNECTED = (("Connected to", "<"),)
TRAINABLE = (("Trainable", "^"),)


def format_size(num_bytes):
    """'364.54 KB', '0.00 B', as Keras prints parameter memory."""
    for unit in ("B", "KB", "MB", "GB"):
        if num_bytes < 1024 or unit == "GB":
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024


def format_shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def format_output_shape(layer, graph_nodes=None):
    """The output shape of the layer's call in this model (its last built shape otherwise), or '?'."""
    nodes = [node for node in layer._inbound_nodes if graph_nodes is None or node in graph_nodes]
    if nodes:
        outputs = nodes[-1].outputs
        shapes = [tensor.shape for tensor in flatten(outputs)]
        if len(shapes) == 1:
            return format_shape(shapes[0])
        return "[" + ", ".join(format_shape(shape) for shape in shapes) + "]"
    if layer.output_shape is not None and layer.built:
        shape = layer.output_shape
        return format_shape(shape) if isinstance(shape, tuple) else str([format_shape(s) for s in shape])
    return "?"


def is_chain(model):
    """Keras's test: one node per depth, none with several inputs, no layer used twice."""
    graph = getattr(model, "_graph", None)
    if graph is None or type(model).__name__ == "Sequential":
        return True
    depths = {}
    for node in graph.nodes:
        if len(node.input_tensors) > 1:
            return False
        depths.setdefault(node, None)
    layers = [node.layer for node in graph.nodes]
    return len(layers) == len(set(layers)) and _one_node_per_depth(graph)


def _one_node_per_depth(graph):
    depth = graph._depths(graph._walk_back()[0])
    counts = {}
    for node, value in depth.items():
        counts[value] = counts.get(value, 0) + 1
    return all(count == 1 for count in counts.values())


def column_widths(positions, line_length):
    """Each column's text width: Keras's positions, then rich's even squeeze to the line."""
    widths, current = [], 0
    for position in positions:
        width = int(position * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    padded = [width + 2 for width in widths]
    excess = sum(padded) - (line_length - len(widths) - 1)
    if excess > 0:
        remaining_ratio, reduced = len(padded), []
        for width in padded:
            cut = min(width, round(excess / remaining_ratio))
            reduced.append(width - cut)
            excess -= cut
            remaining_ratio -= 1
        padded = reduced
    return [width - 2 for width in padded]


def wrap(text, width):
    """Lines of at most `width` characters, broken at spaces; a longer word ends in '…'."""
    lines, line = [], ""
    words = text.lstrip(" ").split(" ")
    words[0] = " " * (len(text) - len(text.lstrip(" "))) + words[0]  # keeps a nested row's indent
    for word in words:
        if len(word) > width:
            word = word[:width - 1] + "…"
        candidate = f"{line} {word}" if line else word
        if len(candidate) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    return lines + [line]


def _row_lines(cells, widths, aligns, border):
    wrapped = [wrap(cell, width) for cell, width in zip(cells, widths)]
    height = max(len(lines) for lines in wrapped)
    out = []
    for index in range(height):
        parts = [f" {_align(lines[index] if index < len(lines) else '', width, align)} "
                 for lines, width, align in zip(wrapped, widths, aligns)]
        out.append(border + border.join(parts) + border)
    return out


def _align(text, width, align):
    if align == "^":
        left = (width - len(text)) // 2
        return " " * left + text + " " * (width - len(text) - left)
    return f"{text:{align}{width}}"


def _rule(left, fill, middle, right, widths):
    return left + middle.join(fill * (width + 2) for width in widths) + right


def layer_rows(model, chain, show_trainable, expand_nested, graph_nodes):
    rows = []

    def add(layer, level):
        prefix = "   " * level + "└ " if level else ""
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        row = [f"{prefix}{layer.name} ({type(layer).__name__})",
               format_output_shape(layer, graph_nodes if level == 0 else None), params]
        if not chain:
            row.append(_connections(layer, graph_nodes))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows.append(row)
        if expand_nested and hasattr(layer, "layers") and layer.layers:
            for inner in layer.layers:
                add(inner, level + 1)

    for layer in model.layers:
        add(layer, 0)
    return rows


def _connections(layer, graph_nodes):
    names = [f"{tensor.node.layer.name}[{tensor.node.layer._inbound_nodes.index(tensor.node)}][{tensor.index}]"
             for node in layer._inbound_nodes if graph_nodes is None or node in graph_nodes
             for tensor in node.input_tensors]
    return ", ".join(names) or "-"


def summary_lines(model, line_length=None, show_trainable=False, expand_nested=False):
    """The summary as a list of lines."""
    chain = is_chain(model)
    header = list(CHAIN) if chain else list(CHAIN + CONNECTED)
    positions = [0.45, 0.80, 1.0] if chain else [0.3, 0.56, 0.74, 1.0]
    default_length = 88 if chain else 108
    if show_trainable:
        default_length += 12
        positions = [position * 0.90 for position in positions] + [1.0]
        header += TRAINABLE
    line_length = line_length or min(default_length, shutil.get_terminal_size().columns - 4)
    widths = column_widths(positions, line_length)
    aligns = [align for _, align in header]
    graph = getattr(model, "_graph", None)
    graph_nodes = set(graph.nodes) if graph is not None else None
    lines = [f'Model: "{model.name}"', _rule("┏", "━", "┳", "┓", widths)]
    lines += _row_lines([title for title, _ in header], widths, aligns, "┃")
    lines.append(_rule("┡", "━", "╇", "┩", widths))
    for index, row in enumerate(layer_rows(model, chain, show_trainable, expand_nested, graph_nodes)):
        if index:
            lines.append(_rule("├", "─", "┼", "┤", widths))
        lines += _row_lines(row, widths, aligns, "│")
    lines.append(_rule("└", "─", "┴", "┘", widths))
    return lines + count_lines(model)


def count_lines(model):
    """Total, Trainable, Non-trainable (and Optimizer, once built) parameter counts with their memory."""
    trainable = sum(weight.numel() for weight in model.trainable_weights)
    frozen = sum(weight.numel() for weight in model.non_trainable_weights)
    optimizer = model.optimizer if getattr(model, "_optimizer_built", False) else None
    optimizer_count = optimizer_bytes = 0
    if optimizer is not None:
        state = optimizer.variables_state()
        optimizer_count = sum(tensor.numel() for tensor in state.values())
        # Keras keeps every float state (the learning rate too) in float32, the step count in int64.
        optimizer_bytes = sum(tensor.numel() * (4 if tensor.is_floating_point() else tensor.element_size())
                              for tensor in state.values())
    lines = [f" Total params: {trainable + frozen + optimizer_count:,} "
             f"({format_size((trainable + frozen) * 4 + optimizer_bytes)})",
             f" Trainable params: {trainable:,} ({format_size(trainable * 4)})",
             f" Non-trainable params: {frozen:,} ({format_size(frozen * 4)})"]
    if optimizer is not None:
        lines.append(f" Optimizer params: {optimizer_count:,} ({format_size(optimizer_bytes)})")
    return lines


def print_summary(model, line_length=None, print_fn=None, expand_nested=False, show_trainable=False):
    """Prints the summary; `print_fn` receives the whole text at once, ending in a newline as in Keras."""
    text = "\n".join(summary_lines(model, line_length, show_trainable, expand_nested)) + "\n"
    if print_fn is None:
        print(text, end="")
    else:
        print_fn(text)
