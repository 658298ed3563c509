"""One epoch of the TensorFlow 2 quickstart model on MNIST.

Model (the "TensorFlow 2 quickstart for beginners"): Flatten(28x28) -> Dense(128, relu) ->
Dropout(0.2) -> Dense(10) logits; Adam, SparseCategoricalCrossentropy(from_logits=True),
metrics=["accuracy"]; 60,000 images, batch 32, shuffled: 1875 steps per epoch.

Rows: Tapeflow's fit (its train_step traced by tf.function, the default) and with
compile(run_eagerly=True); peers with the same model, data and schedule:
  torch  a PyTorch loop (random order, forward / cross-entropy / backward / Adam step, plus the
         running loss and accuracy fit reports)
  keras  tf.keras `fit`

The fastest of several epochs is reported (the first includes warm-up and tracing).

Run:  python -m bench.quickstart_mlp_epoch [--epochs 3] [--no-keras] [--no-torch]
Target (issue 11): tapeflow <= 0.8x PyTorch.
"""

from __future__ import annotations

import argparse
import os
import statistics

import numpy as np

from bench.common import Table, peer_available, torch_epoch_times
from bench.fashion_mlp_epoch import epoch_timer
from bench.idx_data import load

BATCH = 32


def data() -> tuple:
    (x, y), _ = load("mnist")
    return (x / 255.0).astype("float32"), y.astype("int64")


def build(k, run_eagerly: bool = False) -> object:
    model = k.Sequential([k.Input((28, 28)), k.layers.Flatten(), k.layers.Dense(128, activation="relu"),
                          k.layers.Dropout(0.2), k.layers.Dense(10)])
    model.compile(optimizer="adam", loss=k.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], run_eagerly=run_eagerly)
    return model


def run_keras_api(k, x, y, epochs: int, run_eagerly: bool = False) -> list:
    k.utils.set_random_seed(0)
    model = build(k, run_eagerly)
    timer = epoch_timer(k)
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.times


def run_torch(x, y, epochs: int) -> list:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                torch.nn.Dropout(0.2), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    return torch_epoch_times(model, opt, x, y, BATCH, epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    x, y = data()
    from tapeflow import keras as tk

    results = {"tapeflow": run_keras_api(tk, x, y, args.epochs),
               "tapeflow eager": run_keras_api(tk, x, y, args.epochs, run_eagerly=True)}
    if not args.no_torch and peer_available("torch"):
        results["torch"] = run_torch(x, y, args.epochs)
    if not args.no_keras and peer_available("keras") and peer_available("tensorflow"):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras

        results["keras"] = run_keras_api(keras, x, y, args.epochs)
    best = {k: min(v) for k, v in results.items()}
    table = Table("quickstart_mlp_epoch", peers=("torch", "keras"))
    table.add("TF quickstart MLP epoch (60k, batch 32, Adam, dropout)", best["tapeflow"],
              torch=best.get("torch"), keras=best.get("keras"))
    table.add("the same, compile(run_eagerly=True)", best["tapeflow eager"], torch=best.get("torch"),
              keras=best.get("keras"))
    for name, times in results.items():
        table.note(f"{name} epochs: {', '.join(f'{t:.3f} s' for t in times)} "
                   f"(median {statistics.median(times):.3f} s)")
    if "torch" in best:
        ratio = best["tapeflow"] / best["torch"]
        table.note(f"target tapeflow <= 0.8x PyTorch: {'MET' if ratio <= 0.8 else 'NOT MET'} ({ratio:.2f}x)")
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table.note(f"load average {load_avg:.2f}")
    table.report()


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
