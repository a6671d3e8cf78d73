"""How fast cnnkit trains 180x180 convnets, against plain PyTorch and Keras 3 + TensorFlow (issue 14).

Run from the project root on a quiet machine (20-30 minutes on 2 cores; check `uptime` first):

    .venv/bin/python benchmarks/convnet_speed.py

A short run for development: `--images 128 --epochs 2 --models small --dtypes float32 --no-folders`.

1. Preloaded arrays: the small convnet and the mini-Xception (`cnnkit.recipes`), trained on the same N
   random 0..255 images (float32, 180x180x3) with random binary labels, batch 64, Adam, binary
   crossentropy, whole-array epochs, in float32 and mixed_bfloat16. Three sides, one subprocess each,
   run one after the other for each model and dtype:
   - cnnkit: `model.fit(x, y, batch_size=64, verbose=0)`;
   - plain torch: the same model written as a good torch user writes it (NCHW views of channels-last
     memory, in-place ReLU, Keras's BatchNormalization momentum and epsilon, TensorFlow's "same" max
     pooling, fused `torch.optim.Adam` with Keras's epsilon, logits into
     `binary_cross_entropy_with_logits`, `torch.autocast` for bfloat16); its process never imports
     cnnkit, which tunes process-wide things (glibc's malloc) when it trains;
   - Keras 3 + TensorFlow from `--keras-python` (skipped, with the reason, when it is missing).
   Each prints seconds per epoch: the first (from the `fit` call, so tuning and tracing count) and the
   steady one (the median of the later epochs); then the ratios Keras-TF / cnnkit and torch / cnnkit
   against issue 14's targets, and each side's fraction of the FLOP limit (convolutions and Dense at
   the float32 `torch.mm` peak measured now, as `seed_speed.py` measures it).
2. Image folders: the small convnet trained from CIFAR-10's cat and dog JPEG files (extracted from
   ../shared/datasets/cifar10-jpg.zip to a temporary folder) resized to 180x180, through cnnkit's and
   Keras's `image_dataset_from_directory(...).prefetch(AUTOTUNE)`: the input pipeline in the figure.

On a CUDA GPU (issue 14's GPU item), the cnnkit and plain torch sides only (a few minutes), with a CUDA
build of torch (on a lent GPU machine, its own `python3`, cnnkit from the working tree):

    PYTHONPATH=. python3 benchmarks/convnet_speed.py --device cuda --images 2048 --epochs 5

`--device cuda` trains the two models above and the seed convnet (`--models` defaults to
small,xception,seed there; `seed` is `cnnkit.recipes.seed_convnet` on 28x28x1 images in [0, 1] with 10
one-hot classes, categorical crossentropy, Adam, batch 64 like the others) in float32 and bf16. Each side
moves the arrays to the GPU once, before its first step (cnnkit's `fit` converts arrays once), and waits
for the GPU once per epoch, to time it. The Keras side (CPU TensorFlow) and part 2 (no plain torch side;
../shared does not travel to a lent machine) are skipped, saying so; there is no FLOP-limit column (the
peak is the CPU's). It prints images per second and torch / cnnkit seconds (= cnnkit's speed / torch's)
against the GPU target (>= 0.97), then runs a few cnnkit training steps of each model and dtype with the
host's waits on the GPU recorded (`torch.cuda.set_sync_debug_mode("warn")`, and every read of a tensor's
value): the waits per step and the cnnkit line of each. `--sync-check` runs that count on the CPU too
(value reads only). Without a GPU, `--device cuda` stops at once, saying why.
"""

import argparse
import importlib.util
import json
import math
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections import Counter

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = pathlib.Path(__file__).resolve().parent
CIFAR_ZIP = HERE.parent.parent / "shared" / "datasets" / "cifar10-jpg.zip"
KERAS_PYTHON = "/work/kerasenv/bin/python"
IMAGE_SHAPE, BATCH_SIZE = (180, 180, 3), 64
MODELS = {"small": "small_convnet", "xception": "mini_xception", "seed": "seed_convnet"}  # name: recipe
CPU_MODELS = ("small", "xception")  # --models on the CPU by default (benchmarks/seed_speed.py times the seed)
TITLES = {"small_convnet": "small convnet", "mini_xception": "mini-Xception", "seed_convnet": "seed convnet"}
# Each model's input shape, classes (1: a sigmoid output, binary crossentropy; else one-hot targets,
# softmax, categorical crossentropy) and the scale of its random 0..255 images (the seed takes [0, 1]).
INPUTS = {"small_convnet": (IMAGE_SHAPE, 1, 1.0), "mini_xception": (IMAGE_SHAPE, 1, 1.0),
          "seed_convnet": ((28, 28, 1), 10, 1 / 255)}
GPU_TARGET = 0.97  # on a GPU: torch's steady epoch / cnnkit's (cnnkit's speed / torch's), at least
SYNC_STEPS = 6  # training steps of the host-sync check
KERAS_TARGETS = {"small_convnet": 1.0, "mini_xception": 1.2}  # Keras-TF steady epoch / cnnkit's, at least
FIRST_EPOCH_LIMIT = 1.15  # cnnkit's first epoch / its steady one, at most
SIDES, DTYPES = ("cnnkit", "torch", "keras"), ("float32", "bfloat16")


