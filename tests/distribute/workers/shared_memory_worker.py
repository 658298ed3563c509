"""Run by tests/distribute/test_mpi.py under `mpirun -n 3`: fits through shared memory (several
buckets, packed and sent whole) against the same fits through MPI messages; writes OUT_DIR/shm_<rank>.json."""

import hashlib
import json
import os
import sys

import numpy as np

import tapeflow as tf
from tapeflow import keras
from tapeflow.distribute import sharded_update

out_dir = sys.argv[1]
strategy = tf.distribute.MultiWorkerMirroredStrategy(
    communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=60))
coll = strategy.extended._collective
coll.bucket_elements = 5000   # buckets: the big kernel alone (sent whole), the rest packed
rng = np.random.default_rng(0)
x = rng.normal(size=(180, 20)).astype(np.float32)
y = rng.integers(0, 5, 180)


def fit(optimizer):
    keras.utils.set_random_seed(1)
    with strategy.scope():
        model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(700, activation="relu"),
                                  keras.layers.Dense(5)])
        model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=60, epochs=2, shuffle=False, verbose=0)
    return [w.numpy() for w in model.weights] + [v.numpy() for v in model.optimizer.variables]


def same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


def through_messages(train):
    shared, coll.shared = coll.shared, None
    try:
        return train()
    finally:
        coll.shared = shared


def replicated(train):
    sharded_update.enabled = False
    try:
        return train()
    finally:
        sharded_update.enabled = True


shared = fit("adam")
results = {
    "shared_memory": coll.shared is not None,
    "shared_weight_updates": coll.shared_weight_updates,
    "adam_same_bits_as_messages": same(shared, through_messages(lambda: fit("adam"))),
    # The replicated update all-reduces whole gradients (the all-gather phase through shared memory too).
    "rmsprop_same_bits_as_replicated": same(fit("rmsprop"), replicated(lambda: fit("rmsprop"))),
    "replicated_same_bits_as_messages": same(replicated(lambda: fit("sgd")),
                                             through_messages(lambda: replicated(lambda: fit("sgd")))),
    "hash": hashlib.md5(b"".join(a.tobytes() for a in shared)).hexdigest(),
}
with open(os.path.join(out_dir, f"shm_{coll.rank}.json"), "w") as f:
    json.dump(results, f)
