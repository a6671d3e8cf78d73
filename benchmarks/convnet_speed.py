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
import zipfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = pathlib.Path(__file__).resolve().parent
CIFAR_ZIP = HERE.parent.parent / "shared" / "datasets" / "cifar10-jpg.zip"
KERAS_PYTHON = "/work/kerasenv/bin/python"
IMAGE_SHAPE, BATCH_SIZE = (180, 180, 3), 64
MODELS = {"small": "small_convnet", "xception": "mini_xception"}  # --models name: cnnkit.recipes builder
TITLES = {"small_convnet": "small convnet", "mini_xception": "mini-Xception"}
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


TWINS = {"small_convnet": TorchSmallConvnet, "mini_xception": TorchMiniXception}


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


def train_torch(net, x, y, epochs, compute_dtype=None):
    """The plain torch training loop (shuffled batches of 64, Adam); (epoch end times, last epoch's loss)."""
    optimizer = torch.optim.Adam(net.parameters(), eps=1e-7, fused=True)
    autocast = torch.autocast("cpu", dtype=compute_dtype, enabled=compute_dtype is not None)
    net.train()
    ends = []
    for _ in range(epochs):
        order, loss_sum = torch.randperm(len(x)), torch.zeros(())
        for start in range(0, len(x), BATCH_SIZE):
            index = order[start:start + BATCH_SIZE]
            with autocast:
                logits = net(x.index_select(0, index))
            loss = F.binary_cross_entropy_with_logits(logits.float(), y.index_select(0, index))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(index)
        ends.append(time.perf_counter())
    return ends, loss_sum.item() / len(x)


def load_arrays(config):
    """The preloaded training arrays: float32 0..255 images and float32 (N, 1) labels."""
    return np.load(config["images"]).astype(np.float32), np.load(config["labels"])


def epoch_result(start, ends, params, loss):
    """A worker's answer: seconds of each epoch (the first from the start of training)."""
    return {"epoch_seconds": np.diff([start, *ends]).tolist(), "params": int(params), "loss": float(loss)}


def torch_epochs(config):
    """The torch worker: trains `config["model"]`'s twin on the arrays."""
    x, y = (torch.from_numpy(array) for array in load_arrays(config))
    net = TWINS[config["model"]]()
    compute_dtype = torch.bfloat16 if config["dtype"] == "bfloat16" else None
    start = time.perf_counter()
    ends, loss = train_torch(net, x, y, config["epochs"], compute_dtype)
    return epoch_result(start, ends, keras_param_count(net), loss)


# The cnnkit side: cnnkit is imported in its own worker (and by the parent, which never trains).

def cnnkit_epochs(config):
    """The cnnkit worker: `model.fit` on the arrays or on the image folder of `config`."""
    import cnnkit
    from cnnkit import mixed_precision, recipes
    from cnnkit.callbacks import Callback

    class EpochEnds(Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append(time.perf_counter())

    cnnkit.set_device("cpu")
    mixed_precision.set_global_policy("mixed_bfloat16" if config["dtype"] == "bfloat16" else "float32")
    model = getattr(recipes, config["model"])()
    model.compile(optimizer="adam", loss="binary_crossentropy")
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

model = {"small_convnet": small_convnet, "mini_xception": mini_xception}[config["model"]]()
model.compile(optimizer="adam", loss="binary_crossentropy")
if "folder" in config:
    dataset = keras.utils.image_dataset_from_directory(config["folder"], image_size=(180, 180), batch_size=64,
                                                       verbose=False)
    inputs = {"x": dataset.prefetch(tf.data.AUTOTUNE)}
else:
    inputs = {"x": np.load(config["images"]).astype(np.float32), "y": np.load(config["labels"]), "batch_size": 64}
ends = []
epoch_ends = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(time.perf_counter()))
start = time.perf_counter()
history = model.fit(**inputs, epochs=config["epochs"], verbose=0, callbacks=[epoch_ends])
print(json.dumps({"epoch_seconds": np.diff([start, *ends]).tolist(), "params": int(model.count_params()),
                  "loss": float(history.history["loss"][-1])}))
