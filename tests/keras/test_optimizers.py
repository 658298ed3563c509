"""keras.optimizers: update rules by hand, Keras 3 oracle after 3 steps, API behaviour."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import constraints, optimizers
from tapeflow.keras.optimizers import schedules


@pytest.fixture(scope="module")
def K():
    return pytest.importorskip("keras", minversion="3")


def _vars(*values):
    return [tf.Variable(np.asarray(v, "float32")) for v in values]


# ---------------------------------------------------------------------------------------------
# Update rules by hand (float64 references written from the documented formulas)
# ---------------------------------------------------------------------------------------------

W0 = np.array([1.0, -2.0, 0.5])
GRADS = [np.array([0.5, -1.0, 0.0]), np.array([0.25, 0.5, -2.0])]


def _run(opt, grads=GRADS, w0=W0):
    var = tf.Variable(w0.astype("float32"))
    for g in grads:
        opt.apply_gradients([(tf.constant(g.astype("float32")), var)])
    return var.numpy()


def test_sgd_by_hand():
    assert _run(optimizers.SGD(0.1), [np.array([0.5, -1.0, 0.0])]) == pytest.approx([0.95, -1.9, 0.5])
    lr, mom = 0.1, 0.9
    w, m = W0.copy(), np.zeros(3)
    for g in GRADS:
        m = mom * m - lr * g
        w = w + m
    np.testing.assert_allclose(_run(optimizers.SGD(lr, momentum=mom)), w, rtol=1e-6)
    w, m = W0.copy(), np.zeros(3)
    for g in GRADS:
        m = mom * m - lr * g
        w = w + mom * m - lr * g
    np.testing.assert_allclose(_run(optimizers.SGD(lr, momentum=mom, nesterov=True)), w, rtol=1e-6)


def test_rmsprop_by_hand():
    lr, rho, eps = 0.01, 0.9, 1e-7
    w, v = W0.copy(), np.zeros(3)
    for g in GRADS:
        v = rho * v + (1 - rho) * g * g
        w = w - lr * g / np.sqrt(v + eps)
    np.testing.assert_allclose(_run(optimizers.RMSprop(lr)), w, rtol=1e-5)
    # centered with momentum
    w, v, a, m = W0.copy(), np.zeros(3), np.zeros(3), np.zeros(3)
    for g in GRADS:
        v = rho * v + (1 - rho) * g * g
        a = rho * a + (1 - rho) * g
        m = 0.5 * m + lr * g / np.sqrt(v - a * a + eps)
        w = w - m
    np.testing.assert_allclose(_run(optimizers.RMSprop(lr, momentum=0.5, centered=True)), w, rtol=1e-5)


def _adam_ref(amsgrad=False, wd=None, lr=0.01, b1=0.9, b2=0.999, eps=1e-7):
    w, m, v, vhat = W0.copy(), np.zeros(3), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        if wd:
            w = w - w * wd * lr
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        vhat = np.maximum(vhat, v)
        w = w - m * alpha / (np.sqrt(vhat if amsgrad else v) + eps)
    return w


def test_adam_adamw_by_hand():
    np.testing.assert_allclose(_run(optimizers.Adam(0.01)), _adam_ref(), rtol=1e-5)
    np.testing.assert_allclose(_run(optimizers.Adam(0.01, amsgrad=True)), _adam_ref(amsgrad=True),
                               rtol=1e-5)
    np.testing.assert_allclose(_run(optimizers.AdamW(0.01)), _adam_ref(wd=0.004), rtol=1e-5)
    # The very first Adam step moves each weight by about lr * sign(g).
    first = _run(optimizers.Adam(0.01), [np.array([0.5, -1.0, 3.0])])
    np.testing.assert_allclose(first - W0, [-0.01, 0.01, -0.01], rtol=1e-4)


def test_adagrad_adadelta_adamax_nadam_by_hand():
    lr, eps = 0.1, 1e-7
    w, acc = W0.copy(), np.full(3, 0.1)
    for g in GRADS:
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc + eps)
    np.testing.assert_allclose(_run(optimizers.Adagrad(lr)), w, rtol=1e-5)

    rho = 0.95
    w, eg, ed = W0.copy(), np.zeros(3), np.zeros(3)
    for g in GRADS:
        eg = rho * eg + (1 - rho) * g * g
        delta = -np.sqrt(ed + eps) * g / np.sqrt(eg + eps)
        ed = rho * ed + (1 - rho) * delta * delta
        w = w + 1.0 * delta
    np.testing.assert_allclose(_run(optimizers.Adadelta(1.0)), w, rtol=1e-5)

    b1, b2 = 0.9, 0.999
    w, m, u = W0.copy(), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        m = m + (g - m) * (1 - b1)
        u = np.maximum(b2 * u, np.abs(g))
        w = w - lr * m / ((1 - b1**t) * (u + eps))
    np.testing.assert_allclose(_run(optimizers.Adamax(lr)), w, rtol=1e-5)

    w, m, v, uprod = W0.copy(), np.zeros(3), np.zeros(3), 1.0
    for t, g in enumerate(GRADS, start=1):
        u_t = b1 * (1 - 0.5 * 0.96**t)
        u_t1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        uprod = uprod * u_t
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        m_hat = u_t1 * m / (1 - uprod * u_t1) + (1 - u_t) * g / (1 - uprod)
        v_hat = v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(_run(optimizers.Nadam(lr)), w, rtol=1e-5)


def test_clipping_and_weight_decay_by_hand():
    g = np.array([3.0, 4.0, 0.0])  # norm 5
    np.testing.assert_allclose(_run(optimizers.SGD(1.0, clipnorm=1.0), [g]), W0 - g / 5, rtol=1e-6)
    np.testing.assert_allclose(_run(optimizers.SGD(1.0, clipvalue=0.5), [g]), W0 - [0.5, 0.5, 0.0],
                               rtol=1e-6)
    # Global norm over two variables: norms 5 and 12 -> 13.
    a, b = _vars([0.0, 0.0], [0.0])
    opt = optimizers.SGD(1.0, global_clipnorm=1.3)
    opt.apply_gradients([(tf.constant([3.0, 4.0]), a), (tf.constant([12.0]), b)])
    np.testing.assert_allclose(a.numpy(), [-0.3, -0.4], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [-1.2], rtol=1e-6)
    # Weight decay before the step: w -= w * wd * lr.
    out = _run(optimizers.SGD(0.1, weight_decay=0.5), [np.zeros(3)])
    np.testing.assert_allclose(out, W0 * (1 - 0.05), rtol=1e-6)
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


# ---------------------------------------------------------------------------------------------
# Oracle: same weights after 3 steps as Keras 3
# ---------------------------------------------------------------------------------------------

ORACLE_CASES = [
    ("SGD", {}), ("SGD", {"momentum": 0.9}), ("SGD", {"momentum": 0.8, "nesterov": True}),
    ("RMSprop", {}), ("RMSprop", {"rho": 0.8, "momentum": 0.5, "centered": True}),
    ("Adam", {}), ("Adam", {"amsgrad": True, "beta_1": 0.8, "epsilon": 1e-4}), ("AdamW", {}),
    ("AdamW", {"weight_decay": 0.1, "amsgrad": True}), ("Adagrad", {}),
    ("Adagrad", {"initial_accumulator_value": 0.5}), ("Adadelta", {"learning_rate": 1.0}),
    ("Adamax", {}), ("Nadam", {}), ("SGD", {"clipnorm": 0.5}), ("Adam", {"global_clipnorm": 0.7}),
    ("RMSprop", {"clipvalue": 0.2}), ("SGD", {"weight_decay": 0.1, "momentum": 0.5}),
    ("SGD", {"use_ema": True, "ema_momentum": 0.5, "ema_overwrite_frequency": 2}),
    ("Adam", {"gradient_accumulation_steps": 2}), ("Adam", {"loss_scale_factor": 8.0}),
]


@pytest.mark.parametrize("name,kwargs", ORACLE_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(ORACLE_CASES)])
def test_three_steps_match_keras(K, name, kwargs):
    rng = np.random.default_rng(3)
    w0 = [rng.standard_normal((3, 2)).astype("float32"), rng.standard_normal(2).astype("float32")]
    steps = [[rng.standard_normal(w.shape).astype("float32") for w in w0] for _ in range(3)]
    steps[1][1][:] = 0.0
    kwargs = dict(kwargs)
    kwargs.setdefault("learning_rate", 0.05)
    ours = getattr(optimizers, name)(**kwargs)
    theirs = getattr(K.optimizers, name)(**kwargs)
    ov = [tf.Variable(w) for w in w0]
    kv = [K.Variable(w) for w in w0]
    for grads in steps:
        ours.apply_gradients(zip([tf.constant(g) for g in grads], ov, strict=True))
        theirs.apply_gradients(zip([K.ops.convert_to_tensor(g) for g in grads], kv, strict=True))
    for a, b in zip(ov, kv, strict=True):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), atol=1e-5, rtol=1e-5)
    assert int(ours.iterations) == int(np.asarray(theirs.iterations))
    assert len(ours.variables) == len(theirs.variables)
    for a, b in zip(ours.variables, theirs.variables, strict=True):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(np.asarray(a.numpy(), "float64"), np.asarray(b, "float64"),
                                   atol=1e-5, rtol=1e-4)


def test_defaults_match_keras(K):
    for name in ("SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam"):
        ours = getattr(optimizers, name)().get_config()
        theirs = getattr(K.optimizers, name)().get_config()
        for key, value in theirs.items():
            if key == "name":
                continue
            assert ours[key] == pytest.approx(value), (name, key)


def test_schedule_learning_rate_matches_keras(K):
    kw = {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}
    ours = optimizers.Adam(schedules.ExponentialDecay(**kw))
    theirs = K.optimizers.Adam(K.optimizers.schedules.ExponentialDecay(**kw))
    ov, kv = tf.Variable([1.0, 2.0]), K.Variable(np.array([1.0, 2.0], "float32"))
    for g in ([0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]):
        ours.apply_gradients([(tf.constant(g), ov)])
        theirs.apply_gradients([(K.ops.convert_to_tensor(np.array(g, "float32")), kv)])
    np.testing.assert_allclose(ov.numpy(), np.asarray(kv), atol=1e-6)
    assert float(ours.learning_rate) == pytest.approx(float(np.asarray(theirs.learning_rate)))


# ---------------------------------------------------------------------------------------------
# API behaviour
# ---------------------------------------------------------------------------------------------

def test_learning_rate_float_settable_and_schedule():
    opt = optimizers.SGD(learning_rate=0.1)
    assert isinstance(opt.learning_rate, tf.Variable)
    assert float(opt.learning_rate) == pytest.approx(0.1)
    opt.learning_rate = 0.5
    assert float(opt.learning_rate) == pytest.approx(0.5)
    var = tf.Variable([1.0])
    opt.apply_gradients([(tf.constant([1.0]), var)])
    assert var.numpy()[0] == pytest.approx(0.5)
    opt.learning_rate.assign(0.25)
    opt.apply_gradients([(tf.constant([1.0]), var)])
    assert var.numpy()[0] == pytest.approx(0.25)
    assert opt.get_config()["learning_rate"] == pytest.approx(0.25)

    sched = optimizers.SGD(learning_rate=schedules.PiecewiseConstantDecay([1], [1.0, 0.5]))
    var = tf.Variable([0.0])
    for _ in range(3):
        sched.apply_gradients([(tf.constant([1.0]), var)])
    assert var.numpy()[0] == pytest.approx(-(1.0 + 1.0 + 0.5))
    with pytest.raises(TypeError, match="not settable"):
        sched.learning_rate = 0.1
    assert optimizers.SGD(learning_rate=lambda: 0.3).learning_rate == pytest.approx(0.3)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.SGD(learning_rate="fast")


def test_iterations_is_an_int64_variable():
    opt = optimizers.Adam()
    assert isinstance(opt.iterations, tf.Variable) and opt.iterations.dtype == tf.int64
    assert not opt.iterations.trainable
    var = tf.Variable([1.0])
    for _ in range(4):
        opt.apply_gradients([(tf.constant([0.1]), var)])
    assert int(opt.iterations) == 4
    assert opt.variables[0] is opt.iterations


def test_none_gradients_are_skipped_and_all_none_raises():
    a, b = _vars([1.0], [2.0])
    opt = optimizers.SGD(0.5)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(tf.constant([1.0]), a), (None, b)])
    assert a.numpy()[0] == pytest.approx(0.5) and b.numpy()[0] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply_gradients([(None, a), (None, b)])


def test_unknown_variable_and_apply_without_build():
    a, b = _vars([1.0], [2.0])
    opt = optimizers.Adam()
    opt.apply_gradients([(tf.constant([1.0]), a)])
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply_gradients([(tf.constant([1.0]), b)])
    with pytest.raises(ValueError, match="build"):
        optimizers.SGD().apply([tf.constant([1.0])])
    a, b = _vars([1.0], [2.0])
    opt = optimizers.SGD(1.0)
    opt.build([a, b])
    opt.apply([tf.constant([0.5]), tf.constant([1.0])])
    np.testing.assert_allclose([a.numpy()[0], b.numpy()[0]], [0.5, 1.0])


def test_updates_in_place_without_tape_records():
    var = tf.Variable(np.ones((3, 2), "float32"))
    before = var._value
    opt = optimizers.RMSprop(momentum=0.5)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(var * var)
        n_records = len(tape._records)
        opt.apply_gradients([(tf.ones((3, 2)), var)])
        assert len(tape._records) == n_records
    assert var._value is before
    assert tape.gradient(y, var) is not None


def test_minimize_with_callable_and_with_tape():
    var = tf.Variable(1.0)
    opt = optimizers.SGD(learning_rate=0.1)
    opt.minimize(lambda: (var**2) / 2.0, [var])
    assert var.numpy() == pytest.approx(0.9)
    with tf.GradientTape() as tape:
        loss = var * 3.0
    opt.minimize(loss, [var], tape=tape)
    assert var.numpy() == pytest.approx(0.6)
    with pytest.raises(ValueError, match="tape"):
        opt.minimize(var * 2.0, [var])


def test_constraint_applied_after_update():
    var = tf.Variable([1.0, -1.0], constraint=constraints.NonNeg())
    optimizers.SGD(1.0).apply_gradients([(tf.constant([-0.5, 0.5]), var)])
    np.testing.assert_allclose(var.numpy(), [1.5, 0.0])


def test_exclude_from_weight_decay():
    a = tf.Variable([1.0], name="kernel")
    b = tf.Variable([1.0], name="bias")
    opt = optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply_gradients([(tf.constant([0.0]), a), (tf.constant([0.0]), b)])
    assert a.numpy()[0] == pytest.approx(0.95) and b.numpy()[0] == pytest.approx(1.0)


def test_ema_finalize_and_float64_variables():
    var = tf.Variable(np.array([1.0, 2.0]))  # float64
    opt = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5)
    for _ in range(3):
        opt.apply_gradients([(tf.constant(np.array([1.0, 1.0])), var)])
    assert var.dtype == tf.float64
    np.testing.assert_allclose(var.numpy(), [0.7, 1.7])
    opt.finalize_variable_values([var])
    # averages: step1 w=0.9 (momentum 0 on the first step), then 0.5*0.9+0.5*0.8, 0.5*0.85+0.5*0.7
    np.testing.assert_allclose(var.numpy()[0], 0.775)


def test_gradients_as_arrays_and_dtype_cast():
    var = tf.Variable(np.ones(2, "float32"))
    optimizers.SGD(0.5).apply_gradients([(np.array([1.0, 2.0]), var)])
    np.testing.assert_allclose(var.numpy(), [0.5, 0.0])
    assert var.dtype == tf.float32


def test_denormals_are_flushed_and_normal_values_kept():
    var = tf.Variable(np.ones(4, "float32"))
    opt = optimizers.RMSprop()
    opt.apply_gradients([(tf.ones(4), var)])
    velocity = opt._velocities[0]
    velocity.assign(np.array([1e-40, -1e-41, 3e-3, 0.7], "float32"))
    kept = velocity.numpy()[2:].copy()
    opt._flush_denormals()
    v = velocity.numpy()
    np.testing.assert_array_equal(v[:2], [0.0, 0.0])
    np.testing.assert_array_equal(v[2:], kept)
    # In training: a weight with zero gradient ends with state 0, not a stuck denormal.
    var = tf.Variable(np.ones(2, "float32"))
    opt = optimizers.Adam()
    opt.apply_gradients([(tf.constant([1.0, 1.0]), var)])
    for _ in range(1500):
        opt.apply([tf.constant([0.0, 0.0])], [var])
    state = np.concatenate([opt._momentums[0].numpy(), opt._velocities[0].numpy()])
    assert not np.any((state != 0) & (np.abs(state) < np.finfo(np.float32).tiny))


def test_custom_optimizer_with_update_step():
    class SignSGD(optimizers.Optimizer):
        def __init__(self, learning_rate=0.1, **kwargs):
            super().__init__(learning_rate=learning_rate, **kwargs)

        def update_step(self, gradient, variable, learning_rate):
            self.assign_sub(variable, tf.sign(gradient) * learning_rate)

    var = tf.Variable([1.0, 1.0])
    opt = SignSGD()
    assert opt.name.startswith("sign_sgd")
    opt.apply_gradients([(tf.constant([3.0, -0.1]), var)])
    np.testing.assert_allclose(var.numpy(), [0.9, 1.1], rtol=1e-6)


def test_get_strings_instances_configs():
    for name, cls in [("sgd", optimizers.SGD), ("rmsprop", optimizers.RMSprop),
                      ("adam", optimizers.Adam), ("adamw", optimizers.AdamW),
                      ("adagrad", optimizers.Adagrad), ("adadelta", optimizers.Adadelta),
                      ("adamax", optimizers.Adamax), ("nadam", optimizers.Nadam),
                      ("Adam", optimizers.Adam), ("RMSprop", optimizers.RMSprop)]:
        assert type(optimizers.get(name)) is cls
    inst = optimizers.SGD()
    assert optimizers.get(inst) is inst
    assert optimizers.get(None) is None
    obj = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.3, "momentum": 0.5}})
    assert obj.momentum == 0.5 and float(obj.learning_rate) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="Valid names: adadelta, adafactor, adagrad, adam,"):
        optimizers.get("adamm")
    with pytest.raises(ValueError):
        optimizers.get(3)


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.RMSprop, optimizers.Adam,
                                 optimizers.AdamW, optimizers.Adagrad, optimizers.Adadelta,
                                 optimizers.Adamax, optimizers.Nadam])
def test_config_round_trip(cls):
    opt = cls(learning_rate=0.02, clipnorm=1.5, name="my_opt")
    config = opt.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is cls and again.get_config() == config
    sched = cls(learning_rate=schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=5))
    config = sched.get_config()
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    assert cls.from_config(config).get_config() == config


def test_set_weights_and_argument_errors():
    var = tf.Variable([1.0, 2.0])
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="not yet been built"):
        opt.set_weights([])
    opt.build([var])
    weights = opt.get_weights()
    assert len(weights) == 4  # iteration, learning_rate, momentum, velocity
    weights[2] = np.array([0.5, 0.5], "float32")
    opt.set_weights(weights)
    np.testing.assert_allclose(opt.variables[2].numpy(), [0.5, 0.5])
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(bogus=1)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert float(optimizers.SGD(lr=0.3).learning_rate) == pytest.approx(0.3)


# ---------------------------------------------------------------------------------------------
# The BLAS fast path for large arrays
# ---------------------------------------------------------------------------------------------

BIG_CASES = [("SGD", {}), ("SGD", {"momentum": 0.9}), ("SGD", {"momentum": 0.9, "nesterov": True}),
             ("RMSprop", {}), ("RMSprop", {"momentum": 0.5}), ("Adam", {}), ("Adam", {"amsgrad": True}),
             ("AdamW", {})]
# Large enough for several of Adam's update blocks (adam._BLOCK elements), the last one partial.
BIG_SHAPE = (400, 410)


def _big_run(name, kwargs):
    rng = np.random.default_rng(5)
    var = tf.Variable(rng.standard_normal(BIG_SHAPE).astype("float32"))
    opt = getattr(optimizers, name)(learning_rate=0.01, **kwargs)
    for _ in range(3):
        opt.apply_gradients([(tf.constant(rng.standard_normal(BIG_SHAPE).astype("float32")), var)])
    return var.numpy()


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_blocks_equal_the_whole_array_update_bit_for_bit(amsgrad, monkeypatch):
    from tapeflow.keras.optimizers import adam

    blocked = _big_run("Adam", {"amsgrad": amsgrad})
    monkeypatch.setattr(adam, "_BLOCK", BIG_SHAPE[0] * BIG_SHAPE[1])  # one block: the whole-array path
    whole = _big_run("Adam", {"amsgrad": amsgrad})
    np.testing.assert_array_equal(blocked, whole)


@pytest.mark.parametrize("name,kwargs", BIG_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BIG_CASES)])
def test_large_variables_match_keras(K, name, kwargs):
    rng = np.random.default_rng(6)
    w0 = rng.standard_normal(BIG_SHAPE).astype("float32")
    grads = [rng.standard_normal(BIG_SHAPE).astype("float32") for _ in range(3)]
    ours = getattr(optimizers, name)(learning_rate=0.01, **kwargs)
    theirs = getattr(K.optimizers, name)(learning_rate=0.01, **kwargs)
    ov, kv = tf.Variable(w0), K.Variable(w0)
    for g in grads:
        ours.apply_gradients([(tf.constant(g), ov)])
        theirs.apply_gradients([(K.ops.convert_to_tensor(g), kv)])
    np.testing.assert_allclose(ov.numpy(), np.asarray(kv), atol=1e-5, rtol=1e-5)


@pytest.mark.skipif(not tf.backend.gpu_available(), reason="needs CuPy and a GPU")
@pytest.mark.parametrize("name,kwargs", ORACLE_CASES[:14],
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(ORACLE_CASES[:14])])
def test_gpu_variables_match_cpu(name, kwargs):
    rng = np.random.default_rng(4)
    w0 = rng.standard_normal((200, 100)).astype("float32")
    grads = [rng.standard_normal((200, 100)).astype("float32") for _ in range(3)]
    kwargs = {"learning_rate": 0.05, **kwargs}
    results = []
    for dev in ("/CPU:0", "/GPU:0"):
        with tf.device(dev):
            var = tf.Variable(w0)
            opt = getattr(optimizers, name)(**kwargs)
            for g in grads:
                opt.apply_gradients([(tf.constant(g), var)])
            assert var.device.endswith(dev[1:]) and opt.iterations.device.endswith("CPU:0")
            results.append(var.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)


class _MomentumSign(optimizers.Optimizer):
    """A custom rule with a slot variable (Keras 3's custom-optimizer recipe)."""

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.velocities = [self.add_variable_from_reference(v, "velocity") for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        vel = self.velocities[self._get_variable_index(variable)]
        self.assign(vel, vel * 0.5 + tf.sign(gradient))
        self.assign_sub(variable, vel * learning_rate)


@pytest.mark.parametrize("learning_rate", [0.1, optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)])
def test_custom_update_step_traces_into_the_graph_with_eager_numbers(learning_rate):
    """Inside tf.function a custom update_step runs as graph ops (the learning-rate variable read
    on every replay, so changing it between calls counts; a schedule is evaluated at replay),
    with the eager numbers bit for bit."""
    def run(traced):
        var = tf.Variable([1.0, -2.0, 0.5])
        opt = _MomentumSign(learning_rate=learning_rate)

        def step(g):
            opt.apply_gradients([(g, var)])

        fn = tf.function(step) if traced else step
        for k, g in enumerate(([1.0, -1.0, 0.0], [2.0, 0.5, -3.0], [-1.0, -1.0, 1.0])):
            if k == 2 and not isinstance(learning_rate, optimizers.schedules.LearningRateSchedule):
                opt.learning_rate = 0.025
            fn(tf.constant(g))
        return var.numpy(), opt.velocities[0].numpy(), int(opt.iterations.numpy())

    eager, traced = run(False), run(True)
    np.testing.assert_array_equal(eager[0], traced[0])
    np.testing.assert_array_equal(eager[1], traced[1])
    assert eager[2] == traced[2] == 3


def test_custom_update_step_saves_without_its_class(tmp_path):
    """A tf.Module whose traced step uses a custom optimizer saves, and the loaded step trains in
    a fresh process that has no such class (the update is graph ops, not Python)."""
    import subprocess
    import sys

    class Trainer(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable([1.0, 2.0])
            self.opt = _MomentumSign(learning_rate=0.1)

        @tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
        def step(self, x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(self.w * self.w * x)
            self.opt.apply_gradients(zip(tape.gradient(loss, [self.w]), [self.w], strict=True))
            return loss

    t = Trainer()
    t.step(tf.constant([1.0, -1.0]))
    tf.saved_model.save(t, str(tmp_path / "sm"))
    t.step(tf.constant([1.0, -1.0]))
    code = ("import sys, tapeflow as tf\n"
            "m = tf.saved_model.load(sys.argv[1])\n"
            "m.step(tf.constant([1.0, -1.0]))\n"
            "print([v.numpy().tolist() for v in m.variables if v.shape == (2,)][0])\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "sm")], capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.strip() == str(t.w.numpy().tolist())
