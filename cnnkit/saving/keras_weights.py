"""Weights in Keras 3's HDF5 layout: the `model.weights.h5` of a `.keras` file, and `.weights.h5` files.

Keras stores each layer's own weights as datasets "0", "1", ... (trainable first, in Keras's
layouts) of a group `<path>/vars`, where the path follows the model's structure, not the
layers' names: the model's own group is `vars`; a Functional or Sequential model's layers sit
under `layers/<class name in snake case>` (`_1`, `_2`, ... for the next of a class), other
inner layers under the attribute that holds them. The optimizer's variables are
`optimizer/vars`: iterations, the learning rate, then its slots in Keras's order.

Reading checks every group and dataset before it sets anything: no link to another file, no
dataset with external or virtual storage, exactly the datasets the model's layers need, each of
the shape the layer expects. Reading HDF5 never runs code.

Example:
    >>> from cnnkit import layers, models
    >>> model = models.Sequential([layers.Input((4,)), layers.Dense(2), layers.Dense(1)])
    >>> [path for path, _ in state_groups(model)]
    ['', 'layers/dense', 'layers/dense_1']
"""

import contextlib
import io
import re
import warnings

import numpy as np
import torch

from cnnkit.saving.errors import ModelFileError

OPTIMIZER = "optimizer"
MAX_DEPTH = 64
# Each Keras optimizer's slots, in the order its `build` creates them: the slots of a tuple interleave
# weight by weight (Adam: momentum and velocity of weight 0, then of weight 1, ...).
_SLOT_ORDER = {
    "SGD": (("momentum",),),
    "RMSprop": (("velocity",), ("momentum",), ("average_gradient",)),
    "Adam": (("momentum", "velocity"), ("velocity_hat",)),
    "AdamW": (("momentum", "velocity"), ("velocity_hat",)),
}


def h5py_module():
    """h5py, or an ImportError that says how to install it."""
    try:
        import h5py
    except ImportError:
        raise ImportError(
            "Reading and writing Keras files (.keras, .weights.h5) needs the `h5py` package: pip install h5py "
            "(a dependency of cnnkit: reinstall it with pip install cnnkit)."
        ) from None
    return h5py


# -- the layout -----------------------------------------------------------------------------
def _snake_case(name):
    """A class name as Keras names its group: 'MaxPooling2D' -> 'max_pooling2d'."""
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _attribute_order(name):
    """Keras visits attributes sorted by name, private ones (`_x`) last."""
    return f"~{name}" if name.startswith("_") else name


def _children(layer):
    """`(attribute, layer or list of layers)` inside `layer`, in the order Keras visits them."""
    from cnnkit.layers.base import Layer
    from cnnkit.models import Functional, Sequential

    if isinstance(layer, (Functional, Sequential)):
        return [("layers", list(layer.layers))]
    found = []
    for name in sorted(layer._modules, key=_attribute_order):
        module = layer._modules[name]
        if isinstance(module, Layer):
            found.append((name, module))
        elif isinstance(module, torch.nn.ModuleList):
            found.append((name, [item for item in module if isinstance(item, Layer)]))
    return found


def state_groups(model):
    """`(path, layer)` for the model and every layer inside it, each once, in Keras's order."""
    groups, visited = [], set()

    def visit(layer, path):
        if id(layer) in visited:
            return
        visited.add(id(layer))
        groups.append((path, layer))
        for attribute, child in _children(layer):
            base = f"{path}/{attribute}" if path else attribute
            if not isinstance(child, list):
                visit(child, base)
                continue
            used = {}
            for item in child:  # named by class, counted even when visited already, as Keras does
                name = _snake_case(type(item).__name__)
                used[name] = used.get(name, -1) + 1
                visit(item, f"{base}/{name}" + (f"_{used[name]}" if used[name] else ""))

    visit(model, "")
    return groups


def _vars_path(path):
    return f"{path}/vars" if path else "vars"


def _own_weights(layer):
    """`(name, weight)` of the layer's own weights, in Keras's order (trainable first)."""
    return [(name, weight) for _, owner, name, weight in layer.weight_entries() if owner is layer]


def _keras_array(owner, name, tensor):
    return owner.to_keras_layout(name, tensor.detach()).cpu().numpy()


# -- writing --------------------------------------------------------------------------------
def weights_h5_bytes(model, include_optimizer=True):
    """The HDF5 file Keras 3 writes for `model`: every layer's weights, and the optimizer's variables
    when the model is compiled and `include_optimizer`."""
    h5py = h5py_module()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", track_order=False) as file:
        for path, layer in state_groups(model):
            group = file.require_group(_vars_path(path))
            group.attrs["name"] = layer.name
            for index, (name, weight) in enumerate(_own_weights(layer)):
                group.create_dataset(str(index), data=_keras_array(layer, name, weight), track_times=False)
        arrays = optimizer_arrays(model) if include_optimizer and model.compiled else None
        if arrays is not None:
            group = file.require_group(_vars_path(OPTIMIZER))
            group.attrs["name"] = model.optimizer.name
            for index, array in enumerate(arrays):
                group.create_dataset(str(index), data=array, track_times=False)
    return buffer.getvalue()


