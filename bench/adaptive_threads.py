"""Fit time with the adaptive BLAS thread policy off and on, on a busy machine.

A 784-512-10 MLP (Adam, sparse cross-entropy from logits), 3 epochs of 20,000 random samples at
batch 256, each run in its own process with `TAPEFLOW_ADAPTIVE_THREADS=0` (OpenBLAS's default
thread count throughout) or `=1` (tapeflow/backend/blas_threads.py), alternating. With
`--contend` one extra process keeps one core busy for the whole run (as bench.everyday's).

Run:  python -m bench.adaptive_threads [--rounds 2] [--contend]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

CHILD = """
import time, numpy as np
from tapeflow import keras
rng = np.random.default_rng(0)
x = rng.random((20000, 784), dtype=np.float32); y = rng.integers(0, 10, 20000)
m = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10)])
m.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
m.fit(x[:512], y[:512], batch_size=256, epochs=1, verbose=0)
t = time.perf_counter(); m.fit(x, y, batch_size=256, epochs=3, verbose=0)
print(time.perf_counter() - t)
"""


def run(adaptive: bool) -> float:
    env = dict(os.environ, TAPEFLOW_ADAPTIVE_THREADS="1" if adaptive else "0")
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--contend", action="store_true", help="keep one core busy during the run")
    args = parser.parse_args(argv)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.contend else None
    try:
        time.sleep(1.0 if hog else 0.0)
        fixed, adapted = [], []
        for _ in range(args.rounds):
            fixed.append(run(False))
            adapted.append(run(True))
    finally:
        if hog is not None:
            hog.kill()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("fit, 3 epochs x 20,000 samples, batch 256 (s):")
    print(f"  fixed threads: {', '.join(f'{t:.2f}' for t in fixed)}")
    print(f"  adaptive:      {', '.join(f'{t:.2f}' for t in adapted)}")
    fixed.sort()
    adapted.sort()
    print(f"  best ratio adaptive/fixed: {adapted[0] / fixed[0]:.2f}, worst: {adapted[-1] / fixed[-1]:.2f}; "
          f"load average {load:.2f}"
          + ("; one core kept busy (--contend)" if hog else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
