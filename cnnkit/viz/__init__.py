"""Pictures of training and of what a convnet learned: learning curves, confusion matrix,
misclassified images, activations, filter patterns, Grad-CAM, top losses, the
learning-rate finder.

matplotlib is imported only when a picture is drawn, on the Agg backend (files only,
nothing on screen); every PNG is written atomically and its figure closed.

Example:
    >>> from cnnkit import viz
    >>> viz.confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2], 3).tolist()
    [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
"""

from cnnkit.viz.activations import activations
from cnnkit.viz.confusion import confusion_matrix, plot_confusion_matrix
from cnnkit.viz.filter_patterns import filter_patterns
from cnnkit.viz.grad_cam import GradCam, grad_cam
from cnnkit.viz.history import plot_history
from cnnkit.viz.lr_find import LrFind, lr_find
from cnnkit.viz.mistakes import plot_mistakes
from cnnkit.viz.top_losses import plot_top_losses, top_losses

__all__ = [
    "GradCam", "LrFind", "activations", "confusion_matrix", "filter_patterns", "grad_cam", "lr_find",
    "plot_confusion_matrix", "plot_history", "plot_mistakes", "plot_top_losses", "top_losses",
]
