"""The Layer base class: a torch Module with Keras's protocol.

Order of a layer's life, as in Keras: `__init__` stores and validates arguments,
`build(input_shape)` creates weights once the input shape is known, `call(inputs,
training=None)` computes, `compute_output_shape` gives shapes without computing,
`get_config` describes the layer.

Calling a layer (`layer(x)`) works two ways, as in Keras:

- on symbolic tensors (`Input(...)` and what layers return for them) it builds the layer,
  checks the input, records a `Node` and returns symbolic outputs: the Functional API;
- on arrays or torch tensors it computes, eagerly, a torch tensor that autograd can
  differentiate. `training` defaults to the caller's (inference at the outermost call).

Shapes in the API are channels-last with None for the batch: `(None, 28, 28, 1)`.
Tensors flowing between layers are channels-last too; layers that need torch's NCHW
view take it with a zero-copy `permute`, never a copy.
"""

import inspect
import json
import threading

import numpy as np
import torch

from cnnkit import initializers
from cnnkit.engine.device import get_device
from cnnkit.layers.node import KerasTensor, Node, is_symbolic, map_structure
from cnnkit.utils.naming import to_snake_case, unique_name

_call_context = threading.local()


def current_training():
    """The `training` flag of the enclosing layer call (None outside any call)."""
    return getattr(_call_context, "training", None)


def is_shape(value):
    """True for one shape such as `(None, 28, 28, 1)`, False for a list/dict of shapes."""
    return isinstance(value, tuple) and all(d is None or isinstance(d, int) for d in value)


def map_shapes(function, shapes):
    """`function` applied to each shape of a shape or a (nested) list/dict of shapes."""
    if is_shape(shapes):
        return function(shapes)
    if isinstance(shapes, dict):
        return {key: map_shapes(function, value) for key, value in shapes.items()}
    return [map_shapes(function, value) for value in shapes]