# The plain torch side. Nothing here imports cnnkit: the torch worker runs this file on its own.

def _nchw(images):
    """NCHW view of NHWC images: channels-last memory, as torch's convolutions like it."""
    return images.permute(0, 3, 1, 2)


def _max_pool_same(x, size, stride):
    """TensorFlow's "same" max pooling: -inf padding, the odd padded row/column at the bottom/right."""
    pads = []
    for length in (x.shape[3], x.shape[2]):  # F.pad's order: width first
        total = max((math.ceil(length / stride) - 1) * stride + size - length, 0)
        pads += [total // 2, total - total // 2]
    return F.max_pool2d(F.pad(x, pads, value=float("-inf")), size, stride)


def _batch_norm(channels):
    """Keras's BatchNormalization defaults: momentum 0.99 (torch's 0.01), epsilon 1e-3."""
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


def _separable(channels, filters):
    """SeparableConv2D(filters, 3, padding="same", use_bias=False): depthwise 3x3, then 1x1."""
    return nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
                         nn.Conv2d(channels, filters, 1, bias=False))


class TorchSmallConvnet(nn.Module):
    """`cnnkit.recipes.small_convnet` in plain torch; returns the logit (the sigmoid is in the loss)."""

    def __init__(self):
        super().__init__()
        widths = (3, 32, 64, 128, 256, 512)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3) for a, b in zip(widths, widths[1:]))
        self.dense = nn.Linear(512, 1)
        self.to(memory_format=torch.channels_last)

    def forward(self, images):
        return self.dense(self.features(images))

    def features(self, images):
        """The global average pooling's output."""
        x = _nchw(images) * (1 / 255)
        for conv in self.convs[:-1]:
            x = F.max_pool2d(torch.relu_(conv(x)), 2)
        return torch.relu_(self.convs[-1](x)).mean((2, 3))

    def keras_order(self):
        """The modules holding weights, in the Keras model's weight order."""
        return [*self.convs, self.dense]


class _TorchXceptionBlock(nn.Module):
    """(BatchNormalization, ReLU, SeparableConv2D) twice, "same" max pooling, strided 1x1 shortcut, add."""

    def __init__(self, channels, size):
        super().__init__()
        self.norm1, self.sep1 = _batch_norm(channels), _separable(channels, size)
        self.norm2, self.sep2 = _batch_norm(size), _separable(size, size)
        self.shortcut = nn.Conv2d(channels, size, 1, stride=2, bias=False)

    def forward(self, x):
        y = self.sep1(torch.relu_(self.norm1(x)))
        y = self.sep2(torch.relu_(self.norm2(y)))
        return _max_pool_same(y, 3, 2) + self.shortcut(x)

    def keras_order(self):
        return [self.norm1, *self.sep1, self.norm2, *self.sep2, self.shortcut]


class TorchMiniXception(nn.Module):
    """`cnnkit.recipes.mini_xception` in plain torch; returns the logit (the sigmoid is in the loss)."""

    def __init__(self):
        super().__init__()
        sizes = (32, 64, 128, 256, 512)
        self.stem = nn.Conv2d(3, 32, 5, bias=False)
        self.blocks = nn.ModuleList(_TorchXceptionBlock(a, b) for a, b in zip((32,) + sizes, sizes))
        self.dense = nn.Linear(512, 1)
        self.to(memory_format=torch.channels_last)

    def forward(self, images):
        return self.dense(F.dropout(self.features(images), 0.5, self.training))

    def features(self, images):
        """The global average pooling's output."""
        x = self.stem(_nchw(images) * (1 / 255))
        for block in self.blocks:
            x = block(x)
        return x.mean((2, 3))

    def keras_order(self):
        return [self.stem, *(module for block in self.blocks for module in block.keras_order()), self.dense]


class TorchSeedConvnet(nn.Module):
    """`cnnkit.recipes.seed_convnet` in plain torch, as `seed_speed.py`'s hand-written model; returns logits."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3), nn.Conv2d(64, 64, 3)])
        self.dense1, self.dense2 = nn.Linear(576, 64), nn.Linear(64, 10)
        self.to(memory_format=torch.channels_last)

    def forward(self, images):
        x = _nchw(images)
        for conv in self.convs[:2]:
            x = F.max_pool2d(torch.relu_(conv(x)), 2)
        x = torch.relu_(self.convs[2](x)).permute(0, 2, 3, 1).flatten(1)  # Keras's (h, w, c) order
        return self.dense2(torch.relu_(self.dense1(x)))

    def keras_order(self):
        return [*self.convs, self.dense1, self.dense2]


TWINS = {"small_convnet": TorchSmallConvnet, "mini_xception": TorchMiniXception, "seed_convnet": TorchSeedConvnet}


def _keras_slots(module):
    """(tensor, Keras layout -> torch layout) for each Keras weight of `module`, in Keras's order."""
    same = lambda w: w  # noqa: E731
    if isinstance(module, nn.Conv2d):
        depthwise = module.groups > 1  # Keras (kh, kw, channels, 1); a kernel is (kh, kw, in, out)
        kernel = (lambda w: w.permute(2, 3, 0, 1)) if depthwise else (lambda w: w.permute(3, 2, 0, 1))
        return [(module.weight, kernel)] + ([(module.bias, same)] if module.bias is not None else [])
    if isinstance(module, nn.BatchNorm2d):
        return [(tensor, same) for tensor in (module.weight, module.bias, module.running_mean, module.running_var)]
    return [(module.weight, torch.t), (module.bias, same)]


