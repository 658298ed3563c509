"""One MNIST epoch of the classic Keras example: 784 -> 512 relu -> 10 softmax, RMSprop, batch 128.

`compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])`,
`fit(x, y, batch_size=128)` on the 60,000 training images (flattened, / 255): 469 steps.

Peers, same model, data and schedule:
  numpy  the same epoch hand-written in NumPy: shuffle, gather, forward, softmax cross-entropy,
         backward, RMSprop (rho 0.9, epsilon 1e-7, Keras 3's rule) in place, running loss and
         accuracy; its optimizer state is flushed of denormals every 100 steps like Tapeflow's
  torch  a PyTorch loop (torch.optim.RMSprop(alpha=0.9, eps=1e-7))
  keras  tf.keras `fit`

Several epochs are run (RMSprop state decays towards denormals over time, so one epoch says
little); each epoch is timed between `on_epoch_begin` and `on_epoch_end` and the fastest and
the median are reported.

Run:  python -m bench.mnist_rmsprop_epoch [--epochs 4] [--no-keras] [--no-torch]
Target: tapeflow <= 1.3x the hand-written NumPy epoch (issue figures: Keras 1.0 s,
PyTorch 2.9 s, NumPy 0.6 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from bench.common import Table, peer_available, torch_epoch_times
from bench.fashion_mlp_epoch import epoch_timer
from bench.idx_data import load

BATCH = 128
LR, RHO, EPS = 1e-3, 0.9, 1e-7
FLUSH = float(np.finfo(np.float32).tiny) * 2.0 ** 24


def data() -> tuple:
    (x, y), _ = load("mnist")
    return (x.reshape(60000, 784) / 255.0).astype("float32"), y.astype("int64")


def build(k) -> object:
    model = k.Sequential([k.Input((784,)), k.layers.Dense(512, activation="relu"),
                          k.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def run_tapeflow(x, y, epochs: int) -> list:
    from tapeflow import keras

    keras.utils.set_random_seed(0)
    model = build(keras)
    timer = epoch_timer(keras)
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.times


def run_keras(x, y, epochs: int) -> list:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    keras.utils.set_random_seed(0)
    model = build(keras)
    timer = epoch_timer(keras)
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.times


def run_numpy(x, y, epochs: int) -> list:
    rng = np.random.default_rng(0)
    limit1, limit2 = np.sqrt(6 / (784 + 512)), np.sqrt(6 / (512 + 10))
    params = [rng.uniform(-limit1, limit1, (784, 512)).astype("float32"), np.zeros(512, "float32"),
              rng.uniform(-limit2, limit2, (512, 10)).astype("float32"), np.zeros(10, "float32")]
    velocity = [np.zeros_like(p) for p in params]
    n = len(x)
    times = []
    step = 0
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = np.random.permutation(n)
        total = correct = 0.0
        for start in range(0, n, BATCH):
            idx = perm[start:start + BATCH]
            xb, yb = x[idx], y[idx]
            m = len(idx)
            w1, b1, w2, b2 = params
            # Forward.
            h = xb @ w1
            h += b1
            np.maximum(h, 0, out=h)
            z = h @ w2
            z += b2
            z -= z.max(axis=1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)  # probabilities
            rows = np.arange(m)
            total += float(-np.log(np.maximum(z[rows, yb], 1e-7)).sum())
            correct += float((z.argmax(axis=1) == yb).sum())
            # Backward: d(mean CE)/dz = (p - onehot) / m.
            z[rows, yb] -= 1.0
            z *= np.float32(1.0 / m)
            gw2 = h.T @ z
            gb2 = z.sum(axis=0)
            dh = z @ w2.T
            dh *= h > 0
            gw1 = xb.T @ dh
            gb1 = dh.sum(axis=0)
            # RMSprop (Keras 3): v = rho v + (1 - rho) g^2; w -= lr g / sqrt(v + eps).
            for w, v, g in zip(params, velocity, (gw1, gb1, gw2, gb2), strict=True):
                v *= RHO
                v += (1.0 - RHO) * (g * g)
                denom = v + EPS
                np.sqrt(denom, out=denom)
                g /= denom
                g *= LR
                w -= g
            step += 1
            if step % 100 == 0:
                for v in velocity:
                    v += FLUSH
                    v -= FLUSH
        times.append(time.perf_counter() - t0)
    return times


def run_torch(x, y, epochs: int) -> list:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    opt = torch.optim.RMSprop(model.parameters(), lr=LR, alpha=RHO, eps=EPS)
    return torch_epoch_times(model, opt, x, y, BATCH, epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    x, y = data()
    results = {"tapeflow": run_tapeflow(x, y, args.epochs), "numpy": run_numpy(x, y, args.epochs)}
    if not args.no_torch and peer_available("torch"):
        results["torch"] = run_torch(x, y, args.epochs)
    if not args.no_keras and peer_available("keras") and peer_available("tensorflow"):
        results["keras"] = run_keras(x, y, args.epochs)
    best = {k: min(v) for k, v in results.items()}
    table = Table("mnist_rmsprop_epoch", peers=("numpy", "torch", "keras"))
    table.add("MNIST 784-512-10 epoch (60k, batch 128, RMSprop)", best["tapeflow"], numpy=best["numpy"],
              torch=best.get("torch"), keras=best.get("keras"))
    for name, times in results.items():
        table.note(f"{name} epochs: {', '.join(f'{t:.3f} s' for t in times)} "
                   f"(median {statistics.median(times):.3f} s)")
    ratio = best["tapeflow"] / best["numpy"]
    table.note(f"target tapeflow <= 1.3x hand-written NumPy: {'MET' if ratio <= 1.3 else 'NOT MET'} "
               f"({ratio:.2f}x)")
    table.report()


if __name__ == "__main__":
    main()
