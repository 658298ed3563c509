"""Training steps and inference on an NVIDIA GPU: Tapeflow on CuPy next to PyTorch on CUDA.

    TAPEFLOW_DEFAULT_DEVICE=/GPU:0 python -m bench.gpu_steps [--repeat N]

Workloads (the same as the CPU benchmarks, same weights and data):
  cnn tape step   the seed-003 CNN at batch 100: GradientTape + Adam.apply_gradients (bench.cnn_step)
  cnn fit step    the same network through model.train_on_batch
  mlp tape step   784-512 relu-10, batch 128, GradientTape + assign_sub (bench.mlp_step)
  cnn predict     model.predict on 10,000 images, batch 256 (per call)
  lstm fit step   LSTM(128) over 28 steps of 28 features + Dense(10) softmax, batch 64, Adam,
                  model.train_on_batch (PyTorch: nn.LSTM (cuDNN) + Linear, the same step)

Every timed round ends with a device synchronisation, so the figures are GPU time plus the
Python that launches it. Needs CuPy; PyTorch is timed when it sees a CUDA device.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench import cnn_step, mlp_step
from bench.common import Table


def _best(fn: Callable[[], Any], sync: Callable[[], None], repeat: int, number: int) -> float:
    """Best over `repeat` rounds of `number` calls, each round ending with `sync()`."""
    for _ in range(3):
        fn()
    sync()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        sync()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def _tapeflow(d_cnn: dict, weights: list, d_mlp: dict, images: np.ndarray) -> dict:
    import tapeflow as tf

    parts = cnn_step.make_tapeflow(d_cnn, weights)
    mlp = mlp_step.make_tf_step(tf, d_mlp, "logits")
    model = parts["model"]
    lstm = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.LSTM(128),
                                tf.keras.layers.Dense(10, activation="softmax")])
    lstm.compile(tf.keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    xl, yl = _lstm_data()
    return {
        "cnn tape step": parts["tape"],
        "cnn fit step": parts["train_on_batch"],
        "mlp tape step": mlp,
        "cnn predict 10k": lambda: model.predict(images, batch_size=256, verbose=0),
        "lstm fit step": lambda: lstm.train_on_batch(xl, yl),
    }


def _lstm_data() -> tuple:
    rng = np.random.default_rng(4)
    return rng.random((64, 28, 28), dtype=np.float32), rng.integers(0, 10, 64)


def _torch(d_cnn: dict, weights: list, d_mlp: dict, images: np.ndarray) -> dict:
    import torch
    import torch.nn.functional as F  # noqa: N812

    dev = torch.device("cuda")
    seed_cnn = cnn_step.make_torch(d_cnn, weights, "cuda")
    cnn, net = seed_cnn["step"], seed_cnn["net"]

    mw = [torch.tensor(d_mlp[k], device=dev, requires_grad=True) for k in ("W1", "b1", "W2", "b2")]
    mx = torch.tensor(d_mlp["x"], device=dev)
    my = torch.tensor(d_mlp["y"], device=dev)

    def mlp() -> Any:
        W1, b1, W2, b2 = mw
        h = torch.relu(mx @ W1 + b1)
        logits = h @ W2 + b2
        torch.softmax(logits, dim=-1)
        loss = F.cross_entropy(logits, my)
        grads = torch.autograd.grad(loss, mw)
        with torch.no_grad():
            for g, v in zip(grads, mw, strict=True):
                v.sub_(g * mlp_step.LR)
        return loss

    host = images.transpose(0, 3, 1, 2).copy()

    def predict() -> np.ndarray:
        # Like Keras's predict: host batches in, host array out.
        net.eval()
        outs = []
        with torch.no_grad():
            for i in range(0, len(host), 256):
                outs.append(net(torch.from_numpy(host[i:i + 256]).to(dev)).cpu().numpy())
        return np.concatenate(outs)

    rnn = torch.nn.LSTM(28, 128, batch_first=True).to(dev)
    head = torch.nn.Linear(128, 10).to(dev)
    ropt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    xl, yl = (torch.tensor(a, device=dev) for a in _lstm_data())

    def lstm() -> Any:
        ropt.zero_grad(set_to_none=True)
        out, _ = rnn(xl)
        loss = F.cross_entropy(head(out[:, -1]), yl)
        loss.backward()
        ropt.step()
        return loss

    return {"cnn tape step": cnn, "cnn fit step": cnn, "mlp tape step": mlp, "cnn predict 10k": predict,
            "lstm fit step": lstm}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    try:
        import cupy
    except ImportError:
        print("gpu_steps: CuPy is not installed; nothing to measure.")
        return 0
    if cupy.cuda.runtime.getDeviceCount() == 0:
        print("gpu_steps: no CUDA device; nothing to measure.")
        return 0
    os.environ.setdefault("TAPEFLOW_DEFAULT_DEVICE", "/GPU:0")
    d_cnn, weights = cnn_step.make_data(), cnn_step.reference_weights()
    d_mlp = mlp_step.make_data()
    images = np.random.default_rng(3).uniform(0, 1, (10_000, 28, 28, 1)).astype(np.float32)
    ours = _tapeflow(d_cnn, weights, d_mlp, images)
    theirs: dict = {}
    try:
        import torch

        if torch.cuda.is_available():
            theirs = _torch(d_cnn, weights, d_mlp, images)
            torch_sync = torch.cuda.synchronize
    except ImportError:
        pass
    sync = cupy.cuda.Device().synchronize
    number = {"cnn predict 10k": 2}
    table = Table("gpu_steps", peers=("torch",))
    for name, fn in ours.items():
        n = number.get(name, 20)
        t = _best(fn, sync, args.repeat, n)
        p = _best(theirs[name], torch_sync, args.repeat, n) if name in theirs else None
        table.add(name, t, torch=p)
    table.note(f"device: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}; cupy {cupy.__version__}; "
               f"best of {args.repeat} rounds, each ending with a device sync")
    table.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