def keras_param_count(net):
    """Weights as Keras counts them (BatchNormalization's moving statistics included)."""
    return sum(tensor.numel() for module in net.keras_order() for tensor, _ in _keras_slots(module))


def load_keras_weights(net, weights):
    """Copies a Keras model's `get_weights()` (Keras's layouts and order) into its torch twin `net`."""
    slots = [slot for module in net.keras_order() for slot in _keras_slots(module)]
    if len(slots) != len(weights):
        raise ValueError(f"{type(net).__name__} holds {len(slots)} weights; received {len(weights)} arrays")
    with torch.no_grad():
        for index, ((tensor, to_torch), array) in enumerate(zip(slots, weights)):
            value = to_torch(torch.from_numpy(np.asarray(array)))
            if value.shape != tensor.shape:
                raise ValueError(f"weight {index}: expected the torch shape {tuple(tensor.shape)}, "
                                 f"received {tuple(value.shape)} from Keras's {np.shape(array)}")
            tensor.copy_(value)


def wait_for(device):
    """Waits for the work queued on a CUDA `device` (the time of an epoch's end); nothing on the CPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def train_torch(net, x, y, epochs, compute_dtype=None):
    """The plain torch training loop (shuffled batches of 64, Adam) on `x`'s device, binary crossentropy on
    one label per image, else crossentropy on one-hot labels; (epoch end times, last epoch's loss)."""
    device = x.device
    optimizer = torch.optim.Adam(net.parameters(), eps=1e-7, fused=True)
    autocast = torch.autocast(device.type, dtype=compute_dtype, enabled=compute_dtype is not None)
    loss_function = F.binary_cross_entropy_with_logits if y.shape[1] == 1 else F.cross_entropy
    net.train()
    ends = []
    for _ in range(epochs):
        order, loss_sum = torch.randperm(len(x), device=device), torch.zeros((), device=device)
        for start in range(0, len(x), BATCH_SIZE):
            index = order[start:start + BATCH_SIZE]
            with autocast:
                logits = net(x.index_select(0, index))
            loss = loss_function(logits.float(), y.index_select(0, index))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(index)
        wait_for(device)
        ends.append(time.perf_counter())
    return ends, loss_sum.item() / len(x)


def load_arrays(config, count=None):
    """The preloaded training arrays (the first `count` only, given it): float32 images (0..255 times
    `config["scale"]`, 1 when absent) and float32 labels: (N, 1) binary or (N, classes) one-hot."""
    images = np.load(config["images"], mmap_mode="r")[:count].astype(np.float32)
    scale = config.get("scale", 1.0)
    if scale != 1:
        images *= np.float32(scale)
    return images, np.load(config["labels"])[:count]


def epoch_result(start, ends, params, loss):
    """A worker's answer: seconds of each epoch (the first from the start of training)."""
    return {"epoch_seconds": np.diff([start, *ends]).tolist(), "params": int(params), "loss": float(loss)}


def torch_epochs(config):
    """The torch worker: trains `config["model"]`'s twin on the arrays, on `config["device"]` (default cpu)."""
    device = torch.device(config.get("device", "cpu"))
    x, y = (torch.from_numpy(array).to(device) for array in load_arrays(config))
    net = TWINS[config["model"]]().to(device)
    compute_dtype = torch.bfloat16 if config["dtype"] == "bfloat16" else None
    start = time.perf_counter()
    ends, loss = train_torch(net, x, y, config["epochs"], compute_dtype)
    return epoch_result(start, ends, keras_param_count(net), loss)


# The cnnkit side: cnnkit is imported in its own worker (and by the parent, which never trains).

def loss_name(model):
    return "binary_crossentropy" if INPUTS[model][1] == 1 else "categorical_crossentropy"


def compiled_recipe(config):
    """`config["model"]` from cnnkit.recipes, compiled with Adam under `config["dtype"]`'s policy, on
    `config["device"]` (default cpu)."""
    import cnnkit
    from cnnkit import mixed_precision, recipes

    cnnkit.set_device(config.get("device", "cpu"))
    mixed_precision.set_global_policy("mixed_bfloat16" if config["dtype"] == "bfloat16" else "float32")
    model = getattr(recipes, config["model"])()
    model.compile(optimizer="adam", loss=loss_name(config["model"]))
    return model


def cnnkit_epochs(config):
    """The cnnkit worker: `model.fit` on the arrays or on the image folder of `config`."""
    from cnnkit.callbacks import Callback

    class EpochEnds(Callback):
        def on_epoch_end(self, epoch, logs=None):
            wait_for(device)
            ends.append(time.perf_counter())

    device = config.get("device", "cpu")
    model = compiled_recipe(config)
    inputs, ends = _cnnkit_inputs(config), []
    start = time.perf_counter()
    history = model.fit(**inputs, epochs=config["epochs"], verbose=0, callbacks=[EpochEnds()])
    return epoch_result(start, ends, model.count_params(), history.history["loss"][-1])


def _cnnkit_inputs(config):
    """`fit`'s data arguments: the preloaded arrays, or the folder's dataset with prefetching."""
    if "folder" not in config:
        x, y = load_arrays(config)
        return {"x": x, "y": y, "batch_size": BATCH_SIZE}
    from cnnkit.data import AUTOTUNE
    from cnnkit.utils import image_dataset_from_directory
    dataset = image_dataset_from_directory(config["folder"], image_size=IMAGE_SHAPE[:2], batch_size=BATCH_SIZE,
                                           verbose=False)
    return {"x": dataset.prefetch(AUTOTUNE)}


class HostSyncs:
    """Records where the host waits for the device, as `(kind, where)` in the list `with` gives.

    "sync": each synchronising CUDA call torch reports under `torch.cuda.set_sync_debug_mode("warn")`
    (reads of values, device-to-host and pageable host-to-device copies, explicit synchronisation), on a
    CUDA `device` only. "read": each read of a tensor's value into Python (`aten._local_scalar_dense`:
    `.item()`, `float()`, `int()`, `bool()`), which on a GPU is such a wait: the part of the check that
    means something on the CPU too. `where` is "path:line (function)" of the innermost frame under
    `package` (a folder, e.g. cnnkit's), else of the innermost frame outside torch and this recorder.
    """

    def __init__(self, device, package):
        self.cuda, self.root = torch.device(device).type == "cuda", os.path.dirname(os.path.abspath(package))
        self.package, self.events = os.path.abspath(package) + os.sep, []

    def where(self):
        frames = traceback.extract_stack()[:-1]
        outside = None
        for frame in reversed(frames):
            path = os.path.abspath(frame.filename)
            if path.startswith(self.package):
                return f"{os.path.relpath(path, self.root)}:{frame.lineno} ({frame.name})"
            if outside is None and not path.startswith(_TORCH_DIR) and frame.name not in _RECORDER_FRAMES \
                    and os.path.basename(path) != "warnings.py":
                outside = f"{path}:{frame.lineno} ({frame.name})"
        return outside or "?"

    def __enter__(self):
        from torch.utils._python_dispatch import TorchDispatchMode

        recorder = self

        class ValueReads(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                if func is torch.ops.aten._local_scalar_dense.default:
                    recorder.events.append(("read", recorder.where()))
                return func(*args, **(kwargs or {}))

        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        if self.cuda:
            warnings.simplefilter("always")  # every warning, not once per line
            shown = warnings.showwarning

            def show_warning(message, category, filename, lineno, file=None, line=None):
                if "synchroniz" in str(message):  # "called a synchronizing CUDA operation"
                    recorder.events.append(("sync", recorder.where()))
                else:
                    shown(message, category, filename, lineno, file, line)

            warnings.showwarning = show_warning
            self._debug_mode = torch.cuda.get_sync_debug_mode()
            torch.cuda.set_sync_debug_mode("warn")
        self._reads = ValueReads()
        self._reads.__enter__()
        return self.events

    def __exit__(self, *error):
        self._reads.__exit__(*error)
        if self.cuda:
            torch.cuda.set_sync_debug_mode(self._debug_mode)
        self._warnings.__exit__(*error)
        return False


_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
_RECORDER_FRAMES = {"where", "show_warning", "__torch_dispatch__"}


def host_syncs_per_step(config):
    """A few cnnkit training steps (`model.fit(x, y, verbose=0)` on the first `config["steps"]` batches of the
    arrays, one epoch) under `HostSyncs`: the waits of each step, where they are, and a probe (one deliberate
    `.item()`) showing that the recorder sees them."""
    import cnnkit
    from cnnkit.callbacks import Callback

    class StepEnds(Callback):
        def on_train_batch_end(self, batch, logs=None):  # never reads `logs`: that would be a wait
            marks.append(len(events))

    device = config.get("device", "cpu")
    batch_size = config.get("batch_size", BATCH_SIZE)
    model, (x, y) = compiled_recipe(config), load_arrays(config, batch_size * config.get("steps", SYNC_STEPS))
    marks = []
    with HostSyncs(device, os.path.dirname(cnnkit.__file__)) as events:
        torch.ones((), device=device).item()
        probe = Counter(kind for kind, _ in events)
        events.clear()
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, callbacks=[StepEnds()])
    kind = "sync" if torch.device(device).type == "cuda" else "read"
    bounds = [0, *marks, len(events)]
    parts = [events[start:stop] for start, stop in zip(bounds, bounds[1:])]  # step 1 (setup too), ..., epoch end

    def tally(part):
        return {name: sum(1 for event in part if event[0] == name) for name in ("sync", "read")}

    return {"model": config["model"], "dtype": config["dtype"], "device": str(device), "kind": kind,
            "probe": dict(probe), "first_step": tally(parts[0]), "later_steps": [tally(part) for part in parts[1:-1]],
            "epoch_end": tally(parts[-1]),
            "sites": {name: dict(Counter(f"{what} {where}" for what, where in part))
                      for name, part in (("first_step", parts[0]), ("later_steps", sum(parts[1:-1], [])),
                                         ("epoch_end", parts[-1]))}}


def sync_worker(config):
    """The sync worker: `host_syncs_per_step` of each run in `config["runs"]`, one process."""
    return [host_syncs_per_step({**run, "device": config.get("device", "cpu")}) for run in config["runs"]]


# The Keras side, run by --keras-python (its venv has no torch): the same models, data and answer.

_KERAS_SCRIPT = r"""
import json, sys, time
import numpy as np
import keras
import tensorflow as tf
from keras import layers

config = json.loads(sys.argv[1])
if config["dtype"] == "bfloat16":
    keras.mixed_precision.set_global_policy("mixed_bfloat16")

def small_convnet():
    inputs = keras.Input((180, 180, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(512, 3, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))

def mini_xception():
    inputs = keras.Input((180, 180, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(32, 5, use_bias=False)(x)
    for size in (32, 64, 128, 256, 512):
        residual = x
        for _ in range(2):
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
            x = layers.SeparableConv2D(size, 3, padding="same", use_bias=False)(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(size, 1, strides=2, padding="same", use_bias=False)(residual)
        x = layers.add([x, residual])
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))

def seed_convnet():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax"),
    ])

builders = {"small_convnet": small_convnet, "mini_xception": mini_xception, "seed_convnet": seed_convnet}
model = builders[config["model"]]()
model.compile(optimizer="adam",
              loss="categorical_crossentropy" if config["model"] == "seed_convnet" else "binary_crossentropy")
if "folder" in config:
    dataset = keras.utils.image_dataset_from_directory(config["folder"], image_size=(180, 180), batch_size=64,
                                                       verbose=False)
    inputs = {"x": dataset.prefetch(tf.data.AUTOTUNE)}
else:
    images = np.load(config["images"]).astype(np.float32) * np.float32(config.get("scale", 1.0))
    inputs = {"x": images, "y": np.load(config["labels"]), "batch_size": 64}
ends = []
epoch_ends = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(time.perf_counter()))
start = time.perf_counter()
history = model.fit(**inputs, epochs=config["epochs"], verbose=0, callbacks=[epoch_ends])
print(json.dumps({"epoch_seconds": np.diff([start, *ends]).tolist(), "params": int(model.count_params()),
                  "loss": float(history.history["loss"][-1])}))
"""


# The parent: data, subprocesses, FLOPs, report.

def write_arrays(folder, images, seed=0, shape=IMAGE_SHAPE, classes=1):
    """Saves `images` random uint8 images of `shape` and their labels (binary, (N, 1), for one class; else
    one-hot); the arrays part of a worker config."""
    rng = np.random.default_rng(seed)
    name = f"{'x'.join(map(str, shape))}_{classes}"
    paths = {"images": os.path.join(folder, f"images_{name}.npy"), "labels": os.path.join(folder, f"labels_{name}.npy")}
    np.save(paths["images"], rng.integers(0, 256, (images, *shape), dtype=np.uint8))
    labels = rng.integers(0, 2 if classes == 1 else classes, (images, 1))
    np.save(paths["labels"], (labels if classes == 1 else np.eye(classes)[labels[:, 0]]).astype(np.float32))
    return paths


def extract_cats_and_dogs(target, images):
    """`images` CIFAR-10 training JPEG files, half cats, half dogs, as cat/ and dog/ folders under `target`."""
    with zipfile.ZipFile(CIFAR_ZIP) as archive:
        for label in ("cat", "dog"):
            os.makedirs(os.path.join(target, label), exist_ok=True)
            for index in range(images // 2):
                with open(os.path.join(target, label, f"{index:04d}.jpg"), "wb") as file:
                    file.write(archive.read(f"cifar10-jpg/train/{label}/{index:04d}.jpg"))
    return target


def run_side(side, config, keras_python):
    """One side's training in a subprocess of its own: (its answer, None) or (None, why not)."""
    env = {**os.environ}
    if side == "keras":
        if not keras_python or not os.path.exists(keras_python):
            return None, f"no Keras venv at {keras_python!r}"
        command = [keras_python, "-c", _KERAS_SCRIPT, json.dumps(config)]
        env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    else:
        command = [sys.executable, str(HERE / "convnet_speed.py"), "--worker", side, "--config", json.dumps(config)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        lines = done.stderr.strip().splitlines()
        return None, lines[-1] if lines else f"exit status {done.returncode}"
    return json.loads(done.stdout.strip().splitlines()[-1]), None


def measure(config, sides, keras_python):
    """{side: answer} of the sides that ran on `config`, one after the other; prints each as it ends."""
    runs = {}
    for side in sides:
        result, reason = run_side(side, config, keras_python)
        if result is None:
            print(f"    {side}: skipped: {reason}", flush=True)
            continue
        runs[side] = result
        print(f"    {side}: epochs " + ", ".join(f"{s:.2f}" for s in result["epoch_seconds"]) + " s", flush=True)
    return runs


def _forward_macs(layer):
    """Multiply-adds of one image through a Conv2D, DepthwiseConv2D, SeparableConv2D or Dense layer, else 0."""
    from cnnkit import layers
    if isinstance(layer, layers.Dense):
        return layer.input_shape[-1] * layer.units
    if not isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D, layers.SeparableConv2D)):
        return 0
    _, height, width, filters = layer.output_shape
    pixels, window, channels = height * width, math.prod(layer.kernel_size), layer.input_shape[-1]
    if isinstance(layer, layers.Conv2D):
        return pixels * filters * window * channels // layer.groups
    depthwise = pixels * channels * layer.depth_multiplier * window
    if isinstance(layer, layers.DepthwiseConv2D):
        return depthwise
    return depthwise + pixels * channels * layer.depth_multiplier * filters


def training_flops_per_image(model):
    """Forward + backward FLOPs of one image, as `seed_speed.py` counts them: 2 per multiply-add forward,
    twice that backward (input and weight gradients), no input gradient for the first weighted layer."""
    macs = [count for count in map(_forward_macs, model.layers) if count]
    return sum(2 * count * (2 if index == 0 else 3) for index, count in enumerate(macs))


def flops_per_image(model_name):
    """`training_flops_per_image` of the cnnkit recipe `model_name` (built here, never trained)."""
    from cnnkit import recipes
    return training_flops_per_image(getattr(recipes, model_name)())


def matmul_peak_gflops():
    """`seed_speed.py`'s float32 `torch.mm` peak, loaded here only: that module imports cnnkit."""
    spec = importlib.util.spec_from_file_location("seed_speed", HERE / "seed_speed.py")
    seed_speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seed_speed)
    return seed_speed.matmul_peak_gflops()


