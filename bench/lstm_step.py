"""One training step of an LSTM(128) MNIST-row classifier in Tapeflow, Keras and PyTorch.

The model (issue 5): 28 time steps of 28 features (MNIST rows) -> LSTM(128) -> Dense(10)
softmax; Adam(1e-3); sparse categorical cross-entropy; batch 64; float32. All peers start from
the same weights (Keras's layout; PyTorch's nn.LSTM uses the same gate order i, f, g, o).

Rows:
  train_on_batch  Tapeflow's model.train_on_batch vs Keras's (tf.keras on TF, a compiled
                  tf.function step) vs a PyTorch eager step (nn.LSTM + nn.Linear, Adam)
  fit, per step   model.fit over FIT_BATCHES batches (one epoch), divided by the batch count,
                  for Tapeflow and Keras
  LSTM fwd+bwd    the recurrent layer alone: forward and backward of LSTM(128) on the batch,
                  Tapeflow (fused sequence op) vs PyTorch nn.LSTM
  step-by-step    (with --composite) the same layer run as per-step Tensor ops (the generic RNN
                  path a custom cell takes), to show what the fused op saves

Run:  python -m bench.lstm_step [--repeat N] [--no-keras] [--no-torch] [--composite]
Target (issue 5): Tapeflow's training step faster than Keras fit (~13 ms per step on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from bench.common import Table, peer_available

BATCH, STEPS, FEATURES, UNITS, CLASSES, LR = 64, 28, 28, 128, 10, 1e-3
FIT_BATCHES = 40


def make_data(seed: int = 0, n: int = BATCH) -> dict:
    rng = np.random.default_rng(seed)
    # MNIST-like rows: values in [0, 1], most of them zero.
    x = rng.uniform(0, 1, (n, STEPS, FEATURES)) * (rng.uniform(0, 1, (n, STEPS, FEATURES)) < 0.2)
    return {"x": x.astype(np.float32), "y": rng.integers(0, CLASSES, n).astype(np.int64)}


def reference_weights(seed: int = 1) -> list:
    """LSTM kernel, recurrent kernel, bias (forget gate 1), Dense kernel, bias: Keras's layout."""
    rng = np.random.default_rng(seed)

    def glorot(shape):
        lim = np.sqrt(6.0 / sum(shape))
        return rng.uniform(-lim, lim, shape).astype(np.float32)

    q, _ = np.linalg.qr(rng.standard_normal((4 * UNITS, UNITS)))
    bias = np.zeros(4 * UNITS, np.float32)
    bias[UNITS:2 * UNITS] = 1.0
    return [glorot((FEATURES, 4 * UNITS)), q.T.astype(np.float32), bias,
            glorot((UNITS, CLASSES)), np.zeros(CLASSES, np.float32)]


def build(keras):
    return keras.Sequential([
        keras.Input((STEPS, FEATURES)),
        keras.layers.LSTM(UNITS),
        keras.layers.Dense(CLASSES, activation="softmax"),
    ])


# ---------------------------------------------------------------------------------------------
# Tapeflow
# ---------------------------------------------------------------------------------------------

def _keras_steps(keras, d: dict, big: dict, weights: list) -> tuple:
    """(model, train_on_batch step, one-epoch fit) for a Keras-like module, same weights."""
    model = build(keras)
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(LR), loss="sparse_categorical_crossentropy")

    def train_step():
        return model.train_on_batch(d["x"], d["y"])

    fit_model = build(keras)
    fit_model.set_weights(weights)
    fit_model.compile(optimizer=keras.optimizers.Adam(LR), loss="sparse_categorical_crossentropy")

    def fit_step():
        fit_model.fit(big["x"], big["y"], batch_size=BATCH, epochs=1, verbose=0, shuffle=False)

    return model, train_step, fit_step


def make_tapeflow(d: dict, big: dict, weights: list) -> dict:
    import tapeflow as tf
    from tapeflow import keras

    model, train_step, fit_step = _keras_steps(keras, d, big, weights)

    layer = keras.layers.LSTM(UNITS)
    x = tf.constant(d["x"])
    layer(x)
    layer.set_weights(weights[:3])

    def layer_step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x))
        return tape.gradient(loss, layer.trainable_weights)

    return {"train_on_batch": train_step, "fit": fit_step, "layer": layer_step, "model": model}


def make_tapeflow_composite(d: dict, weights: list):
    """LSTM(128) through the generic per-step path (an LSTMCell subclass with its own call)."""
    import tapeflow as tf
    from tapeflow import keras

    class StepLSTMCell(keras.layers.LSTMCell):
        def call(self, inputs, states, training=None):
            return super().call(inputs, states, training=training)

    layer = keras.layers.RNN(StepLSTMCell(UNITS))
    x = tf.constant(d["x"])
    layer(x)
    layer.set_weights(weights[:3])

    def layer_step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x))
        return tape.gradient(loss, layer.trainable_weights)

    return layer_step


# ---------------------------------------------------------------------------------------------
# Keras (tf.keras, Keras 3 on TensorFlow)
# ---------------------------------------------------------------------------------------------

def make_keras(d: dict, big: dict, weights: list) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as ktf

    keras = ktf.keras
    model, train_step, fit_step = _keras_steps(keras, d, big, weights)

    return {"train_on_batch": train_step, "fit": fit_step, "model": model}


# ---------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------

