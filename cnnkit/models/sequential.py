"""Sequential models: a Functional model whose graph is a chain of layers."""

import torch

from cnnkit.layers.base import Layer
from cnnkit.layers.core.input_layer import InputLayer
from cnnkit.layers.node import KerasTensor
from cnnkit.models.functional import Functional
from cnnkit.models.graph import Graph
from cnnkit.models.model import Model


class Sequential(Functional):
    """Layers applied one after the other.

    Once the input shape is known (an `Input(...)` first, or the first call), the model is
    a graph like any Functional one: `model.input`, `model.output` and `layer.output` work,
    so sub-models can be cut from it.

    Args:
        layers: optional list of layers (an `Input(...)` first declares the input shape).
        name: str; default `sequential`, `sequential_1`, ...

    Example:
        >>> from cnnkit import layers
        >>> model = Sequential([layers.Input((28, 28, 1)), layers.Conv2D(32, 3), layers.Flatten()])
        >>> model.output_shape
        (None, 21632)
    """

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        self._stack = torch.nn.ModuleList()
        self._input_layer = None
        self._graph = None
        for layer in layers or []:
            self.add(layer)

    # -- structure ----------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._stack)

    def add(self, layer):
        """Appends a layer; builds it right away when the input shape is known."""
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError(f"Model '{self.name}': an Input can only be the first entry of a Sequential model.")
            self._input_layer = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Model '{self.name}' takes cnnkit layers; received {layer!r} of type {type(layer).__name__}.")
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(
                f"All layers of model '{self.name}' need unique names; '{layer.name}' is already taken."
            )
        self._stack.append(layer)
        shape = self.declared_input_shape()
        if shape is not None:
            try:
                self.build(shape)
            except ValueError:
                self._stack = self._stack[:-1]
                self._rebuild_if_possible()
                raise

    def pop(self):
        """Removes the last layer."""
        if not self._stack:
            raise ValueError(f"Model '{self.name}' has no layers to pop.")
        layer = self._stack[-1]
        self._stack = self._stack[:-1]
        self._forget_nodes([layer])
        self._rebuild_if_possible()
        return layer

    def declared_input_shape(self):
        if self._input_layer is not None:
            return self._input_layer.batch_input_shape
        if self._stack and self._stack[0].batch_input_shape is not None:
            return self._stack[0].batch_input_shape
        return None

    def _rebuild_if_possible(self):
        if self.built and self._stack:
            self.build(self.input_shape)
        elif not self._stack:
            self._graph, self.built = None, False

    def build(self, input_shape=None):
        """Builds every layer for `input_shape` (with the batch dimension, e.g. (None, 28, 28, 1))
        and records the chain as the model's graph."""
        if not self._stack:
            raise ValueError(f"Model '{self.name}' has no layers to build.")
        input_shape = tuple(input_shape or self.declared_input_shape())
        self._forget_nodes(self._stack)
        if self._input_layer is None or tuple(self._input_layer.batch_input_shape) != input_shape:
            self._input_layer = InputLayer(batch_shape=input_shape, name=self._input_name())
        inputs = self._input_layer.output
        x = inputs
        for layer in self._stack:
            x = layer(x)
        self._inputs_structure, self._outputs_structure = inputs, x
        self._graph = Graph([inputs], [x], self.name)
        self.input_shape, self.output_shape = inputs.shape, x.shape
        self.built = True

    def _input_name(self):
        return None if self._input_layer is None else self._input_layer.name

    def _forget_nodes(self, layers):
        """Drops the nodes this model recorded on `layers`, before it records the chain again."""
        if self._graph is None:
            return
        ours = set(self._graph.nodes)
        for layer in layers:
            layer._inbound_nodes = [node for node in layer._inbound_nodes if node not in ours]

    @property
    def input(self):
        if self._graph is None:
            raise ValueError(f"The layer {self.name} has never been called and thus has no defined input.")
        return self._inputs_structure

    @property
    def output(self):
        if self._graph is None:
            raise ValueError(f"The layer {self.name} has never been called and thus has no defined output.")
        return self._outputs_structure

    def check_input_shape(self, input_shape):
        if self._graph is not None:
            super().check_input_shape(input_shape)

    def compute_output_shape(self, input_shape):
        return self.output_shape

    def get_config(self):
        from cnnkit.saving.registry import serialize_layer

        entries = [self._input_layer] if self._input_layer is not None else []
        config = {"name": self.name, "trainable": self.trainable,
                  "layers": [serialize_layer(layer) for layer in entries + self.layers]}
        if self.built:
            config["build_input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from cnnkit.saving.registry import deserialize_layer

        model = cls(name=config.get("name"))
        for index, entry in enumerate(config.get("layers") or []):
            layer = deserialize_layer(entry, custom_objects, where=f"layer {index}")
            try:
                model.add(layer)
            except (TypeError, ValueError) as error:
                raise ValueError(f"layer {index} ('{layer.name}') does not fit the model: {error}") from error
        if config.get("build_input_shape") is not None and not model.built:
            model.build(tuple(config["build_input_shape"]))
        if not config.get("trainable", True):
            model.trainable = False
        return model
