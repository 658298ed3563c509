"""float32 matrix products at the benchmarks' shapes: NumPy's BLAS against PyTorch's.

    python -m bench.gemm [--repeat N]

Tapeflow computes every product with NumPy's `@`, so on the CPU its dense layers run exactly as
fast as the BLAS NumPy ships (OpenBLAS in the PyPI wheels); PyTorch's CPU wheels use MKL and
oneDNN. This table separates that library gap from Tapeflow's own overhead: the `tapeflow`
column is `tf.matmul` on tensors, `numpy` the bare `a @ b`, `torch` `torch.mm` on the same
data. Shapes: the MLP benchmarks' first layer at batch 32 / 128 / 256 (784x512), the seed-003
CNN's dense layer at batch 100 (3136x1024), and its weight gradient (K = the batch).
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.common import Table, compare, peer_available

SHAPES = [  # (M, K, N): (M, K) @ (K, N)
    (32, 784, 512),
    (128, 784, 512),
    (256, 784, 512),
    (100, 3136, 1024),
    (3136, 100, 1024),
]


def main(argv: list | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    import tapeflow as tf

    has_torch = peer_available("torch")
    if has_torch:
        import torch
    rng = np.random.default_rng(0)
    table = Table("gemm", peers=("numpy", "torch"))
    for m, k, n in SHAPES:
        a = rng.random((m, k), dtype=np.float32)
        b = rng.random((k, n), dtype=np.float32)
        ta, tb = tf.constant(a), tf.constant(b)
        fns = {"tapeflow": lambda ta=ta, tb=tb: tf.matmul(ta, tb), "numpy": lambda a=a, b=b: a @ b}
        if has_torch:
            pa, pb = torch.from_numpy(a), torch.from_numpy(b)
            fns["torch"] = lambda pa=pa, pb=pb: torch.mm(pa, pb)
        times = compare(fns, repeat=args.repeat, min_round_s=0.05)
        row = table.add(f"({m}x{k}) @ ({k}x{n}) float32", times["tapeflow"], numpy=times["numpy"],
                        torch=times.get("torch"))
        gflop = 2.0 * m * k * n / 1e9
        row["gflops"] = {name: gflop / t for name, t in times.items()}
        table.note(f"{m}x{k}x{n}: " + ", ".join(f"{name} {gflop / t:.0f} GFLOP/s"
                                                for name, t in times.items()))
    table.note("tf/numpy near 1 with tf/torch above 1: the gap is the BLAS library (NumPy's "
               "OpenBLAS against PyTorch's MKL), not Tapeflow")
    table.report()


if __name__ == "__main__":
    main()
