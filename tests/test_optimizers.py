"""cnnkit.optimizers against a NumPy reference of Keras's rules and Keras's own numbers."""

import json
import math

import numpy as np
import pytest
import torch

from cnnkit import optimizers
from cnnkit.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop

W0 = [np.array([[0.5, -1.0], [1.5, 2.0]]), np.array([0.1, -0.3, 0.2])]
GRADS = [  # three steps; the last is small so that AMSGrad's max matters
    [np.array([[0.2, -0.4], [1.0, 0.05]]), np.array([-0.3, 0.6, 0.1])],
    [np.array([[-0.1, 0.3], [0.5, 0.2]]), np.array([0.2, 0.4, -0.5])],
    [np.array([[0.01, -0.02], [0.03, 0.0]]), np.array([0.05, -0.01, 0.02])],
]


# ------------------------------------------------------------ NumPy reference
def _ref_clip(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    grads = [g.copy() for g in grads]
    if clipnorm is not None:
        for g in grads:
            norm = math.sqrt(sum(x * x for x in g.flat))
            g *= clipnorm / max(norm, clipnorm)
    if global_clipnorm is not None:
        norm = math.sqrt(sum(x * x for g in grads for x in g.flat))
        for g in grads:
            g *= global_clipnorm / max(norm, global_clipnorm)
    if clipvalue is not None:
        grads = [np.clip(g, -clipvalue, clipvalue) for g in grads]
    return grads


def _ref_run(kind, lrs, weight_decay=None, clip=None, **hyper):
    """Keras's update rules, one element at a time, for len(lrs) steps."""
    weights = [w.copy() for w in W0]
    state = [{k: np.zeros_like(w) for k in ("m", "v", "a", "vhat")} for w in weights]
    for t, (grads, lr) in enumerate(zip(GRADS, lrs), start=1):
        grads = _ref_clip(grads, **(clip or {}))
        for w, g, s in zip(weights, grads, state):
            if weight_decay:
                w -= w * weight_decay * lr
            for i in np.ndindex(w.shape):
                w[i] = _REF_RULES[kind](w[i], g[i], s, i, lr, t, **hyper)
    return weights


def _ref_sgd(w, g, s, i, lr, t, momentum=0.0, nesterov=False):
    if momentum == 0:
        return w - lr * g
    s["m"][i] = momentum * s["m"][i] - lr * g
    return w + (momentum * s["m"][i] - lr * g if nesterov else s["m"][i])


def _ref_rmsprop(w, g, s, i, lr, t, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    s["v"][i] = rho * s["v"][i] + (1 - rho) * g * g
    denominator = s["v"][i]
    if centered:
        s["a"][i] = rho * s["a"][i] + (1 - rho) * g
        denominator = denominator - s["a"][i] ** 2
    increment = lr * g / math.sqrt(denominator + epsilon)
    if momentum > 0:
        s["m"][i] = momentum * s["m"][i] + increment
        return w - s["m"][i]
    return w - increment


def _ref_adam(w, g, s, i, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    alpha = lr * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    s["m"][i] += (g - s["m"][i]) * (1 - beta_1)
    s["v"][i] += (g * g - s["v"][i]) * (1 - beta_2)
    v = s["v"][i]
    if amsgrad:
        s["vhat"][i] = max(s["vhat"][i], v)
        v = s["vhat"][i]
    return w - alpha * s["m"][i] / (math.sqrt(v) + epsilon)


_REF_RULES = {"sgd": _ref_sgd, "rmsprop": _ref_rmsprop, "adam": _ref_adam, "adamw": _ref_adam}


# ------------------------------------------------------------------ helpers
def _params(dtype=torch.float64):
    return [torch.nn.Parameter(torch.tensor(w, dtype=dtype)) for w in W0]


def _run(opt, params, steps=3, lrs=None):
    opt.build(params)
    for k, grads in enumerate(GRADS[:steps]):
        if lrs is not None:
            opt.learning_rate = lrs[k]
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g, dtype=p.dtype)
        opt.step()
    return [p.detach().numpy() for p in params]


CASES = {  # id: (class, constructor kwargs, reference kind, reference kwargs)
    "sgd": (SGD, {}, "sgd", {}),
    "sgd_momentum": (SGD, {"momentum": 0.9}, "sgd", {"momentum": 0.9}),
    "sgd_nesterov": (SGD, {"momentum": 0.9, "nesterov": True}, "sgd",
                     {"momentum": 0.9, "nesterov": True}),
    "sgd_weight_decay": (SGD, {"weight_decay": 0.1}, "sgd", {"weight_decay": 0.1}),
    "sgd_clipvalue": (SGD, {"clipvalue": 0.3}, "sgd", {"clip": {"clipvalue": 0.3}}),
    "rmsprop": (RMSprop, {}, "rmsprop", {}),
    "rmsprop_momentum": (RMSprop, {"momentum": 0.5}, "rmsprop", {"momentum": 0.5}),
    "rmsprop_centered": (RMSprop, {"centered": True}, "rmsprop", {"centered": True}),
    "rmsprop_momentum_centered": (RMSprop, {"momentum": 0.5, "centered": True}, "rmsprop",
                                  {"momentum": 0.5, "centered": True}),
    "rmsprop_weight_decay": (RMSprop, {"weight_decay": 0.2}, "rmsprop", {"weight_decay": 0.2}),
    "rmsprop_clipnorm": (RMSprop, {"clipnorm": 0.5}, "rmsprop", {"clip": {"clipnorm": 0.5}}),
    "adam": (Adam, {}, "adam", {}),
    "adam_amsgrad": (Adam, {"amsgrad": True}, "adam", {"amsgrad": True}),
    "adam_global_clipnorm": (Adam, {"global_clipnorm": 0.5}, "adam",
                             {"clip": {"global_clipnorm": 0.5}}),
    "adamw": (AdamW, {}, "adamw", {"weight_decay": 0.004}),
    "adamw_amsgrad": (AdamW, {"weight_decay": 0.1, "amsgrad": True}, "adamw",
                      {"weight_decay": 0.1, "amsgrad": True}),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("steps", [1, 2, 3])
def test_steps_match_numpy_reference(case, steps):
    cls, kwargs, kind, ref_kwargs = CASES[case]
    got = _run(cls(learning_rate=0.1, **kwargs), _params(), steps)
    want = _ref_run(kind, [0.1] * steps, **ref_kwargs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


# Final weights after the three steps above with learning_rate=0.1, float32
# variables, from Keras 3.15.1 (TensorFlow backend) `apply_gradients`.
KERAS_3_STEPS = {
    "sgd": ([[0.48899999, -0.98800004], [1.34700012, 1.97500002]], [0.10499999, -0.39900002, 0.23799999]),
    "sgd_momentum": ([[0.46380001, -0.94660002], [1.13100004, 1.94844997]], [0.13829999, -0.53760004, 0.26590002]),
    "sgd_nesterov": ([[0.45642000, -0.93994004], [1.01489997, 1.92860496]], [0.13947000, -0.61284006, 0.29730999]),
    "sgd_weight_decay": ([[0.47444749, -0.95879501], [1.30493855, 1.91589749]], [0.10163290, -0.38849574, 0.23175879]),
    "sgd_clipvalue": ([[0.48899999, -0.99800003], [1.43700004, 1.97500002]], [0.10499999, -0.35900003, 0.21799999]),
    "rmsprop": ([[0.31569371, -0.86612034], [1.02700949, 1.37614679]], [0.18703614, -0.79325455, 0.18138392]),
    "rmsprop_momentum_centered": ([[0.12373987, -0.69728231], [0.66367173, 0.91851306]], [0.36267367, -1.17975223, 0.08518348]),
    "rmsprop_clipnorm": ([[0.37040845, -0.91789770], [0.95204091, 1.37069988]], [0.16963173, -0.79290825, 0.17704810]),
    "adam": ([[0.34994569, -0.88161457], [1.23303795, 1.74321032]], [0.21673338, -0.57114679, 0.20355019]),
    "adam_amsgrad": ([[0.34994569, -0.88161457], [1.23304820, 1.74324453]], [0.21673338, -0.57111686, 0.20355019]),
    "adam_global_clipnorm": ([[0.37213045, -0.90841228], [1.22303092, 1.74934399]], [0.17730071, -0.57486707, 0.20915955]),
    "adamw": ([[0.34943658, -0.88049859], [1.23135579, 1.74092662]], [0.21652764, -0.57066810, 0.20336634]),
}


@pytest.mark.parametrize("case", sorted(KERAS_3_STEPS))
def test_three_steps_match_keras_numbers(case):
    cls, kwargs, _, _ = CASES[case]
    got = _run(cls(learning_rate=0.1, **kwargs), _params(torch.float32))
    for g, w in zip(got, KERAS_3_STEPS[case]):
        np.testing.assert_allclose(g, w, rtol=0, atol=3e-7)


def test_defaults_are_keras_defaults():
    expected = {  # from Keras 3.15.1 get_config()
        SGD: {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False, "weight_decay": None},
        RMSprop: {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                  "centered": False, "weight_decay": None},
        Adam: {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
               "amsgrad": False, "weight_decay": None},
        AdamW: {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                "amsgrad": False, "weight_decay": 0.004},
    }
    for cls, want in expected.items():
        config = cls().get_config()
        assert {k: config[k] for k in want} == want, cls.__name__


def test_rmsprop_epsilon_is_inside_the_sqrt():
    g, lr, rho, eps = 0.1, 0.01, 0.9, 1e-2
    keras_rule = -lr * g / math.sqrt((1 - rho) * g * g + eps)  # -0.0095346
    torch_rule = -lr * g / (math.sqrt((1 - rho) * g * g) + eps)  # -0.0240253
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = RMSprop(learning_rate=lr, rho=rho, epsilon=eps)
    opt.build([p])
    p.grad = torch.full_like(p, g)
    opt.step()
    q = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    q.grad = torch.full_like(q, g)
    torch.optim.RMSprop([q], lr=lr, alpha=rho, eps=eps).step()
    assert p.item() == pytest.approx(keras_rule, rel=1e-12)
    assert q.item() == pytest.approx(torch_rule, rel=1e-12)
    assert abs(p.item() - q.item()) > 1e-2


def test_adam_step_size_rounds_like_keras_in_float32():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = Adam(learning_rate=0.1)
    opt.build([p])
    p.grad = torch.ones(1)
    opt.step()
    # Keras 3.15.1, float32: one Adam step from 0 with gradient 1. Exact
    # float64 arithmetic would give -0.09999968; Keras's float32 rounding of
    # 1 - beta_2**t moves it by 7e-7, and cnnkit reproduces that.
    assert p.item() == pytest.approx(-0.09999901056289673, abs=1e-9)


def test_learning_rate_setter_takes_effect_on_next_step():
    opt = RMSprop(learning_rate=0.1, momentum=0.5)
    got = _run(opt, _params(), lrs=[0.1, 0.02, 0.3])
    want = _ref_run("rmsprop", [0.1, 0.02, 0.3], momentum=0.5)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    assert opt.learning_rate == 0.3 and isinstance(opt.learning_rate, float)


def test_learning_rate_schedule_sees_iterations():
    seen = []

    def schedule(iterations):
        seen.append(iterations)
        return 0.1 / (1 + iterations)

    opt = Adam(learning_rate=schedule, weight_decay=0.01)
    got = _run(opt, _params())
    want = _ref_run("adam", [0.1, 0.05, 0.1 / 3], weight_decay=0.01)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    assert seen == [0, 1, 2] and opt.learning_rate == pytest.approx(0.025)


def test_params_without_grad_are_skipped():
    params = _params()
    opt = Adam(learning_rate=0.1, weight_decay=0.5)
    opt.build(params)
    params[0].grad = torch.tensor(GRADS[0][0])
    opt.step()
    np.testing.assert_array_equal(params[1].detach().numpy(), W0[1])
    assert not opt.variables_state()["momentum.1"].any()
    assert params[0].detach().numpy()[0, 0] != W0[0][0, 0]
    assert opt.iterations == 1


def test_zero_grad_sets_grads_to_none():
    params = _params()
    opt = SGD()
    opt.build(params)
    for p in params:
        p.grad = torch.ones_like(p)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_slots_follow_memory_format():
    p = torch.nn.Parameter(torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last))
    opt = RMSprop(momentum=0.9, centered=True)
    opt.build([p])
    for name in ("velocity.0", "momentum.0", "average_gradient.0"):
        slot = opt.variables_state()[name]
        assert slot.is_contiguous(memory_format=torch.channels_last), name
        assert slot.shape == p.shape and slot.dtype == p.dtype


def test_build_twice():
    params = _params()
    opt = SGD(momentum=0.9)
    opt.build(params)
    slot = opt.variables_state()["momentum.0"]
    opt.build(params)  # same parameters: nothing changes, as in Keras
    assert opt.variables_state()["momentum.0"] is slot
    with pytest.raises(ValueError, match="already built"):
        opt.build(_params())


def test_step_before_build_raises():
    with pytest.raises(RuntimeError, match="build"):
        SGD().step()


# -------------------------------------------------------------------- get
@pytest.mark.parametrize(
    "name, cls",
    [("sgd", SGD), ("SGD", SGD), ("rmsprop", RMSprop), ("RMSprop", RMSprop),
     ("adam", Adam), ("Adam", Adam), ("adamw", AdamW), ("AdamW", AdamW)],
)
def test_get_by_name(name, cls):
    opt = optimizers.get(name)
    assert type(opt) is cls
    assert opt.get_config() == cls().get_config()


def test_get_instance_and_dict():
    opt = Adam(learning_rate=0.5)
    assert optimizers.get(opt) is opt
    got = optimizers.get({"class_name": "RMSprop", "config": {"learning_rate": 0.01, "rho": 0.8}})
    assert type(got) is RMSprop and got.learning_rate == 0.01 and got.rho == 0.8


@pytest.mark.parametrize("bad", ["adagrad", 3, None, {"class_name": "Nope", "config": {}}])
def test_get_unknown_names_known_and_received(bad):
    with pytest.raises(ValueError) as info:
        optimizers.get(bad)
    message = str(info.value)
    for known in ("adam", "adamw", "rmsprop", "sgd"):
        assert f"'{known}'" in message
    assert "Received" in message and repr(bad) in message


# ----------------------------------------------------------------- config
@pytest.mark.parametrize("case", sorted(CASES))
def test_config_round_trip(case):
    cls, kwargs, _, _ = CASES[case]
    opt = cls(learning_rate=0.05, name="opt", **kwargs)
    config = json.loads(json.dumps(opt.get_config()))
    again = cls.from_config(config)
    assert type(again) is cls and again.get_config() == opt.get_config()
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == opt.get_config()


def test_from_config_accepts_keras_only_defaults_and_refuses_others():
    keras_extra = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                   "loss_scale_factor": None, "gradient_accumulation_steps": None}
    opt = Adam.from_config({**Adam().get_config(), **keras_extra})
    assert opt.get_config() == Adam().get_config()
    with pytest.raises(ValueError, match="use_ema=True"):
        Adam.from_config({"use_ema": True})


# ------------------------------------------------------------------ state
@pytest.mark.parametrize("case", ["sgd_momentum", "rmsprop_momentum_centered", "adam_amsgrad"])
def test_variables_state_round_trip_gives_identical_next_step(case):
    cls, kwargs, _, _ = CASES[case]
    first = cls(learning_rate=0.1, **kwargs)
    params = _params()
    _run(first, params, steps=2)
    first.learning_rate = 0.07
    state = {k: v.clone() for k, v in first.variables_state().items()}
    assert state["iterations"].dtype == torch.int64 and state["iterations"].item() == 2

    second = cls(learning_rate=0.1, **kwargs)
    copies = [torch.nn.Parameter(p.detach().clone()) for p in params]
    second.build(copies)
    second.load_variables_state(state)
    assert second.iterations == 2 and second.learning_rate == 0.07
    for opt, ps in ((first, params), (second, copies)):
        for p, g in zip(ps, GRADS[2]):
            p.grad = torch.tensor(g)
        opt.step()
    for a, b in zip(params, copies):
        assert torch.equal(a, b)


def test_variables_state_through_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    opt = Adam()
    _run(opt, _params(), steps=2)
    st.save_file(opt.variables_state(), tmp_path / "opt.safetensors")
    loaded = Adam()
    loaded.build(_params())
    loaded.load_variables_state(st.load_file(tmp_path / "opt.safetensors"))
    for key, value in opt.variables_state().items():
        assert torch.equal(loaded.variables_state()[key], value), key


def test_load_variables_state_errors_name_the_key():
    opt = RMSprop(momentum=0.9)
    opt.build(_params())
    state = dict(opt.variables_state())
    del state["momentum.1"]
    with pytest.raises(ValueError, match=r"Missing keys: \['momentum.1'\]"):
        opt.load_variables_state(state)
    state = dict(opt.variables_state())
    state["velocity.0"] = torch.zeros(3, 3)
    with pytest.raises(ValueError, match=r"'velocity.0'.*\(2, 2\).*\(3, 3\)"):
        opt.load_variables_state(state)
    unbuilt = RMSprop(momentum=0.9)
    with pytest.raises(ValueError, match="build"):
        unbuilt.load_variables_state(opt.variables_state())


# ------------------------------------------------------------- validation
def test_only_one_clipping_argument():
    with pytest.raises(ValueError, match="clipnorm=1.0, clipvalue=0.5"):
        SGD(clipnorm=1.0, clipvalue=0.5)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SGD(momentum=1.5), "momentum=1.5"),
        (lambda: SGD(learning_rate="fast"), "learning_rate='fast'"),
        (lambda: RMSprop(clipnorm=-1.0), "clipnorm=-1.0"),
        (lambda: Adam(beta_1=1.0), "beta_1=1.0"),
        (lambda: AdamW(weight_decay=None), "weight_decay=None"),
    ],
)
def test_invalid_arguments_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_base_class_is_abstract():
    opt = Optimizer(learning_rate=0.1)
    opt.build(_params())
    for p in opt._params:
        p.grad = torch.ones_like(p)
    with pytest.raises(NotImplementedError):
        opt.step()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("case", ["sgd_nesterov", "rmsprop_momentum_centered", "adamw_amsgrad",
                                  "rmsprop_clipnorm", "adam_global_clipnorm"])
def test_step_never_syncs_with_the_device(case):
    cls, kwargs, _, _ = CASES[case]
    params = [torch.nn.Parameter(torch.tensor(w, device="cuda")) for w in W0]
    opt = cls(learning_rate=0.1, **kwargs)
    opt.build(params)
    for p, g in zip(params, GRADS[0]):
        p.grad = torch.tensor(g, device="cuda")
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        opt.step()
        opt.step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
