"""A Functional model trains as fast as the Sequential one with the same layers.

Run from the project root (about a minute; check `uptime` first, the number is a ratio):

    CNNKIT_DATA=../shared/datasets .venv/bin/python benchmarks/functional_speed.py --images 20000 --repeats 5

The seed convnet built twice, `Sequential([...])` and `Model(inputs, outputs)` from the same
layer configs and the same initial weights, trains on the same MNIST images with the same
shuffled order (seeded), alternating repeats in this one process. Both run the same graph
schedule, so the ratio measures what the Functional front end costs: the target is
Functional / Sequential <= 1.03. Both must also end at the same weights, bit for bit.
"""

import argparse
import statistics
import time

import numpy as np
import torch

import cnnkit
from cnnkit import Input, Model, layers
from cnnkit.datasets import mnist
from cnnkit.recipes import seed_convnet
from cnnkit.utils import to_categorical

BATCH_SIZE = 64
TARGET = 1.03


def functional_twin(sequential):
    """The Sequential model's layers, rebuilt from their configs and called on an Input."""
    inputs = Input(sequential.input_shape[1:])
    x = inputs
    for layer in sequential.layers:
        x = type(layer).from_config({**layer.get_config(), "name": f"{layer.name}_f"})(x)
    model = Model(inputs, x)
    model.set_weights(sequential.get_weights())
    return model


def train(model, weights, x, y, seed):
    """One `fit` epoch from `weights`, seeded; returns (seconds, final weights)."""
    model.set_weights(weights)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    torch.manual_seed(seed)
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=BATCH_SIZE, verbose=0)
    return time.perf_counter() - start, model.get_weights()


def compare(x, y, repeats):
    cnnkit.set_random_seed(0)
    sequential = seed_convnet()
    functional = functional_twin(sequential)
    weights = sequential.get_weights()
    train(sequential, weights, x[:BATCH_SIZE * 4], y[:BATCH_SIZE * 4], 0)  # warm-up: allocator, kernels
    times = {"Sequential": [], "Functional": []}
    for repeat in range(repeats):
        order = [("Sequential", sequential), ("Functional", functional)]
        results = {}
        for name, model in order if repeat % 2 == 0 else order[::-1]:
            seconds, final = train(model, weights, x, y, seed=repeat)
            times[name].append(seconds)
            results[name] = final
        same = all(np.array_equal(a, b) for a, b in zip(results["Sequential"], results["Functional"]))
        print(f"  repeat {repeat + 1}: Sequential {times['Sequential'][-1]:.2f} s | "
              f"Functional {times['Functional'][-1]:.2f} s | same final weights: {same}")
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20000, help="training images per epoch (default 20000)")
    parser.add_argument("--repeats", type=int, default=5, help="alternating repeats (default 5)")
    args = parser.parse_args(argv)
    (images, labels), _ = mnist.load_data()
    x = images[:args.images].reshape(-1, 28, 28, 1).astype("float32") / 255
    y = to_categorical(labels[:args.images]).astype("float32")
    print(f"seed convnet, {len(x)} images x 1 epoch, batch {BATCH_SIZE}, rmsprop, "
          f"{torch.get_num_threads()} threads")
    medians = compare(x, y, args.repeats)
    ratio = medians["Functional"] / medians["Sequential"]
    print(f"median seconds: Sequential {medians['Sequential']:.2f}, Functional {medians['Functional']:.2f}")
    print(f"Functional / Sequential: {ratio:.3f}   (target <= {TARGET})")


if __name__ == "__main__":
    main()
