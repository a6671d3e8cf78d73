"""`image_dataset_from_directory`: Keras 3's function, returning a `cnnkit.data` dataset instead of a tf.data one.

Files are listed, labelled, shuffled and split exactly as Keras does (same files in each subset for the same
`seed`); decoding runs in DataLoader workers (`cnnkit.data.image_folder`).
"""

import os
import warnings

import numpy as np

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")
_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, color_mode="rgb",
                                 batch_size=32, image_size=(256, 256), shuffle=True, seed=None, validation_split=None,
                                 subset=None, interpolation="bilinear", follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, format="tf", verbose=True):
    """A dataset of `(images, labels)` batches from the image files of `directory`, as Keras 3 builds it.

    With `labels="inferred"`, each subfolder of `directory` is a class (sorted by name, hidden folders
    skipped), and its files, in its subfolders too, are that class's images. Accepted files: .bmp, .gif,
    .jpeg, .jpg, .png (first frame of a GIF).

    Args:
        directory: the folder of class subfolders (or of the images, when `labels` is a list or None).
        labels: "inferred", None (no labels), or a list/tuple of int labels, one per file in sorted
            path order.
        label_mode: "int" (int32 labels), "categorical" (one-hot float32), "binary" (float32 0/1 of shape
            (batch, 1); exactly 2 classes), or None (images only).
        class_names: with "inferred" labels, the subfolders to use (a subset), in this order.
        color_mode: "rgb" (3 channels), "rgba" (4) or "grayscale" (1).
        batch_size: images per batch (default 32); None gives one image per element.
        image_size: (height, width) every image is resized to (default (256, 256)).
        shuffle: shuffle the files (default True); each epoch visits them in a new order.
        seed: seed of the shuffle and of the split.
        validation_split: fraction (0..1) of the files kept for validation, taken from the end.
        subset: "training", "validation" or "both" (returns both datasets); only with `validation_split`.
        interpolation: "bilinear" (default), "nearest", "bicubic" or "area".
        follow_links: visit subfolders behind symbolic links (each real folder once).
        crop_to_aspect_ratio: crop the largest centered window of the target aspect ratio before resizing.
        pad_to_aspect_ratio: resize keeping the aspect ratio, then pad with zeros (`tf.image.resize_with_pad`).
        data_format: "channels_last" (default) or "channels_first".
        format: "tf" or "grain" (Keras's choice of pipeline); both give a `cnnkit.data` dataset.
        verbose: print how many files were found and used.

    Returns:
        A `cnnkit.data.ImageFolderDataset` with `class_names` and `file_paths` (a list of two for
        `subset="both"`). Images are float32 `(batch, height, width, channels)` of 0..255 values.

    Raises:
        ValueError: for an invalid argument, or when no image is found (the error names the folder).
        The error of a file that cannot be decoded names the file and is raised while iterating.

    Example:
        >>> train_ds, val_ds = image_dataset_from_directory(  # doctest: +SKIP
        ...     "train", validation_split=0.2, subset="both", seed=1337, image_size=(180, 180), batch_size=64)
        >>> model.fit(train_ds, validation_data=val_ds, epochs=10)  # doctest: +SKIP
    """
    from cnnkit.data.image_folder import ImageFolderDataset

    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("`labels` argument should be a list/tuple of integer labels, of the same size as the "
                             "number of image files in the target directory. If you wish to infer the labels from "
                             'the subdirectory names in the target directory, pass `labels="inferred"`. If you wish '
                             f"to get a dataset that only contains images (no labels), pass `labels=None`. "
                             f"Received: labels={labels}")
        if class_names:
            raise ValueError(f'You can only pass `class_names` if `labels="inferred"`. Received: labels={labels}, '
                             f"and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or None. '
                         f"Received: label_mode={label_mode}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if color_mode not in _CHANNELS:
        raise ValueError('`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
                         f"Received: color_mode={color_mode}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError("Invalid `image_size` value. Expected a tuple of 2 integers. "
                         f"Received: image_size={image_size}")
    interpolation = interpolation.lower()
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"Argument `interpolation` should be one of {_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation}")
    from cnnkit.layers.preprocessing._resize import check_interpolation

    check_interpolation(interpolation, "image_dataset_from_directory")
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to `True`.")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f'`data_format` must be "channels_last", "channels_first" or None. '
                         f"Received: data_format={data_format}")
    check_validation_split_arg(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = index_directory(directory, labels, ALLOWLIST_FORMATS, class_names, shuffle, seed,
                                                 follow_links, verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
                         f"Received: class_names={class_names}")
    load_arguments = (tuple(image_size), _CHANNELS[color_mode], interpolation, crop_to_aspect_ratio,
                      pad_to_aspect_ratio)

    def dataset(subset_paths, subset_labels, subset_shuffle):
        result = ImageFolderDataset(subset_paths, subset_labels, label_mode, class_names, batch_size,
                                    subset_shuffle, seed, load_arguments)
        if data_format == "channels_first":
            transpose = (lambda x: x.movedim(-1, -3)) if batch_size is None else (lambda x: x.movedim(-1, 1))
            return _with_attributes(result.map(lambda x, *y: (transpose(x), *y) if y else transpose(x)), result)
        return result

    if subset == "both":
        splits = [get_training_or_validation_split(paths, labels, validation_split, part)
                  for part in ("training", "validation")]
        for (part_paths, _), part in zip(splits, ("training", "validation")):
            if not part_paths:
                raise ValueError(f"No {part} images found in directory {directory}. "
                                 f"Allowed formats: {ALLOWLIST_FORMATS}")
        return [dataset(*splits[0], shuffle), dataset(*splits[1], False)]
    paths, labels = get_training_or_validation_split(paths, labels, validation_split, subset)
    if not paths:
        raise ValueError(f"No images found in directory {directory}. Allowed formats: {ALLOWLIST_FORMATS}")
    return dataset(paths, labels, shuffle)


def _with_attributes(mapped, source):
    mapped.class_names, mapped.file_paths = source.class_names, source.file_paths
    return mapped


def check_validation_split_arg(validation_split, subset, shuffle, seed):
    """Keras's checks of `validation_split` and `subset`."""
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a `seed` argument, "
                         "to make sure that there is no overlap between the training and validation subset.")


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None, follow_links=False,
                    verbose=True):
    """`(file_paths, labels, class_names)` of the files of `directory`, listed and shuffled as Keras does: classes
    in sorted folder order, files in sorted walk order, then paths and labels shuffled by
    `np.random.RandomState(seed)` (the same permutation for both)."""
    if not os.path.isdir(directory):
        raise ValueError(f"Could not find directory {directory}")
    if labels == "inferred":
        subdirs = [name for name in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(set(subdirs)):
                raise ValueError("The `class_names` passed did not match the names of the subdirectories of the target "
                                 f"directory. Expected: {subdirs} (or a subset of it), but received: "
                                 f"class_names={class_names}")
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be specified."
                             if labels is None else
                             "When argument `labels` is specified, argument `class_names` cannot be specified (the "
                             "`class_names` will be the sorted list of labels).")
    filenames, label_list = [], []
    for index, subdir in enumerate(subdirs):
        for path in _valid_files(os.path.join(directory, subdir), follow_links, formats):
            filenames.append(path)
            label_list.append(index)
    if labels == "inferred":
        labels, class_names = np.asarray(label_list, dtype="int32"), list(subdirs)
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(filenames):
            raise ValueError(f"Expected the lengths of `labels` to match the number of files in the target directory. "
                             f"len(labels) is {len(labels)} while we found {len(filenames)} files in directory "
                             f"{directory}.")
        class_names = [str(label) for label in sorted(set(labels))]
    if verbose:
        print(f"Found {len(filenames)} files." if labels is None else
              f"Found {len(filenames)} files belonging to {len(class_names)} classes.")
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(filenames)
        if labels is not None:
            labels = np.array(labels)  # Keras shuffles the list it was given in place; a copy here
            np.random.RandomState(seed).shuffle(labels)
    return filenames, labels, class_names


