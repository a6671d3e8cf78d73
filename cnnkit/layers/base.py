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

Extra losses, as Keras's: `layer.losses` lists the penalties of the weights' regularizers
(on trainable weights, in Keras's layout) and the losses added during the last outermost
call (`add_loss`, and the activity regularizer's penalty on each output divided by the batch
size), this layer's and its inner layers'. An activity regularizer runs as a forward hook,
so the engine's exact rewrites, which leave hooked layers alone, never skip it.
"""

import collections
import inspect
import json
import threading
import weakref

import numpy as np
import torch

from cnnkit import constraints, initializers, regularizers
from cnnkit.engine.device import get_device
from cnnkit.layers.node import KerasTensor, Node, flatten, is_symbolic, map_structure, shapes_of
from cnnkit.utils.naming import to_snake_case, unique_name


class _CallContext(threading.local):
    training = None  # the `training` flag of the enclosing layer call
    inside = False  # whether a layer call is running: a call that starts outside any is Keras's entry call


_call_context = _CallContext()
_holding_losses = weakref.WeakSet()  # layers whose add_loss list is not empty: cleared at the next entry call


def losses_recorded():
    """Whether some layer holds losses added by `add_loss` or an activity regularizer."""
    return bool(_holding_losses)


def as_outermost_call(layer, function, *args, **kwargs):
    """`function(*args, **kwargs)` run as one outermost call of `layer`, as `layer(...)` runs: the
    losses added inside start from none and add up (a shared layer called twice keeps both).
    For the engine, which calls a model's graph directly (e.g. `call_logits`)."""
    context = _call_context
    if context.inside:
        return function(*args, **kwargs)
    context.inside = True
    try:
        if _holding_losses:
            layer._clear_losses()
        return function(*args, **kwargs)
    finally:
        context.inside = False


class UnsupportedArgumentError(TypeError, ValueError):
    """A layer was given an argument it does not take: a TypeError as Python's, a ValueError as Keras's."""


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
        activity_regularizer: name or callable (`cnnkit.regularizers`): its penalty on each output,
            divided by the batch size, joins `losses` at each call. Default None.
        input_dim: int, Keras's shorthand for `input_shape=(input_dim,)`.

    An argument a layer does not take raises `UnsupportedArgumentError` (a TypeError and a
    ValueError) naming the layer, the argument and the arguments it supports.

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

    def __init__(self, name=None, input_shape=None, trainable=True, dtype=None, activity_regularizer=None,
                 input_dim=None, **kwargs):
        super().__init__()
        if kwargs:
            raise _unsupported_arguments(type(self), kwargs)
        if dtype not in (None, "float32", torch.float32):
            raise ValueError(f"Layer weights are float32. Received: dtype={dtype!r}")
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ValueError(f"A layer name must be a non-empty string without '/'. Received: name={name!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        if input_shape is None and input_dim is not None:
            input_shape = (input_dim,)
        self.batch_input_shape = None if input_shape is None else (None, *tuple(input_shape))
        self._trainable = bool(trainable)
        self._non_trainable_names = set()
        self._losses = []
        self._weight_regularizers, self._weight_constraints = {}, {}  # {weight name: regularizer / constraint}
        self._activity_regularizer = None
        self.activity_regularizer = activity_regularizer
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
        return shapes_of(outputs)

    def get_config(self):
        """The arguments that rebuild this layer: for your own classes, by default, the JSON-able
        arguments given to `__init__` (override `get_config` for others)."""
        config = {"name": self.name, "trainable": self.trainable}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
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
        context = _call_context
        outer, entry = context.training, not context.inside
        if entry:
            context.inside = True
            if _holding_losses:  # Keras's entry call starts from no added losses
                self._clear_losses()
        if training is None:
            training = outer if outer is not None else self._training_default
        context.training = training
        try:
            outputs = super().__call__(inputs, *args, training=training, **kwargs)
        finally:
            context.training = outer
            if entry:
                context.inside = False
        if self.output_shape is None:
            self.output_shape = shapes_of(outputs)
        return outputs

    def _build_for_call(self, inputs):
        """Builds on a first eager call, for the shapes it is given (no extra run to infer outputs)."""
        input_shape = shapes_of(inputs)
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

    # -- losses -----------------------------------------------------------------------
    @property
    def activity_regularizer(self):
        """The regularizer of this layer's outputs (None for none): each call adds its penalty on
        each output, divided by the batch size, to `losses`. Settable on any layer, as in Keras."""
        return self._activity_regularizer

    @activity_regularizer.setter
    def activity_regularizer(self, value):
        self._activity_regularizer = regularizers.get(value)
        hooked = [key for key, hook in self._forward_hooks.items() if hook is _activity_penalty]
        if self._activity_regularizer is not None and not hooked:
            self.register_forward_hook(_activity_penalty)
        elif self._activity_regularizer is None:
            for key in hooked:
                del self._forward_hooks[key]

    def add_loss(self, loss):
        """Adds a scalar tensor (or a list of them) to `losses` until the next outermost call, as
        Keras's `add_loss`; call it in `call()`. fit adds it to the loss it minimizes."""
        added = loss if isinstance(loss, (list, tuple)) else [loss]
        for value in added:
            if not isinstance(value, torch.Tensor):
                raise ValueError(
                    "`add_loss()` can only be called from inside `build()` or `call()`, on a tensor input. "
                    f"Received invalid value: {value}"
                )
        self._losses.extend(added)
        _holding_losses.add(self)

    @property
    def losses(self):
        """The scalar losses, as Keras lists them: those added during the last outermost call
        (this layer's, then its inner layers'), then each trainable weight's regularizer penalty
        on the weight in Keras's layout (in `weights` order)."""
        losses = list(self._losses)
        for layer in self._flatten_layers():
            losses.extend(layer._losses)
        return losses + self._regularization_losses()

    def _regularization_losses(self):
        """The penalties of the trainable weights' regularizers, in `weights` order."""
        return [owner._weight_regularizers[name](owner.to_keras_layout(name, weight))
                for _, owner, name, weight in self.weight_entries()
                if owner._weight_regularizers and name in owner._weight_regularizers and weight.requires_grad]

    def _constrained_weights(self):
        """`(weight, owner layer, weight name, constraint)` for each trainable weight with a
        constraint (fit applies them after each optimizer step)."""
        return [(weight, owner, name, owner._weight_constraints[name])
                for _, owner, name, weight in self.weight_entries()
                if owner._weight_constraints and name in owner._weight_constraints and weight.requires_grad]

    def _has_penalties(self):
        """Whether this layer or one inside it has a weight regularizer or an activity regularizer."""
        return any(layer._weight_regularizers or layer._activity_regularizer is not None
                   for layer in (self, *self._flatten_layers()))

    def _set_weight_options(self, name, regularizer=None, constraint=None):
        """Gives weight `name` a regularizer and/or a constraint (names or objects, as Keras takes
        them); `add_weight` calls it; layers that create their Parameters themselves call it too."""
        for table, value in ((self._weight_regularizers, regularizers.get(regularizer)),
                             (self._weight_constraints, constraints.get(constraint))):
            if value is None:
                table.pop(name, None)
            else:
                table[name] = value

    def _clear_losses(self):
        """Drops the added losses of this layer and every layer inside it (Keras's entry call does)."""
        for layer in (self, *self._flatten_layers()):
            if layer._losses:
                layer._losses.clear()
                _holding_losses.discard(layer)

    def _flatten_layers(self):
        """Every layer inside this one, each once, in the order Keras's `losses` visits them."""
        found, seen, pending = [], set(), collections.deque(self._sublayers())
        while pending:
            layer = pending.popleft()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            found.append(layer)
            pending.extendleft(layer._sublayers())
        return found

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
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, name=None, regularizer=None,
                   constraint=None):
        """Creates a weight of this layer (call it in `build`), as Keras's `add_weight`.

        Args:
            shape: tuple, the weight's shape (Keras's layout). Default `()`.
            initializer: name or callable. Default "glorot_uniform".
            trainable: bool, whether fit updates it (BatchNormalization's statistics are not).
            name: str, unique within the layer; default `variable`, `variable_1`, ...
            regularizer: name or callable; its penalty on the weight joins `losses`. Default None.
            constraint: name or callable; fit applies it after each optimizer step. Default None.
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
        self._set_weight_options(name, regularizer, constraint)
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


def _activity_penalty(layer, args, outputs):
    """Forward hook of a layer with an activity regularizer: Keras's penalty on each output tensor,
    divided by its batch size (a batch of none adds 0)."""
    for output in flatten(outputs):
        if isinstance(output, torch.Tensor):
            penalty = layer.activity_regularizer(output)
            if not isinstance(penalty, torch.Tensor):
                penalty = torch.as_tensor(penalty, dtype=output.dtype, device=output.device)
            if output.ndim > 0:
                penalty = penalty / output.shape[0] if output.shape[0] else torch.zeros_like(penalty)
            layer.add_loss(penalty)


def _unsupported_arguments(cls, kwargs):
    """The error for keyword arguments `cls.__init__` does not take, naming those it does."""
    supported = []
    for klass in cls.__mro__:
        if klass is torch.nn.Module:
            break
        if "__init__" not in klass.__dict__:
            continue
        for name, parameter in inspect.signature(klass.__dict__["__init__"]).parameters.items():
            if name != "self" and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD) \
                    and name not in supported:
                supported.append(name)
    names = sorted(kwargs)
    plural = "s" if len(names) > 1 else ""
    return UnsupportedArgumentError(
        f"{cls.__name__} does not support argument{plural} {', '.join(f'`{name}`' for name in names)} "
        f"(a Keras argument cnnkit does not implement, or a misspelled name). Supported: {', '.join(supported)}."
    )
