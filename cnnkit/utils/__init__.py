"""Utilities of the Keras API."""

from cnnkit.utils.categorical import to_categorical
from cnnkit.utils.file_utils import get_file
from cnnkit.utils.image_dataset import image_dataset_from_directory
from cnnkit.utils.image_utils import ImageFileError, array_to_img, img_to_array, load_img, save_img
from cnnkit.utils.py_dataset import PyDataset
from cnnkit.utils.random import set_random_seed

__all__ = ["ImageFileError", "PyDataset", "array_to_img", "get_file", "image_dataset_from_directory", "img_to_array",
           "load_img", "save_img", "set_random_seed", "to_categorical"]
