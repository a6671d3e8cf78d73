"""What `compile` asks for, resolved against the model's outputs: a loss per output with its
weight, and metrics per output, named as Keras 3 names them.

One output: logs `loss` and the metrics by their own names (`accuracy`). Several outputs:
`loss` (the weighted sum), `<output>_loss` (each output's unweighted loss) and
`<output>_<metric>`; one loss given for several outputs applies to each of them.

Example:
    >>> objectives = Objectives({"label": "sparse_categorical_crossentropy", "score": "mse"},
    ...                         {"label": 1.0, "score": 0.5}, {"label": ["accuracy"]}, ["label", "score"])
    >>> [tracker.name for tracker in objectives.trackers([(None, 3), (None, 1)])]
    ['loss', 'label_loss', 'score_loss', 'label_accuracy']
"""

from cnnkit import losses, metrics as metrics_module


class Objectives:
    """Per-output losses, loss weights and metric identifiers of a compiled model."""

    def __init__(self, loss, loss_weights, metrics, output_names):
        self.output_names = list(output_names)
        self.losses = [losses.get(item) for item in self._per_output(loss, "loss", required=True)]
        weights = self._per_output(loss_weights, "loss_weights", default=1.0) \
            if loss_weights is not None else [1.0] * len(self.output_names)
        self.loss_weights = [float(weight) for weight in weights]
        self.metrics = self._metrics_per_output(metrics)

    @property
    def loss_object(self):
        """The loss as `model.loss` shows it: one object, or a list with several outputs."""
        return self.losses[0] if len(self.losses) == 1 else self.losses

    @property
    def single(self):
        return len(self.output_names) == 1

    def _per_output(self, value, what, default=None, required=False):
        """`value` as a list aligned with the outputs: from a dict by output name, a list in output
        order, or one value for every output."""
        names = self.output_names
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(names))
            if unknown:
                raise ValueError(
                    f"`{what}` names outputs {unknown} that the model does not have; its outputs are {names}."
                )
            if required and set(value) != set(names):
                raise ValueError(f"`{what}` needs an entry for every output {names}; received keys {sorted(value)}.")
            return [value.get(name, default) for name in names]
        if isinstance(value, (list, tuple)):
            if len(value) != len(names):
                raise ValueError(
                    f"`{what}` as a list needs one entry per output ({len(names)}: {names}); received {len(value)}."
                )
            return list(value)
        return [value] * len(names)

    def _metrics_per_output(self, metrics):
        if metrics is None:
            return [[] for _ in self.output_names]
        if self.single:
            if isinstance(metrics, dict):
                return [list(self._per_output(metrics, "metrics", default=[])[0] or [])]
            return [list(metrics)]
        if isinstance(metrics, dict):
            per_output = self._per_output(metrics, "metrics", default=[])
        elif all(isinstance(item, (list, tuple)) or item is None for item in metrics):
            per_output = self._per_output(list(metrics), "metrics")
        else:
            per_output = [list(metrics)] * len(self.output_names)
        return [[item] if isinstance(item, str) else list(item or []) for item in per_output]

    def trackers(self, output_shapes):
        """Fresh running means: the loss, each output's loss (several outputs), each metric.
        Each tracker's `watches` is `("loss", None)` (the total), `("loss", i)` or `("metric", i)`
        for output i."""
        total = metrics_module.Mean("loss")
        total.watches = ("loss", None)
        found = [total]
        if not self.single:
            for index, name in enumerate(self.output_names):
                tracker = metrics_module.Mean(f"{name}_loss")
                tracker.watches = ("loss", index)
                found.append(tracker)
        for index, (specs, loss, shape) in enumerate(zip(self.metrics, self.losses, output_shapes)):
            for spec in specs:
                metric = metrics_module.get(spec, loss, shape[-1])
                if not self.single:
                    metric.name = f"{self.output_names[index]}_{metric.name}"
                metric.watches = ("metric", index)
                found.append(metric)
        return found

    def prepare_targets(self, targets, output_shapes):
        """Each output's targets checked against its shape, as float32 tensors."""
        return [loss.prepare_targets(target, shape)
                for loss, target, shape in zip(self.losses, targets, output_shapes)]

    def __call__(self, targets, predictions, sample_weight=None):
        """(weighted total loss, list of each output's mean loss), samples weighted by `sample_weight`."""
        per_output = [loss(target, prediction) if sample_weight is None
                      else reduce_loss(loss.call(target, prediction), sample_weight)
                      for loss, target, prediction in zip(self.losses, targets, predictions)]
        if self.single:
            return per_output[0], per_output
        total = sum(weight * value for weight, value in zip(self.loss_weights, per_output))
        return total, per_output


def reduce_loss(per_sample, sample_weight=None):
    """Keras's "sum_over_batch_size": the mean over the batch, of the weighted values when weighted."""
    if sample_weight is None:
        return per_sample.mean()
    return (per_sample * sample_weight.reshape(-1, *[1] * (per_sample.ndim - 1))).sum() / per_sample.numel()
