"""Functional models: `Model(inputs, outputs)` over a graph of layer calls.

Example:
    >>> from cnnkit import layers, Input, Model
    >>> image = Input((28, 28, 1), name="image")
    >>> x = layers.Conv2D(8, 3, activation="relu", name="conv")(image)
    >>> x = layers.GlobalAveragePooling2D()(x)
    >>> model = Model(image, layers.Dense(10, activation="softmax")(x))
    >>> [layer.name for layer in model.layers][:2], model.output_shape
    (['image', 'conv'], (None, 10))
"""

import torch

from cnnkit.layers.node import KerasTensor, flatten, pack_like
from cnnkit.models.graph import Graph
from cnnkit.models.model import Model


class Functional(Model):
    """A model defined by calling layers on symbolic tensors.

    Args:
        inputs: a symbolic tensor (from `keras.Input`), or a list or dict of them.
        outputs: a symbolic tensor computed from `inputs`, or a list or dict of them.
        name: str; default `functional`, `functional_1`, ...
        trainable: bool. Default True.
    """

    _keras_module, _registered_name = "keras.src.models.functional", "Functional"  # as Keras 3 files name it

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, **kwargs)
        self._set_graph(inputs, outputs)
        if not trainable:
            self.trainable = False

    def _set_graph(self, inputs, outputs):
        if isinstance(inputs, dict):
            inputs = dict(inputs)
        self._inputs_structure, self._outputs_structure = inputs, outputs
        self._graph = Graph(inputs, outputs, self.name)
        self._graph_layers = torch.nn.ModuleList(self._graph.layers)
        self.input_shape = _shape_structure(inputs)
        self.output_shape = _shape_structure(outputs)
        self.built = True

    # -- the graph ------------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._graph_layers)

    @property
    def inputs(self):
        return list(self._graph.inputs)

    @property
    def outputs(self):
        return list(self._graph.outputs)

    @property
    def input(self):
        return self._inputs_structure

    @property
    def output(self):
        return self._outputs_structure

    @property
    def input_names(self):
        return [tensor.node.layer.name for tensor in self._graph.inputs]

    @property
    def output_names(self):
        return [tensor.node.layer.name for tensor in self._graph.outputs]

    def flat_input_shapes(self):
        return [tensor.shape for tensor in self._graph.inputs]

    def flat_inputs(self, inputs):
        """The model's inputs in order, from one tensor, a list or a dict by input name."""
        if isinstance(inputs, dict):
            missing = [name for name in self.input_names if name not in inputs]
            if missing:
                raise ValueError(
                    f"Model '{self.name}' expects inputs named {self.input_names}; missing {missing} "
                    f"in the dict with keys {sorted(inputs)}."
                )
            return [inputs[name] for name in self.input_names]
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != len(self._graph.inputs):
                raise ValueError(
                    f"Model '{self.name}' expects {len(self._graph.inputs)} input(s) {self.input_names}; "
                    f"received a list of {len(inputs)}."
                )
            return list(inputs)
        return [inputs]

    # -- computing ------------------------------------------------------------------------
    def call(self, inputs, training=None):
        outputs = self._graph.run(self.flat_inputs(inputs), training)
        return pack_like(self._outputs_structure, outputs)

    def call_logits(self, inputs, training):
        """The one output's pre-activation (see `final_layer`)."""
        return self._graph.run(self.flat_inputs(inputs), training, final_logits=True)[0]

    def final_layer(self):
        return self._graph.final_layer()

    def check_input_shape(self, input_shape):
        given = input_shape if isinstance(input_shape, list) else [input_shape]
        expected = [tensor.shape for tensor in self._graph.inputs]
        if len(given) != len(expected) or any(not _compatible(g, e) for g, e in zip(given, expected)):
            raise ValueError(
                f"Input to model '{self.name}' is incompatible with it: expected shape "
                f"{expected[0] if len(expected) == 1 else expected}, got {input_shape}."
            )

    def compute_output_shape(self, input_shape):
        return self.output_shape

    def build(self, input_shape):
        self.built = True

    def get_config(self):
        from cnnkit.saving.functional_config import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from cnnkit.saving.functional_config import functional_from_config

        return functional_from_config(cls, config, custom_objects)


def _compatible(given, expected):
    return len(given) == len(expected) and all(
        e is None or g is None or e == g for g, e in zip(given, expected))


def _shape_structure(tensors):
    """The shapes of a symbolic tensor, or a list/dict of them."""
    if isinstance(tensors, KerasTensor):
        return tensors.shape
    if isinstance(tensors, dict):
        return {key: value.shape for key, value in tensors.items()}
    return [tensor.shape for tensor in flatten(tensors)]