def steady(seconds):
    """The steady epoch: the median of the epochs after the first (the first, when it is the only one)."""
    return statistics.median(seconds[1:] or seconds)


def verdict(ok):
    return "met" if ok else "NOT MET"


def side_rows(runs, limit_s=None, images=None):
    """One row per side: first and steady epoch, images per second in the steady one (given `images` per
    epoch), fraction of the FLOP limit (given `limit_s`), last epoch's loss, weights."""
    rows = [f"    {'side':7} {'first s':>8} {'steady s':>9} {'images/s':>9} {'FLOP limit':>10} {'loss':>7} "
            f"{'weights':>10}"]
    for side, result in runs.items():
        seconds = result["epoch_seconds"]
        fraction = f"{limit_s / steady(seconds):10.1%}" if limit_s else f"{'-':>10}"
        rate = f"{images / steady(seconds):9.0f}" if images else f"{'-':>9}"
        rows.append(f"    {side:7} {seconds[0]:8.2f} {steady(seconds):9.2f} {rate} {fraction} "
                    f"{result['loss']:7.4f} {result['params']:10,}")
    return rows


def ratio_rows(runs, keras_target=None, torch_target=None):
    """Keras-TF / cnnkit and torch / cnnkit (steady epochs), cnnkit's first / steady; with the targets that
    apply. Returns (rows, [(target description, met)])."""
    if "cnnkit" not in runs:
        return ["    no cnnkit run: no ratios"], []
    base, rows, targets = steady(runs["cnnkit"]["epoch_seconds"]), [], []
    for side, name, target in (("keras", "Keras-TF / cnnkit", keras_target),
                               ("torch", "torch / cnnkit", torch_target)):
        if side in runs:
            ratio = steady(runs[side]["epoch_seconds"]) / base
            rows.append(f"    {name:19} {ratio:6.3f}" + (f"   (target >= {target}: {verdict(ratio >= target)})"
                                                        if target else ""))
            targets += [(f"{name} {ratio:.3f} (>= {target})", ratio >= target)] if target else []
    seconds = runs["cnnkit"]["epoch_seconds"]
    if keras_target and len(seconds) > 1:
        ratio = seconds[0] / base
        rows.append(f"    {'cnnkit first/steady':19} {ratio:6.3f}   (target <= {FIRST_EPOCH_LIMIT}: "
                    f"{verdict(ratio <= FIRST_EPOCH_LIMIT)})")
        targets.append((f"cnnkit first / steady {ratio:.3f} (<= {FIRST_EPOCH_LIMIT})", ratio <= FIRST_EPOCH_LIMIT))
    return rows, targets


