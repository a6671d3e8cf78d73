"""Data-parallel training: 2 gloo processes on 127.0.0.1 must train, evaluate and predict
exactly as one process does on the same global batches, and fail fast when a peer is lost."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import cnnkit
from cnnkit import callbacks, distributed, layers, models
from cnnkit.distributed.replica import Replica, _ScaleGradient, moving_statistics, moving_statistics_kept
from cnnkit.distributed.sharding import draw_seed, epoch_order, gradient_weight, share

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))
import _distributed_worker as worker  # noqa: E402


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def worker_environment(**extra):
    environment = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    environment.update(OMP_NUM_THREADS="1", PYTHONPATH=str(TESTS), **extra)
    return environment


def single_process_reference():
    """The worker's `train` scenario on one process, replaying the shuffled orders by hand."""
    x, y = worker.tiny_data(worker.TRAIN_SIZE, 1)
    x_test, y_test = worker.tiny_data(worker.EVAL_SIZE, 2)
    model = worker.tiny_model()
    cnnkit.set_random_seed(5)
    losses = []
    for _ in range(2):
        order = epoch_order(worker.TRAIN_SIZE, draw_seed()).numpy()
        history = model.fit(x[order], y[order], batch_size=worker.BATCH, shuffle=False, verbose=0)
        losses.append(history.history["loss"][0])
    model.fit(x[:49], y[:49], batch_size=worker.BATCH, shuffle=False, verbose=0)
    scores = model.evaluate(x_test, y_test, batch_size=worker.BATCH, verbose=0)
    return model.get_weights(), losses, scores, model.predict(x_test, batch_size=worker.BATCH, verbose=0)


def check_matches_single_process(out):
    weights, losses, scores, predictions = single_process_reference()
    for rank in (0, 1):
        with np.load(out / f"rank{rank}.npz", allow_pickle=False) as saved:
            for index, expected in enumerate(weights):
                np.testing.assert_allclose(saved[f"arr_{index}"], expected, atol=1e-6, err_msg=f"rank {rank}")
            np.testing.assert_allclose(saved["loss"], losses, rtol=1e-6)
            np.testing.assert_allclose(saved["scores"], scores, rtol=1e-6)
            np.testing.assert_allclose(saved["predictions"], predictions, atol=1e-6)


# -- two processes ---------------------------------------------------------------------

def test_two_nodes_under_torchrun_train_evaluate_predict_as_one_process(tmp_path):
    """The README's two-node command, both "nodes" on 127.0.0.1, one process each."""
    endpoint = f"127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1",
               "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint, "--rdzv-id", "cnnkit-test",
               str(TESTS / "_distributed_worker.py"), "train", str(tmp_path)]
    logs = [tmp_path / f"node{index}.log" for index in range(2)]
    nodes = [subprocess.Popen(command, env=worker_environment(), stdout=log.open("w"), stderr=subprocess.STDOUT)
             for log in logs]
    try:
        for node in nodes:
            node.wait(timeout=90)
    finally:
        for node in nodes:
            node.terminate()  # torchrun's agent stops its worker too
            node.wait()
    outputs = [log.read_text() for log in logs]
    assert [node.returncode for node in nodes] == [0, 0], outputs
    check_matches_single_process(tmp_path)
    printed = [output.count("Epoch 1/2") for output in outputs]
    assert sorted(printed) == [0, 1], outputs  # only rank 0 prints progress


