"""The loops behind `Model.fit`, `evaluate` and `predict`."""

import math
import warnings

import numpy as np
import torch
import torch.utils._pytree as pytree

from cnnkit import distributed
from cnnkit.callbacks import CallbackList, History, ProgbarLogger
from cnnkit.engine.data import (
    Columns, batch_slices, check_inputs, check_same_length, iterate_batches, split_validation, to_device_tensor,
)
from cnnkit.engine.device import get_device
from cnnkit.engine.host_memory import keep_freed_memory
from cnnkit.engine.metric_logs import MetricLogs
from cnnkit.engine.step import LossHead, test_step, train_step


def resolve_verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return verbose


def resolve_batch_size(batch_size):
    if batch_size is None:
        return 32
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int. Received: batch_size={batch_size!r}")
    return batch_size


def prepare_inputs(model, x):
    """x as `Columns` of float32 device tensors, with the model built for them and on the device."""
    device = get_device()
    if device.type == "cpu":
        keep_freed_memory()
    if x is None:
        raise ValueError(f"Model '{model.name}' needs input data: received x=None.")
    x = pytree.tree_map(lambda array: _float_tensor(array, device), x)
    columns = Columns.of(x)
    if not model.built:
        model.build(_shapes(x))
    check_model_inputs(model, x)
    model.to(device)
    return columns


def _float_tensor(array, device):
    tensor = to_device_tensor(array, device, "x")
    return tensor if tensor.is_floating_point() else tensor.float()


def _shapes(x):
    if isinstance(x, torch.Tensor):
        return (None, *x.shape[1:])
    if isinstance(x, dict):
        return {key: _shapes(value) for key, value in x.items()}
    return [_shapes(value) for value in x]


def check_model_inputs(model, x):
    """Raises, naming the input, where `x` does not fit the model's inputs."""
    if not hasattr(model, "flat_inputs"):  # a subclassed model takes what its call() takes
        return
    for tensor, expected, name in zip(model.flat_inputs(x), model.flat_input_shapes(), model.input_names):
        check_inputs(tensor, expected, model.name, name if len(model.input_names) > 1 else None)


def prepare_targets(model, y, length):
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
    device = get_device()
    tensors = objectives.prepare_targets([torch.as_tensor(np.asarray(t)) if not isinstance(t, torch.Tensor)
                                          else t for t in y], model.output_shapes_list())
    columns = Columns([tensor.to(device) for tensor in tensors])
    if len(columns) != length:
        raise ValueError(
            f"x and y must hold the same number of samples; received {length} inputs and {len(columns)} targets."
        )
    return columns


def prepare_data(model, x, y):
    x = prepare_inputs(model, x)
    return x, prepare_targets(model, y, len(x))


def make_callbacks(model, callbacks, verbose, params):
    extra = [ProgbarLogger(verbose)] if verbose else []
    return CallbackList([*(callbacks or []), *extra], model, params)


def fit(model, x, y, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, initial_epoch=0):
    model.require_compiled("fit")
    verbose, batch_size = resolve_verbose(verbose), resolve_batch_size(batch_size)
    replica, validation_batch_size = distributed.replica(), batch_size  # replica: None on one process
    if validation_split and validation_data is None:
        check_same_length(x, y)
        (x, y), validation_data = split_validation(x, y, validation_split)
    x, y = prepare_data(model, x, y)
    validation = prepare_data(model, *validation_data) if validation_data is not None else None
    model.build_optimizer()
    if replica is not None:
        verbose, validation_batch_size = replica.verbose(verbose), replica.local_batch_size(batch_size)
        validation = replica.shard(*validation) if validation is not None else None

    history = model.history = History()
    steps = len(batch_slices(len(x), batch_size))
    callback_list = make_callbacks(model, [*(callbacks or []), history], verbose,
                                   {"epochs": epochs, "steps": steps, "verbose": verbose})
    head = LossHead(model)
    trackers = model.metric_trackers()
    model.stop_training = False
    callback_list.on_train_begin()
    initial_epoch = take_resume_epoch(model, initial_epoch)
    if replica is not None:  # after a resume: DDP starts every process from rank 0's weights and epoch
        head, initial_epoch = replica.wrap(head), replica.agree(initial_epoch)
    for epoch in range(initial_epoch, epochs):
        logs = run_epoch(model, head, trackers, x, y, batch_size, shuffle, epoch, callback_list, replica)
        warn_if_loss_not_finite(logs, epoch)
        if validation is not None:
            logs.update(validate(head, trackers, validation, validation_batch_size, callback_list, replica))
        callback_list.on_epoch_end(epoch, logs)
        if stop_requested(model, replica):
            break
    callback_list.on_train_end()
    return history


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


