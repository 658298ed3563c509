"""Run by tests/distribute/test_mpi.py under `mpirun -n 2`: data-parallel Keras fit / evaluate /
predict, and the strategy's collectives; writes what the test compares to OUT_DIR."""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import tapeflow as tf  # noqa: E402
from tapeflow import keras  # noqa: E402

out_dir = sys.argv[1]
strategy = tf.distribute.MultiWorkerMirroredStrategy(
    communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=60))
rank = strategy.cluster_resolver.task_id
results = {"num_replicas": strategy.num_replicas_in_sync, "rank": rank}

# 1. Keras fit: different seeds per worker; the scope makes worker 0's initial weights everyone's.
keras.utils.set_random_seed(1 + rank)
with strategy.scope():
    model = common.build_model()
x, y = common.data()


class Marker(keras.callbacks.CSVLogger):
    """A file-writing callback: it must run on worker 0 only."""

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        open(os.path.join(out_dir, f"marker_{rank}"), "w").close()


seen_batches = []
history = model.fit(x, y, batch_size=common.GLOBAL_BATCH, epochs=2, shuffle=False, verbose=2,
                    validation_data=(x[:40], y[:40]),
                    callbacks=[Marker(os.path.join(out_dir, "log.csv")),
                               keras.callbacks.LambdaCallback(on_batch_end=lambda b, logs: seen_batches.append(b))])
results["history"] = history.history
coll = strategy.extended._collective
results["reductions"] = [coll.overlapped_reductions, coll.blocking_reductions, coll.sharded_updates]
results["slot_gathers"] = coll.slot_gathers
# Both workers on this machine: the gradients went through shared memory, and the updates wrote
# straight into weights shared by the workers, private again after fit.
results["shared_memory"] = coll.shared is not None
results["shared_weight_updates"] = coll.shared_weight_updates
results["weights_private_after_fit"] = all(v._value.flags.owndata for v in model.trainable_variables)
np.savez(os.path.join(out_dir, f"optimizer_{rank}.npz"), *[v.numpy() for v in model.optimizer.variables])
results["batches"] = len(seen_batches)
fitted = [w.numpy() for w in model.weights] + [v.numpy() for v in model.optimizer.variables]


# 1b. The same fit with the replicated update (every worker updates every weight): the same bits.
def replicated(train):
    from tapeflow.distribute import sharded_update

    sharded_update.enabled = False
    try:
        return train()
    finally:
        sharded_update.enabled = True


def fit_again(name):
    keras.utils.set_random_seed(1 + rank)
    with strategy.scope():
        again = common.build_model()
    read = []

    def mid_epoch(batch, logs=None):
        # Reads of the whole state in the middle of an epoch, on every worker: the slots gathered.
        if batch == 1 and not read:
            read.extend(v.numpy() for v in again.optimizer.variables)
            path = tf.train.Checkpoint(optimizer=again.optimizer).write(os.path.join(out_dir, f"{name}_{rank}"))
            reader = tf.train.load_checkpoint(path)
            read.extend(reader.get_tensor(k) for k, _ in sorted(tf.train.list_variables(path)))

    again.fit(x, y, batch_size=common.GLOBAL_BATCH, epochs=2, shuffle=False, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=mid_epoch)])
    return [w.numpy() for w in again.weights] + [v.numpy() for v in again.optimizer.variables] + read


results["fit_same_bits_as_replicated"] = all(
    np.array_equal(a, b) for a, b in zip(fit_again("sharded"), replicated(lambda: fit_again("replicated")),
                                         strict=True))


def through_messages(train):
    shared, coll.shared = coll.shared, None   # every exchange as MPI point-to-point messages
    try:
        return train()
    finally:
        coll.shared = shared


results["fit_same_bits_through_messages"] = all(
    np.array_equal(a, b) for a, b in zip(fit_again("shared"), through_messages(lambda: fit_again("messages")),
                                         strict=True))
results["fit_same_bits_as_first"] = all(
    np.array_equal(a, b) for a, b in zip(fitted, fit_again("again")[:len(fitted)], strict=True))