def test_launch_runs_n_processes_like_cnnkit_train_nproc(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    status = distributed.launch(2, ["train", str(tmp_path)], module="_distributed_worker")
    assert status == 0
    check_matches_single_process(tmp_path)


def start_pair(scenario, tmp_path):
    port = str(free_port())
    return [subprocess.Popen(
        [sys.executable, str(TESTS / "_distributed_worker.py"), scenario, str(tmp_path)],
        env=worker_environment(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, WORLD_SIZE="2", RANK=str(rank),
                               LOCAL_RANK=str(rank)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) for rank in (0, 1)]


def run_pair(scenario, tmp_path):
    """Runs a worker scenario on 2 processes; both must succeed within a minute."""
    pair = start_pair(scenario, tmp_path)
    try:
        outputs = [process.communicate(timeout=60) for process in pair]
    finally:
        for process in pair:
            process.kill()
    assert [process.returncode for process in pair] == [0, 0], [error[-2000:] for _, error in outputs]


@pytest.mark.parametrize("scenario, message", [("die", "by peer"), ("hang", "Timed out")])
def test_a_lost_process_makes_the_others_fail_not_hang(scenario, message, tmp_path):
    survivor, lost = start_pair(scenario, tmp_path)
    started = time.monotonic()
    try:
        _, error = survivor.communicate(timeout=60)
    finally:
        lost.kill()
        lost.communicate()
    assert survivor.returncode != 0
    assert message in error, error[-2000:]
    assert time.monotonic() - started < 60


def test_a_stop_asked_on_one_process_stops_all_at_the_same_step(tmp_path):
    run_pair("stop", tmp_path)
    for rank in (0, 1):
        with np.load(tmp_path / f"rank{rank}.npz") as saved:
            assert (int(saved["iterations"]), int(saved["epochs"])) == (3, 1)


def test_moving_statistics_end_the_same_on_every_process(tmp_path):
    run_pair("batchnorm", tmp_path)
    with np.load(tmp_path / "rank0.npz") as first, np.load(tmp_path / "rank1.npz") as second:
        assert len(first.files) == 14  # conv, batch norm (4 weights), dense, batch norm, dense
        for name in first.files:
            np.testing.assert_allclose(first[name], second[name], rtol=1e-6, err_msg=name)
        assert not np.allclose(first["arr_4"], 0.0)  # the moving mean did move


def test_a_backup_only_rank_0_can_read_resumes_every_process_from_it(tmp_path):
    """No shared disk: rank 0 alone finds the backup; all processes start at its epoch with its weights."""
    x, y = worker.tiny_data(worker.TRAIN_SIZE, 1)
    model = worker.tiny_model()
    model.fit(x, y, batch_size=worker.BATCH, epochs=2, verbose=0,
              callbacks=[callbacks.BackupAndRestore(str(tmp_path / "backup0"), delete_checkpoint=False)])
    run_pair("resume", tmp_path)
    with np.load(tmp_path / "rank0.npz") as first, np.load(tmp_path / "rank1.npz") as second:
        assert list(first["epochs"]) == [0, 1, 2, 3] and list(second["epochs"]) == [2, 3]
        for name in first.files:
            if name != "epochs":
                np.testing.assert_allclose(first[name], second[name], rtol=1e-6, err_msg=name)


def test_moving_statistics_kept_puts_them_back(fresh_names):
    model = models.Sequential([layers.Input((4,)), layers.Dense(3), layers.BatchNormalization()])
    before = [s.detach().clone() for s in moving_statistics(model)]
    with moving_statistics_kept(model):
        model(torch.randn(5, 4), training=True)
        assert not torch.equal(moving_statistics(model)[0], before[0])
    for kept, original in zip(moving_statistics(model), before):
        assert torch.equal(kept, original)


# -- pieces, in this process -----------------------------------------------------------

def test_shares_tile_a_batch_with_sizes_differing_by_at_most_one():
    for n in range(0, 12):
        parts = [share(n, rank, 4) for rank in range(4)]
        assert parts[0][0] == 0 and parts[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
        assert max(s - t for t, s in parts) - min(s - t for t, s in parts) <= 1
    assert [share(10, rank, 4) for rank in range(4)] == [(0, 3), (3, 6), (6, 8), (8, 10)]


def test_gradient_weights_make_ddp_average_the_batch_mean():
    # a batch of 3 over 2 processes: shares of 2 and 1 samples
    assert gradient_weight(2, 3, 2) == pytest.approx(4 / 3)
    assert gradient_weight(1, 3, 2) == pytest.approx(2 / 3)
    assert gradient_weight(4, 8, 2) == 1.0
    # DDP's average of the weighted share means == the mean over the batch
    losses = torch.tensor([0.3, 0.9, 1.5])
    average = (gradient_weight(2, 3, 2) * losses[:2].mean() + gradient_weight(1, 3, 2) * losses[2:].mean()) / 2
    assert float(average) == pytest.approx(float(losses.mean()))


def test_scale_gradient_keeps_the_value_and_scales_the_gradient():
    value = torch.tensor(2.0, requires_grad=True)
    scaled = _ScaleGradient.apply(value * 3, 0.5)
    scaled.backward()
    assert float(scaled.detach()) == 6.0 and float(value.grad) == 1.5


def test_every_process_derives_the_same_epoch_order_from_the_seed():
    assert torch.equal(epoch_order(100, 42), epoch_order(100, 42))
    assert not torch.equal(epoch_order(100, 42), epoch_order(100, 43))
    assert sorted(epoch_order(100, 42).tolist()) == list(range(100))


def test_global_batch_size_must_split_evenly():
    replica = Replica.__new__(Replica)
    replica.rank, replica.world_size = 0, 3
    assert replica.local_batch_size(96) == 32
    with pytest.raises(ValueError, match=r"received batch_size=64, which 3 does not divide.*batch_size=63"):
        replica.local_batch_size(64)
    assert replica.inference_batch_size(32) == 11  # evaluate/predict: any size gives the same result


def test_a_single_process_is_not_distributed(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed.replica() is None
    assert (distributed.world_size(), distributed.rank(), distributed.is_main_process()) == (1, 0, True)
    assert distributed.run_on_main_process(lambda: "saved") == "saved"


def test_configure_checks_its_arguments():
    with pytest.raises(ValueError, match="`backend` must be None, 'nccl' or 'gloo'. Received: backend='mpi'"):
        distributed.configure(backend="mpi")
    with pytest.raises(ValueError, match="`timeout` must be positive seconds"):
        distributed.configure(timeout=-1)
    with pytest.raises(ValueError, match="`enabled`"):
        distributed.configure(enabled="yes")
    distributed.configure()


def test_enabled_true_without_a_group_says_how_to_launch(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    distributed.configure(enabled=True)
    try:
        with pytest.raises(RuntimeError, match="torchrun --nproc_per_node"):
            distributed.replica()
    finally:
        distributed.configure()


def test_the_per_step_stop_check_never_reads_a_gpu_tensor(monkeypatch):
    """fit asks every step whether any process wants to stop: under nccl that agreement must run on
    the CPU (gloo control group), never as a GPU tensor read back to the host, which would wait for
    all the GPU's queued work every step."""
    from cnnkit.distributed import reduce

    control = object()
    seen = []
    monkeypatch.setattr(reduce.dist, "get_backend", lambda *args: "nccl")
    monkeypatch.setattr(reduce.dist, "all_reduce", lambda tensor, op, group=None: seen.append((tensor.device, group)))
    reduce.set_control_group(control)
    try:
        assert reduce.any_process(True) is True
    finally:
        reduce.set_control_group(None)
    assert seen == [(torch.device("cpu"), control)]
