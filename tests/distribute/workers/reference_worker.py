"""One process, no strategy: the training that test_mpi.py's two workers must reproduce.
(Run in its own process: the test process's tf.function state stays untouched.)"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import tapeflow as tf  # noqa: E402
from tapeflow import keras  # noqa: E402

out_dir = sys.argv[1]
keras.utils.set_random_seed(1)
model = common.build_model()
x, y = common.data()
history = model.fit(x, y, batch_size=common.GLOBAL_BATCH, epochs=2, shuffle=False, verbose=0,
                    validation_data=(x[:40], y[:40]))
np.savez(os.path.join(out_dir, "optimizer_ref.npz"), *[v.numpy() for v in model.optimizer.variables])
results = {"history": history.history,
           "evaluate": model.evaluate(x, y, batch_size=common.GLOBAL_BATCH, verbose=0)}
np.save(os.path.join(out_dir, "predict_ref.npy"), model.predict(x, verbose=0))
np.savez(os.path.join(out_dir, "weights_ref.npz"), *[w.numpy() for w in model.weights])
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
np.savez(os.path.join(out_dir, "more_ref.npz"), gen=predicted_gen, ds=predicted_ds,
         on_batch=model.predict_on_batch(x[:7]), **{f"w{i}": w.numpy() for i, w in enumerate(model.weights)})
with open(os.path.join(out_dir, "results_ref.json"), "w") as f:
    json.dump(results, f)