def run_epoch(model, head, trackers, x, y, batch_size, shuffle, epoch, callback_list, replica=None):
    """One pass over (x, y); returns the epoch's logs as floats."""
    head.training = True
    for tracker in trackers:
        tracker.reset_state()
    callback_list.on_epoch_begin(epoch)
    if replica is None:
        order = torch.randperm(len(x), device=x.device) if shuffle else None
        batches = iterate_batches((x, y), batch_size, order)
    else:
        batches = replica.train_batches(head, x, y, batch_size, shuffle)
    for step, (x_batch, y_batch) in enumerate(batches):
        callback_list.on_train_batch_begin(step)
        train_step(head, model.optimizer, trackers, x_batch, y_batch)
        callback_list.on_train_batch_end(step, MetricLogs(trackers))  # fresh each batch, as Keras's dict
        if stop_requested(model, replica):
            break
    if replica is not None:
        replica.all_reduce(trackers)
        replica.average_statistics(model)
    return dict(MetricLogs(trackers))


def stop_requested(model, replica):
    """`model.stop_training`; with several processes, set on all as soon as one sets it (so none
    waits forever in a collective the others have left)."""
    if replica is not None:
        model.stop_training = replica.anyone(model.stop_training)
    return model.stop_training


def validate(head, trackers, validation, batch_size, callback_list, replica):
    """fit's validation pass, which callbacks see as an evaluate (on_test_* hooks, plain names,
    as in Keras); returns its logs named val_*."""
    callback_list.on_test_begin()
    logs = run_test(head, trackers, *validation, batch_size, callback_list=callback_list, replica=replica)
    callback_list.on_test_end(logs)
    return {f"val_{name}": value for name, value in logs.items()}


def run_test(head, trackers, x, y, batch_size, callback_list=None, replica=None):
    """Loss and metrics over (x, y) in inference mode; returns logs as floats."""
    head.training = False
    for tracker in trackers:
        tracker.reset_state()
    with torch.inference_mode():
        for step, (x_batch, y_batch) in enumerate(iterate_batches((x, y), batch_size)):
            if callback_list is not None:
                callback_list.on_test_batch_begin(step)
            test_step(head, trackers, x_batch, y_batch)
            if callback_list is not None:
                callback_list.on_test_batch_end(step, MetricLogs(trackers))
    if replica is not None:
        replica.all_reduce(trackers)
    return dict(MetricLogs(trackers))


def evaluate(model, x, y, batch_size=None, verbose="auto", callbacks=None, return_dict=False):
    model.require_compiled("evaluate")
    verbose, batch_size = resolve_verbose(verbose), resolve_batch_size(batch_size)
    replica = distributed.replica()
    x, y = prepare_data(model, x, y)
    if replica is not None:
        verbose, batch_size = replica.verbose(verbose), replica.inference_batch_size(batch_size)
        x, y = replica.shard(x, y)
    steps = len(batch_slices(len(x), batch_size))
    callback_list = make_callbacks(model, callbacks, verbose, {"steps": steps, "verbose": verbose})
    callback_list.on_test_begin()
    trackers = model.metric_trackers()
    logs = run_test(LossHead(model), trackers, x, y, batch_size, callback_list=callback_list,
                    replica=replica)
    callback_list.on_test_end(logs)
    return _result(logs, trackers, return_dict)


def predict(model, x, batch_size=None, verbose="auto", callbacks=None):
    verbose, batch_size = resolve_verbose(verbose), resolve_batch_size(batch_size)
    replica = distributed.replica()
    x = prepare_inputs(model, x)
    total = len(x)
    if replica is not None:
        verbose, batch_size = replica.verbose(verbose), replica.inference_batch_size(batch_size)
        (x,) = replica.shard(x)
    steps = len(batch_slices(len(x), batch_size))
    callback_list = make_callbacks(model, callbacks, verbose, {"steps": steps, "verbose": verbose})
    callback_list.on_predict_begin()
    batches = []
    for step, (x_batch,) in enumerate(iterate_batches((x,), batch_size)):
        callback_list.on_predict_batch_begin(step)
        batches.append(predict_batch(model, x_batch))
        callback_list.on_predict_batch_end(step)
    callback_list.on_predict_end()
    shapes = model.output_shapes_list()
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


def train_on_batch(model, x, y, return_dict=False):
    """One update on (x, y) as one batch; the batch's loss and metrics."""
    model.require_compiled("train_on_batch")
    x, y = prepare_data(model, x, y)
    model.build_optimizer()
    trackers = model.metric_trackers()
    train_step(LossHead(model), model.optimizer, trackers, x, y)
    return _batch_result(trackers, return_dict)


def test_on_batch(model, x, y, return_dict=False):
    model.require_compiled("test_on_batch")
    x, y = prepare_data(model, x, y)
    trackers = model.metric_trackers()
    head = LossHead(model)
    head.training = False
    with torch.inference_mode():
        test_step(head, trackers, x, y)
    return _batch_result(trackers, return_dict)


def predict_on_batch(model, x):
    return _like_outputs(model, [output.cpu().numpy() for output in predict_batch(model, prepare_inputs(model, x))])


def _batch_result(trackers, return_dict):
    return _result(dict(MetricLogs(trackers)), trackers, return_dict)


def _result(logs, trackers, return_dict):
    """The logs as a dict, or their values in Keras's order (loss, output losses, metrics)."""
    if return_dict:
        return logs
    values = [logs[tracker.name] for tracker in trackers]
    return values[0] if len(values) == 1 else values
