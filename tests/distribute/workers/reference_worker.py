"""One process, no strategy: the training that test_mpi.py's two workers must reproduce.
(Run in its own process: the test process's tf.function state stays untouched.)"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

from tapeflow import keras  # noqa: E402

out_dir = sys.argv[1]
keras.utils.set_random_seed(1)
model = common.build_model()
x, y = common.data()
history = model.fit(x, y, batch_size=common.GLOBAL_BATCH, epochs=2, shuffle=False, verbose=0,
                    validation_data=(x[:40], y[:40]))
results = {"history": history.history,
           "evaluate": model.evaluate(x, y, batch_size=common.GLOBAL_BATCH, verbose=0)}
np.save(os.path.join(out_dir, "predict_ref.npy"), model.predict(x, verbose=0))
np.savez(os.path.join(out_dir, "weights_ref.npz"), *[w.numpy() for w in model.weights])
with open(os.path.join(out_dir, "results_ref.json"), "w") as f:
    json.dump(results, f)