def make_torch(d: dict, weights: list) -> dict:
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(FEATURES, UNITS, batch_first=True)
            self.dense = torch.nn.Linear(UNITS, CLASSES)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.dense(h[0])

    net = Net()
    k, r, b, dk, db = weights
    with torch.no_grad():  # Keras (in, 4U) gates i, f, c, o == torch (4U, in) gates i, f, g, o
        net.lstm.weight_ih_l0.copy_(torch.tensor(k.T))
        net.lstm.weight_hh_l0.copy_(torch.tensor(r.T))
        net.lstm.bias_ih_l0.copy_(torch.tensor(b))
        net.lstm.bias_hh_l0.zero_()
        net.dense.weight.copy_(torch.tensor(dk.T))
        net.dense.bias.copy_(torch.tensor(db))
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    x = torch.tensor(d["x"])
    y = torch.tensor(d["y"])
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    lstm = torch.nn.LSTM(FEATURES, UNITS, batch_first=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(k.T))
        lstm.weight_hh_l0.copy_(torch.tensor(r.T))
        lstm.bias_ih_l0.copy_(torch.tensor(b))
        lstm.bias_hh_l0.zero_()
    params = list(lstm.parameters())

    def layer_step():
        _, (h, _) = lstm(x)
        return torch.autograd.grad(h.sum(), params)

    def probs():
        with torch.no_grad():
            return torch.softmax(net(x), -1).numpy()

    return {"train_on_batch": step, "layer": layer_step, "probs": probs}


def check_same_model(d: dict, peers: dict) -> None:
    """With the same weights, every implementation gives the same class probabilities."""
    ours = peers["tapeflow"]["model"](d["x"], training=False).numpy()
    if "keras" in peers:
        np.testing.assert_allclose(ours, np.asarray(peers["keras"]["model"](d["x"], training=False)),
                                   rtol=1e-4, atol=1e-5)
    if "torch" in peers:
        np.testing.assert_allclose(ours, peers["torch"]["probs"](), rtol=1e-4, atol=1e-5)


def compare(fns: dict, *, number: int = 1, repeat: int = 15, warmup: int = 3, pause: float = 0.2,
            **_: object) -> dict:
    """Best-of-`repeat` seconds per call of each of `fns`, in interleaved rounds (A B C A B C ...)
    with an untimed `pause` before each round.

    Like bench.common.compare, plus the pause: PyTorch's OpenMP threads and TensorFlow's Eigen
    threads keep spinning for a while after their last op, and on a 2-core machine they would
    otherwise steal the cores from the next implementation's first calls.
    """
    import gc

    for fn in fns.values():
        for _ in range(warmup):
            fn()
    best = {name: float("inf") for name in fns}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            for name, fn in fns.items():
                time.sleep(pause)
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                best[name] = min(best[name], (time.perf_counter() - t0) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed rounds per implementation")
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--composite", action="store_true", help="also time the step-by-step LSTM path")
    args = parser.parse_args(argv)

    d = make_data()
    big = make_data(seed=2, n=BATCH * FIT_BATCHES)
    weights = reference_weights()
    peers: dict = {"tapeflow": make_tapeflow(d, big, weights)}
    if not args.no_keras and peer_available("tensorflow"):
        peers["keras"] = make_keras(d, big, weights)
    torch_threads = "-"
    if not args.no_torch and peer_available("torch"):
        import torch

        peers["torch"] = make_torch(d, weights)
        torch_threads = torch.get_num_threads()
    check_same_model(d, peers)

    step_fns = {f"{name}_step": p["train_on_batch"] for name, p in peers.items()}
    times = compare(step_fns, number=5, repeat=args.repeat)
    fit_fns = {f"{name}_fit": p["fit"] for name, p in peers.items() if "fit" in p}
    times.update({k: v / FIT_BATCHES for k, v in
                  compare(fit_fns, repeat=max(3, args.repeat // 3), warmup=1).items()})
    layer_fns = {f"{name}_layer": p["layer"] for name, p in peers.items() if "layer" in p}
    times.update(compare(layer_fns, number=5, repeat=args.repeat))
    composite = None
    if args.composite:
        fn = make_tapeflow_composite(d, weights)
        t0 = time.perf_counter()
        fn()
        composite = min(_time_once(fn) for _ in range(3)) if time.perf_counter() - t0 < 5 else None

    table = Table("lstm_step", peers=("keras", "torch"))
    table.add("train_on_batch", times["tapeflow_step"], keras=times.get("keras_step"),
              torch=times.get("torch_step"))
    table.add("fit, per step", times["tapeflow_fit"], keras=times.get("keras_fit"))
    table.add("LSTM fwd+bwd", times["tapeflow_layer"], torch=times.get("torch_layer"))
    if composite is not None:
        table.add("LSTM fwd+bwd step-by-step", composite, torch=times.get("torch_layer"))
    table.note(f"best of {args.repeat} interleaved rounds (5 calls each, 0.2 s pause before each); "
               f"batch {BATCH}, {STEPS} steps x {FEATURES} features, LSTM({UNITS}) + Dense({CLASSES}) softmax, "
               f"Adam({LR}), float32; fit = one epoch of {FIT_BATCHES} batches / {FIT_BATCHES}; "
               f"torch threads = {torch_threads}")
    if "keras" in peers:
        best = min(times["tapeflow_step"], times["tapeflow_fit"])
        target = min(times["keras_fit"], times["keras_step"])
        table.note(f"target faster than Keras fit: {'met' if best < target else 'NOT met'} "
                   f"({best * 1e3:.2f} ms vs {target * 1e3:.2f} ms)")
    table.report()
    return 0


def _time_once(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
