"""The engine's speed-ups change no number: the ReLU/max-pool rewrite is exact in value and
gradient, and kept host memory stops the per-step page faults."""

import platform
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import cnnkit
from cnnkit import layers, models
from cnnkit.engine import host_memory
from cnnkit.engine.fusion import relu_then_max_pool
from cnnkit.models.graph import Graph

needs_glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                                 reason="kept host memory tunes glibc's malloc (mallopt); this C library is not glibc")


def layer_by_layer(stack, x):
    for layer in stack:
        x = layer(x)
    return x


def run_layers(stack, x):
    """`x` through the stack as a Functional graph runs it (with its rewrites)."""
    graph = chain_graph(stack, x.shape)
    return graph.run([x], training=False)[0]


def chain_graph(stack, shape):
    inputs = layers.Input(tuple(shape[1:]))
    outputs = inputs
    for layer in stack:
        outputs = layer(outputs)
    return Graph([inputs], [outputs], "chain")


def built(stack, input_shape):
    shape = input_shape
    for layer in stack:
        shape = layer.build_for(shape)
    return stack


def images_with_flat_regions(seed):
    """Random images with zeroed rows: every conv window there gives exactly the bias, so pool windows tie."""
    x = torch.randn(3, 9, 9, 2, generator=torch.Generator().manual_seed(seed))
    x[:, :4] = 0.0
    return x


@pytest.mark.parametrize("pool", [dict(), dict(pool_size=3, strides=2, padding="same"), dict(padding="same")])
@pytest.mark.parametrize("producer", ["conv", "dense", "activation"])
def test_relu_before_max_pool_gives_identical_values_and_gradients(fresh_names, pool, producer):
    torch.manual_seed(0)
    first = {"conv": layers.Conv2D(4, 2, activation="relu"), "dense": layers.Dense(4, activation="relu"),
             "activation": layers.Conv2D(4, 2)}[producer]
    stack = built([first, *([layers.Activation("relu")] if producer == "activation" else []),
                   layers.MaxPooling2D(**pool)], (None, 9, 9, 2))
    x = images_with_flat_regions(1)
    results = []
    for run in (layer_by_layer, run_layers):
        for parameter in first.parameters():
            parameter.grad = None
        out = run(stack, x)
        out.backward(torch.randn(out.shape, generator=torch.Generator().manual_seed(2)))
        results.append((out.detach(), [p.grad.clone() for p in first.parameters()]))
    (reference, reference_grads), (fused, fused_grads) = results
    assert torch.equal(reference, fused)
    assert chain_graph(stack, x.shape).steps[-1].follower is not None  # the rewrite did run
    for expected, got in zip(reference_grads, fused_grads):
        assert torch.equal(expected, got)


def test_only_relu_followed_by_max_pooling_is_rewritten():
    relu_conv, pool = layers.Conv2D(2, 3, activation="relu"), layers.MaxPooling2D()
    assert relu_then_max_pool(relu_conv, pool)
    assert not relu_then_max_pool(layers.Conv2D(2, 3, activation="gelu"), pool)  # not monotonic
    assert not relu_then_max_pool(layers.Conv2D(2, 3, activation="sigmoid"), pool)  # ties after rounding
    assert not relu_then_max_pool(relu_conv, layers.AveragePooling2D())
    assert relu_then_max_pool(layers.Activation("relu"), pool)  # as in conv, batch norm, relu, pool
    assert not relu_then_max_pool(layers.Dropout(0.5), pool)


def test_model_predictions_are_unchanged_by_the_rewrite(fresh_names):
    torch.manual_seed(0)
    model = models.Sequential([layers.Input((9, 9, 2)), layers.Conv2D(3, 3, activation="relu"),
                               layers.MaxPooling2D(), layers.Flatten(), layers.Dense(2)])
    x = images_with_flat_regions(3)
    expected = layer_by_layer(model.layers, x)
    np.testing.assert_array_equal(model.predict(x.numpy(), verbose=0), expected.detach().numpy())


