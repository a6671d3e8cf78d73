"""benchmarks/layer_speed.py: its pieces run on a tiny batch, and both sides of each pair do the same work."""

import importlib.util
import pathlib

import pytest
import torch

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "layer_speed.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("layer_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_convolution_kind_is_timed(bench):
    assert {name.split()[0] for name in bench.CONVOLUTIONS} == {
        "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"}
    assert any("groups=2" in name for name in bench.CONVOLUTIONS)


@pytest.mark.parametrize("name", ["Conv2D 3x3 3->32", "Conv2D groups=2 32->32", "DepthwiseConv2D 32",
                                  "SeparableConv2D 32->32", "Conv2DTranspose s2 32->3"])
def test_plain_torch_computes_what_the_layer_computes(bench, name):
    ours, theirs = bench.convolution_pair(name, batch=2, size=12)
    (y, grads), (y_torch, grads_torch) = ours(), theirs()
    assert y.shape == y_torch.shape and y.shape[0] == 2
    torch.testing.assert_close(y, y_torch)
    assert len(grads) == len(grads_torch) >= 2  # the input's and every weight's
    for grad, grad_torch in zip(grads, grads_torch):
        torch.testing.assert_close(grad, grad_torch)


@pytest.mark.parametrize("name", ["RandomFlip", "RandomBrightness", "RandomContrast"])
def test_augmentation_pairs_keep_the_batch_shape_and_range(bench, name):
    ours, theirs = bench.augmentation_pair(name, batch=4, size=10)
    for images in (ours(), theirs()):
        assert images.shape == (4, 10, 10, 3) and images.min() >= 0 and images.max() <= 255


def test_flip_flips_whole_images(bench):
    x = bench.images(16, 5, 3)
    flipped = bench._flip(x, torch.Generator().manual_seed(0))
    same = [torch.equal(a, b) for a, b in zip(flipped, x)]
    mirrored = [torch.equal(a, b.flip(1)) for a, b in zip(flipped, x)]
    assert all(s or m for s, m in zip(same, mirrored)) and any(same) and any(mirrored)


def test_compare_alternates_and_reports_ratios(bench, capsys):
    pairs = {"a": (lambda: None, lambda: None)}
    times = bench.compare(pairs, repeats=3, calls=1)
    assert len(times["a"]["cnnkit"]) == len(times["a"]["torch"]) == 3
    ratios = bench.report({"a": {"cnnkit": [2.0, 2.2, 9.0], "torch": [2.0, 2.0, 1.0]}})
    assert ratios == {"a": pytest.approx(1.1)}
    assert "above 1.05" in capsys.readouterr().out


def test_main_runs_on_a_tiny_batch(bench, capsys):
    ratios = bench.main(["--batch", "2", "--size", "12", "--repeats", "1", "--calls", "1"])
    assert set(ratios) == set(bench.CONVOLUTIONS) | set(bench.AUGMENTATIONS)
    assert "cnnkit / torch: highest" in capsys.readouterr().out
