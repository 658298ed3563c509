"""Run by tests/distribute/test_mpi.py under `mpirun -n 2`: a Dense kernel whose gradient is
all-reduced from its matmul operands (overlap.exchange_operands) against the gradient
all-reduce; writes OUT_DIR/exchange_<rank>.npz and .json (and, on worker 0 only, nothing else)."""

import contextlib
import json
import os
import sys

import numpy as np

import tapeflow as tf
from tapeflow import keras
from tapeflow.distribute import overlap, sharded_update

out_dir = sys.argv[1]
strategy = tf.distribute.MultiWorkerMirroredStrategy(
    communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=60))
coll = strategy.extended._collective
rank = coll.rank
GLOBAL_BATCH = 48
rng = np.random.default_rng(0)
x = rng.normal(size=(4 * GLOBAL_BATCH, 1024)).astype(np.float32)
y = rng.integers(0, 5, len(x))


def build(optimizer="adam"):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((1024,)), keras.layers.Dense(1024, activation="relu"),
                              keras.layers.Dense(5)])
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def fit(optimizer="adam"):
    with strategy.scope():
        model = build(optimizer)
    before = coll.operand_exchanges
    model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=2, shuffle=False, verbose=0)
    weights = [w.numpy() for w in model.weights] + [v.numpy() for v in model.optimizer.variables]
    return weights, coll.operand_exchanges - before


def same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))



# The same global batches in one process (a model made outside the strategy's scope).
reference = build()
reference.fit(x, y, batch_size=GLOBAL_BATCH, epochs=2, shuffle=False, verbose=0)
np.savez(os.path.join(out_dir, f"reference_{rank}.npz"),
         *([w.numpy() for w in reference.weights] + [v.numpy() for v in reference.optimizer.variables]))
exchanged, count = fit()
results = {"exchanges": count}
# Replicated update (SGD through the gradient-list path's fallback: whole dW on every worker).
sharded_update.enabled = False
replicated, results["replicated_exchanges"] = fit("sgd")
sharded_update.enabled = True
# The switch off: the gradient all-reduce (the bits of the path before operand exchanges).
overlap.exchange_operands = False
plain, results["off_exchanges"] = fit()
overlap.exchange_operands = True
results["off_differs_in_last_bits_only"] = bool(
    all(np.allclose(p, q, atol=1e-5, rtol=1e-5) for p, q in zip(exchanged, plain, strict=True)))


# A custom loop (strategy.run in a tf.function, "sum" of the replicas' gradients) with uneven
# blocks of each global batch of 8 rows (5 and 3: each worker learns the other's rows from its
# messages); with `read_norm` another op reads the local gradients, so the traced matmul stays.
def custom_loop(read_norm, local=True):
    keras.utils.set_random_seed(2)
    scope = strategy.scope() if local else contextlib.nullcontext()
    with scope:
        model = keras.Sequential([keras.Input((1024,)), keras.layers.Dense(1024, activation="relu"),
                                  keras.layers.Dense(5)])
        optimizer = keras.optimizers.SGD(0.1)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)

    def replica(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(loss_fn(yb, model(xb, training=True))) / 8.0
        grads = tape.gradient(loss, model.trainable_variables)
        norm = tf.linalg.global_norm(grads) if read_norm else tf.constant(0.0)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return norm

    step = tf.function(lambda xb, yb: strategy.run(replica, args=(xb, yb)) if local else replica(xb, yb))
    norms = []
    before = coll.operand_exchanges
    for b in range(4):
        xb, yb = x[8 * b:8 * b + 8], y[8 * b:8 * b + 8]
        if local:
            xb, yb = (xb[:5], yb[:5]) if rank == 0 else (xb[5:], yb[5:])
        norms.append(float(step(tf.constant(xb), tf.constant(yb))))
    # (the pass `use_stand_ins` replaced the traced local x^T @ dy, or not)
    swapped = step.get_concrete_function(tf.constant(xb), tf.constant(yb)).optimizations["use_stand_ins"]
    return [w.numpy() for w in model.weights], (coll.operand_exchanges - before, swapped), norms


loop, results["loop_exchanges"], _ = custom_loop(False)
loop_norm, results["loop_norm_exchanges"], norms = custom_loop(True)
results["loop_norms_finite"] = bool(np.all(np.isfinite(norms)) and min(norms) > 0)
loop_ref, _, _ = custom_loop(False, local=False)
results["loop_matches_one_process"] = bool(all(np.allclose(p, q, atol=1e-5, rtol=1e-5)
                                               for p, q in zip(loop, loop_ref, strict=True)))
results["loop_norm_same_bits"] = same(loop, loop_norm)
np.savez(os.path.join(out_dir, f"loop_{rank}.npz"), *loop)
np.savez(os.path.join(out_dir, f"exchange_{rank}.npz"), *exchanged)
np.savez(os.path.join(out_dir, f"replicated_{rank}.npz"), *replicated)
with open(os.path.join(out_dir, f"exchange_{rank}.json"), "w") as f:
    json.dump(results, f)
