"""How fast cnnkit's convolution and augmentation layers run, against plain torch doing the same work.

Run from the project root (about two minutes with the defaults; check `uptime` first, the numbers
are ratios):

    .venv/bin/python benchmarks/layer_speed.py --repeats 5

Each convolution kind runs forward and backward (gradients of the input and of every weight) on
one batch of 64 channels-last images of 180x180 (3 channels for the stem Conv2D, 32 where a
depthwise or grouped convolution needs channels; Conv2DTranspose doubles 90x90x32 into
180x180x3, a decoder's last layer). Its plain-torch twin is `F.conv2d` (or
`F.conv_transpose2d`) on the NCHW view of the same channels-last memory with the layer's own
weights, so that both compute the same numbers. The augmentation layers with a simple torch
equivalent (RandomFlip, RandomBrightness, RandomContrast) run forward only, as in training. The
two sides alternate in every repeat (the first to run swaps each repeat); the ratio is the
medians' cnnkit / torch: 1.05 or less is the target.
"""

import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

import cnnkit
from cnnkit import layers

BATCH, SIZE = 64, 180


def _conv(layer, names):
    """Plain torch for a Conv2D-like layer: `F.conv2d` with its strides, symmetric padding and groups."""
    weight, bias = (getattr(layer, name) for name in names)
    padding = (layer.kernel_size[0] // 2, layer.kernel_size[1] // 2) if layer.padding == "same" else (0, 0)
    return lambda x, w: F.conv2d(x, w[0], w[1], layer.strides, padding, 1, layer.groups), [weight, bias]


def _depthwise(layer):
    padding = (layer.kernel_size[0] // 2, layer.kernel_size[1] // 2)
    return lambda x, w: F.conv2d(x, w[0], w[1], 1, padding, 1, x.shape[1]), [layer.kernel, layer.bias]


def _separable(layer):
    padding = (layer.kernel_size[0] // 2, layer.kernel_size[1] // 2)

    def function(x, w):
        return F.conv2d(F.conv2d(x, w[0], None, 1, padding, 1, x.shape[1]), w[1], w[2])

    return function, [layer.depthwise_kernel, layer.pointwise_kernel, layer.bias]


def _transpose(layer):
    """Stride 2, "same", 3x3: the full transposed convolution less its last row and column, as TensorFlow."""
    def function(x, w):
        y = F.conv_transpose2d(x, w[0], w[1], layer.strides)
        return y[:, :, :2 * x.shape[2], :2 * x.shape[3]]

    return function, [layer.kernel, layer.bias]


# name: (cnnkit layer, input channels, input size as a fraction of --size, plain torch from the layer)
CONVOLUTIONS = {
    "Conv2D 3x3 3->32": (lambda: layers.Conv2D(32, 3), 3, 1, lambda l: _conv(l, ("kernel", "bias"))),
    "Conv2D groups=2 32->32": (lambda: layers.Conv2D(32, 3, padding="same", groups=2), 32, 1,
                               lambda l: _conv(l, ("kernel", "bias"))),
    "DepthwiseConv2D 32": (lambda: layers.DepthwiseConv2D(3, padding="same"), 32, 1, _depthwise),
    "SeparableConv2D 32->32": (lambda: layers.SeparableConv2D(32, 3, padding="same"), 32, 1, _separable),
    "Conv2DTranspose s2 32->3": (lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same"), 32, 2,
                                 _transpose),
}


def _flip(x, generator):
    mask = (torch.rand(x.shape[0], generator=generator) <= 0.5).view(-1, 1, 1, 1)
    return torch.where(mask, x.flip(2), x)


def _brightness(x, generator, factor=0.2):
    delta = (torch.rand(x.shape[0], generator=generator) * 2 * factor - factor) * 255
    return (x + delta.view(-1, 1, 1, 1)).clamp_(0, 255)


def _contrast(x, generator, factor=0.2):
    contrast = (torch.rand(x.shape[0], generator=generator) * 2 * factor + 1 - factor).view(-1, 1, 1, 1)
    mean = x.mean(dim=(1, 2), keepdim=True)
    return ((x - mean) * contrast + mean).clamp_(0, 255)


# name: (cnnkit layer, plain torch on NHWC images with a torch.Generator)
AUGMENTATIONS = {
    "RandomFlip": (lambda: layers.RandomFlip("horizontal", seed=1), _flip),
    "RandomBrightness": (lambda: layers.RandomBrightness(0.2, seed=1), _brightness),
    "RandomContrast": (lambda: layers.RandomContrast(0.2, seed=1), _contrast),
}


def images(batch, size, channels, seed=0):
    """Channels-last float32 images with 0-255 pixel values."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, size, size, channels), generator=generator).float()


def convolution_pair(name, batch=BATCH, size=SIZE):
    """`(cnnkit step, torch step)`: each runs forward and backward once and returns `(output, gradients)`."""
    make_layer, channels, shrink, make_torch = CONVOLUTIONS[name]
    x = images(batch, size // shrink, channels).div_(255).requires_grad_()
    layer = make_layer()
    layer(x.detach())  # builds the weights
    function, layer_weights = make_torch(layer)
    weights = [w.detach().clone().requires_grad_() for w in layer_weights]  # same values, same memory layout
    upstream = None

    def cnnkit_step():
        nonlocal upstream
        y = layer(x)
        if upstream is None:
            upstream = torch.ones_like(y).contiguous()
        return y, torch.autograd.grad(y, [x, *layer_weights], upstream)

    def torch_step():
        y = function(x.permute(0, 3, 1, 2), weights)  # NCHW view of the channels-last memory: no copy
        return y.permute(0, 2, 3, 1), torch.autograd.grad(y, [x, *weights], upstream.permute(0, 3, 1, 2))

    cnnkit_step()
    return cnnkit_step, torch_step


def augmentation_pair(name, batch=BATCH, size=SIZE):
    """`(cnnkit call, torch call)` on the same images, training-time, forward only."""
    make_layer, function = AUGMENTATIONS[name]
    x = images(batch, size, 3)
    layer = make_layer()
    generator = torch.Generator().manual_seed(1)
    return (lambda: layer(x, training=True)), (lambda: function(x, generator))


def seconds_per_call(function, calls):
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def compare(pairs, repeats, calls):
    """`{name: {"cnnkit": [s...], "torch": [s...]}}`; the side that runs first swaps every repeat."""
    for ours, theirs in pairs.values():  # warm up
        ours(), theirs()
    times = {name: {"cnnkit": [], "torch": []} for name in pairs}
    for repeat in range(repeats):
        for name, (ours, theirs) in pairs.items():
            order = [("cnnkit", ours), ("torch", theirs)]
            for side, function in order if repeat % 2 == 0 else order[::-1]:
                times[name][side].append(seconds_per_call(function, calls))
        print(f"  repeat {repeat + 1}/{repeats} done (load {os.getloadavg()[0]:.2f})", flush=True)
    return times


def report(times):
    """Prints medians (ms per call) and cnnkit / torch; returns the ratios."""
    print(f"\n{'layer':<28}{'cnnkit ms':>11}{'torch ms':>11}{'cnnkit / torch':>16}")
    ratios = {}
    for name, sides in times.items():
        ours, theirs = (statistics.median(sides[side]) * 1000 for side in ("cnnkit", "torch"))
        ratios[name] = ours / theirs
        flag = "" if ratios[name] <= 1.05 else "   above 1.05"
        print(f"{name:<28}{ours:>11.2f}{theirs:>11.2f}{ratios[name]:>16.3f}{flag}")
    print(f"cnnkit / torch: highest {max(ratios.values()):.3f} ({max(ratios, key=ratios.get)}), "
          f"geometric mean {statistics.geometric_mean(ratios.values()):.3f}   (target <= 1.05)")
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="alternating repeats (default 5)")
    parser.add_argument("--calls", type=int, default=1, help="calls per side per repeat (default 1)")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"images in the batch (default {BATCH})")
    parser.add_argument("--size", type=int, default=SIZE, help=f"image height and width (default {SIZE})")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default 0: torch's default)")
    parser.add_argument("--only", choices=["convolutions", "augmentations"], help="time one group only")
    args = parser.parse_args(argv)

    cnnkit.set_device("cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"batch {args.batch} of {args.size}x{args.size} float32 images, channels-last, CPU, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}, "
          f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    ratios = {}
    if args.only != "augmentations":
        print("convolutions, forward + backward:", flush=True)
        pairs = {name: convolution_pair(name, args.batch, args.size) for name in CONVOLUTIONS}
        ratios.update(report(compare(pairs, args.repeats, args.calls)))
    if args.only != "convolutions":
        print("augmentation layers, training=True, forward:", flush=True)
        pairs = {name: augmentation_pair(name, args.batch, args.size) for name in AUGMENTATIONS}
        ratios.update(report(compare(pairs, args.repeats, args.calls)))
    print(f"load at the end: {os.getloadavg()[0]:.2f}")
    return ratios


if __name__ == "__main__":
    main()
    sys.exit(0)
