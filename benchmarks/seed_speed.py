"""How fast cnnkit trains the seed convnet, against a hand-written PyTorch loop and Keras.

Run from the project root (a couple of minutes; check `uptime` first, the numbers are ratios):

    CNNKIT_DATA=../shared/datasets .venv/bin/python benchmarks/seed_speed.py --epochs 1 --repeats 3

Both loops train the seed model (Conv2D 32/64/64, MaxPooling2D, Dense 64/10, softmax) with
Keras's RMSprop at batch 64, from the same initial weights and over the same shuffled batches,
alternating repeats in this one process. The hand-written loop is the fastest plain PyTorch we
know for this model: NCHW views of channels-last memory, in-place ReLU, fused log-softmax
crossentropy on the logits, on-device loss/accuracy sums read once per epoch, and Keras's RMSprop
rule (epsilon inside the square root) written with `torch._foreach_*` ops. Keras (TensorFlow
backend) runs in a subprocess (`--keras-python`), on the same data and initial weights, with its
own shuffling; its first epoch (graph tracing) is not counted.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

import cnnkit
from cnnkit import layers, mixed_precision
from cnnkit.datasets import mnist
from cnnkit.optimizers import RMSprop
from cnnkit.recipes import seed_convnet
from cnnkit.utils import to_categorical

KERAS_PYTHON = "/work/kerasenv/bin/python"
BATCH_SIZE = 64
KERAS_TARGETS = {"tensorflow": 1.2, "torch": 2.0}  # Keras-backend seconds / cnnkit seconds


def load_mnist():
    """((x_train, y_train), (x_test, y_test)): float32 (N, 28, 28, 1) in [0, 1], one-hot float32."""
    (x, y), (x_test, y_test) = mnist.load_data()
    prepare = lambda images: (images.reshape(-1, 28, 28, 1).astype("float32") / 255)  # noqa: E731
    return (prepare(x), to_categorical(y).astype("float32")), (prepare(x_test), to_categorical(y_test).astype("float32"))


def seed_model():
    """The seed convnet, compiled as the seed program compiles it."""
    model = seed_convnet()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def training_flops_per_image(model):
    """Forward + backward FLOPs of one image: 2 per multiply-add forward, twice that backward
    (input and weight gradients), without the input gradient of the first layer."""
    total = 0
    for index, layer in enumerate(model.layers):
        if isinstance(layer, layers.Conv2D):
            _, height, width, filters = layer.output_shape
            macs = height * width * filters * layer.kernel_size[0] * layer.kernel_size[1] * layer.input_shape[-1]
        elif isinstance(layer, layers.Dense):
            macs = layer.input_shape[-1] * layer.units
        else:
            continue
        gradients = 1 if index == 0 else 2
        total += 2 * macs * (1 + gradients)
    return total


def matmul_peak_gflops(size=2048, seconds=1.0):
    """The best float32 `torch.mm` rate on this machine now, in GFLOP/s."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    out = torch.empty(size, size)
    torch.mm(a, b, out=out)
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = max(best, 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


class HandWrittenSeed(torch.nn.Module):
    """The seed model in plain PyTorch, NCHW views of channels-last memory, weights from cnnkit."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 32, 3)
        self.conv2 = torch.nn.Conv2d(32, 64, 3)
        self.conv3 = torch.nn.Conv2d(64, 64, 3)
        self.dense1 = torch.nn.Linear(576, 64)
        self.dense2 = torch.nn.Linear(64, 10)
        self.to(memory_format=torch.channels_last)

    def forward(self, images):
        """Logits for `(N, 28, 28, 1)` images."""
        x = images.permute(0, 3, 1, 2)
        x = F.max_pool2d(torch.relu_(self.conv1(x)), 2)
        x = F.max_pool2d(torch.relu_(self.conv2(x)), 2)
        x = torch.relu_(self.conv3(x))
        x = x.permute(0, 2, 3, 1).flatten(1)  # Keras's (h, w, c) order: a view of channels-last memory
        return self.dense2(torch.relu_(self.dense1(x)))

    def convs_and_denses(self):
        return [self.conv1, self.conv2, self.conv3], [self.dense1, self.dense2]

    def load_keras_weights(self, weights):
        """Loads `model.get_weights()` of the cnnkit seed model (Keras layouts)."""
        convs, denses = self.convs_and_denses()
        arrays = iter(torch.from_numpy(w) for w in weights)
        with torch.no_grad():
            for conv in convs:
                conv.weight.copy_(next(arrays).permute(3, 2, 0, 1))
                conv.bias.copy_(next(arrays))
            for dense in denses:
                dense.weight.copy_(next(arrays).t())
                dense.bias.copy_(next(arrays))

    def keras_weights(self):
        convs, denses = self.convs_and_denses()
        weights = []
        for conv in convs:
            weights += [conv.weight.detach().permute(2, 3, 1, 0).numpy(), conv.bias.detach().numpy()]
        for dense in denses:
            weights += [dense.weight.detach().t().numpy(), dense.bias.detach().numpy()]
        return weights


class KerasRMSprop:
    """Keras's RMSprop (rho 0.9, epsilon 1e-7 inside the square root) with `torch._foreach_*` ops."""

    def __init__(self, params, learning_rate=1e-3, rho=0.9, epsilon=1e-7):
        self.params = list(params)
        self.velocities = [torch.zeros_like(p) for p in self.params]
        self.learning_rate, self.rho, self.epsilon = learning_rate, rho, epsilon

    @torch.no_grad()
    def step(self):
        grads = [p.grad for p in self.params]
        torch._foreach_mul_(self.velocities, self.rho)
        torch._foreach_addcmul_(self.velocities, grads, grads, value=1 - self.rho)
        denominators = torch._foreach_add(self.velocities, self.epsilon)
        torch._foreach_sqrt_(denominators)
        torch._foreach_addcdiv_(self.params, grads, denominators, value=-self.learning_rate)


def train_hand_written(net, x, y, epochs, seed, compute_dtype=None):
    """The hand-written loop; shuffles with `torch.randperm` after `manual_seed(seed)` as fit does.

    Returns the last epoch's (mean loss, accuracy).
    """
    optimizer = KerasRMSprop(net.parameters())
    autocast = torch.autocast("cpu", dtype=compute_dtype, enabled=compute_dtype is not None)
    torch.manual_seed(seed)
    net.train()
    for _ in range(epochs):
        loss_sum, correct = torch.zeros(()), torch.zeros((), dtype=torch.int64)
        order = torch.randperm(len(x))
        for start in range(0, len(x), BATCH_SIZE):
            index = order[start:start + BATCH_SIZE]
            images, targets = x.index_select(0, index), y.index_select(0, index)
            with autocast:
                logits = net(images)
            loss = F.cross_entropy(logits.float(), targets)
            for p in optimizer.params:
                p.grad = None
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(index)
                correct += (logits.argmax(1) == targets.argmax(1)).sum()
    return loss_sum.item() / len(x), correct.item() / len(x)


def train_cnnkit(model, x, y, epochs, seed):
    """`model.fit` as the seed program calls it; returns the last epoch's (loss, accuracy)."""
    torch.manual_seed(seed)
    history = model.fit(x, y, epochs=epochs, batch_size=BATCH_SIZE, verbose=0)
    return history.history["loss"][-1], history.history["accuracy"][-1]


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def fresh_cnnkit(model, weights):
    model.set_weights(weights)
    model.compile(optimizer=RMSprop(), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def compare_training(x, y, epochs, repeats, policy):
    """Alternating repeats of cnnkit fit and the hand-written loop from the same weights."""
    cnnkit.set_random_seed(0)
    model = seed_model()
    initial = model.get_weights()
    net = HandWrittenSeed()
    compute_dtype = torch.bfloat16 if policy == "mixed_bfloat16" else None
    mixed_precision.set_global_policy(policy)
    warm = 20 * BATCH_SIZE
    fresh_cnnkit(model, initial).fit(x[:warm], y[:warm], batch_size=BATCH_SIZE, verbose=0)
    net.load_keras_weights(initial)
    train_hand_written(net, x[:warm], y[:warm], 1, 0, compute_dtype)
    times = {"cnnkit": [], "hand-written": []}
    for repeat in range(repeats):
        seconds, cnnkit_logs = timed(train_cnnkit, fresh_cnnkit(model, initial), x, y, epochs, repeat)
        times["cnnkit"].append(seconds)
        net.load_keras_weights(initial)
        seconds, hand_logs = timed(train_hand_written, net, x, y, epochs, repeat, compute_dtype)
        times["hand-written"].append(seconds)
        gap = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), net.keras_weights()))
        print(f"  repeat {repeat + 1}: cnnkit {times['cnnkit'][-1]:.2f} s (loss {cnnkit_logs[0]:.4f}, "
              f"acc {cnnkit_logs[1]:.4f}) | hand-written {times['hand-written'][-1]:.2f} s "
              f"(loss {hand_logs[0]:.4f}, acc {hand_logs[1]:.4f}) | max weight gap {gap:.1e}", flush=True)
    mixed_precision.set_global_policy("float32")
    return {name: statistics.median(values) for name, values in times.items()}, model


