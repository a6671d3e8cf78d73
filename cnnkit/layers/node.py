"""Symbolic tensors and the nodes that connect them: the graph behind the Functional API.

Calling a layer on a `KerasTensor` computes no numbers: it builds the layer, infers the
output shape and records a `Node` (which layer, which input tensors, which outputs). A
Functional model walks the nodes back from its outputs to its inputs once and keeps them as
a plain ordered list it runs on real tensors.

Example:
    >>> from cnnkit import layers
    >>> x = layers.Input((28, 28, 1), name="image")
    >>> x.shape, x.dtype
    ((None, 28, 28, 1), 'float32')
    >>> y = layers.Flatten()(x)
    >>> y.shape
    (None, 784)
"""

import torch.utils._pytree as pytree

from cnnkit.utils.naming import unique_name


class KerasTensor:
    """A placeholder with a shape and a dtype, produced by `Input(...)` or by a layer call.

    Attributes:
        shape: tuple with None for unknown sizes (the batch).
        dtype: str, e.g. "float32".
        name: str, unique (`keras_tensor`, `keras_tensor_1`, ...).
        node: the `Node` that produced it (None only while it is being made).
        index: its position among that node's outputs.
    """

    def __init__(self, shape, dtype="float32", name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name or unique_name("keras_tensor")
        self.node = None
        self.index = 0

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def _keras_history(self):
        """(layer, node index, tensor index), as Keras names it."""
        layer = self.node.layer
        return layer, layer._inbound_nodes.index(self.node), self.index

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"KerasTensor '{self.name}' is a symbolic placeholder with no values; call a model on real "
            "arrays (model(x), model.predict(x)) to get numbers."
        )


class Node:
    """One call of `layer` in a graph: `outputs = layer(inputs, **kwargs)`.

    `inputs` and `outputs` keep the structure the call used (a tensor, a list, a dict);
    `input_tensors` / `output_tensors` are the same tensors flattened.
    """

    def __init__(self, layer, inputs, outputs, kwargs=None):
        self.layer = layer
        self.inputs = inputs
        self.outputs = outputs
        self.kwargs = dict(kwargs or {})
        self.input_tensors = flatten(inputs)
        self.output_tensors = flatten(outputs)
        for index, tensor in enumerate(self.output_tensors):
            tensor.node, tensor.index = self, index

    @property
    def parent_nodes(self):
        return [tensor.node for tensor in self.input_tensors]

    @property
    def is_input(self):
        return not self.input_tensors


def flatten(structure):
    """The leaves of a nested list/tuple/dict, in order."""
    return pytree.tree_flatten(structure)[0]


def map_structure(function, structure):
    return pytree.tree_map(function, structure)


def pack_like(structure, leaves):
    """`leaves` put back into the nesting of `structure`."""
    return pytree.tree_unflatten(list(leaves), pytree.tree_flatten(structure)[1])


def shapes_of(structure):
    """The shape, batch dimension None, of a tensor, or a list/dict of the shapes of a
    list/tuple/dict of tensors."""
    if isinstance(structure, dict):
        return {key: shapes_of(value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [shapes_of(value) for value in structure]
    return (None, *structure.shape[1:])


def is_symbolic(structure):
    return any(isinstance(leaf, KerasTensor) for leaf in flatten(structure))