# 1c. A custom loop (strategy.run + apply_gradients, tf.function): the update is shared out too,
# with the replicated update's bits.
def custom_loop():
    keras.utils.set_random_seed(1 + rank)
    with strategy.scope():
        net = common.build_model()
        optimizer = keras.optimizers.Adam(0.01)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")

    @tf.function
    def step(xb, yb):
        def replica_step(xb, yb):
            with tf.GradientTape() as tape:
                loss = tf.nn.compute_average_loss(loss_fn(yb, net(xb, training=True)),
                                                  global_batch_size=common.GLOBAL_BATCH)
            grads = tape.gradient(loss, net.trainable_variables)
            optimizer.apply_gradients(zip(grads, net.trainable_variables, strict=True))
            return loss
        return strategy.run(replica_step, args=(xb, yb))

    half = common.GLOBAL_BATCH // 2
    for start in range(0, 96, common.GLOBAL_BATCH):
        lo = start + rank * half
        step(x[lo:lo + half], y[lo:lo + half])
    return [w.numpy() for w in net.weights] + [v.numpy() for v in optimizer.variables]


before = coll.sharded_updates
sharded_loop = custom_loop()
results["custom_loop_sharded_updates"] = coll.sharded_updates - before
results["custom_loop_same_bits_as_replicated"] = all(
    np.array_equal(a, b) for a, b in zip(sharded_loop, replicated(custom_loop), strict=True))


# 1d. A chief-only writer saving every batch (it reads the optimizer state on worker 0 alone):
# the slots stay whole, so nothing waits for worker 1.
def fit_saving_every_batch():
    with strategy.scope():
        saver = common.build_model()
    gathers, updates = coll.slot_gathers, coll.sharded_updates
    saver.fit(x, y, batch_size=common.GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0,
              callbacks=[keras.callbacks.ModelCheckpoint(os.path.join(out_dir, "every_batch.keras"), save_freq=1)])
    return [coll.slot_gathers - gathers, coll.sharded_updates - updates]


results["saving_every_batch"] = fit_saving_every_batch()
results["evaluate"] = model.evaluate(x, y, batch_size=common.GLOBAL_BATCH, verbose=0)
np.save(os.path.join(out_dir, f"predict_{rank}.npy"), model.predict(x, batch_size=common.GLOBAL_BATCH, verbose=0))
np.savez(os.path.join(out_dir, f"weights_{rank}.npz"), *[w.numpy() for w in model.weights])


# Single batches and predict on batches of unknown count (the same calls as the MPI workers).
def batches():
    for lo, hi in ((0, 25), (25, 50), (50, 95), (95, 96)):  # the last batch: fewer rows than workers
        yield x[lo:hi]


predicted_gen = model.predict(batches(), verbose=0)
predicted_ds = model.predict(tf.data.Dataset.from_tensor_slices(x).batch(40), verbose=0)
on_batch = {"train": [model.train_on_batch(x[:32], y[:32]) for _ in range(2)],
            "train_dict": model.train_on_batch(x[32:64], y[32:64], return_dict=True),
            "test": model.test_on_batch(x[64:], y[64:])}
results["on_batch"] = on_batch
np.savez(os.path.join(out_dir, f"more_{rank}.npz"), gen=predicted_gen, ds=predicted_ds,
         on_batch=model.predict_on_batch(x[:7]), **{f"w{i}": w.numpy() for i, w in enumerate(model.weights)})

# 2. Collectives in cross-replica and replica context, eagerly and inside tf.function.
value = tf.constant([float(rank + 1), 10.0 * (rank + 1)])
results["reduce_sum"] = strategy.reduce("SUM", value, axis=None).numpy().tolist()
results["reduce_mean_axis"] = float(strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=0))
results["gather"] = strategy.gather(tf.fill((rank + 1, 2), float(rank)), axis=0).numpy().tolist()


@tf.function
def replica_sum(v):
    def fn(t):
        ctx = tf.distribute.get_replica_context()
        return ctx.all_reduce(tf.distribute.ReduceOp.SUM, t * 2.0)
    return strategy.run(fn, args=(v,))


results["traced_all_reduce"] = replica_sum(value).numpy().tolist()
ds = tf.data.Dataset.from_tensor_slices(np.arange(12, dtype=np.float32)).batch(6)
results["distributed_batches"] = [b.numpy().tolist() for b in strategy.experimental_distribute_dataset(ds)]


def dataset_fn(ctx):
    return (tf.data.Dataset.from_tensor_slices(np.arange(8, dtype=np.float32))
            .shard(ctx.num_input_pipelines, ctx.input_pipeline_id).batch(ctx.get_per_replica_batch_size(4)))


results["from_function"] = [b.numpy().tolist() for b in strategy.distribute_datasets_from_function(dataset_fn)]
with open(os.path.join(out_dir, f"results_{rank}.json"), "w") as f:
    json.dump(results, f)
