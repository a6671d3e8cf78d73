"""Datasets that feed `fit`: `tf.data`'s methods on torch tensors, image folders decoded in workers."""

from cnnkit.data.dataset import AUTOTUNE, INFINITE, UNKNOWN, Dataset
from cnnkit.data.image_folder import ImageFolderDataset

__all__ = ["AUTOTUNE", "INFINITE", "UNKNOWN", "Dataset", "ImageFolderDataset"]
