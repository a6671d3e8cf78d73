"""How fast cnnkit streams image folders, against Keras's tf.data pipeline, and what it adds to a training epoch.

Run from the project root (a few minutes; check `uptime` first, the numbers are ratios):

    .venv/bin/python benchmarks/image_pipeline.py --images 2000

1. The pipeline alone: CIFAR-10 JPEG folders (extracted from ../shared/datasets/cifar10-jpg.zip to a temporary
   folder) -> shuffled 180x180 float32 batches of 64, images per second with 0, 1 and 2 decoding workers,
   against Keras 3's `image_dataset_from_directory` (tf.data, TensorFlow backend) in a subprocess
   (`--keras-python`, kept alive, one epoch per request) on the same files. Each pipeline runs one epoch to
   warm up, then the timed epochs alternate (Keras, cnnkit with 0, 1, 2 workers, and again), so that a change
   in the machine's load hits all of them; the best epoch of each is reported.
2. One training epoch of a small convnet on those batches fed from the folders (2 workers), against the
   same images preloaded as an array (`fit(x, y, batch_size=64)`): the pipeline's overhead in %.
"""

import argparse
import functools
import os
import subprocess
import tempfile
import time
import zipfile

import numpy as np

import cnnkit as keras
from cnnkit import layers
from cnnkit.utils import image_dataset_from_directory

CIFAR_ZIP = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "cifar10-jpg.zip")
KERAS_PYTHON = "/work/kerasenv/bin/python"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SIZE, BATCH_SIZE = (180, 180), 64

_KERAS_SCRIPT = """
import sys, time
import keras
ds = keras.utils.image_dataset_from_directory(sys.argv[1], image_size=(180, 180), batch_size=64, seed=0,
                                              verbose=False)
while sys.stdin.readline() == "epoch\\n":  # until "stop" (EOF never comes: the DataLoader workers hold the pipe)
    start, count = time.perf_counter(), 0
    for x, y in ds:
        count += int(x.shape[0])
    print(count / (time.perf_counter() - start), flush=True)
"""


def extract(target, images):
    """`images` CIFAR-10 training files, spread evenly over the 10 class folders."""
    with zipfile.ZipFile(CIFAR_ZIP) as archive:
        for index in range(images):
            name = f"cifar10-jpg/train/{CLASSES[index % 10]}/{index // 10:04d}.jpg"
            archive.extract(name, target)
    return os.path.join(target, "cifar10-jpg", "train")


def epoch_rate(ds):
    """Images per second of one epoch of the cnnkit dataset `ds`."""
    start, count = time.perf_counter(), 0
    for x, _ in ds:
        count += len(x)
    return count / (time.perf_counter() - start)


class KerasPipeline:
    """Keras's tf.data pipeline over `folder` in a subprocess of `python`, one epoch per `epoch_rate()` call."""

    def __init__(self, python, folder):
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
        self.errors = tempfile.TemporaryFile("w+")  # not a pipe: TensorFlow's warnings could fill it and block
        self.process = subprocess.Popen([python, "-c", _KERAS_SCRIPT, folder], env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors)

    def epoch_rate(self):
        try:
            self.process.stdin.write("epoch\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self.process.wait()
            self.errors.seek(0)
            raise RuntimeError((self.errors.read().strip().splitlines() or ["no output"])[-1])
        return float(line)

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.write("stop\n")
            self.process.stdin.close()
        self.process.wait()
        self.errors.close()


def pipeline_rates(folder, python, repeats):
    """({name: best images/s}, why Keras was skipped or None): Keras (when `python` has it) and cnnkit with 0, 1
    and 2 workers, over `repeats` alternating timed epochs after one warm-up epoch each."""
    pipelines, keras, reason = {}, None, f"no Keras venv at {python!r}"
    if python and os.path.exists(python):
        keras = KerasPipeline(python, folder)
        pipelines["Keras 3 tf.data"] = keras.epoch_rate
    for workers in (0, 1, 2):
        ds = image_dataset_from_directory(folder, image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, seed=0, verbose=False)
        ds.num_workers = workers
        pipelines[f"cnnkit, {workers} workers"] = functools.partial(epoch_rate, ds)
    rates = {name: [] for name in pipelines}
    try:
        for _ in range(1 + repeats):  # the first round warms up: workers started, files cached, TF's graph traced
            for name, run in pipelines.items():
                rates[name].append(run())
    except RuntimeError as error:  # Keras failed: measure cnnkit alone
        return pipeline_rates(folder, "", repeats)[0], f"Keras failed: {error}"
    finally:
        if keras:
            keras.close()
    return {name: max(values[1:]) for name, values in rates.items()}, reason


def small_convnet():
    inputs = keras.Input(IMAGE_SIZE + (3,))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def epoch_seconds(folder, repeats):
    """(seconds from folders, seconds from preloaded arrays): the best of `repeats` epochs each, alternating,
    after one warm-up epoch each; the same model weights at the start of every timed epoch."""
    ds = image_dataset_from_directory(folder, image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, seed=0, verbose=False)
    x, y = (np.concatenate(parts) for parts in zip(*((xb.numpy(), yb.numpy()) for xb, yb in ds)))
    keras.utils.set_random_seed(0)
    model = small_convnet()
    weights = model.get_weights()
    runs = {"folders": lambda: model.fit(ds, epochs=1, verbose=0),
            "arrays": lambda: model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, verbose=0)}
    times = {name: [] for name in runs}
    for repeat in range(1 + repeats):
        for name, run in runs.items():
            model.set_weights(weights)
            start = time.perf_counter()
            run()
            if repeat:
                times[name].append(time.perf_counter() - start)
    return min(times["folders"]), min(times["arrays"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000, help="CIFAR-10 files to extract (default 2000)")
    parser.add_argument("--repeats", type=int, default=2, help="timed epochs per measurement (default 2)")
    parser.add_argument("--keras-python", default=KERAS_PYTHON, help="Python with keras+tensorflow ('' skips Keras)")
    parser.add_argument("--skip-training", action="store_true", help="measure the pipeline alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        folder = extract(workdir, args.images)
        print(f"{args.images} CIFAR-10 JPEG files -> {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} float32 batches of {BATCH_SIZE}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        rates, reason = pipeline_rates(folder, args.keras_python, args.repeats)
        tf_rate = rates.pop("Keras 3 tf.data", None)
        print(f"  Keras 3 tf.data:      {tf_rate:8.0f} images/s" if tf_rate else
              f"  Keras 3 tf.data: skipped ({reason})")
        for name, rate in rates.items():
            ratio = f"  ({rate / tf_rate:.2f}x tf.data)" if tf_rate else ""
            print(f"  {name + ':':21s}{rate:8.0f} images/s{ratio}")
        if not args.skip_training:
            folders, arrays = epoch_seconds(folder, args.repeats)
            print(f"One epoch of a small convnet: from folders {folders:.2f} s, preloaded arrays {arrays:.2f} s, "
                  f"pipeline overhead {100 * (folders / arrays - 1):+.1f} %")


if __name__ == "__main__":
    main()