def report_arrays(results, images, peak, device="cpu"):
    """Prints part 1's table per model and dtype; returns [(target, met)] over all of them. On cuda (`peak`
    None): no FLOP limit, and the GPU target on torch / cnnkit instead of the Keras ones."""
    cuda = device == "cuda"
    shapes = sorted({"x".join(map(str, INPUTS[model][0])) for model, _ in results})
    print(f"\n== 1. preloaded arrays on {device}: {images} images ({', '.join(shapes)}), batch {BATCH_SIZE}, Adam; "
          f"steady = median of the epochs after the first ==")
    print("FLOP limit: not computed on cuda (the float32 torch.mm peak is the CPU's)" if peak is None else
          f"FLOP limit: Conv2D/DepthwiseConv2D/SeparableConv2D/Dense FLOPs at the float32 torch.mm peak, "
          f"{peak:.0f} GFLOP/s ({torch.get_num_threads()} threads)")
    all_targets = []
    for (model, dtype), (flops, runs) in results.items():
        limit_s = None if peak is None else images * flops / (peak * 1e9)
        print(f"\n  {TITLES[model]}, {dtype}: {flops / 1e9:.2f} GFLOP per image trained"
              + ("" if limit_s is None else f", FLOP limit {limit_s:.2f} s/epoch"))
        rows, targets = ratio_rows(runs, None if cuda else KERAS_TARGETS.get(model), GPU_TARGET if cuda else None)
        print("\n".join(side_rows(runs, limit_s, images) + rows))
        all_targets += [(f"{TITLES[model]} {dtype}: {name}", met) for name, met in targets]
    return all_targets


