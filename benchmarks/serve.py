"""Requests per second and p50/p99 latency of `cnnkit serve`'s POST /api/predict, 1, 4 and 16 clients.

Run from the project root (about a minute; check `uptime` first, the server shares the CPUs):

    .venv/bin/python benchmarks/serve.py [MODEL] [--requests 200] [--seconds 15]

MODEL is a saved model (default: the seed convnet, untrained: its speed does not depend on its
weights). The server runs as `python -m cnnkit serve` on a free 127.0.0.1 port; each client posts
the same 96x96 PNG of a digit over its own keep-alive connection. Each level stops after
--requests requests or --seconds seconds, whichever comes first.
"""

import argparse
import http.client
import io
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

CLIENTS = (1, 4, 16)
BOUNDARY = "cnnkitbenchmark"


def digit_png():
    from PIL import Image

    pixels = np.full((96, 96), 245, np.uint8)
    pixels[15:80, 44:54] = 20
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def multipart(data):
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"digit.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def start_server(model_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "cnnkit", "serve", str(model_path), "--port", str(port)],
                               stdout=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
            return process, port
        except OSError:
            if process.poll() is not None:
                raise SystemExit("cnnkit serve did not start")
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("cnnkit serve did not answer within a minute")


def run_level(port, clients, body, max_requests, max_seconds):
    """(requests/s, [latencies in s]) with `clients` threads sharing `max_requests`."""
    latencies, lock = [], threading.Lock()
    remaining = [max_requests]
    deadline = time.perf_counter() + max_seconds
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            with lock:
                if remaining[0] == 0:
                    break
                remaining[0] -= 1
            start = time.perf_counter()
            connection.request("POST", "/api/predict", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"/api/predict answered {response.status}")
            with lock:
                latencies.append(time.perf_counter() - start)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - start), latencies


def percentile(values, q):
    return float(np.percentile(values, q))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a .cnnkit file (default: the seed convnet, untrained)")
    parser.add_argument("--requests", type=int, default=200, help="requests per level (default 200)")
    parser.add_argument("--seconds", type=float, default=15.0, help="time limit per level (default 15)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model_path = args.model
        if model_path is None:
            from cnnkit.recipes import seed_convnet

            model_path = Path(folder) / "seed.cnnkit"
            seed_convnet().save(model_path)
        process, port = start_server(model_path)
        try:
            body = multipart(digit_png())
            run_level(port, 1, body, 10, 10)  # warm-up
            print(f"{'clients':>7} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
            for clients in CLIENTS:
                rate, latencies = run_level(port, clients, body, args.requests, args.seconds)
                print(f"{clients:>7} {len(latencies):>8} {rate:>8.1f} {1000 * statistics.median(latencies):>8.1f} "
                      f"{1000 * percentile(latencies, 99):>8.1f}", flush=True)
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
