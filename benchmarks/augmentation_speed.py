"""How fast cnnkit's augmentation layers run, against Keras's own layers on the same batch.

Run from the project root (a minute or two; check `uptime` first, the numbers are ratios):

    .venv/bin/python benchmarks/augmentation_speed.py --repeats 5

Each layer (RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast,
RandomBrightness, RandomCrop, with the same arguments on both sides) augments one batch of 64
images of 180x180x3, as in training (`training=True`), on the CPU. Keras 3 (TensorFlow backend)
runs in a subprocess (`--keras-python`) that stays up for the whole run, so that the two sides
alternate, layer by layer, in every repeat: Keras's layer called eagerly and inside a
`tf.function` (as `fit` runs it), after warm-up calls (tracing). The ratio is Keras's faster
way / cnnkit: above 1, cnnkit is faster.
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

import cnnkit
from cnnkit import layers

KERAS_PYTHON = "/work/kerasenv/bin/python"
BATCH_SHAPE = (64, 180, 180, 3)

# (layer class, arguments): the same layer in cnnkit and in Keras.
LAYERS = [
    ("RandomFlip", {}),
    ("RandomRotation", {"factor": 0.1}),
    ("RandomZoom", {"height_factor": 0.2}),
    ("RandomTranslation", {"height_factor": 0.1, "width_factor": 0.1}),
    ("RandomContrast", {"factor": 0.2}),
    ("RandomBrightness", {"factor": 0.2}),
    ("RandomCrop", {"height": 160, "width": 160}),
]


def batch(shape=BATCH_SHAPE, seed=0):
    """Images with 0-255 pixel values, float32, channels-last."""
    return np.random.default_rng(seed).integers(0, 256, shape).astype("float32")


def cnnkit_layers(seed=1):
    return {name: getattr(layers, name)(**arguments, seed=seed) for name, arguments in LAYERS}


def seconds_per_call(function, calls):
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def time_cnnkit(layer, images, calls):
    """Seconds per training-time call of a cnnkit layer on `images` (a torch tensor)."""
    return seconds_per_call(lambda: layer(images, training=True), calls)


_KERAS_SCRIPT = r"""
import json, sys, time
import numpy as np
import keras
import tensorflow as tf
if int(sys.argv[3]):
    tf.config.threading.set_intra_op_parallelism_threads(int(sys.argv[3]))
    tf.config.threading.set_inter_op_parallelism_threads(int(sys.argv[3]))
images = tf.constant(np.load(sys.argv[1]))
specs = json.loads(sys.argv[2])
built = {name: getattr(keras.layers, name)(**arguments, seed=1) for name, arguments in specs}
graphs = {name: tf.function(lambda x, layer=layer: layer(x, training=True)) for name, layer in built.items()}
ways = {"eager": lambda name: built[name](images, training=True), "graph": lambda name: graphs[name](images)}
for name in built:
    for way in ways.values():
        way(name), way(name)  # warm up: tracing, first allocations
print(json.dumps({"backend": keras.backend.backend(), "keras": keras.__version__, "tensorflow": tf.__version__,
                  "threads": tf.config.threading.get_intra_op_parallelism_threads()}), flush=True)
for line in sys.stdin:
    name, way, calls = line.split()
    start = time.perf_counter()
    for _ in range(int(calls)):
        ways[way](name)
    print(json.dumps((time.perf_counter() - start) / int(calls)), flush=True)
