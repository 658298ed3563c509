"""A 10-op function on small tensors, called eagerly and through `tf.function`.

The function (two 4x4 float32 inputs): add, mul, sub, exp, add-scalar, div, tanh, square,
row sum, sqrt, scale: the per-call cost is the framework's dispatch, not arithmetic.
Rows: Tapeflow eager and traced (`tf.function`), next to the same arithmetic in NumPy, PyTorch
eager, and the identical code run with `import tensorflow as tf` (eager, and its tf.function).

Run:  python -m bench.function_call [--no-tf] [--repeat N] [--clock cpu]
Target (issue 11): a traced call <= 20 us.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from bench.common import Table, compare, peer_available


def ten_ops(m):
    def f(x, y):
        a = x + y
        b = a * x
        c = b - y
        d = m.exp(c)
        e = d / (a + 1.0)
        g = m.tanh(e)
        h = g * g
        i = m.reduce_sum(h, axis=1)
        return m.sqrt(i) * 2.0

    return f


def numpy_f(x, y):
    a = x + y
    e = np.exp(a * x - y) / (a + np.float32(1.0))
    g = np.tanh(e)
    return np.sqrt((g * g).sum(axis=1)) * np.float32(2.0)


def torch_f(torch):
    def f(x, y):
        a = x + y
        e = torch.exp(a * x - y) / (a + 1.0)
        g = torch.tanh(e)
        return torch.sqrt((g * g).sum(dim=1)) * 2.0

    return f


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-tf", action="store_true", help="skip the TensorFlow peer")
    ap.add_argument("--repeat", type=int, default=11, help="interleaved rounds per implementation")
    ap.add_argument("--clock", default="wall", choices=("wall", "cpu"))
    args = ap.parse_args()

    import tapeflow

    rng = np.random.default_rng(0)
    xa = rng.standard_normal((4, 4)).astype(np.float32)
    ya = rng.standard_normal((4, 4)).astype(np.float32)
    x, y = tapeflow.constant(xa), tapeflow.constant(ya)
    eager = ten_ops(tapeflow)
    traced = tapeflow.function(ten_ops(tapeflow))
    np.testing.assert_array_equal(eager(x, y).numpy(), traced(x, y).numpy())
    impls = {"tapeflow eager": lambda: eager(x, y), "tapeflow traced": lambda: traced(x, y),
             "numpy": lambda: numpy_f(xa, ya)}
    if peer_available("torch"):
        import torch

        tx, ty = torch.from_numpy(xa), torch.from_numpy(ya)
        tf_torch = torch_f(torch)
        impls["torch"] = lambda: tf_torch(tx, ty)
    if not args.no_tf and peer_available("tensorflow"):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow

        gx, gy = tensorflow.constant(xa), tensorflow.constant(ya)
        tf_eager = ten_ops(tensorflow)
        tf_traced = tensorflow.function(ten_ops(tensorflow))
        impls["tensorflow eager"] = lambda: tf_eager(gx, gy)
        impls["tensorflow traced"] = lambda: tf_traced(gx, gy)
    times = compare(impls, repeat=args.repeat, min_round_s=0.05, clock=args.clock)
    table = Table("function_call", peers=("numpy", "torch", "tensorflow"))
    for mode in ("eager", "traced"):
        table.add(f"10-op function, {mode}", times[f"tapeflow {mode}"], numpy=times["numpy"],
                  torch=times.get("torch"), tensorflow=times.get(f"tensorflow {mode}"))
    us = times["tapeflow traced"] * 1e6
    table.note(f"traced call {us:.1f} us (target <= 20 us: {'met' if us <= 20 else 'NOT met'}); "
               f"PyTorch and NumPy have no tracing: their eager time is in both rows")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table.note(f"best of {args.repeat} interleaved rounds ({args.clock} clock); load average {load:.2f}")
    table.report(stem="function_call")


if __name__ == "__main__":
    sys.exit(main())
