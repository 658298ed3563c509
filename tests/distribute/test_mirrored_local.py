"""`MirroredStrategy` over several logical CPU devices of one process: replicas run one after
another; values checked against TF 2.21 run with the same logical devices."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


@pytest.fixture
def strategy():
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 3)
    try:
        yield tf.distribute.MirroredStrategy(["cpu:0", "cpu:1"])
    finally:
        tf.config.set_logical_device_configuration(cpu, None)


def _values(per_replica):
    return [np.asarray(v).tolist() for v in per_replica.values]


def test_replicas_run_results_reduce_gather(strategy):
    assert strategy.num_replicas_in_sync == 2
    assert strategy.extended.worker_devices == ("/job:localhost/replica:0/task:0/device:CPU:0",
                                                "/job:localhost/replica:0/task:0/device:CPU:1")
    assert tf.distribute.MirroredStrategy().num_replicas_in_sync == 3  # TF: every logical CPU

    def fn():
        ctx = tf.distribute.get_replica_context()
        r = ctx.replica_id_in_sync_group
        return {"a": tf.cast(r, tf.float32) + 1.0, "b": (tf.fill([r + 1, 2], 1.0), 7), "d": ctx.devices}

    out = strategy.run(fn)
    assert isinstance(out["a"], tf.distribute.DistributedValues) and _values(out["a"]) == [1.0, 2.0]
    assert out["b"][1] == 7  # the same object on every replica stays itself
    assert [d[-5:] for d in out["d"][0].values] == ["CPU:0", "CPU:1"]
    assert str(out["a"]).splitlines()[0] == "PerReplica:{" and "  1: tf.Tensor(2.0" in str(out["a"])
    assert float(strategy.reduce("SUM", out["a"], axis=None)) == 3.0
    assert strategy.reduce("MEAN", out["b"][0], axis=0).numpy().tolist() == [1.0, 1.0]
    assert float(strategy.reduce("MEAN", tf.constant(2.0), axis=None)) == 2.0
    with pytest.raises(ValueError, match="non-DistributedValues value"):
        strategy.reduce("SUM", tf.constant(2.0), axis=None)
    assert strategy.gather(out["b"][0], axis=0).shape == (3, 2)
    assert len(strategy.experimental_local_results(out["a"])) == 2
    assert len(strategy.experimental_local_results(tf.constant(1.0))) == 1
    assert _values(strategy.experimental_distribute_values_from_function(
        lambda c: c.replica_id_in_sync_group * 10)) == [0, 10]
    assert strategy.run(lambda: None) is None
    with pytest.raises(tf.errors.UnimplementedError, match="one after another"):
        strategy.run(lambda: tf.distribute.get_replica_context().all_reduce("SUM", tf.constant(1.0)))


def test_distributed_datasets_split_the_global_batch(strategy):
    for n, expected in ((5, [[0, 1, 2], [3, 4]]), (7, [[0, 1, 2, 3], [4, 5, 6]]), (1, [[0], []])):
        batches = list(strategy.experimental_distribute_dataset(tf.data.Dataset.range(n).batch(n)))
        assert [_values(b) for b in batches] == [expected]
    seen = []

    def dataset_fn(ctx):
        seen.append((ctx.num_input_pipelines, ctx.input_pipeline_id, ctx.num_replicas_in_sync))
        return tf.data.Dataset.range(8).batch(ctx.get_per_replica_batch_size(4))

    got = [_values(b) for b in strategy.distribute_datasets_from_function(dataset_fn)]
    assert seen == [(1, 0, 2)] and got == [[[0, 1], [2, 3]], [[4, 5], [6, 7]]]


def test_custom_loop_applies_the_summed_gradients_once(strategy):
    with strategy.scope():
        w = tf.Variable(1.0)
        opt = keras.optimizers.SGD(0.1)

    def step(x):
        with tf.GradientTape() as tape:
            loss = w * x
        opt.apply_gradients(zip(tape.gradient(loss, [w]), [w], strict=True))
        return loss

    xs = strategy.experimental_distribute_values_from_function(
        lambda c: tf.constant(float(c.replica_id_in_sync_group + 1)))
    assert _values(strategy.run(step, args=(xs,))) == [1.0, 2.0]
    assert w.numpy() == pytest.approx(0.7)  # TF: 1 - 0.1 * (1 + 2)
    assert int(opt.iterations) == 1

    @tf.function
    def train(x):
        return strategy.reduce("SUM", strategy.run(step, args=(x,)), axis=None)

    assert float(train(xs)) == pytest.approx(3 * 0.7)
    assert float(train(xs)) == pytest.approx(3 * 0.4)
    assert w.numpy() == pytest.approx(0.1) and int(opt.iterations) == 3


def test_generators_give_each_replica_its_stream(strategy):
    with strategy.scope():
        g = tf.random.Generator.from_seed(1)
        first, second = strategy.run(lambda: g.normal([])), strategy.run(lambda: g.normal([]))
    # TF 2.21 (random_numbers guide): replica streams from the key hashed with the replica id.
    np.testing.assert_allclose(_values(first), [-0.87930447, 0.020661574], rtol=1e-6)
    np.testing.assert_allclose(_values(second), [-1.5822568, 0.77539235], rtol=1e-6)
    assert g.state.numpy().tolist() == [1 + 2 * 256, 0, 0]  # mirrored: each replica advanced its copy alike

    def fresh():
        h = tf.random.Generator.from_seed(1)
        return tf.stack([h.normal([]), h.normal([])])

    with strategy.scope():
        both = strategy.run(fresh)
    np.testing.assert_allclose(_values(both), [[-0.87930447, -1.5822568], [0.020661574, 0.77539235]], rtol=1e-6)
    outside = tf.random.Generator.from_seed(1)  # created outside the scope: one shared stream
    with strategy.scope():
        shared = strategy.run(lambda: outside.normal([]))
    np.testing.assert_allclose(_values(shared), [0.43842274, 1.6272374], rtol=1e-6)


def test_keras_fit_matches_one_device(strategy):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = (x.sum(1) > 0).astype("int64")

    def build():
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(2)])
        model.compile(optimizer=keras.optimizers.Adam(0.01), metrics=["accuracy"],
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    one = build()
    h_one = one.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False).history
    with strategy.scope():
        two = build()
    steps = []
    count = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: steps.append(b))
    h_two = two.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False, callbacks=[count]).history
    assert len(steps) == 8 and int(two.optimizer.iterations) == 8  # one update per global batch
    for key, values in h_one.items():
        np.testing.assert_allclose(h_two[key], values, rtol=1e-6)
    for a, b in zip(one.get_weights(), two.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, atol=1e-6)
    np.testing.assert_allclose(two.evaluate(x, y, verbose=0), one.evaluate(x, y, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(two.predict(x, verbose=0), one.predict(x, verbose=0), atol=1e-6)


def test_keras_fit_on_distributed_datasets(strategy):
    x = np.arange(32, dtype="float32").reshape(16, 2) / 16
    y = x.sum(1, keepdims=True)

    def build():
        keras.utils.set_random_seed(1)
        with strategy.scope():
            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        return model

    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    ref = build()
    ref.fit(ds, epochs=2, verbose=0)
    split = build()
    split.fit(strategy.experimental_distribute_dataset(ds), epochs=2, verbose=0)
    by_fn = build()
    by_fn.fit(strategy.distribute_datasets_from_function(
        lambda ctx: tf.data.Dataset.from_tensor_slices((x, y)).batch(ctx.get_per_replica_batch_size(8))),
        epochs=2, verbose=0)
    for model in (split, by_fn):
        assert int(model.optimizer.iterations) == 4
        for a, b in zip(ref.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_allclose(b, a, atol=1e-6)


def test_fit_runs_each_replica_on_its_block(strategy):
    seen = []

    class Recording(keras.Sequential):
        def train_step(self, data):
            ctx = tf.distribute.get_replica_context()
            seen.append((int(ctx.replica_id_in_sync_group), int(data[0].shape[0])))
            return super().train_step(data)

    with strategy.scope():
        model = Recording([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    model.fit(np.ones((11, 2), "float32"), np.ones((11, 1), "float32"), batch_size=8, verbose=0)
    assert seen == [(0, 4), (1, 4), (0, 2), (1, 1)]  # global batches of 8 and 3, split in replica order
    assert int(model.optimizer.iterations) == 2


def test_fit_batch_norm_statistics_keep_the_first_replicas_update(strategy):
    x = np.array([[0.0], [1.0], [10.0], [20.0]], "float32")
    with strategy.scope():
        model = keras.Sequential([keras.Input((1,)), keras.layers.BatchNormalization(momentum=0.5)])
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    model.fit(x, np.zeros((4, 1), "float32"), batch_size=4, verbose=0, shuffle=False)
    # TF 2.21: the moving mean / variance of replica 0's rows [0, 1] only.
    assert [w.numpy().tolist() for w in model.layers[0].weights] == [[1.0], [0.0], [0.25], [0.625]]


def test_custom_loop_layer_state_keeps_the_first_replica_metrics_add_up(strategy):
    x = np.array([[0.0], [1.0], [10.0], [20.0]], "float32")
    with strategy.scope():
        bn = keras.layers.BatchNormalization(momentum=0.5)
        bn.build((None, 1))
        mean = keras.metrics.Mean()
    ds = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(x).batch(4))

    def step(b):
        mean.update_state(b)
        return bn(b, training=True)

    expected = ([0.25, 0.625], [0.375, 0.4375])  # TF 2.21: replica 0's rows [0, 1] only
    for fn, (moving_mean, moving_var) in zip((step, tf.function(step)), expected, strict=True):
        for b in ds:
            strategy.run(fn, args=(b,))
        assert [float(bn.moving_mean[0]), float(bn.moving_variance[0])] == [moving_mean, moving_var]
    assert float(mean.result()) == pytest.approx(31 / 4)  # every replica's rows, both passes
