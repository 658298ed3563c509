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
    if tf.config.list_physical_devices("GPU"):
        with pytest.raises(ValueError, match="NCCL"):
            tf.distribute.MirroredStrategy(["/gpu:0", "/gpu:1"])
    else:  # TF's soft placement: named GPUs that do not exist run on the CPU
        assert tf.distribute.MirroredStrategy(["/gpu:0", "/gpu:1"]).num_replicas_in_sync == 2
    with pytest.raises(ValueError, match="CPU:1 does not exist: there are 1 logical CPU devices"):
        tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])  # (the CPU was not split)
    with pytest.raises(ValueError, match="cross_device_ops"):
        tf.distribute.MirroredStrategy(cross_device_ops=object())
    nccl = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.NCCL)
    assert tf.distribute.MultiWorkerMirroredStrategy(communication_options=nccl).num_replicas_in_sync == 1
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")  # as if under mpirun -n 2: NCCL would be needed
    with pytest.raises(ValueError, match="NCCL"):
        tf.distribute.MultiWorkerMirroredStrategy(communication_options=nccl)
    monkeypatch.delenv("OMPI_COMM_WORLD_SIZE")
    with pytest.raises(ValueError, match="cluster_resolver"):
        tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver="grpc://a:1")
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


# The guide "Distributed training with TensorFlow" (tensorflow/docs site/en/guide/
# distributed_training.ipynb), its code cells with only the import changed; left out: the cell
# that names two GPUs. (In one process every strategy here is one replica.)
GUIDE = """
mirrored_strategy = tf.distribute.MirroredStrategy()
mirrored_strategy = tf.distribute.MirroredStrategy(
    cross_device_ops=tf.distribute.HierarchicalCopyAllReduce())
strategy = tf.distribute.MultiWorkerMirroredStrategy()
communication_options = tf.distribute.experimental.CommunicationOptions(
    implementation=tf.distribute.experimental.CommunicationImplementation.NCCL)
strategy = tf.distribute.MultiWorkerMirroredStrategy(
    communication_options=communication_options)
central_storage_strategy = tf.distribute.experimental.CentralStorageStrategy()
default_strategy = tf.distribute.get_strategy()
# In optimizer or other library code
# Get currently active strategy
strategy = tf.distribute.get_strategy()
strategy.reduce("SUM", 1., axis=None)  # reduce some values
if tf.config.list_physical_devices('GPU'):
  strategy = tf.distribute.MirroredStrategy()
else:  # Use the Default Strategy
  strategy = tf.distribute.get_strategy()

with strategy.scope():
  # Do something interesting
  print(tf.Variable(1.))
mirrored_strategy = tf.distribute.MirroredStrategy()

with mirrored_strategy.scope():
  model = tf.keras.Sequential([
      tf.keras.layers.Dense(1, input_shape=(1,),
                            kernel_regularizer=tf.keras.regularizers.L2(1e-4))])
  model.compile(loss='mse', optimizer='sgd')
dataset = tf.data.Dataset.from_tensors(([1.], [1.])).repeat(100).batch(10)
model.fit(dataset, epochs=2)
model.evaluate(dataset)
import numpy as np

inputs, targets = np.ones((100, 1)), np.ones((100, 1))
model.fit(inputs, targets, epochs=2, batch_size=10)
mirrored_strategy.num_replicas_in_sync
# Compute a global batch size using a number of replicas.
BATCH_SIZE_PER_REPLICA = 5
global_batch_size = (BATCH_SIZE_PER_REPLICA *
                     mirrored_strategy.num_replicas_in_sync)
dataset = tf.data.Dataset.from_tensors(([1.], [1.])).repeat(100)
dataset = dataset.batch(global_batch_size)

LEARNING_RATES_BY_BATCH_SIZE = {5: 0.1, 10: 0.15, 20:0.175}
learning_rate = LEARNING_RATES_BY_BATCH_SIZE[global_batch_size]
with mirrored_strategy.scope():
  model = tf.keras.Sequential([
      tf.keras.layers.Dense(1, input_shape=(1,),
                            kernel_regularizer=tf.keras.regularizers.L2(1e-4))])
  optimizer = tf.keras.optimizers.SGD()
dataset = tf.data.Dataset.from_tensors(([1.], [1.])).repeat(1000).batch(
    global_batch_size)
dist_dataset = mirrored_strategy.experimental_distribute_dataset(dataset)
# Sets `reduction=NONE` to leave it to tf.nn.compute_average_loss() below.
loss_object = tf.keras.losses.BinaryCrossentropy(
  from_logits=True,
  reduction=tf.keras.losses.Reduction.NONE)

def train_step(inputs):
  features, labels = inputs

  with tf.GradientTape() as tape:
    predictions = model(features, training=True)
    per_example_loss = loss_object(labels, predictions)
    loss = tf.nn.compute_average_loss(per_example_loss)
    model_losses = model.losses
    if model_losses:
      loss += tf.nn.scale_regularization_loss(tf.add_n(model_losses))

  gradients = tape.gradient(loss, model.trainable_variables)
  optimizer.apply_gradients(zip(gradients, model.trainable_variables))
  return loss

@tf.function
def distributed_train_step(dist_inputs):
  per_replica_losses = mirrored_strategy.run(train_step, args=(dist_inputs,))
  return mirrored_strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_losses,
                         axis=None)
for dist_inputs in dist_dataset:
  print(distributed_train_step(dist_inputs))
iterator = iter(dist_dataset)
for _ in range(10):
  print(distributed_train_step(next(iterator)))
"""


