"""Per-op overhead: tiny ops where the framework's Python cost is everything.

Rows: an add of two 4-element float32 tensors and a 4x4 float32 matmul,
  * without a tape (forward only), next to the bare NumPy call and PyTorch eager;
  * under a tape with backward (record the op, then the gradients of both inputs), next to
    PyTorch autograd (`torch.autograd.grad` with requires_grad inputs) and the same step written
    by hand in NumPy (the forward plus the two gradient arrays).
The TensorFlow eager peer runs the identical tapeflow code with `import tensorflow as tf`.

Run:  python -m bench.op_overhead [--no-tf] [--repeat N]
Targets: without a tape, at most 2 us above the bare NumPy call; with tape + backward, no
slower than PyTorch autograd.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from bench.common import Table, compare, peer_available


def tape_fns(m, a, b, op):
    """(forward-only, taped forward+backward) closures for module `m` (tapeflow or tensorflow)."""
    ta, tb = m.constant(a), m.constant(b)
    va, vb = m.Variable(a), m.Variable(b)
    f = m.add if op == "add" else m.matmul

    def forward():
        return f(ta, tb)

    def taped():
        with m.GradientTape() as tape:
            y = f(va, vb)
        return tape.gradient(y, [va, vb])

    return forward, taped


def torch_fns(a, b, op):
    import torch

    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    ga = torch.from_numpy(a.copy()).requires_grad_()
    gb = torch.from_numpy(b.copy()).requires_grad_()
    f = torch.add if op == "add" else torch.matmul
    ones = torch.ones(f(ta, tb).shape)

    def forward():
        return f(ta, tb)

    def taped():
        y = f(ga, gb)
        return torch.autograd.grad(y, [ga, gb], grad_outputs=ones)

    return forward, taped


def numpy_fns(a, b, op):
    if op == "add":
        def forward():
            return a + b

        def taped():
            y = a + b
            g = np.ones_like(y)
            return y, g, g.copy()
    else:
        def forward():
            return a @ b

        def taped():
            y = a @ b
            g = np.ones_like(y)
            return y, g @ b.T, a.T @ g

    return forward, taped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-tf", action="store_true", help="skip the TensorFlow eager peer")
    ap.add_argument("--repeat", type=int, default=15, help="interleaved rounds per implementation")
    ap.add_argument("--clock", default="wall", choices=("wall", "cpu"),
                    help="wall time, or this process's CPU time (steadier on a busy machine)")
    ap.add_argument("--stem", default="op_overhead", help="results file name in bench/results/")
    args = ap.parse_args()

    import tapeflow

    tensorflow = None
    if not args.no_tf and peer_available("tensorflow"):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow
    has_torch = peer_available("torch")

    rng = np.random.default_rng(0)
    cases = {
        "add 4 f32": ("add", rng.standard_normal(4).astype(np.float32),
                      rng.standard_normal(4).astype(np.float32)),
        "matmul 4x4 f32": ("matmul", rng.standard_normal((4, 4)).astype(np.float32),
                           rng.standard_normal((4, 4)).astype(np.float32)),
    }
    table = Table("op_overhead", peers=("numpy", "torch", "tensorflow"))
    for label, (op, a, b) in cases.items():
        impls = {"tapeflow": tape_fns(tapeflow, a, b, op), "numpy": numpy_fns(a, b, op)}
        if has_torch:
            impls["torch"] = torch_fns(a, b, op)
        if tensorflow is not None:
            impls["tensorflow"] = tape_fns(tensorflow, a, b, op)
        for mode, idx in (("no tape", 0), ("tape fwd+bwd", 1)):
            times = compare({k: v[idx] for k, v in impls.items()}, repeat=args.repeat, min_round_s=0.05,
                            clock=args.clock)
            row = table.add(f"{label}, {mode}", times["tapeflow"], numpy=times["numpy"],
                            torch=times.get("torch"), tensorflow=times.get("tensorflow"))
            if idx == 0:
                extra = (row["tapeflow"] - row["numpy"]) * 1e6
                table.note(f"{label}, no tape: {extra:.2f} us above NumPy (target <= 2 us: "
                           f"{'met' if extra <= 2 else 'NOT met'})")
            elif row["torch"]:
                table.note(f"{label}, tape fwd+bwd: tapeflow/torch {row['ratio_torch']:.2f} (target <= 1: "
                           f"{'met' if row['ratio_torch'] <= 1 else 'NOT met'})")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table.note(f"best of {args.repeat} interleaved rounds ({args.clock} clock); load average {load:.2f}")
    table.report(stem=args.stem)


if __name__ == "__main__":
    sys.exit(main())