def report_gpu_summary(results, images):
    """One line per model and dtype: cnnkit's and torch's images per second and their ratio (GPU target)."""
    print(f"\n== GPU summary: images per second in steady epochs; cnnkit / torch speed (target >= {GPU_TARGET}) ==")
    print(f"  {'model':15} {'dtype':9} {'cnnkit':>9} {'torch':>9} {'ratio':>6}")
    for (model, dtype), (_, runs) in results.items():
        rates = {side: images / steady(runs[side]["epoch_seconds"]) for side in ("cnnkit", "torch") if side in runs}
        cells = [f"{rates[side]:9.0f}" if side in rates else f"{'-':>9}" for side in ("cnnkit", "torch")]
        ratio = rates["cnnkit"] / rates["torch"] if len(rates) == 2 else None
        print(f"  {TITLES[model]:15} {dtype:9} {' '.join(cells)} " + (
            f"{ratio:6.3f} {verdict(ratio >= GPU_TARGET)}" if ratio is not None else f"{'-':>6}"))


def report_syncs(checks):
    """Prints the host-sync check; returns [(target, met)]: no wait on the device in the steps after the first."""
    if not checks:
        return []
    first = checks[0]
    waits = "synchronising CUDA calls" if first["kind"] == "sync" else "reads of tensor values (CPU: no syncs)"
    print(f"\n== host waits in cnnkit training steps on {first['device']}: model.fit(arrays, verbose=0), "
          f"{len(first['later_steps']) + 1} steps; counted: {waits} ==")
    probe = first["probe"]
    print(f"  probe, one deliberate .item(): {probe.get('sync', 0)} sync, {probe.get('read', 0)} read"
          + ("" if probe.get(first["kind"]) else "   (NOT SEEN: the counts below mean nothing)"))
    targets = []
    for check in checks:
        later = [step[check["kind"]] for step in check["later_steps"]]
        reads = "" if check["kind"] == "read" else f", reads {[step['read'] for step in check['later_steps']]}"
        print(f"\n  {TITLES[check['model']]}, {check['dtype']}: per step after the first: "
              f"{check['kind']}s {later}{reads}; first step (setup included) {check['first_step']}; "
              f"epoch end {check['epoch_end']}")
        for part, sites in check["sites"].items():
            for site, count in sorted(sites.items(), key=lambda item: -item[1]):
                print(f"      {part}: {count} x {site}")
        ok = bool(check["probe"].get(check["kind"])) and not any(later)
        targets.append((f"{TITLES[check['model']]} {check['dtype']}: no host-device wait per step "
                        f"({check['kind']}s after the first step: {sum(later)})", ok))
    return targets