def test_distributed_training_guide_runs_with_only_the_import_changed(capsys):
    scope = {"tf": tf}
    exec(compile(GUIDE, "distributed_training.ipynb", "exec"), scope)  # noqa: S102
    losses = [float(line.split("(")[1].split(",")[0]) for line in capsys.readouterr().out.splitlines()
              if line.startswith("tf.Tensor(")]
    assert len(losses) == 200 + 10 and losses[-1] < losses[0]
    assert isinstance(iter(scope["dist_dataset"]), tf.distribute.DistributedIterator)


def test_options_cross_device_ops_and_resolvers(monkeypatch):
    options = tf.distribute.InputOptions()
    assert options.experimental_fetch_to_device is True
    assert options.experimental_replication_mode is tf.distribute.InputReplicationMode.PER_WORKER
    s = tf.distribute.MirroredStrategy(cross_device_ops=tf.distribute.ReductionToOneDevice())
    ds = tf.data.Dataset.range(4).batch(2)
    assert [b.numpy().tolist() for b in s.experimental_distribute_dataset(ds, options)] == [[0, 1], [2, 3]]
    assert float(s.run(lambda: tf.constant(2.0), options=tf.distribute.RunOptions())) == 2.0
    ops = tf.distribute.NcclAllReduce(num_packs=2)
    assert float(ops.reduce(tf.distribute.ReduceOp.SUM, tf.constant(3.0), "/cpu:0")) == 3.0
    assert [float(v) for v in ops.batch_reduce("MEAN", [(tf.constant(1.0), "/cpu:0")])] == [1.0]
    central = tf.distribute.experimental.CentralStorageStrategy()
    assert central.extended.parameter_devices == ("/job:localhost/replica:0/task:0/device:CPU:0",)
    tf.distribute.experimental_set_strategy(central)
    assert tf.distribute.get_strategy() is central and tf.distribute.has_strategy()
    tf.distribute.experimental_set_strategy(None)
    assert not tf.distribute.has_strategy()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]},
                                                "task": {"type": "worker", "index": 1}}))
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    assert (resolver.task_type, resolver.task_id, resolver.master()) == ("worker", 1, "b:2")
    assert resolver.cluster_spec().as_dict() == {"worker": ["a:1", "b:2"]}
    simple = tf.distribute.cluster_resolver.SimpleClusterResolver(resolver.cluster_spec(), task_type="worker",
                                                                  task_id=0)
    assert (simple.task_type, simple.task_id, simple.master()) == ("worker", 0, "")
    assert simple.master("worker", 1, "grpc") == "grpc://b:2"
    with pytest.raises(RuntimeError, match="mpirun -n 2"):  # two workers, one process
        tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=simple)
    assert tf.train.ClusterSpec({"worker": ["a:1"]}).num_tasks("worker") == 1


@pytest.mark.oracle
def test_options_and_resolvers_match_tf(monkeypatch):
    real = pytest.importorskip("tensorflow")
    for mod in (tf, real):
        o = mod.distribute.InputOptions()
        r = mod.distribute.RunOptions()
        assert (o.experimental_fetch_to_device, o.experimental_replication_mode.value,
                o.experimental_place_dataset_on_device, o.experimental_per_replica_buffer_size) == (
            True, "PER_WORKER", False, 1)
        assert (r.experimental_enable_dynamic_batch_size, r.experimental_bucketizing_dynamic_shape) == (True, False)
        assert repr(mod.distribute.InputOptions(experimental_place_dataset_on_device=True)) == (
            "InputOptions(experimental_fetch_to_device=True, experimental_replication_mode="
            "<InputReplicationMode.PER_WORKER: 'PER_WORKER'>, experimental_place_dataset_on_device=True, "
            "experimental_per_replica_buffer_size=1)")
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"chief": ["c:0"], "worker": ["a:1", "b:2"]},
                                                "task": {"type": "worker", "index": 1}, "rpc_layer": "grpc"}))
    got, want = (m.distribute.cluster_resolver.TFConfigClusterResolver() for m in (tf, real))
    assert (got.task_type, got.task_id, got.rpc_layer, got.master()) == (
        want.task_type, want.task_id, want.rpc_layer, want.master())
    assert got.cluster_spec().as_dict() == dict(want.cluster_spec().as_dict())
    assert got.master("chief", 0) == want.master("chief", 0)
