"""keras.optimizers Adafactor, Ftrl, Lamb, Lion, Muon, ScheduleFreeAdamW, LossScaleOptimizer,
MultiOptimizer/OptimizerMap and `legacy`: Keras 3 oracle over several steps (weights and
optimizer state), configs, and training through compile/fit."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import optimizers


@pytest.fixture(scope="module")
def K():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras", minversion="3")


def _problem(seed=3, steps=4):
    rng = np.random.default_rng(seed)
    w0 = [rng.standard_normal((4, 3)).astype("float32"), rng.standard_normal(3).astype("float32"),
          rng.standard_normal((5, 2)).astype("float32")]
    grads = [[rng.standard_normal(w.shape).astype("float32") for w in w0] for _ in range(steps)]
    grads[1][1][:] = 0.0
    return w0, grads


def _compare(K, ours, theirs, w0, grads, names=None, atol=1e-5, rtol=1e-5):
    names = names or [f"v{i}" for i in range(len(w0))]
    ov = [tf.Variable(w, name=n) for w, n in zip(w0, names, strict=True)]
    kv = [K.Variable(w, name=n) for w, n in zip(w0, names, strict=True)]
    for step in grads:
        ours.apply_gradients(zip([tf.constant(g) for g in step], ov, strict=True))
        theirs.apply_gradients(zip([K.ops.convert_to_tensor(g) for g in step], kv, strict=True))
        for a, b in zip(ov, kv, strict=True):
            np.testing.assert_allclose(a.numpy(), np.asarray(b), atol=atol, rtol=rtol)
    assert int(ours.iterations) == int(np.asarray(theirs.iterations))
    assert len(ours.variables) == len(theirs.variables)
    for a, b in zip(ours.variables, theirs.variables, strict=True):
        assert tuple(a.shape) == tuple(b.shape), (a.name, b.path)
        np.testing.assert_allclose(np.asarray(a.numpy(), "float64"), np.asarray(b, "float64"),
                                   atol=atol, rtol=1e-4, err_msg=b.path)
    return ov


ORACLE_CASES = [
    ("Lion", {}), ("Lion", {"beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.1}),
    ("Ftrl", {}), ("Ftrl", {"learning_rate_power": -0.7, "initial_accumulator_value": 0.3,
                            "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02,
                            "l2_shrinkage_regularization_strength": 0.05, "beta": 0.1}),
    ("Lamb", {}), ("Lamb", {"beta_1": 0.8, "epsilon": 1e-4, "weight_decay": 0.01}),
    ("Adafactor", {}), ("Adafactor", {"beta_2_decay": -0.5, "epsilon_2": 0.01, "clip_threshold": 0.5,
                                      "relative_step": False}),
    ("Adafactor", {"learning_rate": 0.5}),
    ("Muon", {}), ("Muon", {"nesterov": False, "ns_steps": 3, "rms_rate": None, "adam_lr_ratio": 0.1,
                            "weight_decay": None}),
    ("ScheduleFreeAdamW", {}), ("ScheduleFreeAdamW", {"warmup_steps": 3, "beta_1": 0.8, "weight_decay": 0.01}),
    ("Lion", {"clipnorm": 0.5}), ("Lamb", {"gradient_accumulation_steps": 2}),
    ("Ftrl", {"use_ema": True, "ema_momentum": 0.5}),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name,kwargs", ORACLE_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(ORACLE_CASES)])
def test_steps_match_keras(K, name, kwargs):
    w0, grads = _problem()
    kwargs = {"learning_rate": 0.05, **kwargs}
    _compare(K, getattr(optimizers, name)(**kwargs), getattr(K.optimizers, name)(**kwargs), w0, grads)


@pytest.mark.oracle
def test_muon_routes_embeddings_and_excluded_layers_to_adamw(K):
    w0, grads = _problem(seed=5)
    names = ["dense_kernel", "bias", "token_embedding"]
    kwargs = {"learning_rate": 0.02, "exclude_layers": ["dense"], "adam_weight_decay": 0.01}
    ours = optimizers.Muon(**kwargs)
    _compare(K, ours, K.optimizers.Muon(**kwargs), w0, grads, names=names)
    assert all(v is not None for v in ours.adam_velocities)
    mixed = optimizers.Muon()
    mixed.build([tf.Variable(w0[0], name="w"), tf.Variable(w0[1], name="b"), tf.Variable(w0[2], name="emb")])
    assert [v is None for v in mixed.adam_velocities] == [True, False, True]


@pytest.mark.oracle
def test_defaults_and_configs_match_keras(K):
    for name in ("Adafactor", "Ftrl", "Lamb", "Lion", "Muon", "ScheduleFreeAdamW"):
        ours = getattr(optimizers, name)().get_config()
        theirs = getattr(K.optimizers, name)().get_config()
        assert set(ours) == set(theirs), name
        for key, value in theirs.items():
            if key == "name":
                continue
            expected = pytest.approx(value) if isinstance(value, float) else value
            assert ours[key] == expected, (name, key)


@pytest.mark.parametrize("name", ["Adafactor", "Ftrl", "Lamb", "Lion", "Muon", "ScheduleFreeAdamW"])
def test_config_round_trip_and_string_lookup(name):
    cls = getattr(optimizers, name)
    opt = cls(learning_rate=0.03)
    config = opt.get_config()
    again = cls.from_config(config)
    assert again.get_config() == config
    rebuilt = optimizers.deserialize(optimizers.serialize(opt))
    assert type(rebuilt) is cls and rebuilt.get_config() == config
    assert type(optimizers.get(name.lower())) is cls


@pytest.mark.parametrize("optimizer", ["adafactor", "ftrl", "lamb", "lion", "muon", "schedulefreeadamw"])
def test_new_optimizers_train_in_fit(optimizer):
    tf.random.set_seed(2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    model.optimizer.learning_rate = 0.05 if optimizer != "ftrl" else 0.5
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.8 * before


def test_argument_errors():
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        optimizers.Ftrl(initial_accumulator_value=-1.0)
    with pytest.raises(ValueError, match="learning_rate_power"):
        optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="l1_regularization_strength"):
        optimizers.Ftrl(l1_regularization_strength=-0.1)


# ---------------------------------------------------------------------------------------------
# LossScaleOptimizer
# ---------------------------------------------------------------------------------------------

@pytest.mark.oracle
def test_loss_scale_optimizer_matches_keras_with_skipped_steps(K):
    w0, grads = _problem(seed=9, steps=6)
    grads[2][0][1, 1] = np.inf
    grads[4][2][0, 0] = np.nan
    ours = optimizers.LossScaleOptimizer(optimizers.Adam(0.05), initial_scale=64.0, dynamic_growth_steps=2)
    theirs = K.optimizers.LossScaleOptimizer(K.optimizers.Adam(0.05), initial_scale=64.0, dynamic_growth_steps=2)
    scaled = [[g * 64.0 for g in step] for step in grads]
    _compare(K, ours, theirs, w0, scaled)
    assert float(ours.dynamic_scale.numpy()) == float(np.asarray(theirs.dynamic_scale))
    assert int(ours.step_counter.numpy()) == int(np.asarray(theirs.step_counter))


def test_loss_scale_optimizer_scale_schedule():
    var = tf.Variable([1.0, 2.0])
    opt = optimizers.LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=8.0, dynamic_growth_steps=3)
    assert float(opt.scale_loss(tf.constant(2.0))) == 16.0
    history = []
    for g in ([8.0, 8.0], [8.0, 8.0], [np.inf, 0.0], [8.0, 8.0], [8.0, 8.0], [8.0, 8.0], [np.nan, 1.0]):
        before = var.numpy().copy()
        opt.apply_gradients([(tf.constant(g), var)])
        history.append((float(opt.dynamic_scale.numpy()), int(opt.step_counter.numpy())))
        if not np.isfinite(g).all():
            np.testing.assert_array_equal(var.numpy(), before)  # skipped step
    assert history == [(8.0, 1), (8.0, 2), (4.0, 0), (4.0, 1), (4.0, 2), (8.0, 0), (4.0, 0)]
    assert int(opt.iterations) == 5  # the inner optimizer's: skipped steps do not count
    assert opt.learning_rate is opt.inner_optimizer.learning_rate
    opt.learning_rate = 0.5
    assert float(opt.inner_optimizer.learning_rate) == 0.5


def test_loss_scale_optimizer_config_and_errors():
    opt = optimizers.LossScaleOptimizer(optimizers.Lion(0.01), initial_scale=128.0, dynamic_growth_steps=10)
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(again, optimizers.LossScaleOptimizer) and isinstance(again.inner_optimizer, optimizers.Lion)
    assert again.get_config() == opt.get_config()
    with pytest.raises(ValueError, match="dynamic=False"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), dynamic=False)
    with pytest.raises(ValueError, match="does not support `clipnorm`"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), clipnorm=1.0)
    with pytest.raises(ValueError, match="does not support arguments"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), foo=1)


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_loss_scale_optimizer_in_fit_matches_the_inner_optimizer(run_eagerly):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 3)).astype("float32")
    y = x.sum(-1, keepdims=True)
    results = []
    for wrap in (False, True):
        keras.utils.set_random_seed(4)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
        opt = optimizers.SGD(0.05)
        if wrap:
            opt = optimizers.LossScaleOptimizer(opt, initial_scale=1024.0, dynamic_growth_steps=3)
        model.compile(optimizer=opt, loss="mse", run_eagerly=run_eagerly)
        model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
        results.append([w.numpy() for w in model.weights])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert float(model.optimizer.dynamic_scale.numpy()) == 1024.0 * 2 ** (8 // 3)


def test_loss_scale_optimizer_recovers_from_overflowing_scale_in_fit():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 3)).astype("float32")
    y = x.sum(-1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    opt = optimizers.LossScaleOptimizer(optimizers.SGD(0.05), initial_scale=1e38)
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert float(opt.dynamic_scale.numpy()) < 1e38
    assert all(np.isfinite(w.numpy()).all() for w in model.weights)


# ---------------------------------------------------------------------------------------------
# MultiOptimizer / OptimizerMap
# ---------------------------------------------------------------------------------------------

@pytest.mark.oracle
def test_multi_optimizer_matches_keras(K):
    w0, grads = _problem(seed=11)
    names = ["encoder_kernel", "encoder_bias", "head_kernel"]
    ours = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD(0.1, momentum=0.5),
                                                             {"encoder.*": optimizers.Adam(0.05)}))
    theirs = K.optimizers.MultiOptimizer(K.optimizers.OptimizerMap(K.optimizers.SGD(0.1, momentum=0.5),
                                                                   {"encoder.*": K.optimizers.Adam(0.05)}))
    _compare(K, ours, theirs, w0, grads, names=names)
    assert [type(o).__name__ for o in ours.optimizers] == ["Adam", "SGD"]
    assert [int(o.iterations) for o in ours.optimizers] == [4, 4]


def test_multi_optimizer_with_a_callable_in_fit():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((32, 3)).astype("float32")
    y = x.sum(-1, keepdims=True)
    adam, sgd = optimizers.Adam(0.05), optimizers.SGD(0.05)

    def select(variable):
        return adam if "encoder" in variable.path else sgd

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="encoder"), keras.layers.Dense(1)])
    opt = optimizers.MultiOptimizer(select)
    model.compile(optimizer=opt, loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    assert int(adam.iterations) == int(sgd.iterations) == int(opt.iterations) == 12
    assert len(adam._trainable_variables) == 2 and len(sgd._trainable_variables) == 2


def test_multi_optimizer_errors_and_config():
    opt_map = optimizers.OptimizerMap(optimizers.SGD(), {"a/.*": optimizers.Adam()})
    with pytest.raises(ValueError, match="already exists"):
        opt_map["a/.*"] = optimizers.Lion()
    with pytest.raises(ValueError, match="cannot be LossScaleOptimizer"):
        opt_map["b"] = optimizers.LossScaleOptimizer(optimizers.SGD())
    with pytest.raises(TypeError, match="default_optimizer"):
        optimizers.OptimizerMap("sgd")
    opt_map["b/.*"] = optimizers.RMSprop()
    assert len(opt_map) == 2 and sorted(opt_map) == ["a/.*", "b/.*"]
    multi = optimizers.MultiOptimizer(opt_map, loss_scale_factor=2.0)
    assert all(o.loss_scale_factor == 2.0 for o in multi.optimizers)
    with pytest.raises(AttributeError, match="Learning rate cannot be accessed"):
        _ = multi.learning_rate
    again = optimizers.deserialize(optimizers.serialize(multi))
    assert isinstance(again, optimizers.MultiOptimizer)
    assert [type(o).__name__ for o in again.optimizers] == [type(o).__name__ for o in multi.optimizers]
    assert again.get_config()["loss_scale_factor"] == 2.0


def test_legacy_optimizers_raise_like_keras_3():
    for name in ("Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"):
        with pytest.raises(ImportError, match="not supported in Keras 3"):
            getattr(optimizers.legacy, name)(learning_rate=0.1)


@pytest.mark.parametrize("make", [
    lambda: optimizers.LossScaleOptimizer(optimizers.Adam(0.01), initial_scale=256.0),
    lambda: optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD(0.1),
                                                              {"dense/.*": optimizers.Lion(0.001)})),
    lambda: optimizers.Adafactor(),
], ids=["loss_scale", "multi", "adafactor"])
def test_saved_models_keep_the_optimizer_and_its_state(make, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3)).astype("float32")
    y = x.sum(-1, keepdims=True)
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer=make(), loss="mse")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.optimizer) is type(model.optimizer)
    ours = [v.numpy() for v in model.optimizer.variables]
    theirs = [v.numpy() for v in loaded.optimizer.variables]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)
    loaded.fit(x, y, epochs=1, batch_size=4, verbose=0)


NEW_OPTIMIZERS = [("Adafactor", {}), ("Ftrl", {}), ("Lamb", {}), ("Lion", {}), ("Muon", {}),
                  ("ScheduleFreeAdamW", {})]


@pytest.mark.skipif(not tf.backend.gpu_available(), reason="needs CuPy and a GPU")
@pytest.mark.parametrize("name,kwargs", NEW_OPTIMIZERS, ids=[c[0] for c in NEW_OPTIMIZERS])
def test_gpu_variables_match_cpu(name, kwargs):
    rng = np.random.default_rng(4)
    w0 = [rng.standard_normal((64, 32)).astype("float32"), rng.standard_normal(32).astype("float32")]
    grads = [[rng.standard_normal(w.shape).astype("float32") for w in w0] for _ in range(3)]
    results = []
    for dev in ("/CPU:0", "/GPU:0"):
        with tf.device(dev):
            variables = [tf.Variable(w) for w in w0]
            opt = getattr(optimizers, name)(learning_rate=0.05, **kwargs)
            for step in grads:
                opt.apply_gradients(zip([tf.constant(g) for g in step], variables, strict=True))
            results.append([v.numpy() for v in variables])
    for gpu, cpu in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-5)


def test_fit_with_loss_scale_factor_scales_the_loss_it_differentiates():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((32, 3)).astype("float32")
    y = x.sum(-1, keepdims=True)
    results = []
    for factor in (None, 64.0):
        keras.utils.set_random_seed(4)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer=optimizers.SGD(0.05, loss_scale_factor=factor), loss="mse")
        model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
        results.append([w.numpy() for w in model.weights])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
