"""Run folders: `runs/<timestamp>/` with the model, its settings and its history."""

import csv
import json
import time
from pathlib import Path

from cnnkit.cli._parser import CliError

SETTINGS_FILE = "run.json"
MODEL_FILE = "model.cnnkit"
HISTORY_FILE = "history.csv"
BACKUP_FOLDER = "backup"


def new_run_folder(out):
    """Creates `out/<YYYYmmdd-HHMMSS>` (with `-2`, `-3`... when taken) and returns it.

    Raises:
        CliError: `out` is not a folder one can create folders in (the message says why).
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if Path(out).exists() and not Path(out).is_dir():
        raise CliError(f"--out '{out}' is a file, not a folder")
    for attempt in range(1, 1000):
        folder = Path(out) / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
        except OSError as error:
            raise CliError(f"cannot create a run folder in --out '{out}': {error.strerror or error}") from None
    raise CliError(f"cannot create a new run folder in '{out}': too many runs named {stamp}-*")


def latest_run_folder(out):
    """The most recently created run folder under `out` (one holding a run.json)."""
    runs = sorted(Path(out).glob(f"*/{SETTINGS_FILE}"), key=lambda path: path.stat().st_mtime)
    if not runs:
        raise CliError(f"--resume: no run to resume in '{out}' (no {out}/*/{SETTINGS_FILE})")
    return runs[-1].parent


def write_settings(folder, settings):
    """Writes the run's settings as `run.json`, atomically."""
    from cnnkit.saving.atomic import atomic_write

    with atomic_write(Path(folder) / SETTINGS_FILE) as stream:
        stream.write((json.dumps(settings, indent=2) + "\n").encode())


def read_settings(folder):
    path = Path(folder) / SETTINGS_FILE
    if not path.is_file():
        raise CliError(f"--resume: '{folder}' is not a run folder (it has no {SETTINGS_FILE})")
    try:
        settings = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CliError(f"--resume: '{path}' is not valid JSON: {error}") from None
    if not isinstance(settings, dict):
        raise CliError(f"--resume: '{path}' must hold a JSON object")
    return settings


def read_history(path):
    """history.csv (as CSVLogger writes it) as {metric: [per-epoch floats]}, without the epoch column."""
    if not Path(path).is_file():
        return {}
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    names = [name for name in (rows[0] if rows else {}) if name != "epoch"]
    columns = {name: [_number(row.get(name)) for row in rows] for name in names}
    return {name: [value for value in values if value is not None] for name, values in columns.items()}


def _number(text):
    """A CSV cell as a float; None for 'NA' (CSVLogger's missing value) or an empty cell."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
