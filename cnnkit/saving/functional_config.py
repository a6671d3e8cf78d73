"""A Functional model's graph as Keras 3 writes it in `config.json`, and back.

Each layer entry carries `name` and `inbound_nodes`: one `{"args": [...], "kwargs": {...}}`
per call, where every input tensor is `{"class_name": "__keras_tensor__", "config": {"shape",
"dtype", "keras_history": [layer name, node index, tensor index]}}`; `input_layers` and
`output_layers` hold such histories (one, or a list or dict of them). The same schema serves the
`.cnnkit` and `.keras` files.

Example:
    >>> from cnnkit import layers, Input, Model
    >>> inputs = Input((4,), name="x")
    >>> config = functional_config(Model(inputs, layers.Dense(2, name="out")(inputs), name="tiny"))
    >>> config["input_layers"], config["output_layers"], config["layers"][1]["inbound_nodes"][0]["args"][0]["config"]
    (['x', 0, 0], ['out', 0, 0], {'shape': [None, 4], 'dtype': 'float32', 'keras_history': ['x', 0, 0]})
"""

from cnnkit.layers.core.input_layer import InputLayer
from cnnkit.layers.node import KerasTensor, flatten, map_structure
from cnnkit.saving.errors import ModelFileError
from cnnkit.saving.registry import deserialize_layer, serialize_layer


def functional_config(model):
    """`{"name", "trainable", "layers", "input_layers", "output_layers"}` of a Functional model."""
    graph = model._graph
    members = set(graph.nodes)

    def history(tensor):
        layer = tensor.node.layer
        own = [node for node in layer._inbound_nodes if node in members]
        return [layer.name, own.index(tensor.node) if tensor.node in own else 0, tensor.index]

    def tensor_entry(tensor):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(tensor.shape), "dtype": tensor.dtype, "keras_history": history(tensor)}}

    layers = []
    for layer in model.layers:
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [{"args": [map_structure(tensor_entry, node.inputs)], "kwargs": dict(node.kwargs)}
                                  for node in layer._inbound_nodes if node in members and not node.is_input]
        layers.append(entry)

    def ends(structure):
        if isinstance(structure, KerasTensor):
            return history(structure)
        if isinstance(structure, dict):
            return {key: history(tensor) for key, tensor in structure.items()}
        return [history(tensor) for tensor in flatten(structure)]

    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": ends(model.input), "output_layers": ends(model.output)}


def functional_from_config(cls, config, custom_objects=None):
    """Rebuilds the layers, replays every recorded call in an order where its inputs exist,
    and returns `cls(inputs, outputs)`."""
    if not isinstance(config.get("layers"), list):
        raise ModelFileError("a Functional config needs a list of 'layers'.")
    tensors, queues = {}, []
    for index, entry in enumerate(config["layers"]):
        layer = deserialize_layer(entry, custom_objects, where=f"layer {index}")
        if isinstance(layer, InputLayer):
            tensors[(layer.name, 0, 0)] = layer.output
        queues.append([layer, _calls(entry, layer), 0])
    while any(nodes for _, nodes, _ in queues):
        progressed = False
        for queue in queues:
            layer, nodes, done = queue
            while nodes and _ready(nodes[0], tensors):
                _replay(layer, nodes.pop(0), done, tensors)
                queue[2] = done = done + 1
                progressed = True
        if not progressed:
            layer, nodes, _ = next(queue for queue in queues if queue[1])
            missing = _missing(nodes[0], tensors)
            unknown = sorted({name for name, *_ in missing} - {queued.name for queued, _, _ in queues})
            reason = f"no layer is named {unknown}" if unknown else "the calls form a cycle, or name calls not recorded"
            raise ModelFileError(
                f"layer '{layer.name}' is called on tensors {missing} that are never produced: {reason}.")
    inputs, outputs = _resolve(config.get("input_layers"), tensors), _resolve(config.get("output_layers"), tensors)
    return cls(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))


def _calls(entry, layer):
    """The layer's recorded calls, checked: a list of `{"args": [...], "kwargs": {...}}`."""
    nodes = entry.get("inbound_nodes") or []
    if not isinstance(nodes, list) or not all(
            isinstance(node, dict) and isinstance(node.get("args") or [], list)
            and isinstance(node.get("kwargs") or {}, dict) for node in nodes):
        raise ModelFileError(
            f"layer '{layer.name}': 'inbound_nodes' must be a list of {{'args': [...], 'kwargs': {{...}}}}; "
            f"found {nodes!r}"
        )
    return list(nodes)


def _key(history):
    """A `[layer name, node index, tensor index]` history as a dict key; a ModelFileError if it is not one."""
    if not (isinstance(history, list) and len(history) == 3 and isinstance(history[0], str)
            and all(type(index) is int for index in history[1:])):
        raise ModelFileError(f"expected a layer history [layer name, node index, tensor index], found {history!r}")
    return tuple(history)


def _tensor_key(structure):
    """The history of a `__keras_tensor__` entry."""
    config = structure.get("config")
    return _key(config.get("keras_history") if isinstance(config, dict) else None)


def _histories(structure):
    """The keras_history triples in a node's args, in order."""
    if isinstance(structure, dict):
        if structure.get("class_name") == "__keras_tensor__":
            return [_tensor_key(structure)]
        return [h for value in structure.values() for h in _histories(value)]
    if isinstance(structure, list):
        return [h for value in structure for h in _histories(value)]
    return []


def _ready(node, tensors):
    return all(history in tensors for history in _histories(node.get("args")))


def _missing(node, tensors):
    return [list(history) for history in _histories(node.get("args")) if history not in tensors]


def _arguments(structure, tensors):
    if isinstance(structure, dict):
        if structure.get("class_name") == "__keras_tensor__":
            return tensors[_tensor_key(structure)]
        return {key: _arguments(value, tensors) for key, value in structure.items()}
    if isinstance(structure, list):
        return [_arguments(value, tensors) for value in structure]
    return structure


def _replay(layer, node, node_index, tensors):
    args = _arguments(node.get("args") or [], tensors)
    kwargs = {key: value for key, value in (node.get("kwargs") or {}).items() if value is not None}
    if len(args) != 1:
        raise ModelFileError(f"layer '{layer.name}': expected one input structure per call, found {len(args)}.")
    outputs = layer(args[0], **kwargs)
    for tensor_index, tensor in enumerate(flatten(outputs)):
        tensors[(layer.name, node_index, tensor_index)] = tensor


def _resolve(ends, tensors):
    """The tensors named by `input_layers` / `output_layers`: one history, or a list or dict of them."""
    if isinstance(ends, list) and ends and isinstance(ends[0], str):
        return _tensor(ends, tensors)
    if isinstance(ends, dict) and ends:
        return {key: _tensor(end, tensors) for key, end in ends.items()}
    if isinstance(ends, list) and ends:
        return [_tensor(end, tensors) for end in ends]
    raise ModelFileError(f"expected layer histories [name, node, tensor], found {ends!r}")


def _tensor(end, tensors):
    key = _key(end)
    if key not in tensors:
        raise ModelFileError(f"the model's input or output {list(end)} is not produced by any layer of the config.")
    return tensors[key]
