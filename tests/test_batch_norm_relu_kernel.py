"""The native BatchNormalization + ReLU kernel against torch's own ops (values, batch statistics,
gradients), its place in a graph, and its fallbacks (no compiler, turned off, bf16)."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnkit import kernels, layers, models
from cnnkit.engine import fusion
from cnnkit.kernels import batch_norm_relu

needs_kernel = pytest.mark.skipif(kernels.native("batch_norm_relu") is None,
                                  reason="no C compiler here: cnnkit runs the plain-torch ops instead")


def torch_reference(x, gamma, beta, epsilon):
    """relu(batch_norm(x)) by torch's ops, with the batch's mean and biased variance."""
    reduce = tuple(range(x.dim() - 1))
    variance, mean = torch.var_mean(x.detach(), reduce, unbiased=False)
    y = torch.relu(F.batch_norm(x.movedim(-1, 1), None, None, gamma, beta, True, 0.0, epsilon).movedim(1, -1))
    return y, mean, variance


def relative_error(got, expected):
    return ((got - expected).abs().max() / expected.abs().max().clamp_min(1e-30)).item()


@needs_kernel
@pytest.mark.parametrize("shape", [(8, 13, 11, 32), (4, 7, 7, 3), (2, 5, 6, 33), (3, 3, 3, 512), (40, 17)])
@pytest.mark.parametrize("affine", [True, False])
def test_values_statistics_and_gradients_match_torch(shape, affine):
    generator = torch.Generator().manual_seed(sum(shape))
    channels = shape[-1]
    x = (torch.randn(shape, generator=generator) * 3 + 5).requires_grad_()  # a large mean: no cancellation
    gamma = (torch.rand(channels, generator=generator) + 0.5).requires_grad_() if affine else None
    beta = torch.randn(channels, generator=generator).requires_grad_() if affine else None
    y, mean, variance = batch_norm_relu.apply(x, gamma, beta, 1e-3)
    expected, expected_mean, expected_variance = torch_reference(x, gamma, beta, 1e-3)
    assert relative_error(y, expected) < 1e-5 and (y == 0).any() and not (y < 0).any()
    assert relative_error(mean, expected_mean) < 1e-6 and relative_error(variance, expected_variance) < 1e-5
    grad = torch.randn(shape, generator=generator)
    wrt = [x] + ([gamma, beta] if affine else [])
    for got, want in zip(torch.autograd.grad(y, wrt, grad), torch.autograd.grad(expected, wrt, grad)):
        assert relative_error(got, want) < 1e-5


@needs_kernel
def test_a_zero_preactivation_passes_no_gradient_as_torch():
    """ReLU's gradient at exactly 0 is 0: here beta makes every value of channel 0 exactly 0."""
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
    y, _, _ = batch_norm_relu.apply(x, torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.0]), 1e-3)
    assert y[:, 0].eq(0).all()
    (gx,) = torch.autograd.grad(y, x, torch.ones_like(y))
    assert gx[:, 0].eq(0).all()


def batch_norm_relu_model(relu):
    return models.Sequential([layers.Input((6, 6, 4)), layers.Conv2D(5, 3), layers.BatchNormalization(), relu,
                              layers.Flatten(), layers.Dense(1)])


@needs_kernel
@pytest.mark.parametrize("relu", [lambda: layers.Activation("relu"), lambda: layers.ReLU()])
def test_a_training_step_matches_the_unfused_layers(relu):
    """The fused step and the layers called one by one (torch's batch_norm, then relu) train alike."""
    fused, reference = batch_norm_relu_model(relu()), batch_norm_relu_model(relu())
    reference.set_weights(fused.get_weights())
    assert fused._graph.steps[1].follower is not None  # batch norm and ReLU run as one step
    x = np.random.default_rng(0).standard_normal((8, 6, 6, 4)).astype("float32")
    y = np.random.default_rng(1).standard_normal((8, 1)).astype("float32")
    fused.compile(optimizer="sgd", loss="mse")
    fused.train_on_batch(x, y)
    optimizer = torch.optim.SGD(reference.trainable_weights, lr=0.01)
    out = torch.from_numpy(x)
    for layer in reference.layers:
        out = layer(out, training=True)
    F.mse_loss(out, torch.from_numpy(y)).backward()
    optimizer.step()
    for got, want in zip(fused.get_weights(), reference.get_weights()):  # moving statistics included
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_only_plain_relu_after_built_in_batch_normalization_is_fused():
    bn = layers.BatchNormalization()
    assert fusion.batch_norm_then_relu(bn, layers.Activation("relu"))
    assert fusion.batch_norm_then_relu(bn, layers.ReLU())
    assert not fusion.batch_norm_then_relu(bn, layers.ReLU(max_value=6.0))
    assert not fusion.batch_norm_then_relu(bn, layers.Activation("gelu"))

    class LoggedBatchNormalization(layers.BatchNormalization):
        pass

    assert not fusion.batch_norm_then_relu(LoggedBatchNormalization(), layers.ReLU())


@needs_kernel
def test_the_kernel_applies_to_float32_cpu_training_only():
    x = torch.randn(4, 3, 3, 2)
    assert batch_norm_relu.fits(x)
    assert not batch_norm_relu.fits(x.to(torch.bfloat16))
    assert not batch_norm_relu.fits(x[:, :, :, :1].expand(4, 3, 3, 2))  # not contiguous
    assert not batch_norm_relu.fits(torch.randn(1, 2))  # one value per channel
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not batch_norm_relu.fits(x)


