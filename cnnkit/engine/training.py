"""The loops behind `Model.fit`, `evaluate` and `predict`, over any input an adapter takes."""

import math
import warnings

import numpy as np
import torch
import torch.utils._pytree as pytree

from cnnkit import distributed
from cnnkit.callbacks import CallbackList, History, ProgbarLogger
from cnnkit.engine.data import Columns, check_inputs, check_same_length, split_validation, to_device_tensor
from cnnkit.engine.data_adapters import EpochIterator, get_data_adapter
from cnnkit.engine.data_adapters.adapter import class_weights_for
from cnnkit.engine.device import get_device
from cnnkit.engine.host_memory import keep_freed_memory
from cnnkit.engine.metric_logs import MetricLogs
from cnnkit.engine.step import LossHead, test_step, train_step
from cnnkit.layers.node import shapes_of
from cnnkit.utils.argument_validation import is_integer


def resolve_verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return verbose


def resolve_batch_size(batch_size):
    if batch_size is None:
        return 32
    return positive_int(batch_size, "batch_size")


def whole_number(value, name):
    """`value` as a Python int >= 0 (NumPy integers included)."""
    if not is_integer(value) or value < 0:
        raise ValueError(f"`{name}` must be an int >= 0. Received: {name}={value!r}")
    return int(value)


def positive_int(value, name):
    """`value` as a Python int, where Keras takes an int (NumPy integers included)."""
    if not is_integer(value) or value < 1:
        raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    return int(value)


# -- from host data to the model's device ------------------------------------------------------
class BatchConverter:
    """Turns `(x, y, sample_weight)` (arrays or one batch of them) into what a step takes: `Columns` of
    float32 device tensors for x and for each output's targets, and a weight per sample (or None).
    Builds the model for the first x it sees and puts it on the device."""

    def __init__(self, model, targets=True):
        self.model, self.targets, self.device = model, targets, get_device()

    def place_model(self):
        """Puts a built model on the device before any batch (its optimizer's slots are made there)."""
        put_on_device(self.model, self.device)

    def __call__(self, x, y=None, sample_weight=None, class_weight=None):
        x = prepare_inputs(self.model, x, self.device)
        if not self.targets:
            return x, None, None
        y = prepare_targets(self.model, y, len(x), self.device)
        return x, y, sample_weights(sample_weight, class_weight, y, len(x), self.device)


def prepare_inputs(model, x, device=None):
    """x as `Columns` of float32 device tensors, with the model built for them and on the device."""
    device = device or get_device()
    if x is None:
        raise ValueError(f"Model '{model.name}' needs input data: received x=None.")
    x = pytree.tree_map(lambda array: _float_tensor(array, device), x)
    if not model.built:
        model.build(shapes_of(x))
    check_model_inputs(model, x)
    put_on_device(model, device)
    return Columns.of(x)


def put_on_device(model, device):
    """Moves the model's weights to `device` where they are elsewhere."""
    if next(model.parameters(), torch.empty(0, device=device)).device != device:
        model.to(device)


def _float_tensor(array, device):
    tensor = to_device_tensor(array, device, "x")
    return tensor if tensor.is_floating_point() else tensor.float()


def check_model_inputs(model, x):
    """Raises, naming the input, where `x` does not fit the model's inputs."""
    if not hasattr(model, "flat_inputs"):  # a subclassed model takes what its call() takes
        return
    for tensor, expected, name in zip(model.flat_inputs(x), model.flat_input_shapes(), model.input_names):
        check_inputs(tensor, expected, model.name, name if len(model.input_names) > 1 else None)


def prepare_targets(model, y, length, device=None):
    """Each output's targets as `Columns` of float32 device tensors, checked against the outputs."""
    objectives = model.require_objectives()
    if y is None:
        raise ValueError(f"Model '{model.name}' needs targets to train or evaluate: received y=None.")
    names = objectives.output_names
    if isinstance(y, dict):
        missing = [name for name in names if name not in y]
        if missing:
            raise ValueError(f"Targets for outputs {missing} are missing; the model's outputs are {names}.")
        y = [y[name] for name in names]
    elif not isinstance(y, (list, tuple)) or len(names) == 1:
        y = [y]
    if len(y) != len(names):
        raise ValueError(f"Model '{model.name}' has {len(names)} outputs {names}; received {len(y)} target arrays.")
    tensors = objectives.prepare_targets([t if isinstance(t, torch.Tensor) else torch.as_tensor(np.asarray(t))
                                          for t in y], model.output_shapes_list())
    columns = Columns([tensor.to(device or get_device()) for tensor in tensors])
    if len(columns) != length:
        raise ValueError(
            f"x and y must hold the same number of samples; received {length} inputs and {len(columns)} targets."
        )
    return columns


