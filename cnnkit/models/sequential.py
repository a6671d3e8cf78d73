"""A linear stack of layers, with Keras's building, compiling and training API."""

import torch

from cnnkit import losses, metrics as metrics_module, mixed_precision, optimizers, saving
from cnnkit.engine import training
from cnnkit.engine.fusion import run_layers
from cnnkit.layers.base import Layer
from cnnkit.layers.input_layer import InputLayer
from cnnkit.models.summary import print_summary
from cnnkit.utils.naming import unique_name


class Sequential(torch.nn.Module):
    """Layers applied one after the other.

    Args:
        layers: optional list of layers (an `Input(...)` first declares the input shape).
        name: str; default `sequential`, `sequential_1`, ...

    Example:
        >>> from cnnkit import layers
        >>> model = Sequential([layers.Input((28, 28, 1)), layers.Conv2D(32, 3), layers.Flatten()])
        >>> model.output_shape
        (None, 21632)
    """

    def __init__(self, layers=None, name=None):
        super().__init__()
        self.name = name or unique_name("sequential")
        self._stack = torch.nn.ModuleList()
        self._input_layer = None
        self.built = False
        self.input_shape = None
        self.optimizer = None
        self.loss = None
        self.compiled_metrics = []
        self.stop_training = False
        self.history = None
        self._optimizer_built = False
        self._dtype_policy = None
        for layer in layers or []:
            self.add(layer)

    # -- structure ----------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._stack)

    def add(self, layer):
        """Appends a layer; builds it right away when the input shape is known."""
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
                raise

    def pop(self):
        """Removes the last layer."""
        if not self._stack:
            raise ValueError(f"Model '{self.name}' has no layers to pop.")
        layer = self._stack[-1]
        self._stack = self._stack[:-1]
        self.built = bool(self._stack) and self.built
        return layer

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self._stack:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named '{name}' in model '{self.name}'. Layers: {[l.name for l in self._stack]}")

    def declared_input_shape(self):
        if self._input_layer is not None:
            return self._input_layer.batch_input_shape
        if self._stack and self._stack[0].batch_input_shape is not None:
            return self._stack[0].batch_input_shape
        return None

    def build(self, input_shape):
        """Builds every layer for `input_shape` (with the batch dimension, e.g. (None, 28, 28, 1))."""
        if not self._stack:
            raise ValueError(f"Model '{self.name}' has no layers to build.")
        self.input_shape = tuple(input_shape)
        shape = self.input_shape
        for layer in self._stack:
            shape = layer.build_for(shape)
        self.built = True

    @property
    def output_shape(self):
        return self._stack[-1].output_shape if self.built else None

    @property
    def dtype_policy(self):
        """The mixed-precision policy fit/evaluate/predict run this model under: its own when
        set (a name or `mixed_precision.Policy`), else the global one at the time of the call."""
        return self._dtype_policy or mixed_precision.global_policy()

    @dtype_policy.setter
    def dtype_policy(self, policy):
        self._dtype_policy = None if policy is None else mixed_precision.Policy.of(policy)

    def forward(self, inputs):
        return run_layers(self._stack, inputs)

    # -- weights ------------------------------------------------------------------------
    def count_params(self):
        return sum(p.numel() for p in self.parameters())

    def get_weights(self):
        return [array for layer in self._stack for array in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        expected = sum(len(list(layer.parameters())) for layer in self._stack)
        if len(weights) != expected:
            raise ValueError(f"Model '{self.name}' expects {expected} weight arrays; received {len(weights)}.")
        for layer in self._stack:
            count = len(list(layer.parameters()))
            layer.set_weights(weights[:count])
            weights = weights[count:]

    def save(self, filepath, include_optimizer=True):
        """Writes the model (architecture, weights, compile settings, optimizer state) to a `.cnnkit` zip."""
        saving.save_model(self, filepath, include_optimizer)

    def save_weights(self, filepath):
        """Writes the weights to a `.safetensors` file (`<layer>/<weight>`, Keras's layouts)."""
        saving.save_weights(self, filepath)

    def load_weights(self, filepath):
        """Sets the weights from a `save_weights` file, checking every key and shape."""
        saving.load_weights(self, filepath)

    def summary(self, print_fn=None):
        """Prints Keras's table of layers, output shapes and parameter counts."""
        print_summary(self, print_fn)

    # -- training -----------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Chooses the optimizer, the loss and the metrics (names or objects)."""
        if loss is None:
            raise ValueError(f"Model '{self.name}': compile() needs a loss, e.g. loss='categorical_crossentropy'.")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self.compiled_metrics = list(metrics or [])
        self._optimizer_built = False

    def require_compiled(self, action):
        if self.loss is None:
            raise RuntimeError(f"Model '{self.name}' must be compiled before {action}(): call model.compile(...).")

    def build_optimizer(self):
        if not self._optimizer_built:
            self.optimizer.build([p for p in self.parameters() if p.requires_grad])
            self._optimizer_built = True

    def metric_trackers(self):
        """A fresh loss tracker followed by the compiled metrics, ready to accumulate."""
        output_size = self.output_shape[-1]
        return [metrics_module.Mean("loss"),
                *(metrics_module.get(m, self.loss, output_size) for m in self.compiled_metrics)]

    def fit(self, x, y, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0):
        """Trains for `epochs` epochs; returns a History (`history.history["loss"]`, ...)."""
        return training.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
                            validation_data, shuffle, initial_epoch)

    def evaluate(self, x, y, batch_size=None, verbose="auto", callbacks=None, return_dict=False):
        """The loss, or `[loss, *metrics]`, over (x, y)."""
        return training.evaluate(self, x, y, batch_size, verbose, callbacks, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", callbacks=None):
        """The model's outputs for x, as a NumPy array."""
        return training.predict(self, x, batch_size, verbose, callbacks)
