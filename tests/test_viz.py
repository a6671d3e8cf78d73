"""cnnkit.viz: the confusion matrix against hand counts; every picture a real PNG of the promised size."""

import subprocess
import sys

import numpy as np
import pytest

from cnnkit import viz

PIL = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def read_png(path):
    with open(path, "rb") as stream:
        assert stream.read(8) == PNG_MAGIC
    with PIL.open(path) as image:
        image.load()
        return image.format, image.size


def test_confusion_matrix_hand_counts():
    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 0, 1, 1, 2, 2, 2, 0, 2]
    expected = [[2, 1, 0],   # true 0: two right, one called 1
                [0, 1, 1],   # true 1: one right, one called 2
                [1, 0, 3]]   # true 2: three right, one called 0
    assert viz.confusion_matrix(y_true, y_pred, 3).tolist() == expected
    assert viz.confusion_matrix(np.array(y_true, np.uint8), np.array(y_pred, np.uint8)).tolist() == expected


def test_confusion_matrix_takes_one_hot_and_probabilities():
    y_true = np.eye(4)[[3, 1, 0]]
    probabilities = np.array([[0.1, 0.1, 0.1, 0.7], [0.6, 0.2, 0.1, 0.1], [0.9, 0.0, 0.1, 0.0]])
    matrix = viz.confusion_matrix(y_true, probabilities, 4)
    assert matrix.shape == (4, 4) and matrix.sum() == 3
    assert matrix[3, 3] == 1 and matrix[1, 0] == 1 and matrix[0, 0] == 1


def test_confusion_matrix_errors_name_the_problem():
    with pytest.raises(ValueError, match="same length; received 2 and 3"):
        viz.confusion_matrix([0, 1], [0, 1, 1], 2)
    with pytest.raises(ValueError, match=r"y_pred.*outside \[0, 2\).*max 5"):
        viz.confusion_matrix([0, 1], [0, 5], 2)
    with pytest.raises(ValueError, match="integer class labels"):
        viz.confusion_matrix([0.5, 1.0], [0, 1], 2)


def test_plot_confusion_matrix_writes_a_png_and_returns_the_counts(tmp_path):
    path = tmp_path / "confusion.png"
    matrix = viz.plot_confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2], path, class_names=["a", "b", "c"])
    assert matrix.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    assert read_png(path) == ("PNG", (800, 720))
    assert [p.name for p in tmp_path.iterdir()] == ["confusion.png"]  # no temporary file left


def test_plot_history_one_panel_per_metric(tmp_path):
    logs = {"loss": [0.5, 0.3], "accuracy": [0.8, 0.9], "val_loss": [0.4, 0.35], "val_accuracy": [0.85, 0.88]}
    assert read_png(viz.plot_history(logs, tmp_path / "curves.png")) == ("PNG", (1200, 450))
    assert read_png(viz.plot_history({"loss": [1.0]}, tmp_path / "loss.png")) == ("PNG", (600, 450))


def test_plot_history_takes_a_history_object(tmp_path):
    from cnnkit.callbacks import History

    history = History()
    history.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.8})
    assert read_png(viz.plot_history(history, tmp_path / "h.png"))[1] == (1200, 450)
    with pytest.raises(ValueError, match="non-empty dict"):
        viz.plot_history({}, tmp_path / "empty.png")


def test_plot_mistakes_grid_of_misclassified_only(tmp_path):
    images = np.random.default_rng(0).random((50, 28, 28, 1)).astype(np.float32)
    y_true = np.arange(50) % 10
    y_pred = y_true.copy()
    y_pred[[3, 7, 11, 21, 31]] = 0
    y_pred[[40]] = 9  # 40 % 10 == 0, so a mistake too
    shown = viz.plot_mistakes(images, y_true, y_pred, tmp_path / "m.png")
    assert shown.tolist() == [3, 7, 11, 21, 31, 40]
    assert read_png(tmp_path / "m.png")[1] == (3 * 120, 2 * 120 + 40)  # 6 images: 3 columns, 2 rows
    assert viz.plot_mistakes(images, y_true, y_pred, tmp_path / "two.png", max_images=2).tolist() == [3, 7]


def test_plot_mistakes_with_no_mistakes_still_writes_a_picture(tmp_path):
    labels = np.arange(5)
    assert viz.plot_mistakes(np.zeros((5, 28, 28)), labels, labels, tmp_path / "none.png").tolist() == []
    assert read_png(tmp_path / "none.png")[1] == (120, 160)


def test_matplotlib_is_imported_only_to_draw_and_pyplot_never(tmp_path):
    code = ("import sys, cnnkit.viz as v; assert 'matplotlib' not in sys.modules; "
            "v.plot_history({'loss': [1.0]}, sys.argv[1]); assert 'matplotlib.pyplot' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "c.png")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
