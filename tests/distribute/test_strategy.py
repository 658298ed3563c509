"""tf.distribute in one process: contexts, the one-replica strategies, losses, datasets, fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


def test_default_strategy_and_contexts():
    s = tf.distribute.get_strategy()
    assert s.num_replicas_in_sync == 1 and not tf.distribute.has_strategy()
    assert not tf.distribute.in_cross_replica_context()
    assert tf.distribute.get_replica_context() is not None
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    with one.scope():
        assert tf.distribute.get_strategy() is one and tf.distribute.has_strategy()
        assert tf.distribute.in_cross_replica_context() and tf.distribute.get_replica_context() is None
        rid, cross = one.run(lambda: (tf.distribute.get_replica_context().replica_id_in_sync_group,
                                      tf.distribute.in_cross_replica_context()))
        assert int(rid) == 0 and rid.dtype == tf.int32 and cross is False
        with pytest.raises(ValueError, match="Mixing different tf.distribute.Strategy"):
            with tf.distribute.MirroredStrategy().scope():
                pass
    assert tf.distribute.get_strategy() is s


@pytest.mark.oracle
@pytest.mark.parametrize("make", [lambda m: m.distribute.OneDeviceStrategy("/cpu:0"),
                                  lambda m: m.distribute.MirroredStrategy(["/cpu:0"]),
                                  lambda m: m.distribute.MultiWorkerMirroredStrategy()])
def test_one_replica_collectives_match_tf(make):
    real = pytest.importorskip("tensorflow")
    x = np.array([[1.0, 2.0], [3.0, 5.0]], np.float32)
    got, want = make(tf), make(real)
    assert got.num_replicas_in_sync == want.num_replicas_in_sync == 1
    for op, axis in [("SUM", None), ("MEAN", 0), ("SUM", 1), (tf.distribute.ReduceOp.MEAN, None)]:
        real_op = real.distribute.ReduceOp[op.value if not isinstance(op, str) else op]
        a = got.reduce(op, tf.constant(x), axis=axis)
        b = want.reduce(real_op, real.constant(x), axis=axis)
        np.testing.assert_allclose(a.numpy(), b.numpy())
        assert a.shape == tuple(b.shape)
    np.testing.assert_array_equal(got.gather(tf.constant(x), axis=1).numpy(),
                                  want.gather(real.constant(x), axis=1).numpy())
    assert float(got.run(lambda v: v * 2, args=(tf.constant(3.0),))) == 6.0
    (local,) = got.experimental_local_results(tf.constant(1.0))
    assert float(local) == 1.0


@pytest.mark.oracle
def test_compute_average_loss_and_scale_regularization_loss_match_tf():
    real = pytest.importorskip("tensorflow")
    per_example = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    cases = [dict(global_batch_size=4), dict(sample_weight=[1.0, 0.0]), dict(sample_weight=[[1.0, 0.5], [2.0, 0.0]]),
             dict(global_batch_size=0), {}]
    for kw in cases:
        a = tf.nn.compute_average_loss(per_example, **kw)
        b = real.nn.compute_average_loss(per_example, **kw)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
        assert a.dtype.name == b.dtype.name
    np.testing.assert_allclose(tf.nn.scale_regularization_loss([1.0, 2.0]).numpy(),
                               real.nn.scale_regularization_loss([1.0, 2.0]).numpy())
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        with pytest.raises(RuntimeError, match="cross replica context"):
            tf.nn.compute_average_loss([1.0])
    with pytest.raises(ValueError, match="at least rank 1"):
        tf.nn.compute_average_loss(1.0)
    with pytest.raises(TypeError, match="must be an integer"):
        tf.nn.compute_average_loss([1.0], global_batch_size=2.0)


@pytest.mark.oracle
def test_input_context_matches_tf():
    real = pytest.importorskip("tensorflow")
    a, b = tf.distribute.InputContext(2, 1, 4), real.distribute.InputContext(2, 1, 4)
    assert (a.num_input_pipelines, a.input_pipeline_id, a.num_replicas_in_sync) == (
        b.num_input_pipelines, b.input_pipeline_id, b.num_replicas_in_sync)
    assert a.get_per_replica_batch_size(8) == b.get_per_replica_batch_size(8) == 2
    with pytest.raises(ValueError) as mine:
        a.get_per_replica_batch_size(6)
    with pytest.raises(ValueError) as theirs:
        b.get_per_replica_batch_size(6)
    assert str(mine.value) == str(theirs.value)
    assert str(a) == str(b)


def test_one_replica_datasets():
    s = tf.distribute.MirroredStrategy()
    ds = tf.data.Dataset.from_tensor_slices(np.arange(6, dtype=np.float32)).batch(4)
    assert [b.numpy().tolist() for b in s.experimental_distribute_dataset(ds)] == [[0, 1, 2, 3], [4, 5]]
    seen = []

    def dataset_fn(ctx):
        seen.append((ctx.num_input_pipelines, ctx.input_pipeline_id, ctx.num_replicas_in_sync))
        return ds

    assert len(list(s.distribute_datasets_from_function(dataset_fn))) == 2
    assert seen == [(1, 0, 1)]
    with pytest.raises(ValueError, match="InputOptions"):
        s.experimental_distribute_dataset(ds, options=object())


def test_unsupported_variants_say_why(monkeypatch):
    with pytest.raises(ValueError, match="NCCL"):
        tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with pytest.raises(ValueError, match="cross_device_ops"):
        tf.distribute.MirroredStrategy(cross_device_ops=object())
    with pytest.raises(ValueError, match="NCCL"):
        tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.NCCL)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]},
                                                "task": {"type": "worker", "index": 0}}))
    with pytest.raises(RuntimeError, match="mpirun -n 2"):
        tf.distribute.MultiWorkerMirroredStrategy()


def test_fit_under_one_replica_strategy_equals_plain_fit():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 5)).astype("float32"), rng.normal(size=(40, 1)).astype("float32")
    weights = []
    for strategy in (None, tf.distribute.MirroredStrategy()):
        keras.utils.set_random_seed(3)
        scope = strategy.scope() if strategy else tf.name_scope("plain")
        with scope:
            model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                                      keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        weights.append([w.numpy() for w in model.weights])
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)