def report_folders(results, arrays, images=None):
    """Prints part 2: seconds per epoch from the image folders, and cnnkit's folders / arrays time."""
    print(f"\n== 2. small convnet from CIFAR-10 cat and dog JPEG folders resized to 180x180, batch {BATCH_SIZE}, "
          f"prefetch(AUTOTUNE) ==")
    for dtype, runs in results.items():
        print(f"\n  {dtype}")
        print("\n".join(side_rows(runs, images=images) + ratio_rows(runs)[0]))
        _, array_runs = arrays.get(("small_convnet", dtype), (None, {}))
        with_arrays = array_runs.get("cnnkit")
        if "cnnkit" in runs and with_arrays:
            ratio = steady(runs["cnnkit"]["epoch_seconds"]) / steady(with_arrays["epoch_seconds"])
            print(f"    {'cnnkit folders/arrays':19} {ratio:6.3f}   (the input pipeline's cost, same image count)")


def report_targets(targets):
    met = [name for name, ok in targets if ok]
    print(f"\ntargets met: {len(met)} of {len(targets)}")
    for name, ok in targets:
        if not ok:
            print(f"  NOT MET: {name}")


def _choices(allowed):
    """An argparse type: a comma-separated list of names from `allowed`."""
    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        wrong = [name for name in names if name not in allowed]
        if wrong or not names:
            raise argparse.ArgumentTypeError(f"expected names from {', '.join(allowed)}; received {text!r}")
        return names
    return parse


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=2000, help="training images (default 2000)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run: the first + steady ones (default 3)")
    parser.add_argument("--models", type=_choices(tuple(MODELS)),
                        help="small,xception,seed (default small,xception on the CPU, all three on cuda)")
    parser.add_argument("--dtypes", type=_choices(DTYPES), default=list(DTYPES), help="float32,bfloat16")
    parser.add_argument("--sides", type=_choices(SIDES), default=list(SIDES), help="cnnkit,torch,keras")
    parser.add_argument("--folders", action=argparse.BooleanOptionalAction, default=True,
                        help="part 2, from the CIFAR-10 JPEG folders (default on)")
    parser.add_argument("--keras-python", default=KERAS_PYTHON, help="Python with keras+tensorflow ('' skips Keras)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the cnnkit and torch sides train (default cpu; cuda: no Keras side, no folders)")
    parser.add_argument("--sync-check", action=argparse.BooleanOptionalAction,
                        help="count the host's waits in cnnkit's training steps (default: on with --device cuda)")
    parser.add_argument("--worker", choices=("cnnkit", "torch", "sync"), help=argparse.SUPPRESS)
    parser.add_argument("--config", type=json.loads, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device == "cuda" and not args.worker and not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        parser.error(f"--device cuda: torch {torch.__version__} ({build}, {sys.executable}) sees no CUDA GPU "
                     "here; run it with a CUDA build of torch on a machine with a GPU")
    if args.models is None:
        args.models = list(MODELS) if args.device == "cuda" else list(CPU_MODELS)
    if args.sync_check is None:
        args.sync_check = args.device == "cuda"
    return args


def array_configs(args, workdir):
    """{model: its arrays' part of a worker config}, the arrays written once per input shape and classes."""
    written, configs = {}, {}
    for model in (MODELS[name] for name in args.models):
        shape, classes, scale = INPUTS[model]
        if (shape, classes) not in written:
            written[shape, classes] = write_arrays(workdir, args.images, shape=shape, classes=classes)
        configs[model] = {**written[shape, classes], "scale": scale, "device": args.device}
    return configs


def run_arrays(args, configs):
    """Part 1 on the arrays of `configs` (`array_configs`): {(model, dtype): (training FLOPs per image,
    {side: answer})}."""
    results = {}
    for model, arrays in configs.items():
        for dtype in args.dtypes:
            print(f"  {TITLES[model]}, {dtype}:", flush=True)
            config = {"model": model, "dtype": dtype, "epochs": args.epochs, **arrays}
            results[model, dtype] = flops_per_image(model), measure(config, args.sides, args.keras_python)
    return results


def run_sync_check(args, configs):
    """The host-sync check of each model and dtype, in one cnnkit process: a list of `host_syncs_per_step`."""
    runs = [{"model": model, "dtype": dtype, **arrays} for model, arrays in configs.items() for dtype in args.dtypes]
    print("  host-sync check:", flush=True)
    result, reason = run_side("sync", {"device": args.device, "runs": runs}, None)
    if result is None:
        print(f"    skipped: {reason}", flush=True)
    return result or []


def run_folders(args, workdir):
    """Part 2: {dtype: {side: answer}} for the small convnet from the cat and dog folders."""
    if not CIFAR_ZIP.exists():
        print(f"  image folders: skipped: no {CIFAR_ZIP}")
        return {}
    folder = extract_cats_and_dogs(os.path.join(workdir, "cats_and_dogs"), args.images)
    sides, results = [side for side in args.sides if side != "torch"], {}
    for dtype in args.dtypes:
        print(f"  small convnet from folders, {dtype}:", flush=True)
        config = {"model": "small_convnet", "dtype": dtype, "epochs": args.epochs, "folder": folder}
        results[dtype] = measure(config, sides, args.keras_python)
    return results


def skip_on_cuda(args):
    """On cuda: drops the Keras side and part 2, saying why."""
    if "keras" in args.sides:
        print("  keras: skipped on cuda: the Keras side is Keras + TensorFlow on the CPU (CUDA_VISIBLE_DEVICES=''), "
              "and a lent GPU machine has no TensorFlow", flush=True)
        args.sides = [side for side in args.sides if side != "keras"]
    if args.folders:
        print("  image folders (part 2): skipped on cuda: it has no plain torch side to compare with, and "
              "../shared/datasets does not travel to a lent machine", flush=True)
        args.folders = False


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        work = {"torch": torch_epochs, "cnnkit": cnnkit_epochs, "sync": sync_worker}[args.worker]
        print(json.dumps(work(args.config)))
        return None
    cuda = args.device == "cuda"
    gpu = f" ({torch.cuda.get_device_name()}, CUDA {torch.version.cuda})" if cuda else ""
    print(f"convnet speed: {args.images} images, {args.epochs} epochs, models {','.join(args.models)}, "
          f"sides {','.join(args.sides)}, device {args.device}{gpu}, torch {torch.__version__}; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}", flush=True)
    if cuda:
        skip_on_cuda(args)
    peak = None if cuda else matmul_peak_gflops()
    with tempfile.TemporaryDirectory() as workdir:
        configs = array_configs(args, workdir)
        arrays = run_arrays(args, configs)
        folders = run_folders(args, workdir) if args.folders else {}
        syncs = run_sync_check(args, configs) if args.sync_check else []
    peak = None if cuda else max(peak, matmul_peak_gflops())
    targets = report_arrays(arrays, args.images, peak, args.device)
    if folders:
        report_folders(folders, arrays, 2 * (args.images // 2))
    if cuda:
        report_gpu_summary(arrays, args.images)
    targets += report_syncs(syncs)
    report_targets(targets)
    print(f"load at the end: {os.getloadavg()[0]:.2f}")
    return {"arrays": arrays, "folders": folders, "syncs": syncs, "targets": targets}


if __name__ == "__main__":
    main()