def run_python(code, **environment):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **environment}, cwd=Path(__file__).resolve().parents[1])


def test_without_a_compiler_cnnkit_warns_once_and_uses_torch(tmp_path):
    code = ("import warnings, torch\n"
            "from cnnkit import layers\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    bn = layers.BatchNormalization()\n"
            "    bn.build_for((None, 3, 3, 2))\n"
            "    x = torch.randn(4, 3, 3, 2)\n"
            "    y = bn.call_then_relu(x, training=True)\n"
            "    bn.call_then_relu(x, training=True)\n"
            "print(len(caught), caught[0].message if caught else '')\n"
            "print(torch.allclose(y, torch.relu(bn.call(x, training=True)), atol=1e-6))\n")
    done = run_python(code, CC=str(tmp_path / "no-such-compiler"), XDG_CACHE_HOME=str(tmp_path), PATH="/nonexistent")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "True"
    failing = tmp_path / "cc"
    failing.write_text("#!/bin/sh\necho 'cc: broken' >&2\nexit 1\n")
    failing.chmod(0o755)
    done = run_python(code, CC=str(failing), XDG_CACHE_HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr
    count, message = done.stdout.splitlines()[0].split(" ", 1)
    assert count == "1" and "batch_norm_relu.c" in message and "cc: broken" in message and "plain torch" in message
    assert not list(tmp_path.glob("cnnkit/kernels/*"))  # no half-built library left behind


def test_turned_off_by_the_environment_variable():
    done = run_python("from cnnkit import kernels; print(kernels.native('batch_norm_relu'))", CNNKIT_NATIVE_KERNELS="0")
    assert done.stdout.strip() == "None"


@needs_kernel
def test_a_built_kernel_is_cached_for_the_next_process(tmp_path):
    code = "from cnnkit import kernels; print(kernels.native('batch_norm_relu')._name)"
    first = run_python(code, XDG_CACHE_HOME=str(tmp_path)).stdout.strip()
    assert Path(first).parent == tmp_path / "cnnkit" / "kernels" and Path(first).exists()
    built_at = Path(first).stat().st_mtime_ns
    assert run_python(code, XDG_CACHE_HOME=str(tmp_path)).stdout.strip() == first
    assert Path(first).stat().st_mtime_ns == built_at


class CopyCounter:
    """Counts copies of tensors with more than `size` values while it is active (a dispatch mode)."""

    def __init__(self, size):
        from torch.utils._python_dispatch import TorchDispatchMode

        counter = self

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                if func in (torch.ops.aten.copy_.default, torch.ops.aten.clone.default) and args[0].numel() > size:
                    counter.copies += 1
                return func(*args, **(kwargs or {}))

        self.copies, self.mode = 0, Mode()


def test_the_torch_path_copies_no_activation_in_training(monkeypatch):
    """Where the kernel does not apply (a GPU, bf16, no compiler), BatchNormalization + ReLU is
    torch's batch_norm then relu, with no copy of the activations forward or backward (an
    in-place relu on the channels-last view made autograd copy it back: 3 copies a layer)."""
    monkeypatch.setattr(batch_norm_relu, "fits", lambda *args: False)
    bn = layers.BatchNormalization()
    bn.build_for((None, 8, 8, 16))
    x = torch.randn(4, 8, 8, 16, requires_grad=True)
    counter = CopyCounter(size=1000)
    with counter.mode:
        y = bn.call_then_relu(x, training=True)
        y.backward(torch.ones_like(y))
    assert counter.copies == 0
    torch.testing.assert_close(y, torch_reference(x, bn.gamma, bn.beta, 1e-3)[0])


def test_a_hooked_batch_normalization_runs_as_itself():
    model = batch_norm_relu_model(layers.ReLU())
    seen = []
    model.layers[1].register_forward_hook(lambda module, args, output: seen.append(output.shape))
    model.compile(optimizer="sgd", loss="mse")
    model.train_on_batch(np.zeros((2, 6, 6, 4), "float32"), np.zeros((2, 1), "float32"))
    assert seen == [(2, 4, 4, 5)]  # not fused away with its ReLU


def test_kernels_are_not_loaded_from_a_folder_others_can_write(tmp_path):
    shared = tmp_path / "cnnkit" / "kernels"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    code = ("import warnings; warnings.simplefilter('always')\n"
            "from cnnkit import kernels; print(kernels.native('batch_norm_relu'))")
    done = run_python(code, XDG_CACHE_HOME=str(tmp_path))
    assert done.stdout.strip() == "None" and "no one else can write to" in done.stderr
    assert not list(shared.iterdir())


@needs_kernel
def test_a_damaged_cached_kernel_is_built_again(tmp_path):
    code = "from cnnkit import kernels; print(kernels.native('batch_norm_relu')._name)"
    path = Path(run_python(code, XDG_CACHE_HOME=str(tmp_path)).stdout.strip())
    path.write_bytes(b"not a shared library")
    assert run_python(code, XDG_CACHE_HOME=str(tmp_path)).stdout.strip() == str(path)
    assert path.read_bytes()[:4] == b"\x7fELF"