_KERAS_SCRIPT = r"""
import json, sys, time
import numpy as np
import keras
data, weights_path, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
arrays = np.load(data, allow_pickle=False)
x, y = arrays["x"], arrays["y"]
model = keras.Sequential([
    keras.Input((28, 28, 1)),
    keras.layers.Conv2D(32, (3, 3), activation="relu"), keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Conv2D(64, (3, 3), activation="relu"), keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Conv2D(64, (3, 3), activation="relu"),
    keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10, activation="softmax"),
])
weights = np.load(weights_path, allow_pickle=False)
model.set_weights([weights[f"w{i}"] for i in range(len(weights.files))])
model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
class EpochTimes(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        times.append(time.perf_counter() - self.start)
times = []
model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, callbacks=[EpochTimes()])
print(json.dumps({"backend": keras.backend.backend(), "epoch_seconds": times}))
"""


def keras_epoch_seconds(python, x, y, weights, epochs, backend="tensorflow"):
    """Per-epoch fit times of the same model in Keras (a subprocess), or None with the reason."""
    if not os.path.exists(python):
        return None, f"no Python at {python}"
    with tempfile.TemporaryDirectory() as folder:
        data, weights_path = os.path.join(folder, "data.npz"), os.path.join(folder, "weights.npz")
        np.savez(data, x=x, y=y)
        np.savez(weights_path, **{f"w{i}": w for i, w in enumerate(weights)})
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([python, "-c", _KERAS_SCRIPT, data, weights_path, str(epochs)],
                              env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return None, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
    return json.loads(done.stdout.strip().splitlines()[-1])["epoch_seconds"], None


def predict_throughput(model, x, batch_size, repeats=3):
    """Images per second of `model.predict` and of a plain `torch.inference_mode()` loop."""
    net = HandWrittenSeed()
    net.load_keras_weights(model.get_weights())
    net.eval()
    tensor = torch.from_numpy(x)

    def plain_torch():
        with torch.inference_mode():
            return torch.cat([torch.softmax(net(tensor[i:i + batch_size]), -1) for i in range(0, len(x), batch_size)])

    def with_cnnkit():
        return model.predict(x, batch_size=batch_size, verbose=0)

    times = {"cnnkit": [], "torch": []}
    for _ in range(repeats):
        times["cnnkit"].append(timed(with_cnnkit)[0])
        times["torch"].append(timed(plain_torch)[0])
    gap = float(np.abs(with_cnnkit() - plain_torch().numpy()).max())
    return {name: len(x) / statistics.median(values) for name, values in times.items()}, gap


def report(medians, images, epochs, flops_per_image, peak, keras_seconds):
    cnnkit_s, hand_s = medians["cnnkit"], medians["hand-written"]
    limit_s = images * flops_per_image / (peak * 1e9)
    print(f"\nmedian seconds for {images} images: cnnkit {cnnkit_s:.2f}, hand-written {hand_s:.2f}")
    print(f"cnnkit / hand-written: {cnnkit_s / hand_s:.3f}   (target <= 1.05)")
    print(f"images/s: cnnkit {images / cnnkit_s:.0f}, hand-written {images / hand_s:.0f}")
    print(f"training FLOPs: {flops_per_image / 1e6:.2f} MFLOP/image, {60000 * flops_per_image / 1e12:.3f} TFLOP/epoch")
    print(f"float32 matmul peak now: {peak:.0f} GFLOP/s ({torch.get_num_threads()} threads); "
          f"FLOP limit {limit_s:.2f} s for these images")
    print(f"fraction of the FLOP limit: cnnkit {limit_s / cnnkit_s:.1%}, hand-written {limit_s / hand_s:.1%}   "
          f"(target >= 55%); at {images * flops_per_image / cnnkit_s / 1e9:.0f} GFLOP/s")
    for backend, (seconds, reason) in keras_seconds.items():
        if seconds is None:
            print(f"Keras ({backend}): skipped: {reason}")
        else:
            per_epoch = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
            ratio = per_epoch * epochs / cnnkit_s
            print(f"Keras ({backend}): {per_epoch:.2f} s/epoch (first epoch {seconds[0]:.2f} s); "
                  f"Keras / cnnkit: {ratio:.2f}   (target >= {KERAS_TARGETS[backend]})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed repeat (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats (default 3)")
    parser.add_argument("--images", type=int, default=60000, help="training images used (default all 60000)")
    parser.add_argument("--policy", default="float32", choices=["float32", "mixed_bfloat16"])
    parser.add_argument("--keras-python", default=KERAS_PYTHON, help="Python with keras+tensorflow ('' skips Keras)")
    parser.add_argument("--predict-batch", type=int, default=32, help="predict's batch size (Keras's default 32)")
    args = parser.parse_args(argv)

    cnnkit.set_device("cpu")
    (x, y), (x_test, _) = load_mnist()
    x, y = torch.from_numpy(x[:args.images]), torch.from_numpy(y[:args.images])
    print(f"seed workload: {len(x)} images x {args.epochs} epoch(s), batch {BATCH_SIZE}, rmsprop, "
          f"policy {args.policy}, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.2f}", flush=True)
    peak = matmul_peak_gflops()
    medians, model = compare_training(x, y, args.epochs, args.repeats, args.policy)
    peak = max(peak, matmul_peak_gflops())
    keras_seconds = {}
    if args.keras_python and args.policy == "float32":
        keras_seconds["tensorflow"] = keras_epoch_seconds(
            args.keras_python, x.numpy(), y.numpy(), seed_model().get_weights(), 1 + args.repeats)
        keras_seconds["torch"] = (None, "torch is not installed in that environment") if not _has_torch(
            args.keras_python) else keras_epoch_seconds(args.keras_python, x.numpy(), y.numpy(),
                                                        seed_model().get_weights(), 1 + args.repeats, "torch")
    report(medians, len(x) * args.epochs, args.epochs, training_flops_per_image(model), peak, keras_seconds)
    rates, gap = predict_throughput(model, x_test, args.predict_batch)
    print(f"predict on {len(x_test)} test images, batch {args.predict_batch}: cnnkit {rates['cnnkit']:.0f} images/s, "
          f"plain torch {rates['torch']:.0f} images/s, cnnkit / torch speed {rates['cnnkit'] / rates['torch']:.2f} "
          f"(max output gap {gap:.1e})")
    print(f"load at the end: {os.getloadavg()[0]:.2f}")


def _has_torch(python):
    if not os.path.exists(python):
        return False
    return subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0


if __name__ == "__main__":
    sys.exit(main())