def sample_weights(sample_weight, class_weight, y, length, device):
    """One float32 weight per sample from `sample_weight` and `class_weight` (None when neither)."""
    weights = None
    if sample_weight is not None:
        weights = to_device_tensor(sample_weight, device, "sample_weight").float().reshape(-1)
        if len(weights) != length:
            raise ValueError(f"`sample_weight` must hold one weight per sample ({length}); received {len(weights)}.")
    if class_weight:
        if len(y.tensors) != 1:
            raise ValueError("`class_weight` is only supported for models with a single output; use sample_weight.")
        by_class = class_weights_for(y.tensors[0], class_weight)
        weights = by_class if weights is None else weights * by_class
    return weights


def prepare_to_train():
    """Process-wide tuning for CPU training (see `host_memory`), never for inference alone."""
    if get_device().type == "cpu":
        keep_freed_memory()


def make_callbacks(model, callbacks, verbose, params):
    extra = [ProgbarLogger(verbose)] if verbose else []
    return CallbackList([*(callbacks or []), *extra], model, params)


# -- fit -----------------------------------------------------------------------------------------
def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
        steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
    model.require_compiled("fit")
    prepare_to_train()
    verbose, batch_size = resolve_verbose(verbose), resolve_batch_size(batch_size)
    epochs, initial_epoch = whole_number(epochs, "epochs"), whole_number(initial_epoch, "initial_epoch")
    steps_per_epoch = None if steps_per_epoch is None else positive_int(steps_per_epoch, "steps_per_epoch")
    replica = distributed.replica()  # None on one process
    if validation_split and validation_data is None:
        if not get_data_adapter(x, y, sample_weight, batch_size).is_arrays:
            raise ValueError("`validation_split` is only supported for arrays; pass `validation_data` instead.")
        check_same_length(x, y)
        (x, y), validation_data = split_validation(x, y, validation_split)
        sample_weight = None if sample_weight is None else sample_weight[:len(pytree.tree_leaves(x)[0])]
    train = EpochIterator(get_data_adapter(x, y, sample_weight, batch_size, shuffle, class_weight),
                          BatchConverter(model), steps_per_epoch, shuffle)
    validation = validation_iterator(model, validation_data, validation_batch_size or batch_size, validation_steps)
    train.build_model()
    model.build_optimizer()
    if replica is not None:
        verbose = replica.verbose(verbose)
        replica.check_fit_data(train, validation, batch_size)

    history = model.history = History()
    callback_list = make_callbacks(model, [*(callbacks or []), history], verbose,
                                   {"epochs": epochs, "steps": train.num_batches, "verbose": verbose})
    head = LossHead(model)
    trackers = model.metric_trackers()
    model.stop_training = False
    callback_list.on_train_begin()
    initial_epoch = take_resume_epoch(model, initial_epoch)
    if replica is not None:  # after a resume: DDP starts every process from rank 0's weights and epoch
        head, initial_epoch = replica.wrap(head), replica.agree(initial_epoch)
    for epoch in range(initial_epoch, epochs):
        logs = run_epoch(model, head, trackers, train, batch_size, epoch, callback_list, replica)
        if train.ran_out:
            break
        warn_if_loss_not_finite(logs, epoch)
        if validation is not None and validation_due(validation_freq, epoch):
            logs.update(validate(head, trackers, validation, callback_list, replica))
        callback_list.on_epoch_end(epoch, logs)
        if stop_requested(model, replica):
            break
    callback_list.on_train_end()
    return history


def validation_iterator(model, validation_data, batch_size, steps):
    """An iterator over `validation_data`: `(x, y)` or `(x, y, sample_weight)` arrays, or a dataset."""
    if validation_data is None:
        return None
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3) \
            and get_data_adapter(validation_data[0], what="validation_data").is_arrays:
        x, y, sample_weight = (*validation_data, None)[:3]
        adapter = get_data_adapter(x, y, sample_weight, batch_size, what="validation_data")
    else:
        adapter = get_data_adapter(validation_data, batch_size=batch_size, what="validation_data")
    return EpochIterator(adapter, BatchConverter(model), steps)