def _valid_files(directory, follow_links, formats):
    """Paths of the files under `directory` whose names end with one of `formats`, in Keras's order (folders
    sorted by path, files by name). With `follow_links`, a folder reached again through a link (a loop) is
    skipped with a warning, where Keras would list its files again at each level."""
    seen, walked = set(), []
    for root, dirs, files in os.walk(directory, followlinks=follow_links):
        if follow_links:
            real = os.path.realpath(root)
            if real in seen:
                warnings.warn(f"Skipping {root}: it is a link to the folder {real}, already listed (a link loop).",
                              stacklevel=4)
                dirs[:] = []
                continue
            seen.add(real)
        walked.append((root, files))
    for root, files in sorted(walked, key=lambda entry: entry[0]):
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield os.path.join(root, name)


def get_training_or_validation_split(samples, labels, validation_split, subset):
    """The last `int(validation_split * len(samples))` samples for "validation", the others for "training",
    with Keras's messages."""
    if not validation_split:
        return samples, labels
    num_val_samples = int(validation_split * len(samples))
    if subset == "training":
        print(f"Using {len(samples) - num_val_samples} files for training.")
        samples, labels = samples[:-num_val_samples], None if labels is None else labels[:-num_val_samples]
    elif subset == "validation":
        print(f"Using {num_val_samples} files for validation.")
        samples, labels = samples[-num_val_samples:], None if labels is None else labels[-num_val_samples:]
    else:
        raise ValueError(f'`subset` must be either "training" or "validation", received: {subset}')
    return samples, labels
