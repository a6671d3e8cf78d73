"""Pictures of training: learning curves, confusion matrix, misclassified images.

matplotlib is imported only when a picture is drawn, on the Agg backend (files only,
nothing on screen); every PNG is written atomically and its figure closed.

Example:
    >>> from cnnkit import viz
    >>> viz.confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2], 3).tolist()
    [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
"""

from cnnkit.viz.confusion import confusion_matrix, plot_confusion_matrix
from cnnkit.viz.history import plot_history
from cnnkit.viz.mistakes import plot_mistakes

__all__ = ["confusion_matrix", "plot_confusion_matrix", "plot_history", "plot_mistakes"]