"""


# The parent: data, subprocesses, FLOPs, report.

def write_arrays(folder, images, seed=0):
    """Saves `images` random uint8 180x180x3 images and binary labels; the arrays part of a worker config."""
    rng = np.random.default_rng(seed)
    paths = {"images": os.path.join(folder, "images.npy"), "labels": os.path.join(folder, "labels.npy")}
    np.save(paths["images"], rng.integers(0, 256, (images, *IMAGE_SHAPE), dtype=np.uint8))
    np.save(paths["labels"], rng.integers(0, 2, (images, 1)).astype(np.float32))
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


def side_rows(runs, limit_s=None):
    """One row per side: first and steady epoch, fraction of the FLOP limit (given `limit_s`), last epoch's
    loss, weights."""
    rows = [f"    {'side':7} {'first s':>8} {'steady s':>9} {'FLOP limit':>10} {'loss':>7} {'weights':>10}"]
    for side, result in runs.items():
        seconds = result["epoch_seconds"]
        fraction = f"{limit_s / steady(seconds):10.1%}" if limit_s else f"{'-':>10}"
        rows.append(f"    {side:7} {seconds[0]:8.2f} {steady(seconds):9.2f} {fraction} "
                    f"{result['loss']:7.4f} {result['params']:10,}")
    return rows


def ratio_rows(runs, keras_target=None):
    """Keras-TF / cnnkit and torch / cnnkit (steady epochs), cnnkit's first / steady; with the targets that
    apply. Returns (rows, [(target description, met)])."""
    if "cnnkit" not in runs:
        return ["    no cnnkit run: no ratios"], []
    base, rows, targets = steady(runs["cnnkit"]["epoch_seconds"]), [], []
    for side, name, target in (("keras", "Keras-TF / cnnkit", keras_target), ("torch", "torch / cnnkit", None)):
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


def report_arrays(results, images, peak):
    """Prints part 1's table per model and dtype; returns [(target, met)] over all of them."""
    print(f"\n== 1. preloaded arrays: {images} images 180x180x3, batch {BATCH_SIZE}, Adam; steady = median of the "
          f"epochs after the first ==\nFLOP limit: Conv2D/DepthwiseConv2D/SeparableConv2D/Dense FLOPs at the float32 "
          f"torch.mm peak, {peak:.0f} GFLOP/s ({torch.get_num_threads()} threads)")
    all_targets = []
    for (model, dtype), (flops, runs) in results.items():
        limit_s = images * flops / (peak * 1e9)
        print(f"\n  {TITLES[model]}, {dtype}: {flops / 1e9:.2f} GFLOP per image trained, FLOP limit "
              f"{limit_s:.2f} s/epoch")
        rows, targets = ratio_rows(runs, KERAS_TARGETS[model])
        print("\n".join(side_rows(runs, limit_s) + rows))
        all_targets += [(f"{TITLES[model]} {dtype}: {name}", met) for name, met in targets]
    return all_targets


def report_folders(results, arrays):
    """Prints part 2: seconds per epoch from the image folders, and cnnkit's folders / arrays time."""
    print(f"\n== 2. small convnet from CIFAR-10 cat and dog JPEG folders resized to 180x180, batch {BATCH_SIZE}, "
          f"prefetch(AUTOTUNE) ==")
    for dtype, runs in results.items():
        print(f"\n  {dtype}")
        print("\n".join(side_rows(runs) + ratio_rows(runs)[0]))
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
    parser.add_argument("--models", type=_choices(tuple(MODELS)), default=list(MODELS), help="small,xception")
    parser.add_argument("--dtypes", type=_choices(DTYPES), default=list(DTYPES), help="float32,bfloat16")
    parser.add_argument("--sides", type=_choices(SIDES), default=list(SIDES), help="cnnkit,torch,keras")
    parser.add_argument("--folders", action=argparse.BooleanOptionalAction, default=True,
                        help="part 2, from the CIFAR-10 JPEG folders (default on)")
    parser.add_argument("--keras-python", default=KERAS_PYTHON, help="Python with keras+tensorflow ('' skips Keras)")
    parser.add_argument("--worker", choices=("cnnkit", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--config", type=json.loads, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_arrays(args, workdir):
    """Part 1: {(model, dtype): (training FLOPs per image, {side: answer})}."""
    arrays, results = write_arrays(workdir, args.images), {}
    for model in (MODELS[name] for name in args.models):
        for dtype in args.dtypes:
            print(f"  {TITLES[model]}, {dtype}:", flush=True)
            config = {"model": model, "dtype": dtype, "epochs": args.epochs, **arrays}
            results[model, dtype] = flops_per_image(model), measure(config, args.sides, args.keras_python)
    return results


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


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        print(json.dumps((torch_epochs if args.worker == "torch" else cnnkit_epochs)(args.config)))
        return None
    print(f"convnet speed: {args.images} images, {args.epochs} epochs, sides {','.join(args.sides)}; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}", flush=True)
    peak = matmul_peak_gflops()
    with tempfile.TemporaryDirectory() as workdir:
        arrays = run_arrays(args, workdir)
        folders = run_folders(args, workdir) if args.folders else {}
    peak = max(peak, matmul_peak_gflops())
    targets = report_arrays(arrays, args.images, peak)
    if folders:
        report_folders(folders, arrays)
    report_targets(targets)
    print(f"load at the end: {os.getloadavg()[0]:.2f}")
    return {"arrays": arrays, "folders": folders, "targets": targets}


if __name__ == "__main__":
    main()
