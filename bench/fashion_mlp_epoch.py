"""One Fashion-MNIST MLP epoch, as the seed-002 tutorial trains it.

Model: Flatten(28x28) -> Dense(300, relu) -> Dense(100, relu) -> Dense(10, softmax);
"sgd" (learning rate 0.01), sparse categorical cross-entropy, metrics=["accuracy"];
55,000 training images (the tutorial's split), batch 32, shuffled: 1719 steps per epoch.

Peers, same model, data and schedule:
  torch  a PyTorch loop: per epoch a random order, per batch forward / cross-entropy (from the
         logits) / backward / SGD step, plus the running loss and accuracy fit reports
  keras  tf.keras `fit`

The time of an epoch is taken between `on_epoch_begin` and `on_epoch_end` (the torch loop is
timed the same way); several epochs are run and the fastest is reported (the first includes
warm-up), with the median alongside.

Run:  python -m bench.fashion_mlp_epoch [--epochs 3] [--no-keras] [--no-torch]
Target: tapeflow faster than PyTorch (issue figures: Keras 1.9 s, PyTorch 1.0 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from bench.common import Table, peer_available, torch_epoch_times
from bench.idx_data import load

BATCH = 32


def data() -> tuple:
    (x, y), _ = load("fashion-mnist")
    return (x[5000:] / 255.0).astype("float32"), y[5000:].astype("int64")


def epoch_timer(keras_module) -> object:
    class EpochTimer(keras_module.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._t0)

    return EpochTimer()


def build(k) -> object:
    model = k.Sequential([k.Input((28, 28)), k.layers.Flatten(), k.layers.Dense(300, activation="relu"),
                          k.layers.Dense(100, activation="relu"), k.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
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


def run_torch(x, y, epochs: int) -> list:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 300), torch.nn.ReLU(),
                                torch.nn.Linear(300, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    return torch_epoch_times(model, opt, x, y, BATCH, epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    x, y = data()
    results = {"tapeflow": run_tapeflow(x, y, args.epochs)}
    if not args.no_torch and peer_available("torch"):
        results["torch"] = run_torch(x, y, args.epochs)
    if not args.no_keras and peer_available("keras") and peer_available("tensorflow"):
        results["keras"] = run_keras(x, y, args.epochs)
    best = {k: min(v) for k, v in results.items()}
    table = Table("fashion_mlp_epoch", peers=("torch", "keras"))
    table.add("Fashion-MNIST MLP epoch (55k, batch 32, SGD)", best["tapeflow"], torch=best.get("torch"),
              keras=best.get("keras"))
    for name, times in results.items():
        table.note(f"{name} epochs: {', '.join(f'{t:.3f} s' for t in times)} "
                   f"(median {statistics.median(times):.3f} s)")
    if "torch" in best:
        verdict = "MET" if best["tapeflow"] < best["torch"] else "NOT MET"
        ratio = best["tapeflow"] / best["torch"]
        table.note(f"target tapeflow faster than PyTorch: {verdict} ({ratio:.2f}x)")
    table.report()


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
