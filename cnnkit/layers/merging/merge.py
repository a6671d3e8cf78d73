"""Merge layers: one tensor from a list of tensors (sum, difference, product, mean, max, min, concatenation).

Element-wise merges broadcast as Keras's do: shapes are aligned from the right, a dimension
of 1 stretches and None stays unknown; an input of lower rank gets axes of size 1 after its
batch axis. Each merge is done in the inputs' order, as Keras does, so results are exact.

Example:
    >>> import torch
    >>> Add().build_for([(None, 1, 4), (None, 3, 4)])
    (None, 3, 4)
    >>> Concatenate().build_for([(None, 8, 8, 16), (None, 8, 8, 32)])
    (None, 8, 8, 48)
    >>> Average().call([torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 6.0]])])
    tensor([[2., 4.]])
"""

import torch

from cnnkit.layers.base import Layer


def _shapes(input_shape):
    """The shapes as a list of plain tuples: how Keras prints them in its messages."""
    return [tuple(shape) for shape in input_shape]


def _is_list_of_shapes(input_shape):
    return len(input_shape) > 0 and all(isinstance(shape, (tuple, list)) for shape in input_shape)


def _broadcast(shape1, shape2):
    """Keras's element-wise output shape of two shapes without their batch axis.

    Example:
        >>> _broadcast((3, 1), (1, 4)), _broadcast((None, 4), (4,))
        ((3, 4), (None, 4))
    """
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    lead = shape1[:len(shape1) - len(shape2)]
    dims = []
    for i, j in zip(shape1[len(lead):], shape2):
        if i is None or j is None:
            dims.append(None)
        elif i == 1 or j == 1 or i == j:
            dims.append(j if i == 1 else i)
        else:
            raise ValueError(f"Inputs have incompatible shapes. Received shapes {shape1} and {shape2}")
    return (*lead, *dims)


def _check_tensor_list(inputs):
    if not isinstance(inputs, (list, tuple)):
        what = (f"Tensor(shape={tuple(inputs.shape)}, dtype={inputs.dtype})"
                if isinstance(inputs, torch.Tensor) else repr(inputs))
        raise ValueError(f"A merge layer should be called on a list of inputs. "
                         f"Received: inputs={what} (not a list of tensors)")


def _fold(inputs, op, op_in_place=None):
    """`op` applied from left to right, as Keras does (so sums round exactly as in Keras).

    After the first step the running result is a fresh tensor; `op_in_place` writes into it
    where the next input's shape and dtype allow, saving one allocation per further input.
    """
    output = inputs[0]
    for step, x in enumerate(inputs[1:]):
        if (step and op_in_place is not None and x.dtype == output.dtype
                and torch.broadcast_shapes(output.shape, x.shape) == output.shape):
            output = op_in_place(output, x)
        else:
            output = op(output, x)
    return output


class _Merge(Layer):
    """Shape checks, broadcasting and rank alignment shared by the element-wise merges.

    Subclasses implement `merge(inputs)` on a list of tensors of equal rank.
    """

    def check_input_shape(self, input_shape):
        if len(input_shape) == 0:
            raise ValueError("A merge layer should be called on a list of at least 1 input. "
                             "Received 0 inputs. Full input_shape received: []")
        if not _is_list_of_shapes(input_shape):
            raise ValueError(f"A merge layer should be called on a list of inputs. "
                             f"Received: input_shape={tuple(input_shape)} (not a list of shapes)")
        shapes = _shapes(input_shape)
        if len({shape[0] for shape in shapes if shape} - {None}) > 1:
            raise ValueError(f"Cannot merge tensors with different batch sizes. Received tensors with shapes {shapes}")
        self.compute_output_shape(shapes)

    def call(self, inputs):
        _check_tensor_list(inputs)
        ranks = [x.dim() for x in inputs]
        if len(set(ranks)) > 1:  # (batch, 4) with (batch, 3, 4): the first becomes (batch, 1, 4), as in Keras
            top = max(ranks)
            inputs = [x.reshape(x.shape[:1] + (1,) * (top - x.dim()) + x.shape[1:]) for x in inputs]
        return self.merge(list(inputs))

    def merge(self, inputs):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        shapes = _shapes(input_shape)
        output_shape = shapes[0][1:]
        for shape in shapes[1:]:
            output_shape = _broadcast(output_shape, shape[1:])
        batch_sizes = {shape[0] for shape in shapes if shape} - {None}
        return (batch_sizes.pop() if len(batch_sizes) == 1 else None, *output_shape)


class Add(_Merge):
    """Adds a list of tensors element-wise.

    Input shape: a list of shapes that broadcast against each other (Keras's rules).
    Output shape: their broadcast shape.

    Example:
        >>> Add().build_for([(None, 8, 8, 16), (None, 8, 8, 16)])
        (None, 8, 8, 16)
    """

    def merge(self, inputs):
        return _fold(inputs, torch.add, torch.Tensor.add_)