class Layer(torch.nn.Module):
    """Base class of every cnnkit layer, and of your own.

    Args:
        name: str, unique name; by default the snake-cased class name made unique
            in the process (`conv2d`, `conv2d_1`, ...).
        input_shape: tuple without the batch dimension, for the first layer of a Sequential.
        trainable: bool, whether fit updates this layer's weights.
        dtype: only "float32" (or None) for now: weights are kept in float32.

    Example (a layer of your own):
        >>> class Scale(Layer):
        ...     def build(self, input_shape):
        ...         self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")
        ...     def call(self, inputs):
        ...         return inputs * self.scale
        >>> Scale()(np.ones((2, 3))).shape
        torch.Size([2, 3])
    """

    _call_takes_training = False
    _training_default = None  # what `training` is in a call outside any other call, given none

    def __new__(cls, *args, **kwargs):
        """Records the arguments of a user-defined layer or model, for its default `get_config`."""
        instance = super().__new__(cls)
        object.__setattr__(instance, "_auto_config", None if cls.__module__.startswith("cnnkit.")
                           else _init_arguments(cls, args, kwargs))
        return instance

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        parameters = inspect.signature(cls.call).parameters
        cls._call_takes_training = "training" in parameters
        cls._training_default = parameters["training"].default if cls._call_takes_training else None

    def __init__(self, name=None, input_shape=None, trainable=True, dtype=None, **kwargs):
        super().__init__()
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s) {sorted(kwargs)}."
            )
        if dtype not in (None, "float32", torch.float32):
            raise ValueError(f"Layer weights are float32. Received: dtype={dtype!r}")
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ValueError(f"A layer name must be a non-empty string without '/'. Received: name={name!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.batch_input_shape = None if input_shape is None else (None, *tuple(input_shape))
        self._trainable = bool(trainable)
        self._non_trainable_names = set()
        self._inbound_nodes = []
        self.built = False
        self.input_shape = None
        self.output_shape = None

    def __setattr__(self, name, value):
        """Lists of layers are tracked (as Keras does), as a ModuleList of them."""
        if isinstance(value, list) and value and all(isinstance(item, Layer) for item in value):
            value = torch.nn.ModuleList(value)
        super().__setattr__(name, value)

    # -- Keras protocol ---------------------------------------------------------------
    def build(self, input_shape):
        """Creates the layer's weights for `input_shape`; the base layer has none."""
        self.built = True

    def call(self, inputs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def compute_output_shape(self, input_shape):
        """The output shape for `input_shape`; by default found by running `call` on zeros."""
        zeros = map_shapes(lambda shape: torch.zeros((1, *(1 if d is None else d for d in shape[1:])),
                                                     device=self._device()), input_shape)
        with torch.no_grad():
            outputs = self.forward(zeros, training=False)
        return map_structure(lambda tensor: (None, *tensor.shape[1:]), outputs)

    def get_config(self):
        """The arguments that rebuild this layer: for your own classes, by default, the JSON-able
        arguments given to `__init__` (override `get_config` for others)."""
        config = {"name": self.name, "trainable": self.trainable}
        if self.batch_input_shape is not None:
            config["input_shape"] = list(self.batch_input_shape[1:])
        return {**(getattr(self, "_auto_config", None) or {}), **config}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)

    # -- calling ----------------------------------------------------------------------
    def __call__(self, inputs, *args, training=None, **kwargs):
        if is_symbolic(inputs):
            return self._call_symbolic(inputs, *args, training=training, **kwargs)
        if not isinstance(inputs, torch.Tensor):
            inputs = self._to_tensors(inputs)
        if not self.built:
            self._build_for_call(inputs)
        outer = current_training()
        if training is None:
            training = outer if outer is not None else self._training_default
        _call_context.training = training
        try:
            outputs = super().__call__(inputs, *args, training=training, **kwargs)
        finally:
            _call_context.training = outer
        if self.output_shape is None:
            self.output_shape = map_structure(lambda tensor: (None, *tensor.shape[1:]), outputs)
        return outputs

    def _build_for_call(self, inputs):
        """Builds on a first eager call, for the shapes it is given (no extra run to infer outputs)."""
        input_shape = map_structure(lambda tensor: (None, *tensor.shape[1:]), inputs)
        self.check_input_shape(input_shape)
        self._build_once(input_shape)
        self.input_shape = input_shape

    def forward(self, inputs, *args, training=False, **kwargs):
        if self._call_takes_training:
            return self.call(inputs, *args, training=training, **kwargs)
        return self.call(inputs, *args, **kwargs)

    def _call_symbolic(self, inputs, *args, **kwargs):
        if args:
            raise TypeError(f"Layer '{self.name}' takes one input structure; pass several tensors as a list.")
        output_shape = self.build_for(map_structure(lambda tensor: tensor.shape, inputs))
        outputs = map_shapes(KerasTensor, output_shape)
        kwargs = {key: value for key, value in kwargs.items() if value is not None}
        self._inbound_nodes.append(Node(self, inputs, outputs, kwargs))
        return outputs

    def _to_tensors(self, inputs):
        """NumPy arrays (and numbers) as float32 tensors on this layer's device."""
        device = self._device()

        def convert(value):
            if isinstance(value, torch.Tensor):
                return value
            array = np.asarray(value)
            if array.dtype == object:
                raise TypeError(f"Layer '{self.name}' takes numeric arrays; received {type(value).__name__}.")
            return torch.as_tensor(array, dtype=torch.float32, device=device)

        return map_structure(convert, inputs)

    def _device(self):
        parameter = next(self.parameters(), None)
        return parameter.device if parameter is not None else get_device()

    # -- building ---------------------------------------------------------------------
    def build_for(self, input_shape):
        """Checks `input_shape`, builds weights once, and returns the output shape."""
        input_shape = input_shape if is_shape(input_shape) else map_shapes(tuple, input_shape)
        if self.built and input_shape == self.input_shape and self.output_shape is not None:
            return self.output_shape
        self.check_input_shape(input_shape)
        self._check_weights_fit(input_shape)
        self._build_once(input_shape)
        self.input_shape = input_shape
        output_shape = self.compute_output_shape(input_shape)
        self.output_shape = tuple(output_shape) if is_shape(tuple(output_shape)) else output_shape
        return self.output_shape

    def _check_weights_fit(self, input_shape):
        """A built layer with weights takes only inputs with the channels (last axis) it was built for."""
        built_for = getattr(self, "_built_channels", None)
        if built_for is None or not is_shape(input_shape) or not input_shape or input_shape[-1] == built_for:
            return
        raise ValueError(
            f"Input 0 of layer '{self.name}' is incompatible with the layer: expected axis -1 of input shape to "
            f"have value {built_for}, but received input with shape {input_shape}"
        )

    def _build_once(self, input_shape):
        if not self.built:
            self.build(input_shape)
            self.built = True
            self.trainable = self._trainable
            if is_shape(input_shape) and input_shape and self._own_weights():
                self._built_channels = input_shape[-1]

    def check_input_shape(self, input_shape):
        """Layers with input requirements override this and call `incompatible_input`."""

    def incompatible_input(self, input_shape, expected):
        """The error for an input shape this layer cannot take."""
        return ValueError(
            f"Input 0 of layer '{self.name}' ({type(self).__name__}) is incompatible with the layer: "
            f"expected {expected}, got shape {input_shape}."
        )

    # -- the graph --------------------------------------------------------------------
    @property
    def input(self):
        """The symbolic input of the layer's first call (as Keras 3's `layer.input`)."""
        return self._first_node("input").inputs

    @property
    def output(self):
        """The symbolic output of the layer's first call (as Keras 3's `layer.output`)."""
        return self._first_node("output").outputs

    def _first_node(self, what):
        if not self._inbound_nodes:
            raise ValueError(f"The layer {self.name} has never been called and thus has no defined {what}.")
        return self._inbound_nodes[0]

    # -- weights ----------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, name=None):
        """Creates a weight of this layer (call it in `build`), as Keras's `add_weight`.

        Args:
            shape: tuple, the weight's shape (Keras's layout). Default `()`.
            initializer: name or callable. Default "glorot_uniform".
            trainable: bool, whether fit updates it (BatchNormalization's statistics are not).
            name: str, unique within the layer; default `variable`, `variable_1`, ...
        """
        if dtype not in (None, "float32", torch.float32):
            raise ValueError(f"Layer '{self.name}': weights are float32. Received: dtype={dtype!r}")
        name = name or self._free_weight_name()
        if name in dict(self.named_parameters(recurse=False)) or hasattr(type(self), name):
            raise ValueError(f"Layer '{self.name}' already has a weight or attribute named '{name}'.")
        value = initializers.get(initializer or "glorot_uniform")(tuple(shape or ()))
        weight = torch.nn.Parameter(value.to(self._device()), requires_grad=bool(trainable) and self._trainable)
        if not trainable:
            self._non_trainable_names.add(name)
        self.register_parameter(name, weight)
        return weight

    def _free_weight_name(self):
        taken = dict(self.named_parameters(recurse=False))
        return next(name for index in range(len(taken) + 1)
                    if (name := "variable" if index == 0 else f"variable_{index}") not in taken)

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Freezes (False) or unfreezes this layer and every layer inside it, as Keras does."""
        self._trainable = bool(value)
        for name, parameter in self.named_parameters(recurse=False):
            parameter.requires_grad_(self._trainable and name not in self._non_trainable_names)
        for layer in self._sublayers():
            layer.trainable = value

    def _sublayers(self):
        """The layers directly inside this one, in the order they were set."""
        found = []
        for module in self.children():
            if isinstance(module, Layer):
                found.append(module)
            elif isinstance(module, torch.nn.ModuleList):
                found.extend(item for item in module if isinstance(item, Layer))
        return found

    def _own_weights(self):
        """`(name, weight)` of this layer's own weights: trainable ones first, as Keras orders them."""
        named = list(self.named_parameters(recurse=False))
        return ([(n, p) for n, p in named if n not in self._non_trainable_names]
                + [(n, p) for n, p in named if n in self._non_trainable_names])

    def weight_entries(self, prefix=""):
        """`(path, owner layer, weight name, weight)` for every weight, in Keras's order: this
        layer's own, then each inner layer's; `path` is `layer/.../weight`, each weight once."""
        entries, seen = [], set()
        for name, weight in self._own_weights():
            entries.append((f"{prefix}{name}", self, name, weight))
            seen.add(id(weight))
        for layer in self._sublayers():
            for entry in layer.weight_entries(f"{prefix}{layer.name}/"):
                if id(entry[3]) not in seen:
                    entries.append(entry)
                    seen.add(id(entry[3]))
        return entries

    @property
    def weights(self):
        """The weight tensors, in Keras's order (e.g. kernel, then bias)."""
        return [entry[3] for entry in self.weight_entries()]

    @property
    def trainable_weights(self):
        return [weight for weight in self.weights if weight.requires_grad]

    @property
    def non_trainable_weights(self):
        return [weight for weight in self.weights if not weight.requires_grad]

    def count_params(self):
        return sum(weight.numel() for weight in self.weights)

    def get_weights(self):
        """The weights as NumPy arrays in Keras's layouts: copies, as in Keras (training does not change them)."""
        return [owner.to_keras_layout(name, weight.detach()).cpu().numpy().copy()
                for _, owner, name, weight in self.weight_entries()]

    def set_weights(self, weights):
        """Sets the weights from NumPy arrays in Keras's layouts (Keras's order), checking every shape."""
        entries, weights = self.weight_entries(), list(weights)
        if len(weights) != len(entries):
            raise ValueError(
                f"Layer '{self.name}' expects {len(entries)} weight arrays "
                f"({', '.join(path for path, *_ in entries) or 'none'}); received {len(weights)}."
            )
        values = []
        for (path, owner, name, weight), array in zip(entries, weights):
            expected = tuple(owner.to_keras_layout(name, weight).shape)
            array = np.asarray(array)
            if array.shape != expected:
                raise ValueError(
                    f"Weight '{name}' of layer '{owner.name}' has shape {expected}; "
                    f"received an array of shape {array.shape}."
                )
            values.append(owner.from_keras_layout(name, torch.as_tensor(array, dtype=weight.dtype)))
        with torch.no_grad():
            for (_, _, _, weight), value in zip(entries, values):
                weight.copy_(value)

    def to_keras_layout(self, name, tensor):
        """Maps a weight from torch's layout to Keras's; identity unless overridden."""
        return tensor

    def from_keras_layout(self, name, tensor):
        return tensor

    def extra_repr(self):
        return f"name={self.name!r}"


def _init_arguments(cls, args, kwargs):
    """`{argument: value}` given to `cls.__init__`, or None when one is not plain JSON data."""
    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    except TypeError:
        return None
    arguments = dict(list(bound.arguments.items())[1:])
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if parameter.kind is parameter.VAR_KEYWORD:
            arguments.update(arguments.pop(name, {}))
        elif parameter.kind is parameter.VAR_POSITIONAL and arguments.pop(name, ()):
            return None
    try:
        json.dumps(arguments)
    except (TypeError, ValueError):
        return None
    return arguments

