"""Restoring a tf.data iterator from a checkpoint: positioned vs replayed, and TF's tf.data.

Pipelines over the 60k MNIST training images (uint8), restored 1500 batches (48k elements) into
the pass:
  shuffle+batch     from_tensor_slices((x, y)).shuffle(10_000, seed=0).batch(32).prefetch(AUTOTUNE)
  map+batch         from_tensor_slices(x).map(cast + scale).batch(32) (an elementwise map)
  python map        range(60k).map(a py_function per element).batch(32), saved with the
                    IGNORE external-state policy: a map that cannot be vectorised, so a replay
                    calls it on every skipped element

Times (seconds, best of --repeat) are for `Checkpoint.restore` plus the first `next()` after it
(the restored batch is checked against the saved iterator's). "replay" is what restoring cost
before positioning: a fresh pass with the first 1500 batches produced and dropped.

Run:  python -m bench.iterator_restore [--repeat 3] [--no-tf]
"""

from __future__ import annotations

import argparse
import collections
import itertools
import os
import tempfile
import time

import numpy as np

from bench.common import Table
from bench.idx_data import load

BATCH, POSITION = 32, 1500


def pipelines(tf, images, labels) -> dict:
    def py_map(i):
        return tf.py_function(lambda v: v * 2, [i], tf.int64)

    # A py_function's state is outside the checkpoint: TF (and Tapeflow) refuse to save such a
    # pipeline unless told to ignore that.
    ignore = tf.data.Options()
    ignore.experimental_external_state_policy = tf.data.experimental.ExternalStatePolicy.IGNORE

    return {
        "shuffle+batch": lambda: tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(
            10_000, seed=0).batch(BATCH).prefetch(tf.data.AUTOTUNE),
        "map+batch": lambda: tf.data.Dataset.from_tensor_slices(images).map(
            lambda a: tf.cast(a, tf.float32) / 255.0).batch(BATCH),
        "python map": lambda: tf.data.Dataset.range(len(images)).map(py_map).batch(BATCH).with_options(ignore),
    }


def _restore_time(tf, make, path: str, repeat: int, expected: np.ndarray) -> float:
    best = float("inf")
    for _ in range(repeat):
        it = iter(make())
        start = time.perf_counter()
        tf.train.Checkpoint(iterator=it).restore(path)
        first = next(it)
        best = min(best, time.perf_counter() - start)
        got = first[0] if isinstance(first, tuple) else first
        np.testing.assert_array_equal(np.asarray(got), expected)
    return best


def run(tf, images, labels, repeat: int, replay: bool) -> dict:
    out = {}
    folder = tempfile.mkdtemp()
    for name, make in pipelines(tf, images, labels).items():
        it = iter(make())
        for _ in range(POSITION):
            next(it)
        try:
            path = tf.train.Checkpoint(iterator=it).save(os.path.join(folder, name.replace(" ", "_")))
        except tf.errors.FailedPreconditionError as e:  # TF: "EagerPyFunc is stateful"
            out[name] = {"restore": None, "refused": str(e).split("}")[-1].split("[")[0].strip()}
            continue
        first = next(it)
        expected = np.asarray(first[0] if isinstance(first, tuple) else first)
        row = {"restore": _restore_time(tf, make, path, repeat, expected)}
        if replay:
            best = float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                elements = make()._iter_elements()
                collections.deque(itertools.islice(elements, POSITION), maxlen=0)
                next(elements)
                best = min(best, time.perf_counter() - start)
            row["replay"] = best
        out[name] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-tf", action="store_true")
    args = parser.parse_args()
    (images, labels), _ = load("mnist")
    import tapeflow as tf

    rows = run(tf, images, labels, args.repeat, replay=True)
    if not args.no_tf:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as real_tf

        for name, row in run(real_tf, images, labels, args.repeat, replay=False).items():
            rows[name]["tf.data"] = row["restore"] if row["restore"] is not None else row["refused"]
    table = Table("iterator_restore", peers=("replay", "tf_data"))
    for name, row in rows.items():
        tf_time = row.get("tf.data")
        table.add(f"{name}, restored {POSITION} batches in", row["restore"], replay=row["replay"],
                  tf_data=tf_time if isinstance(tf_time, float) else None)
        if isinstance(tf_time, str):
            table.note(f"tf.data refuses to checkpoint '{name}': {tf_time}")
    table.note("time of Checkpoint.restore + the first next(); replay: a fresh pass with the skipped batches "
               "produced and dropped (the restore before positioning)")
    table.note(f"load average {tuple(round(v, 2) for v in os.getloadavg())}")
    table.report()

if __name__ == "__main__":
    main()
