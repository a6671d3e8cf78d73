"""Nothing lost under faults: `cnnkit train` killed (SIGKILL) inside a checkpoint write and inside a
`.keras` save keeps the previous file, which loads; a full disk (a file-size limit) during a save
is a clear error naming the file, keeps the old file and leaves no temporary file.

The kill lands inside the write deterministically: the child runs `cnnkit train` through a small
wrapper that patches `zipfile.ZipFile.writestr` to pause, its first entry flushed to disk, in the
save under test; the test then kills it.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnkit.saving import load_model

SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "datasets",
                           Path("/work/shared/datasets")) if (p / "mnist").is_dir()), None)
pytestmark = [pytest.mark.skipif(SHARED is None, reason="shared datasets folder not found"),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and RLIMIT_FSIZE")]
TINY = ["--limit", "256", "--batch-size", "64", "--seed", "5"]

# Runs `cnnkit ARGS...` after patching writestr: the save number NTH of files named TARGET pauses
# after its first entry (flushed to disk), once it has created the file MARKER.
WRAPPER = """
import os, sys, time, zipfile
target, nth, marker, keras_checkpoint = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
real_writestr, saves = zipfile.ZipFile.writestr, []

def writestr(self, info, data, *args, **kwargs):
    path = os.readlink(f"/proc/self/fd/{self.fp.fileno()}")
    if os.path.basename(path).startswith(f".{target}."):
        if self not in saves:
            saves.append(self)
        elif len(saves) == nth:
            self.fp.flush()
            open(marker, "w").close()
            time.sleep(120)
    return real_writestr(self, info, data, *args, **kwargs)

zipfile.ZipFile.writestr = writestr
if keras_checkpoint:  # `cnnkit train` with a ModelCheckpoint writing checkpoint.keras every epoch
    from cnnkit.callbacks import ModelCheckpoint
    from cnnkit.cli import train
    make_callbacks = train._callbacks
    train._callbacks = lambda folder, append: [*make_callbacks(folder, append),
                                               ModelCheckpoint(str(folder / "checkpoint.keras"))]
from cnnkit.cli import main
sys.exit(main(sys.argv[5:]))
"""


def cnnkit_env():
    return {**os.environ, "CNNKIT_DATA": str(SHARED)}


def run_folder(out):
    (folder,) = [path for path in Path(out).iterdir() if path.is_dir()]
    return folder


def kill_inside_save(tmp_path, target, keras_checkpoint):
    """Starts `cnnkit train` (3 epochs), kills it inside the 2nd save of `target`; returns the run folder."""
    wrapper, marker, out = tmp_path / "wrapper.py", tmp_path / "paused", tmp_path / "runs"
    wrapper.write_text(WRAPPER)
    child = subprocess.Popen([sys.executable, str(wrapper), target, "2", str(marker), "1" if keras_checkpoint else "0",
                              "train", "--epochs", "3", *TINY, "--out", str(out)],
                             env=cnnkit_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not marker.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"the child never reached the 2nd save of {target}: {child.communicate()[1].decode()[-2000:]}")
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return run_folder(out)


def test_sigkill_inside_a_checkpoint_write_keeps_the_previous_backup(tmp_path):
    folder = kill_inside_save(tmp_path, "latest.cnnkit", keras_checkpoint=False)
    backup = folder / "backup" / "latest.cnnkit"
    partial = list(backup.parent.glob(".latest.cnnkit.*.tmp"))
    assert len(partial) == 1 and partial[0].stat().st_size > 0  # the write was under way
    load_model(backup)  # the epoch-1 backup is intact
    done = subprocess.run([sys.executable, "-m", "cnnkit", "train", "--resume", str(folder)], env=cnnkit_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Epoch 1/3" not in done.stdout and "Epoch 2/3" in done.stdout  # resumed after the saved epoch
    epochs = [line.split(",")[0] for line in (folder / "history.csv").read_text().splitlines()]
    assert epochs == ["epoch", "0", "1", "2"]


def test_sigkill_inside_a_keras_save_keeps_the_previous_file(tmp_path):
    folder = kill_inside_save(tmp_path, "checkpoint.keras", keras_checkpoint=True)
    assert len(list(folder.glob(".checkpoint.keras.*.tmp"))) == 1
    model = load_model(folder / "checkpoint.keras")  # epoch 1's checkpoint, intact
    assert model.count_params() > 0


# Saves a small model to PATH, then saves it again (changed) under a file-size limit smaller than the file.
FULL_DISK = """
import json, resource, sys
import numpy as np
from cnnkit import layers, models
path = sys.argv[1]
model = models.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(8, 3), layers.Flatten(), layers.Dense(4)])
model.compile(optimizer="adam", loss="mse")
model.save(path)
model.fit(np.ones((4, 8, 8, 1), "float32"), np.ones((4, 4), "float32"), epochs=1, verbose=0)
resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
try:
    model.save(path)
    print(json.dumps({"error": None}))
except Exception as error:
    print(json.dumps({"error": f"{type(error).__name__}: {error}", "errno": getattr(error, "errno", None)}))
"""


@pytest.mark.parametrize("name", ["model.cnnkit", "model.keras"])
def test_a_full_disk_during_save_is_a_clear_error_and_keeps_the_old_file(tmp_path, name):
    import errno

    path = tmp_path / name
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["errno"] == errno.EFBIG
    assert result["error"] == f"OSError: {path}: not saved, the previous file is kept: File too large"
    assert os.listdir(tmp_path) == [name]  # no temporary file left
    load_model(path)  # the old file, intact


def test_cnnkit_train_on_a_full_disk_names_the_file_and_keeps_the_saved_model(tmp_path):
    out = tmp_path / "runs"
    done = subprocess.run([sys.executable, "-m", "cnnkit", "train", "--epochs", "1", *TINY, "--out", str(out)],
                          env=cnnkit_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    folder = run_folder(out)
    saved = (folder / "model.cnnkit").read_bytes()

    def small_files_only():
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))

    done = subprocess.run([sys.executable, "-m", "cnnkit", "train", "--resume", str(folder), "--epochs", "2"],
                          env=cnnkit_env(), capture_output=True, text=True, timeout=300, preexec_fn=small_files_only)
    assert done.returncode == 1
    backup = folder / "backup" / "latest.cnnkit"
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line == f"cnnkit: error: {backup}: not saved, nothing was written: File too large"
    assert (folder / "model.cnnkit").read_bytes() == saved
    assert not list(folder.rglob("*.tmp"))