@needs_glibc
def test_kept_host_memory_stops_page_faults_on_reused_buffers():
    assert host_memory.keep_freed_memory()

    def faults_while_reusing(megabytes):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            torch.ones(megabytes * 256 * 1024).add_(1)
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    faults_while_reusing(8)  # the heap grows once
    assert faults_while_reusing(8) < 100  # fresh mmap pages would fault 20 x 2048 times


FAULTS_ON_256_MB = """
import resource, torch
from cnnkit.engine import host_memory
assert host_memory.keep_freed_memory()
def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        torch.ones(64 * 1024 * 1024).add_(1)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults()
print(faults())
"""


@needs_glibc
def test_a_training_process_reuses_blocks_above_the_largest_mmap_threshold():
    """Above 32 MB (the mini-Xception's 250 MB activations at 180x180) glibc maps every block afresh
    unless mmap is off: 1.3 million faults for 20 blocks of 256 MB before. A fresh process, as a
    training process is (in this long-lived test process the heap may not grow in place)."""
    done = subprocess.run([sys.executable, "-c", FAULTS_ON_256_MB], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) < 65536  # pages of one block: fresh memory would fault 20 times that


def test_the_page_fault_test_is_skipped_off_glibc():
    """On musl (Alpine) or any other C library, the test above is skipped with its reason, not failed."""
    script = ("import platform, sys\n"
              "platform.libc_ver = lambda *args, **kwargs: ('', '')  # as on musl\n"
              "import pytest\n"
              "sys.exit(pytest.main(['-q', '-rs', '-p', 'no:cacheprovider', "
              "'tests/test_engine_speedups.py::test_kept_host_memory_stops_page_faults_on_reused_buffers']))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 skipped" in done.stdout and "this C library is not glibc" in done.stdout


def test_keeping_freed_memory_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("CNNKIT_KEEP_FREED_MEMORY", "0")
    monkeypatch.setattr(host_memory, "_state", {"done": False, "kept": False})
    assert host_memory.keep_freed_memory() is False


def test_only_training_tunes_the_allocator_and_a_program_can_forbid_it(monkeypatch):
    """The process-wide tuning is applied by fit, never by predict or evaluate, and
    cnnkit.set_keep_freed_memory(False) before training keeps it off."""
    monkeypatch.setattr(host_memory, "_state", {"done": False, "kept": False})
    applied = []
    monkeypatch.setattr(host_memory, "_set_thresholds", lambda *values: applied.append(values) or True)
    model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((4, 3), "float32"), np.zeros((4, 2), "float32")
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert applied == []
    cnnkit.set_keep_freed_memory(False)
    model.fit(x, y, verbose=0)
    assert applied == []
    cnnkit.set_keep_freed_memory(True)
    model.fit(x, y, verbose=0)
    assert applied == [(host_memory.MMAP_THRESHOLD, host_memory.TRIM_THRESHOLD, 0)] if host_memory._wanted() else []
    cnnkit.set_keep_freed_memory(False)  # after it applied: glibc's defaults come back
    if host_memory._wanted():
        assert applied[-1] == (host_memory.GLIBC_DEFAULT_THRESHOLD, host_memory.GLIBC_DEFAULT_THRESHOLD,
                               host_memory.GLIBC_DEFAULT_MMAP_MAX)


def test_a_subclass_or_a_hook_is_never_skipped_by_the_rewrite():
    class LoggedConv(layers.Conv2D):
        def call(self, inputs):
            return super().call(inputs)

    pool = layers.MaxPooling2D()
    assert not relu_then_max_pool(LoggedConv(2, 3, activation="relu"), pool)
    hooked = layers.Conv2D(2, 3, activation="relu")
    seen = []
    hooked.register_forward_hook(lambda module, args, output: seen.append(output))
    run_layers([hooked, pool], torch.randn(1, 6, 6, 1))
    assert len(seen) == 1  # the hooked layer ran as itself, not fused away
