"""`Model`: the one base of every model, holding the training API and its state.

Keras calls this part the Trainer: `compile`, `fit`, `evaluate`, `predict` and the
`*_on_batch` calls, the optimizer, loss and metrics, `history` and `stop_training` live
here once. Its three kinds differ only in how they compute:

- `Functional` (`Model(inputs, outputs)`) runs a recorded graph of layer calls;
- `Sequential` is a Functional model whose graph is a chain;
- a subclass (`class MyModel(Model)`) runs its own `call`.

The engine (loops, devices, speed rewrites) talks to this base only.

Example:
    >>> from cnnkit import layers, Input, Model
    >>> inputs = Input((4,))
    >>> model = Model(inputs, layers.Dense(2)(inputs))
    >>> type(model).__name__, model.count_params()
    ('Functional', 10)
"""

import inspect
import warnings

import torch

from cnnkit import mixed_precision, optimizers, saving
from cnnkit.engine import training as loops
from cnnkit.engine.objectives import Objectives
from cnnkit.layers.base import Layer, map_shapes
from cnnkit.layers.node import shapes_of
from cnnkit.models.summary import print_summary
from cnnkit.utils.naming import to_snake_case, unique_name


class Model(Layer):
    """A model: layers plus `compile`/`fit`/`evaluate`/`predict`.

    `Model(inputs, outputs, name=None)` makes a Functional model; subclass it and define
    `call(self, inputs, training=None)` for a model of your own.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "outputs" in kwargs):
            from cnnkit.models.functional import Functional

            return Layer.__new__(Functional, *args, **kwargs)
        return Layer.__new__(cls, *args, **kwargs)

    def __init__(self, *args, name=None, trainable=True, **kwargs):
        if args or kwargs.keys() - {"dtype"}:
            raise TypeError(
                f"Model() takes `inputs` and `outputs` (a Functional model) or, in a subclass, only "
                f"`name` and `trainable`. Received: {len(args)} positional argument(s), keywords {sorted(kwargs)}"
            )
        super().__init__(name=name or unique_name(to_snake_case(type(self).__name__)), trainable=trainable,
                         dtype=kwargs.get("dtype"))
        self.optimizer = None
        self.objectives = None
        self.stop_training = False
        self.history = None
        self._optimizer_built = False
        self._dtype_policy = None
        self._compile_arguments = None

    # -- structure ----------------------------------------------------------------------
    @property
    def layers(self):
        """The model's layers: for a subclass, those set as attributes, in that order."""
        return Layer._sublayers(self)

    def _sublayers(self):
        return self.layers

    def get_layer(self, name=None, index=None):
        """The layer at `index` of `model.layers`, or the one called `name`."""
        if index is not None:
            if name is not None:
                raise ValueError("Provide only a layer name or a layer index. Received: "
                                 f"index={index}, name={name}.")
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in self.layers]}.")

    def build(self, input_shape):
        """Builds a subclassed model by running it once on zeros of `input_shape` (batch None)."""
        zeros = map_shapes(lambda shape: torch.zeros((1, *shape[1:]), device=self._device()), input_shape)
        with torch.no_grad():
            outputs = self.forward(zeros, training=False)
        self.input_shape, self.output_shape = input_shape, shapes_of(outputs)  # fit needs the outputs' shapes
        self.built = True

    def compute_output_shape(self, input_shape):
        zeros = map_shapes(lambda shape: torch.zeros((1, *shape[1:]), device=self._device()), input_shape)
        with torch.no_grad():
            outputs = self.forward(zeros, training=False)
        return shapes_of(outputs)

    @property
    def output_names(self):
        return [self.name]

    def objective_names(self):
        """The names that losses, metrics, targets and logs go by: the output names, or for dict
        outputs the dict's keys (as Keras: `{"label": ...}` logs `label_loss`)."""
        structure = getattr(self, "_outputs_structure", None)
        return list(structure) if isinstance(structure, dict) else self.output_names

    @property
    def dtype_policy(self):
        """The mixed-precision policy fit/evaluate/predict run this model under: its own when
        set (a name or `mixed_precision.Policy`), else the global one at the time of the call."""
        return self._dtype_policy or mixed_precision.global_policy()

    @dtype_policy.setter
    def dtype_policy(self, policy):
        self._dtype_policy = None if policy is None else mixed_precision.Policy.of(policy)

    def final_layer(self):
        """The layer giving the one output when the loss may take its logits (see the engine's
        LossHead), else None; a subclass's own `call` is opaque, so None."""
        return None

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A subclassed model from its `get_config()` (the arguments of its `__init__`)."""
        config = dict(config)
        name, trainable = config.pop("name", None), config.pop("trainable", True)
        accepted = inspect.signature(cls.__init__).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
        for key, value in (("name", name), ("trainable", trainable)):
            if key in accepted or takes_any:
                config[key] = value
        model = cls(**config)
        model.name, model.trainable = name or model.name, trainable
        return model

    # -- saving ---------------------------------------------------------------------------
    def save(self, filepath, include_optimizer=True):
        """Writes the model (architecture, weights, compile settings, optimizer state): a `.keras`
        path in Keras 3's format (Keras loads it), any other (`.cnnkit`) in cnnkit's zip."""
        saving.save_model(self, filepath, include_optimizer)

    def save_weights(self, filepath):
        """Writes the weights: `.weights.h5` in Keras 3's HDF5 layout, else safetensors
        (`<layer>/<weight>`, Keras's layouts)."""
        saving.save_weights(self, filepath)

    def load_weights(self, filepath):
        """Sets the weights from a `save_weights` file (`.weights.h5` also from Keras 3), checking every
        weight and shape."""
        saving.load_weights(self, filepath)

    def export(self, filepath, format="", verbose=None, input_signature=None, **kwargs):
        """Writes the model's inference for serving: `format="onnx"` (or a `.onnx` path), through torch's
        ONNX exporter, batch size free, inputs as the model takes them; needs `pip install 'cnnkit[onnx]'`."""
        from cnnkit.saving.onnx_export import export_onnx

        chosen = format or ("onnx" if str(filepath).lower().endswith(".onnx") else "")
        if chosen != "onnx":
            raise ValueError(f"cnnkit exports format='onnx' only (Keras's 'tf_saved_model' and 'openvino' are not "
                             f"available). Received: format={format!r}, filepath={str(filepath)!r}")
        return export_onnx(self, filepath, verbose=verbose, input_signature=input_signature, **kwargs)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints Keras's table of layers, output shapes and parameter counts."""
        print_summary(self, line_length=line_length, print_fn=print_fn, expand_nested=expand_nested,
                      show_trainable=show_trainable)

    # -- compiling ------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, **kwargs):
        """Chooses the optimizer, the loss(es) and the metrics (names or objects).

        Args:
            optimizer: name or optimizer object. Default "rmsprop".
            loss: a loss (name, object or function); for several outputs, one for all, a list
                in output order or a dict by output name.
            loss_weights: optional list or dict of floats weighting each output's loss.
            metrics: list of metrics; for several outputs, a list of lists or a dict by output name.
        """
        unsupported = kwargs.keys() - {"run_eagerly", "jit_compile", "steps_per_execution", "auto_scale_loss"}
        if unsupported:
            raise TypeError(f"compile() got unexpected keyword argument(s) {sorted(unsupported)}.")
        if loss is None:
            raise ValueError(f"Model '{self.name}': compile() needs a loss, e.g. loss='categorical_crossentropy'.")
        self.optimizer = optimizers.get(optimizer)
        self._compile_arguments = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics}
        self.objectives = Objectives(loss, loss_weights, metrics, self.objective_names()) if self.built else None
        self._optimizer_built = False

    @property
    def compiled(self):
        return self._compile_arguments is not None

    @property
    def loss(self):
        """The compiled loss (one object, or a list per output), or None before compile."""
        if self._compile_arguments is None:
            return None
        return self.require_objectives().loss_object

    @property
    def compiled_metrics(self):
        return [] if self._compile_arguments is None else self._compile_arguments["metrics"] or []

    def require_compiled(self, action):
        if not self.compiled:
            raise RuntimeError(f"Model '{self.name}' must be compiled before {action}(): call model.compile(...).")

    def require_objectives(self):
        """The compiled losses and metrics, resolved against the outputs once the model is built."""
        if self.objectives is None:
            self.objectives = Objectives(**self._compile_arguments, output_names=self.objective_names())
        return self.objectives

    def build_optimizer(self, weights=None):
        """Builds the optimizer for `weights`, by default those trainable now (compile again
        after freezing or unfreezing layers, as in Keras)."""
        if self._optimizer_built:
            return
        trainable = self.trainable_weights if weights is None else weights
        if not trainable:  # nothing to build: Keras leaves the optimizer unbuilt (no summary line)
            warnings.warn("The model does not have any trainable weights.", UserWarning, stacklevel=4)
            return
        self.optimizer.build(trainable)
        self._optimizer_built = True

    def metric_trackers(self):
        """A fresh loss tracker, the per-output loss trackers and the compiled metrics."""
        return self.require_objectives().trackers(self.output_shapes_list())

    def output_shapes_list(self):
        shape = self.output_shape
        return [shape] if isinstance(shape, tuple) else list(shape.values()) if isinstance(shape, dict) \
            else list(shape)

    # -- training -------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1):
        """Trains for `epochs` epochs; returns a History (`history.history["loss"]`, ...).

        `x` is arrays (with `y` and `sample_weight`), or a dataset, DataLoader, PyDataset or generator
        of `(x, y)` / `(x, y, sample_weight)` batches; the other arguments mean what they mean in Keras.
        """
        return loops.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                         shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps,
                         validation_batch_size, validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The loss, or `[loss, *metrics]`, over the data."""
        return loops.evaluate(self, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for x, as a NumPy array (a list of them for several outputs)."""
        return loops.predict(self, x, batch_size, verbose, steps, callbacks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient update on one batch; returns the loss (and metrics) of that batch."""
        return loops.train_on_batch(self, x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss (and metrics) of one batch, without updating anything."""
        return loops.test_on_batch(self, x, y, sample_weight, return_dict)

    def predict_on_batch(self, x):
        """The outputs for one batch, as NumPy."""
        return loops.predict_on_batch(self, x)