def validation_due(validation_freq, epoch):
    """Keras's `validation_freq`: every n-th epoch (an int), or the listed epochs (1-based)."""
    if is_integer(validation_freq) and validation_freq >= 1:
        return (epoch + 1) % validation_freq == 0
    if isinstance(validation_freq, (list, tuple, set)):
        return epoch + 1 in validation_freq
    raise ValueError(f"`validation_freq` must be a positive int or a list of epochs. Received: {validation_freq!r}")


def take_resume_epoch(model, initial_epoch):
    """The first epoch to run: a callback resuming training (BackupAndRestore) sets
    `model._initial_epoch` in `on_train_begin`; fit takes it once, then clears it."""
    resume = getattr(model, "_initial_epoch", None)
    model._initial_epoch = None
    return initial_epoch if resume is None else resume


def warn_if_loss_not_finite(logs, epoch):
    """Warns, naming the epoch, when its mean loss is NaN or infinite (logs are host floats here: no extra sync)."""
    loss = logs.get("loss")
    if loss is not None and not math.isfinite(loss):
        warnings.warn(
            f"Epoch {epoch + 1}: the training loss is {loss}; training has diverged. Try a lower learning rate, "
            "and add cnnkit.callbacks.TerminateOnNaN() to stop at the first invalid batch.",
            RuntimeWarning, stacklevel=4,  # the caller of model.fit
        )


def run_epoch(model, head, trackers, train, batch_size, epoch, callback_list, replica=None):
    """One epoch of `train` (an EpochIterator); returns the epoch's logs as floats."""
    head.training = True
    for tracker in trackers:
        tracker.reset_state()
    callback_list.on_epoch_begin(epoch)
    if replica is None:
        batches = train.epoch(order_for=lambda n: torch.randperm(n, device=get_device()))
    else:
        batches = enumerate(replica.train_batches(head, train, batch_size))
    constraints = model._constrained_weights()
    for step, (x_batch, y_batch, weights) in batches:
        callback_list.on_train_batch_begin(step)
        train_step(head, model.optimizer, trackers, x_batch, y_batch, weights, constraints)
        callback_list.on_train_batch_end(step, MetricLogs(trackers))  # fresh each batch, as Keras's dict
        if stop_requested(model, replica):
            break
    if replica is not None:
        replica.all_reduce(trackers)
        replica.average_statistics(model)
    end_of_epoch(train)
    return dict(MetricLogs(trackers))


def end_of_epoch(iterator):
    """A PyDataset's `on_epoch_end` hook, as Keras calls it."""
    stream = getattr(iterator.adapter, "stream", None)
    dataset = getattr(stream, "dataset", None)
    if hasattr(dataset, "on_epoch_end") and type(dataset).__name__ != "_MapDataset":
        dataset.on_epoch_end()


def stop_requested(model, replica):
    """`model.stop_training`; with several processes, set on all as soon as one sets it (so none
    waits forever in a collective the others have left)."""
    if replica is not None:
        model.stop_training = replica.anyone(model.stop_training)
    return model.stop_training


def validate(head, trackers, validation, callback_list, replica):
    """fit's validation pass, which callbacks see as an evaluate (on_test_* hooks, plain names,
    as in Keras); returns its logs named val_*."""
    callback_list.on_test_begin()
    logs = run_test(head, trackers, validation, callback_list=callback_list, replica=replica)
    callback_list.on_test_end(logs)
    return {f"val_{name}": value for name, value in logs.items()}


def run_test(head, trackers, data, callback_list=None, replica=None):
    """Loss and metrics over `data` (an EpochIterator) in inference mode; returns logs as floats."""
    head.training = False
    for tracker in trackers:
        tracker.reset_state()
    batches = data.epoch() if replica is None else enumerate(replica.shard_batches(data))
    with torch.inference_mode():
        for step, (x_batch, y_batch, weights) in batches:
            if callback_list is not None:
                callback_list.on_test_batch_begin(step)
            test_step(head, trackers, x_batch, y_batch, weights)
            if callback_list is not None:
                callback_list.on_test_batch_end(step, MetricLogs(trackers))
    if replica is not None:
        replica.all_reduce(trackers)
    return dict(MetricLogs(trackers))