class Subtract(_Merge):
    """`inputs[0] - inputs[1]`, element-wise; takes exactly two tensors.

    Example:
        >>> Subtract().build_for([(None, 16), (None, 1)])
        (None, 16)
    """

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={_shapes(input_shape)}")

    def merge(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: inputs with shapes {[tuple(x.shape) for x in inputs]}")
        return torch.sub(inputs[0], inputs[1])


class Multiply(_Merge):
    """Multiplies a list of tensors element-wise.

    Example:
        >>> Multiply().build_for([(None, 8, 8, 16), (None, 1, 1, 16)])
        (None, 8, 8, 16)
    """

    def merge(self, inputs):
        return _fold(inputs, torch.mul, torch.Tensor.mul_)


class Average(_Merge):
    """The element-wise mean of a list of tensors: their sum divided by their number, as Keras.

    Example:
        >>> Average().build_for([(None, 10), (None, 10), (None, 10)])
        (None, 10)
    """

    def merge(self, inputs):
        total = _fold(inputs, torch.add, torch.Tensor.add_)
        if len(inputs) > 1 and total.is_floating_point():
            return total.div_(len(inputs))  # a fresh sum: divide it in place
        return total / len(inputs)


class Maximum(_Merge):
    """The element-wise maximum of a list of tensors (NaN wins, as in Keras).

    At an exact tie the gradient is split evenly between the tied inputs (torch's rule, and
    Keras's on its torch backend); Keras on TensorFlow gives it all to the earlier input.

    Example:
        >>> Maximum().build_for([(None, 4), (None, 4)])
        (None, 4)
    """

    def merge(self, inputs):
        return _fold(inputs, torch.maximum)


class Minimum(_Merge):
    """The element-wise minimum of a list of tensors (NaN wins; ties as in `Maximum`).

    Example:
        >>> Minimum().build_for([(None, 4), (None, 4)])
        (None, 4)
    """

    def merge(self, inputs):
        return _fold(inputs, torch.minimum)


class Concatenate(Layer):
    """Concatenates a list of tensors along `axis`.

    Args:
        axis: int, the axis to concatenate along; negative counts from the end. Default -1
            (the channels of an image). All other dimensions must match, None matching any.

    Input shape: a list of shapes of one rank, equal except along `axis`.
    Output shape: the shared shape, with the sizes along `axis` summed (None if any is None).

    Example:
        >>> Concatenate(axis=1).build_for([(None, 2, 5), (None, 1, 5)])
        (None, 3, 5)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"Argument `axis` of layer '{self.name}' must be an int. Received: axis={axis!r}")
        self.axis = axis

    def check_input_shape(self, input_shape):
        if not _is_list_of_shapes(input_shape):
            received = _shapes(input_shape) if len(input_shape) == 0 else tuple(input_shape)
            raise ValueError(f"A `Concatenate` layer should be called on a list of at least 1 input. "
                             f"Received: input_shape={received}")
        shapes = _shapes(input_shape)
        mismatch = ValueError(f"A `Concatenate` layer requires inputs with matching shapes except for "
                              f"the concatenation axis. Received: input_shape={shapes}")
        rank = len(shapes[0])
        if any(len(shape) != rank for shape in shapes):
            raise mismatch
        if not -rank <= self.axis < rank:
            raise ValueError(f"Argument `axis` of layer '{self.name}' must be in [{-rank}, {rank}) for inputs "
                             f"of rank {rank}. Received: axis={self.axis}")
        for position, sizes in enumerate(zip(*shapes)):
            if position != self.axis % rank and len(set(sizes) - {None}) > 1:
                raise mismatch

    def call(self, inputs):
        _check_tensor_list(inputs)
        return torch.cat(inputs, dim=self.axis)

    def compute_output_shape(self, input_shape):
        # As Keras: every dimension but `axis` is read from the first shape.
        shapes = _shapes(input_shape)
        sizes = [shape[self.axis] for shape in shapes]
        output_shape = list(shapes[0])
        output_shape[self.axis] = None if None in sizes else sum(sizes)
        return tuple(output_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

    def extra_repr(self):
        return super().extra_repr() + ("" if self.axis == -1 else f", axis={self.axis}")


def add(inputs, **kwargs):
    """`Add(**kwargs)(inputs)`: the sum of a list of tensors."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """`Subtract(**kwargs)(inputs)`: `inputs[0] - inputs[1]`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """`Multiply(**kwargs)(inputs)`: the element-wise product of a list of tensors."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """`Average(**kwargs)(inputs)`: the element-wise mean of a list of tensors."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """`Maximum(**kwargs)(inputs)`: the element-wise maximum of a list of tensors."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """`Minimum(**kwargs)(inputs)`: the element-wise minimum of a list of tensors."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """`Concatenate(axis=axis, **kwargs)(inputs)`: the tensors joined along `axis`.

    Example:
        >>> import torch
        >>> concatenate([torch.zeros(2, 3), torch.ones(2, 1)]).shape
        torch.Size([2, 4])
    """
    return Concatenate(axis=axis, **kwargs)(inputs)