def optimizer_arrays(model):
    """The optimizer's variables as Keras stores them (iterations, learning rate, slots in Keras's
    order and layouts), or None for an optimizer Keras does not have."""
    optimizer = model.optimizer
    order = _SLOT_ORDER.get(type(optimizer).__name__)
    if order is None:
        warnings.warn(f"The state of optimizer {type(optimizer).__name__} is not saved: Keras has no such "
                      "optimizer.", UserWarning, stacklevel=4)
        return None
    arrays = [np.array(optimizer.iterations, dtype=np.int64), np.array(optimizer.learning_rate, dtype=np.float32)]
    if not model._optimizer_built:
        return arrays  # as Keras writes an optimizer that has not been built yet
    owners = {id(weight): (owner, name) for _, owner, name, weight in model.weight_entries()}
    params = optimizer._params
    if any(id(param) not in owners for param in params):
        return arrays[:2]
    for slots in order:
        slots = [slot for slot in slots if slot in optimizer._slots]
        for index, param in enumerate(params):
            owner, name = owners[id(param)]
            arrays.extend(_keras_array(owner, name, optimizer._slots[slot][index]) for slot in slots)
    return arrays


# -- reading --------------------------------------------------------------------------------
def open_h5(data, where):
    """An h5py File over `data` (bytes), after checking it holds no links and no external storage."""
    h5py = h5py_module()
    with _h5_errors(where):
        file = h5py.File(io.BytesIO(data), "r")
    try:
        with _h5_errors(where):
            if "layer_names" in file.attrs or "model_weights" in file:
                raise ModelFileError(f"{where}: this is a Keras 2 (legacy HDF5) file; cnnkit reads Keras 3's format: "
                                     "load it in Keras and save it again as .keras.")
            _check_tree(h5py, file, where, 0)
    except BaseException:
        file.close()
        raise
    return file


@contextlib.contextmanager
def _h5_errors(where):
    """Turns what h5py raises on a broken file into a ModelFileError naming `where`."""
    try:
        yield
    except ModelFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, OverflowError) as error:
        raise ModelFileError(f"{where}: not a readable HDF5 file ({type(error).__name__}: {error}).") from error