# -- evaluate and predict ------------------------------------------------------------------------
def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
             callbacks=None, return_dict=False):
    model.require_compiled("evaluate")
    verbose, batch_size = resolve_verbose(verbose), resolve_batch_size(batch_size)
    replica = distributed.replica()
    data = EpochIterator(get_data_adapter(x, y, sample_weight, batch_size), BatchConverter(model), steps)
    if replica is not None:
        verbose = replica.verbose(verbose)
        data = replica.for_inference(data, batch_size)
    callback_list = make_callbacks(model, callbacks, verbose, {"steps": data.num_batches, "verbose": verbose})
    callback_list.on_test_begin()
    trackers = model.metric_trackers()
    logs = run_test(LossHead(model), trackers, data, callback_list=callback_list, replica=replica)
    callback_list.on_test_end(logs)
    return _result(logs, trackers, return_dict)


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    verbose, batch_size = resolve_verbose(verbose), resolve_batch_size(batch_size)
    replica = distributed.replica()
    data = EpochIterator(get_data_adapter(x, batch_size=batch_size), BatchConverter(model, targets=False), steps)
    total = data.adapter.size if data.adapter.is_arrays else None
    if replica is not None:
        verbose = replica.verbose(verbose)
        data = replica.for_inference(data, batch_size)
    callback_list = make_callbacks(model, callbacks, verbose, {"steps": data.num_batches, "verbose": verbose})
    callback_list.on_predict_begin()
    batches = []
    for step, (x_batch, _, _) in (data.epoch() if replica is None else enumerate(replica.shard_batches(data))):
        callback_list.on_predict_batch_begin(step)
        batches.append(predict_batch(model, x_batch))
        callback_list.on_predict_batch_end(step)
    callback_list.on_predict_end()
    shapes = model.output_shapes_list() if model.built else [(None,)]
    outputs = [[batch[index] for batch in batches] for index in range(len(shapes))]
    if replica is not None:
        outputs = [[replica.gather_predictions(parts, shape, total)] for parts, shape in zip(outputs, shapes)]
    arrays = [torch.cat(parts).cpu().numpy() if parts else np.zeros((0, *shape[1:]), np.float32)
              for parts, shape in zip(outputs, shapes)]
    return _like_outputs(model, arrays)


def _like_outputs(model, arrays):
    """One array, a list of them, or for a model with dict outputs a dict by key, as Keras returns them."""
    structure = getattr(model, "_outputs_structure", None)
    if isinstance(structure, dict):
        return dict(zip(structure, arrays))
    return arrays[0] if len(arrays) == 1 else arrays


def predict_batch(model, x):
    """The model's outputs (a list of float32 tensors) for one batch of `Columns`, in inference."""
    with torch.inference_mode(), model.dtype_policy.autocast(x.device):
        return [output.float() for output in pytree.tree_leaves(model(x.structure(), training=False))]


# -- one batch -----------------------------------------------------------------------------------
def train_on_batch(model, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
    """One update on (x, y) as one batch; the batch's loss and metrics."""
    model.require_compiled("train_on_batch")
    prepare_to_train()
    x, y, weights = BatchConverter(model)(x, y, sample_weight, class_weight)
    model.build_optimizer()
    trackers = model.metric_trackers()
    train_step(LossHead(model), model.optimizer, trackers, x, y, weights, model._constrained_weights())
    return _batch_result(trackers, return_dict)


def test_on_batch(model, x, y=None, sample_weight=None, return_dict=False):
    model.require_compiled("test_on_batch")
    x, y, weights = BatchConverter(model)(x, y, sample_weight)
    trackers = model.metric_trackers()
    head = LossHead(model)
    head.training = False
    with torch.inference_mode():
        test_step(head, trackers, x, y, weights)
    return _batch_result(trackers, return_dict)


def predict_on_batch(model, x):
    x, _, _ = BatchConverter(model, targets=False)(x)
    return _like_outputs(model, [output.cpu().numpy() for output in predict_batch(model, x)])


def _batch_result(trackers, return_dict):
    return _result(dict(MetricLogs(trackers)), trackers, return_dict)


def _result(logs, trackers, return_dict):
    """The logs as a dict, or their values in Keras's order (loss, output losses, metrics)."""
    if return_dict:
        return logs
    values = [logs[tracker.name] for tracker in trackers]
    return values[0] if len(values) == 1 else values
