"""What ReduceLROnPlateau and LearningRateScheduler share: an optimizer whose learning rate they may set."""


def require_settable_learning_rate(optimizer, callback):
    """Raises TypeError, as Keras does, when `optimizer` follows a learning-rate schedule:
    setting its rate would silently replace the schedule.

    Keras raises when the callback first sets the rate; cnnkit checks when training begins,
    so that no epoch is trained in vain.
    """
    if getattr(optimizer, "_schedule", None) is not None:
        raise TypeError(
            f"{callback} cannot set the learning rate of optimizer '{optimizer.name}': it was created with a "
            "learning-rate schedule as its `learning_rate`, which sets the rate of every step. To use "
            f"{callback}, create the optimizer with a float `learning_rate`.")