def _check_tree(h5py, group, where, depth):
    if depth > MAX_DEPTH:
        raise ModelFileError(f"{where}: groups nested deeper than {MAX_DEPTH} levels.")
    for name in group:
        link = group.get(name, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise ModelFileError(f"{where}: '{group.name}/{name}' is a {type(link).__name__}; "
                                 "links are not allowed in a weights file.")
        item = group[name]
        if isinstance(item, h5py.Group):
            _check_tree(h5py, item, where, depth + 1)
        elif not isinstance(item, h5py.Dataset):
            raise ModelFileError(f"{where}: '{group.name}/{name}' is a {type(item).__name__}; a weights file holds "
                                 "only groups and datasets.")
        elif item.external or item.is_virtual:
            raise ModelFileError(f"{where}: dataset '{item.name}' keeps its data outside the file; not allowed.")
        elif item.chunks is not None or item.id.get_storage_size() < item.size * item.dtype.itemsize:
            raise ModelFileError(f"{where}: dataset '{item.name}' is chunked or compressed, or stores fewer bytes "
                                 "than its shape declares; Keras writes weights as plain contiguous arrays.")


def _datasets(h5py, group, prefix=""):
    """`{path: dataset}` of every dataset under `group`."""
    found = {}
    for name in group:
        item = group[name]
        path = f"{prefix}{name}"
        if isinstance(item, h5py.Group):
            found.update(_datasets(h5py, item, f"{path}/"))
        else:
            found[path] = item
    return found


def _read(dataset, path, shape, what, where):
    """The array of `dataset`, once its shape and dtype are checked (nothing larger is ever read)."""
    with _h5_errors(f"{where}: '{path}'"):  # a broken header can fail even to give the shape or dtype
        if tuple(dataset.shape) != tuple(shape):
            raise ModelFileError(f"{where}: '{path}' ({what}) has shape {tuple(dataset.shape)} in the file, "
                                 f"but the model expects {tuple(shape)}.")
        if dataset.dtype.kind not in "fiu" or dataset.dtype.itemsize > 8:
            raise ModelFileError(f"{where}: '{path}' ({what}) holds {dataset.dtype}, not numbers of up to 64 bits.")
        return np.asarray(dataset[()])


def stored_weight_count(file, where):
    """How many numbers the layers' datasets of the open HDF5 `file` hold (its shapes, nothing read)."""
    h5py = h5py_module()
    with _h5_errors(where):
        return sum(dataset.size for path, dataset in _datasets(h5py, file).items()
                   if not path.startswith(f"{OPTIMIZER}/"))


def read_weights(model, file, where):
    """`{id(weight): Keras-layout array}` for every weight of `model`, read from the open HDF5 `file`.

    Raises:
        ModelFileError: a weight is missing, extra or misshapen (the message names the dataset and the layer).
    """
    h5py = h5py_module()
    with _h5_errors(where):
        stored = {path: dataset for path, dataset in _datasets(h5py, file).items()
                  if not path.startswith(f"{OPTIMIZER}/")}
    wanted, missing = {}, []
    for path, layer in state_groups(model):
        for index, (name, weight) in enumerate(_own_weights(layer)):
            key = f"{_vars_path(path)}/{index}"
            what = f"weight '{name}' of layer '{layer.name}'"
            if key in stored:
                wanted[key] = (layer, name, weight, what)
            else:
                missing.append(f"{key} ({what})")
    extra = sorted(set(stored) - set(wanted))
    if missing or extra:
        raise ModelFileError(
            f"{where}: the weights do not match the model's layers. Missing: {', '.join(missing) or 'none'}; "
            f"unexpected: {', '.join(extra) or 'none'}."
        )
    return {id(weight): _read(stored[key], key, tuple(layer.to_keras_layout(name, weight).shape), what, where)
            for key, (layer, name, weight, what) in wanted.items()}


def assign_weights(model, arrays):
    """Sets every weight from `read_weights` output (all of them, or none on an error)."""
    model.set_weights([arrays[id(weight)] for *_, weight in model.weight_entries()])


def restore_optimizer(model, file, where):
    """Loads `optimizer/vars` into the compiled model's optimizer, as Keras does: an optimizer saved
    before it was built leaves it unbuilt; a state of another size is skipped with a warning."""
    from cnnkit.engine.device import get_device

    h5py = h5py_module()
    with _h5_errors(where):
        if OPTIMIZER not in file or not isinstance(file[OPTIMIZER], h5py.Group) or "vars" not in file[OPTIMIZER]:
            return
        stored = _datasets(h5py, file[_vars_path(OPTIMIZER)])
    count = len(stored)
    names = [str(index) for index in range(count)]
    if sorted(stored) != sorted(names):
        raise ModelFileError(f"{where}: '{_vars_path(OPTIMIZER)}' must hold datasets 0 to {count - 1}; "
                             f"found {sorted(stored)}.")
    optimizer = model.optimizer
    order = _SLOT_ORDER.get(type(optimizer).__name__)
    if order is None:
        warnings.warn(f"{where}: the optimizer state is not loaded: cnnkit does not know how Keras stores "
                      f"{type(optimizer).__name__}'s.", UserWarning, stacklevel=3)
        return
    fixed = 1 if optimizer._schedule is not None else 2
    if count < fixed:
        raise ModelFileError(f"{where}: '{_vars_path(OPTIMIZER)}' lacks the iterations and learning rate.")
    iterations = int(_read(stored["0"], f"{OPTIMIZER}/vars/0", (), "iterations", where))
    if count == fixed:  # saved before its first step: nothing to restore but the step count
        optimizer.iterations = iterations
        return
    model.to(get_device())
    model.build_optimizer()
    owners = {id(weight): (owner, name) for _, owner, name, weight in model.weight_entries()}
    params = optimizer._params
    slots = [[slot for slot in group if slot in optimizer._slots] for group in order]
    expected = fixed + sum(len(group) for group in slots) * len(params)
    if count != expected:
        warnings.warn(f"{where}: the optimizer state is not loaded: the file holds {count} variables, "
                      f"{type(optimizer).__name__} for this model's {len(params)} trainable weights has "
                      f"{expected}.", UserWarning, stacklevel=3)
        return
    state = {"iterations": torch.tensor(iterations, dtype=torch.int64)}
    if fixed == 2:
        state["learning_rate"] = torch.tensor(float(_read(stored["1"], f"{OPTIMIZER}/vars/1", (), "learning rate",
                                                          where)), dtype=torch.float64)
    index = fixed
    for group in slots:
        for position, param in enumerate(params):
            owner, name = owners[id(param)]
            shape = tuple(owner.to_keras_layout(name, param).shape)
            for slot in group:
                array = _read(stored[str(index)], f"{OPTIMIZER}/vars/{index}", shape,
                              f"{slot} of weight '{name}' of layer '{owner.name}'", where)
                state[f"{slot}.{position}"] = owner.from_keras_layout(name, torch.as_tensor(array, dtype=param.dtype))
                index += 1
    try:
        optimizer.load_variables_state(state)
    except ValueError as error:
        raise ModelFileError(f"{where}: the optimizer state does not match the model: {error}") from error
