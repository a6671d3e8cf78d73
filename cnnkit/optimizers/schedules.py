"""Learning-rate schedules: callables `schedule(iterations) -> learning rate`.

An optimizer takes one as its `learning_rate` and asks it for the rate of every step.

Example:
    >>> from cnnkit.optimizers import Adam
    >>> from cnnkit.optimizers.schedules import OneCycle
    >>> optimizer = Adam(learning_rate=OneCycle(0.01, total_steps=1000))
"""

import math


class OneCycle:
    """The one-cycle policy: a linear warm-up to `max_learning_rate`, then a cosine decay.

    Args:
        max_learning_rate: float, the peak rate.
        total_steps: int, steps in the whole run (epochs * steps per epoch).
        warmup_fraction: float in (0, 1), the part of the run spent warming up. Default 0.25.
        start_divisor: the first rate is `max_learning_rate / start_divisor`. Default 25.
        end_divisor: the last rate is `max_learning_rate / end_divisor`. Default 1e4.

    Example:
        >>> schedule = OneCycle(0.01, total_steps=100, warmup_fraction=0.5)
        >>> round(schedule(0), 4), schedule(50), round(schedule(100), 7)
        (0.0004, 0.01, 1e-06)
    """

    def __init__(self, max_learning_rate, total_steps, warmup_fraction=0.25, start_divisor=25.0,
                 end_divisor=1e4):
        if not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"`total_steps` of OneCycle must be a positive int. Received: total_steps={total_steps!r}")
        if not 0 < warmup_fraction < 1:
            raise ValueError(f"`warmup_fraction` of OneCycle must be in (0, 1). Received: {warmup_fraction!r}")
        self.max_learning_rate = float(max_learning_rate)
        self.total_steps = total_steps
        self.warmup_steps = max(1, round(total_steps * warmup_fraction))
        self.start = self.max_learning_rate / start_divisor
        self.end = self.max_learning_rate / end_divisor

    def __call__(self, step):
        if step < self.warmup_steps:
            return self.start + (self.max_learning_rate - self.start) * step / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
        return self.end + (self.max_learning_rate - self.end) * (1 + math.cos(math.pi * progress)) / 2
