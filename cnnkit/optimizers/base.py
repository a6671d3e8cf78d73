"""The optimizer base: learning rate, slots, clipping, weight decay, state.

Subclasses name their slot variables and write one `_update` over whole lists
of tensors with `torch._foreach_*` ops, so a step costs a handful of kernel
launches whatever the number of parameters, and never waits on the device.
"""

import numbers

import torch

# Keras-only config keys that cnnkit accepts at their defaults (so a Keras
# config loads) and refuses otherwise.
_KERAS_ONLY_DEFAULTS = {
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def _check_float(name, value, low, high, owner, high_inclusive=True):
    """Returns `value` as a float, or raises naming the argument and its range."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = low <= value and (value <= high if high_inclusive else value < high)
    if not ok:
        closing = "]" if high_inclusive else ")"
        raise ValueError(
            f"Argument `{name}` of optimizer {owner} must be a float in "
            f"[{low}, {high}{closing}. Received: {name}={value!r}"
        )
    return value


def _check_positive_or_none(name, value, owner, allow_zero=False):
    """Returns None or `value` as a float > 0 (>= 0 with `allow_zero`)."""
    if value is None:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if value > 0 or (allow_zero and value == 0):
            return float(value)
    bound = ">= 0" if allow_zero else "> 0"
    raise ValueError(
        f"Argument `{name}` of optimizer {owner} must be a float {bound} or None. "
        f"Received: {name}={value!r}"
    )


def _clip_by_value(grads, clipvalue):
    clipped = torch._foreach_clamp_min(grads, -clipvalue)
    torch._foreach_clamp_max_(clipped, clipvalue)
    return clipped


def _clip_by_norm(grads, clipnorm):
    """Each gradient times clipnorm / max(its L2 norm, clipnorm), as Keras."""
    scales = torch._foreach_norm(grads)
    torch._foreach_clamp_min_(scales, clipnorm)
    torch._foreach_reciprocal_(scales)
    torch._foreach_mul_(scales, clipnorm)
    return torch._foreach_mul(grads, scales)


def _clip_by_global_norm(grads, clipnorm):
    """All gradients times one factor; NaN when the global norm is not finite, as Keras."""
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    scale = clipnorm * torch.clamp_max(total.reciprocal(), 1.0 / clipnorm)
    scale = scale + (total - total)
    return torch._foreach_mul(grads, scale)


class Optimizer:
    """Base class of cnnkit optimizers: Keras 3 behaviour on torch parameters.

    Args:
        learning_rate: float, or a callable `schedule(iterations) -> float`.
        weight_decay: float or None. If set, each step first shrinks every
            updated parameter: `p -= p * weight_decay * learning_rate`.
        clipnorm: float or None. Clips each gradient to this L2 norm.
        clipvalue: float or None. Clips each gradient element to
            `[-clipvalue, clipvalue]`.
        global_clipnorm: float or None. Scales all gradients together so that
            their joint L2 norm is at most this value.
        name: str or None. Defaults to the lower-case class name.

    At most one of `clipnorm`, `clipvalue` and `global_clipnorm` may be set.

    Example:
        >>> import torch
        >>> from cnnkit.optimizers import SGD
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> opt = SGD(learning_rate=0.5)
        >>> opt.build([w])
        >>> w.grad = torch.ones(2)
        >>> opt.step()
        >>> w.data.tolist(), opt.iterations
        ([0.5, 0.5], 1)
    """

    def __init__(
        self,
        learning_rate,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name=None,
    ):
        self.name = name if name is not None else type(self).__name__.lower()
        self.learning_rate = learning_rate
        self.weight_decay = _check_positive_or_none(
            "weight_decay", weight_decay, self.name, allow_zero=True
        )
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        if sum(v is not None for v in clips.values()) > 1:
            given = ", ".join(f"{k}={v!r}" for k, v in clips.items())
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: {given}"
            )
        self.clipnorm = _check_positive_or_none("clipnorm", clipnorm, self.name)
        self.clipvalue = _check_positive_or_none("clipvalue", clipvalue, self.name)
        self.global_clipnorm = _check_positive_or_none("global_clipnorm", global_clipnorm, self.name)
        self.iterations = 0
        self.built = False
        self._params = []
        self._slots = {}

    # ----------------------------------------------------------- learning rate
    @property
    def learning_rate(self):
        """The learning rate for the next step, as a float."""
        if self._schedule is not None:
            return float(self._schedule(self.iterations))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value):
            self._schedule, self._learning_rate = value, None
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            self._schedule, self._learning_rate = None, float(value)
        else:
            raise ValueError(
                f"Argument `learning_rate` of optimizer {self.name} must be a float or a "
                f"callable schedule(iterations) -> float. Received: learning_rate={value!r}"
            )

    # ------------------------------------------------------------ build, step
    def _slot_names(self):
        """Names of the per-parameter state tensors this optimizer keeps."""
        return ()

    def build(self, params):
        """Creates the zero-filled slot variables for `params` (a list of tensors).

        Building again with the same parameters does nothing, as in Keras.
        """
        params = list(params)
        if self.built:
            if len(params) == len(self._params) and all(
                a is b for a, b in zip(params, self._params)
            ):
                return
            raise ValueError(
                f"Optimizer {self.name} is already built for {len(self._params)} other "
                f"parameters; create a new optimizer for a new set. Received: "
                f"{len(params)} parameters"
            )
        for i, p in enumerate(params):
            if not isinstance(p, torch.Tensor) or not p.is_floating_point():
                raise ValueError(
                    f"Optimizer {self.name} expects floating-point tensors. "
                    f"Received at index {i}: {type(p).__name__}"
                    + (f" of dtype {p.dtype}" if isinstance(p, torch.Tensor) else "")
                )
        self._params = params
        self._slots = {
            slot: [torch.zeros_like(p, memory_format=torch.preserve_format) for p in params]
            for slot in self._slot_names()
        }
        self.built = True

    def _with_grads(self):
        """The parameters that have a gradient, their gradients and their slots."""
        grads = [p.grad for p in self._params]
        if all(g is not None for g in grads):
            return self._params, grads, self._slots
        keep = [i for i, g in enumerate(grads) if g is not None]
        params = [self._params[i] for i in keep]
        slots = {k: [v[i] for i in keep] for k, v in self._slots.items()}
        return params, [grads[i] for i in keep], slots

    def _clip(self, grads):
        if self.clipnorm is not None:
            return _clip_by_norm(grads, self.clipnorm)
        if self.global_clipnorm is not None:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue is not None:
            return _clip_by_value(grads, self.clipvalue)
        return grads

    @torch.no_grad()
    def step(self):
        """Applies each built parameter's `.grad` (those that are None are skipped)."""
        if not self.built:
            raise RuntimeError(
                f"Optimizer {self.name} has no parameters: call `build(params)` before `step()`."
            )
        params, grads, slots = self._with_grads()
        if params:
            lr = self.learning_rate
            grads = self._clip(grads)
            if self.weight_decay:
                torch._foreach_mul_(params, 1.0 - self.weight_decay * lr)
            self._update(params, grads, slots, lr)
        self.iterations += 1

    def _update(self, params, grads, slots, lr):
        """Updates `params` in place; `slots` maps slot names to aligned lists."""
        raise NotImplementedError(f"{type(self).__name__} must implement `_update`.")

    def zero_grad(self):
        """Sets the gradient of every built parameter to None."""
        for p in self._params:
            p.grad = None

    # ------------------------------------------------------------------ config
    def get_config(self):
        """A JSON-serialisable dict of the constructor arguments.

        A schedule is not serialisable: its value at the current step is saved.
        """
        return {
            "name": self.name,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
        }

    @classmethod
    def from_config(cls, config):
        """Builds a new optimizer from `get_config()` output (Keras's too)."""
        config = dict(config)
        for key, default in _KERAS_ONLY_DEFAULTS.items():
            value = config.pop(key, default)
            if value != default:
                raise ValueError(
                    f"cnnkit optimizers do not support `{key}`; expected {key}={default!r}. "
                    f"Received: {key}={value!r}"
                )
        return cls(**config)

    # ------------------------------------------------------------------- state
    def variables_state(self):
        """The optimizer's state as flat `name -> tensor` (for safetensors).

        Keys: "iterations" (0-d int64), "learning_rate" (0-d float64, only
        when it is a float), and "<slot>.<index>" for each parameter's slots.
        """
        state = {"iterations": torch.tensor(self.iterations, dtype=torch.int64)}
        if self._schedule is None:
            state["learning_rate"] = torch.tensor(self._learning_rate, dtype=torch.float64)
        for slot, tensors in self._slots.items():
            for i, t in enumerate(tensors):
                state[f"{slot}.{i}"] = t
        return state

    def load_variables_state(self, state):
        """Restores what `variables_state()` returned; build the optimizer first.

        A saved "learning_rate" is ignored when this optimizer uses a schedule.
        """
        expected = self.variables_state()
        missing = [k for k in expected if k not in state and k != "learning_rate"]
        unexpected = [k for k in state if k not in expected and k != "learning_rate"]
        if missing or unexpected:
            hint = "" if self.built else " (call `build(params)` first)"
            raise ValueError(
                f"Optimizer {self.name}{hint}: state does not match. "
                f"Missing keys: {missing}; unexpected keys: {unexpected}"
            )
        for key, target in expected.items():
            if key in state and tuple(state[key].shape) != tuple(target.shape):
                raise ValueError(
                    f"Optimizer {self.name}: shape mismatch for '{key}': the optimizer has "
                    f"{tuple(target.shape)}, the state has {tuple(state[key].shape)}"
                )
        self.iterations = int(state["iterations"])
        if "learning_rate" in state and self._schedule is None:
            self._learning_rate = float(state["learning_rate"])
        with torch.no_grad():
            for slot, tensors in self._slots.items():
                for i, t in enumerate(tensors):
                    t.copy_(state[f"{slot}.{i}"])

    def __repr__(self):
        lr = "schedule" if self._schedule is not None else self._learning_rate
        return f"{type(self).__name__}(name={self.name!r}, learning_rate={lr})"

