"""The loops behind `Model.fit`, `evaluate` and `predict`."""

import math
import warnings

import torch

from cnnkit import distributed
from cnnkit.callbacks import CallbackList, History, ProgbarLogger
from cnnkit.engine.data import (
    batch_slices, check_inputs, check_same_length, iterate_batches, split_validation, to_device_tensor,
)
from cnnkit.engine.device import get_device
from cnnkit.engine.host_memory import keep_freed_memory
from cnnkit.engine.step import LossHead, MetricLogs, test_step, train_step


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
    """x as a float32 device tensor, with the model built for it and on the device."""
    device = get_device()
    if device.type == "cpu":
        keep_freed_memory()
    x = to_device_tensor(x, device, "x")
    if not x.is_floating_point():
        x = x.float()
    if not model.built:
        model.build((None, *x.shape[1:]))
    check_inputs(x, model.input_shape, model.name)
    model.to(device)
    return x


def prepare_data(model, x, y):
    x = prepare_inputs(model, x)
    y = model.loss.prepare_targets(y, model.output_shape).to(x.device)
    check_same_length(x, y)
    return x, y


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
    head = LossHead(model, model.loss)
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
    model.train()
    for tracker in trackers:
        tracker.reset_state()
    loss_tracker, *metrics = trackers
    logs = MetricLogs(trackers)
    callback_list.on_epoch_begin(epoch)
    if replica is None:
        order = torch.randperm(len(x), device=x.device) if shuffle else None
        batches = iterate_batches((x, y), batch_size, order)
    else:
        batches = replica.train_batches(head, x, y, batch_size, shuffle)
    for step, (x_batch, y_batch) in enumerate(batches):
        callback_list.on_train_batch_begin(step)
        train_step(head, model.optimizer, loss_tracker, metrics, x_batch, y_batch)
        callback_list.on_train_batch_end(step, logs)
        if stop_requested(model, replica):
            break
    if replica is not None:
        replica.all_reduce(trackers)
        replica.average_statistics(model)
    return dict(logs)


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
    head.model.eval()
    for tracker in trackers:
        tracker.reset_state()
    loss_tracker, *metrics = trackers
    logs = MetricLogs(trackers)
    with torch.inference_mode():
        for step, (x_batch, y_batch) in enumerate(iterate_batches((x, y), batch_size)):
            if callback_list is not None:
                callback_list.on_test_batch_begin(step)
            test_step(head, loss_tracker, metrics, x_batch, y_batch)
            if callback_list is not None:
                callback_list.on_test_batch_end(step, logs)
    if replica is not None:
        replica.all_reduce(trackers)
    return dict(logs)


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
    logs = run_test(LossHead(model, model.loss), trackers, x, y, batch_size, callback_list=callback_list,
                    replica=replica)
    callback_list.on_test_end(logs)
    if return_dict:
        return logs
    values = [logs[tracker.name] for tracker in trackers]
    return values[0] if len(values) == 1 else values


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
    model.eval()
    policy, outputs = model.dtype_policy, []
    with torch.inference_mode():
        for step, (x_batch,) in enumerate(iterate_batches((x,), batch_size)):
            callback_list.on_predict_batch_begin(step)
            with policy.autocast(x.device):
                outputs.append(model(x_batch).float())
            callback_list.on_predict_batch_end(step)
    callback_list.on_predict_end()
    if replica is not None:
        outputs = [replica.gather_predictions(outputs, model.output_shape, total)]
    return torch.cat(outputs).cpu().numpy() if outputs else torch.empty(0).numpy()
