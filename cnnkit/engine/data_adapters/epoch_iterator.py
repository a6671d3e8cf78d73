"""Epochs of batches from any adapter, with Keras's `steps_per_epoch` semantics."""

import itertools
import warnings

from cnnkit.utils.argument_validation import is_integer


class EpochIterator:
    """Yields `(step, (x, y, sample_weight))` per epoch, each batch ready for the model.

    Without `steps_per_epoch`, an epoch is one pass over the data. With it, an epoch is that many
    batches, and the next epoch goes on where the last one stopped (a re-iterable source starts
    over when it ends); a one-shot source (a generator) that runs out ends training, with Keras's
    warning. `convert(x, y, sample_weight, class_weight)` turns a host batch into device tensors.
    """

    def __init__(self, adapter, convert, steps_per_epoch=None, shuffle=False):
        if steps_per_epoch is not None and (not is_integer(steps_per_epoch) or steps_per_epoch < 1):
            raise ValueError(f"`steps_per_epoch` must be a positive int or None. Received: {steps_per_epoch!r}")
        steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        self.adapter, self.convert, self.steps, self.shuffle = adapter, convert, steps_per_epoch, shuffle
        self.ran_out = False
        self._iterator = None
        self._started = False

    def build_model(self):
        """Builds the model for this data (arrays: converted once, now; a stream: its first batch,
        which a one-shot stream then gives again), and puts it on the device."""
        if self.adapter.is_arrays:
            self.adapter.prepare(self.convert)
        elif self.convert.model.built:
            self.convert.place_model()
        else:
            iterator = self.adapter.iterator()
            first = next(iterator, None)
            if first is None:
                raise ValueError("The input data is empty: it gave no batch to build the model with.")
            self.adapter.convert(self.convert, first)
            if self.adapter.one_shot:
                self._iterator = itertools.chain([first], iterator)

    @property
    def num_batches(self):
        return self.steps or self.adapter.num_batches

    def epoch(self, order_for=None):
        """One epoch's batches; `order_for(n)` gives the array adapter's shuffled order."""
        if self.adapter.is_arrays:
            yield from enumerate(self._array_batches(order_for))
            return
        if self.steps is None:
            if self.adapter.one_shot and self._started:
                self._run_out()
                return
            self._started = True
            if self._iterator is None or not self.adapter.one_shot:
                self._iterator = self.adapter.iterator()
            for step, data in enumerate(self._iterator):
                yield step, self.adapter.convert(self.convert, data)
            return
        for step in range(self.steps):
            data = self._next()
            if data is None:
                return
            yield step, self.adapter.convert(self.convert, data)

    def _array_batches(self, order_for):
        adapter = self.adapter
        adapter.prepare(self.convert)
        order = order_for(adapter.size) if self.shuffle and order_for is not None else None
        for step, batch in enumerate(adapter.batches(self.convert, order)):
            if self.steps is not None and step >= self.steps:
                return
            yield batch

    def _next(self):
        for attempt in range(2):
            if self._iterator is None:
                if self.adapter.one_shot and attempt:
                    break
                self._iterator = self.adapter.iterator()
            try:
                return next(self._iterator)
            except StopIteration:
                if self.adapter.one_shot:
                    break
                self._iterator = None
        self._run_out()
        return None

    def _run_out(self):
        self.ran_out = True
        warnings.warn(
            "Your input ran out of data; interrupting training. Make sure that your dataset or generator can "
            "generate at least `steps_per_epoch * epochs` batches.", UserWarning, stacklevel=5,
        )
