"""Data-parallel scaling of the seed-003 CNN over MPI workers (tf.distribute, issue 19).

The network of `bench.cnn_step` (conv 32/64 5x5, dense 1024, dropout, Adam) trained with
`model.fit` under `MultiWorkerMirroredStrategy` at global batch 200, one BLAS thread per worker:
the same total work on 1 and on N processes. Reports the median step time on each (wall and
process CPU time: on a busy machine the CPU-time ratio says what the wall time cannot), the
speed-up, and the share of the step spent in the gradient all-reduce code (worker 0: packing,
copies into shared memory or MPI calls, the sums, also those done inside the shared-out
update, and the waits at the optimizer update; with the dense kernel's gradient all-reduced
from its matmul operands, also computing this worker's rows of it, which replaces the local
x^T @ dy of the backward pass), with the load average.
TAPEFLOW_DISTRIBUTE_EXCHANGE_OPERANDS=0 measures the gradient all-reduce of that kernel instead.

Run:  python -m bench.distribute_scaling [--workers 2] [--steps 12]
(needs `pip install tapeflow[distributed]`; launches `mpirun -n 1` and `mpirun -n N` itself)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

GLOBAL_BATCH = 200


def worker(steps: int, warmup: int, global_batch: int = GLOBAL_BATCH) -> None:
    """One MPI process: fit warmup + steps global batches; worker 0 prints a JSON line."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import tapeflow as tf
    from bench.cnn_step import build
    from tapeflow import keras

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = build(keras.layers, keras)
        model.compile(optimizer=keras.optimizers.Adam(1e-4),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    n = global_batch * (steps + warmup)
    x = (rng.uniform(0, 1, (n, 28, 28, 1)) * (rng.uniform(0, 1, (n, 28, 28, 1)) < 0.2)).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    coll = strategy.extended._collective
    marks: list = []  # per batch end: wall, process CPU, all-reduce wall, all-reduce CPU, blocked wait

    def on_batch_end(batch: int, logs: dict | None = None) -> None:
        marks.append((time.perf_counter(), time.process_time(), coll.allreduce_seconds,
                      coll.allreduce_cpu_seconds, coll.wait_seconds))

    model.fit(x, y, batch_size=global_batch, epochs=1, shuffle=False, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=on_batch_end)])
    d = np.diff(np.array(marks[warmup - 1:]), axis=0)  # one row per measured step
    wall, cpu = d[:, 0].sum(), d[:, 1].sum()
    if coll.rank == 0:
        print(json.dumps({"workers": coll.size, "step_s": float(np.median(d[:, 0])),
                          "step_cpu_s": float(np.median(d[:, 1])),
                          "allreduce_share": float(d[:, 2].sum() / wall),
                          "allreduce_cpu_share": float(d[:, 3].sum() / cpu),
                          "wait_share": float(d[:, 4].sum() / wall),
                          "operand_exchanges": coll.operand_exchanges if coll.size > 1 else 0}), flush=True)


def launch(workers: int, steps: int, warmup: int) -> dict:
    root = Path(__file__).resolve().parents[1]
    mpirun = Path(sys.executable).parent / "mpirun"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    cmd = [str(mpirun) if mpirun.exists() else "mpirun", "--oversubscribe", "-n", str(workers), sys.executable,
           "-m", "bench.distribute_scaling", "--worker", "--steps", str(steps), "--warmup", str(warmup)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(root), check=True).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--global-batch", type=int, default=GLOBAL_BATCH, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.steps, args.warmup, args.global_batch)
        return
    load = os.getloadavg()[0]
    one = launch(1, args.steps, args.warmup)
    many = launch(args.workers, args.steps, args.warmup)
    print(f"seed-003 CNN, global batch {GLOBAL_BATCH}, 1 BLAS thread per worker "
          f"(load average {load:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
    print(f"  1 worker : {one['step_s'] * 1e3:8.1f} ms/step  CPU {one['step_cpu_s'] * 1e3:6.1f} ms/step")
    print(f"  {args.workers} workers: {many['step_s'] * 1e3:8.1f} ms/step  CPU {many['step_cpu_s'] * 1e3:6.1f} ms/step "
          f"per worker   speed-up {one['step_s'] / many['step_s']:.2f}x wall, "
          f"{one['step_cpu_s'] / many['step_cpu_s']:.2f}x by CPU time")
    print(f"  all-reduce: {100 * many['allreduce_share']:.1f}% of the step's wall time "
          f"({100 * many['wait_share']:.1f}% blocked waiting at the update), "
          f"{100 * many['allreduce_cpu_share']:.1f}% of its CPU time")


if __name__ == "__main__":
    main()
