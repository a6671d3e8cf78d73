"""Training throughput of the seed convnet on 1 process and on N processes (torch.distributed).

Run from the project root (about a minute):

    .venv/bin/python benchmarks/distributed_scaling.py            # CPU: 1 vs 2 processes, 1 thread each
    .venv/bin/python benchmarks/distributed_scaling.py --gpus 4   # on a GPU machine: 1 vs 4 GPUs

Each run trains the seed model with rmsprop on synthetic MNIST-shaped data at the same global
batch (split over the processes, as `fit` does under torchrun), times the second epoch (the
first warms up), and reports images per second; the N-process runs are started with
torchrun's launcher (`python -m torch.distributed.run --standalone`). On the CPU the processes
share the machine's cores, so the ratio shows what data parallelism costs and gains here,
not what N machines would give.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import torch

import cnnkit
from cnnkit import distributed
from cnnkit.callbacks import Callback
from cnnkit.recipes import seed_convnet


class EpochTimer(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def seed_model():
    model = seed_convnet()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def worker(images, batch_size, device):
    """One process's part: trains 2 epochs, prints rank 0's images/s of the second as JSON."""
    cnnkit.set_device(device)
    cnnkit.set_random_seed(0)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(images, 28, 28, 1, generator=generator)
    y = torch.nn.functional.one_hot(torch.randint(0, 10, (images,), generator=generator), 10).float()
    timer = EpochTimer()
    seed_model().fit(x, y, batch_size=batch_size, epochs=2, verbose=0, callbacks=[timer])
    if distributed.is_main_process():
        print(json.dumps({"processes": distributed.world_size(), "images_per_second": images / timer.seconds}))


def measure(processes, args, device):
    """images/s of a run with `processes` processes (1: a plain process, no process group)."""
    worker_args = [os.path.abspath(__file__), "--worker", "--images", str(args.images),
                   "--batch-size", str(args.batch_size), "--device", device]
    launcher = [] if processes == 1 else ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                                          str(processes)]
    environment = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    if device == "cpu":
        environment["OMP_NUM_THREADS"] = str(args.threads)
    done = subprocess.run([sys.executable, *launcher, *worker_args], env=environment, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"{processes}-process run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["images_per_second"]


def compare(counts, args, device, label):
    rates = {count: measure(count, args, device) for count in counts}
    one, many = rates[counts[0]], rates[counts[-1]]
    for count, rate in rates.items():
        print(f"{label}: {count} process(es): {rate:.0f} images/s")
    print(f"{label}: {counts[-1]} / {counts[0]} processes throughput ratio: {many / one:.2f} "
          f"(ideal {counts[-1] / counts[0]:.0f})", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=12800, help="images per epoch (default 12800)")
    parser.add_argument("--batch-size", type=int, default=128, help="global batch size (default 128)")
    parser.add_argument("--processes", type=int, default=2, help="CPU processes to compare with 1 (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="threads per CPU process (default 1)")
    parser.add_argument("--gpus", type=int, default=torch.cuda.device_count(), help="GPUs to compare with 1")
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.images, args.batch_size, args.device)
    print(f"seed convnet, global batch {args.batch_size}, {args.images} images/epoch, "
          f"{os.cpu_count()} CPU cores, load {os.getloadavg()[0]:.2f}", flush=True)
    compare([1, args.processes], args, "cpu", f"CPU, {args.threads} thread(s) per process")
    if args.gpus > 1:
        compare([1, args.gpus], args, "cuda", "GPU")
    else:
        print("GPU: skipped (fewer than 2 CUDA GPUs here)")


if __name__ == "__main__":
    sys.exit(main())