"""


class KerasTimer:
    """Keras's layers in a long-lived subprocess: `seconds(name, way, calls)` times one of them.

    Use it as a context manager; `info` holds the subprocess's versions once it is ready.
    """

    def __init__(self, python, images, specs=LAYERS, threads=0):
        self.folder = tempfile.TemporaryDirectory()
        path = os.path.join(self.folder.name, "images.npy")
        np.save(path, images)
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
        command = [python, "-c", _KERAS_SCRIPT, path, json.dumps(specs), str(threads)]
        self.process = subprocess.Popen(command, env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        self.info = json.loads(self._reply())

    def _reply(self):
        line = self.process.stdout.readline()
        if not line:
            error = self.process.stderr.read().strip().splitlines()
            raise RuntimeError(f"the Keras subprocess stopped: {error[-1] if error else self.process.poll()}")
        return line

    def seconds(self, name, way, calls):
        self.process.stdin.write(f"{name} {way} {calls}\n")
        self.process.stdin.flush()
        return json.loads(self._reply())

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.folder.cleanup()


def compare(images, repeats, calls, keras=None):
    """`{layer: {"cnnkit": [s...], "keras eager": [...], "keras graph": [...]}}`, alternating sides."""
    tensor = torch.from_numpy(images)
    ours = cnnkit_layers()
    for layer in ours.values():
        layer(tensor, training=True)  # warm up
    times = {name: {"cnnkit": []} for name in ours}
    for repeat in range(repeats):
        for name, layer in ours.items():
            times[name]["cnnkit"].append(time_cnnkit(layer, tensor, calls))
            if keras is not None:
                for way in ("eager", "graph"):
                    times[name].setdefault(f"keras {way}", []).append(keras.seconds(name, way, calls))
        print(f"  repeat {repeat + 1}/{repeats} done", flush=True)
    return times


def report(times):
    """Prints the medians (ms per call) and Keras / cnnkit with Keras's faster way; returns the ratios."""
    print(f"\n{'layer':<20}{'cnnkit ms':>11}{'Keras eager':>13}{'Keras graph':>13}{'Keras / cnnkit':>16}")
    ratios = {}
    for name, sides in times.items():
        medians = {side: statistics.median(values) * 1000 for side, values in sides.items()}
        row = f"{name:<20}{medians['cnnkit']:>11.2f}"
        if "keras eager" in medians:
            keras_ms = min(medians["keras eager"], medians["keras graph"])
            ratios[name] = keras_ms / medians["cnnkit"]
            row += f"{medians['keras eager']:>13.2f}{medians['keras graph']:>13.2f}{ratios[name]:>16.2f}"
        print(row)
    if ratios:
        print(f"Keras / cnnkit: lowest {min(ratios.values()):.2f} ({min(ratios, key=ratios.get)}), "
              f"geometric mean {statistics.geometric_mean(ratios.values()):.2f}   (target > 1: cnnkit faster)")
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="alternating repeats (default 5)")
    parser.add_argument("--calls", type=int, default=3, help="calls per layer per repeat (default 3)")
    parser.add_argument("--batch", type=int, default=BATCH_SHAPE[0], help="images in the batch (default 64)")
    parser.add_argument("--size", type=int, default=BATCH_SHAPE[1], help="image height and width (default 180)")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads for both torch and TensorFlow (default 0: each library's own default)")
    parser.add_argument("--keras-python", default=KERAS_PYTHON, help="Python with keras+tensorflow ('' skips Keras)")
    args = parser.parse_args(argv)

    cnnkit.set_device("cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    images = batch((args.batch, args.size, args.size, 3))
    print(f"augmentation layers on {images.shape} float32 images, training=True, CPU, "
          f"{torch.get_num_threads()} torch threads, load {os.getloadavg()[0]:.2f}", flush=True)
    if not args.keras_python or not os.path.exists(args.keras_python):
        reason = f"no Python at {args.keras_python}" if args.keras_python else "no --keras-python"
        print(f"Keras: skipped ({reason})")
        report(compare(images, args.repeats, args.calls))
    else:
        with KerasTimer(args.keras_python, images, threads=args.threads) as keras:
            info = keras.info
            print(f"Keras {info['keras']} ({info['backend']} {info['tensorflow']}, intra-op threads "
                  f"{info['threads'] or 'default'}) in a subprocess", flush=True)
            report(compare(images, args.repeats, args.calls, keras))
    print(f"load at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
