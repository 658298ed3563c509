"""One training step of the seed-003 CNN at batch 100, float32, in Tapeflow, Keras and PyTorch.

The network (the tutorial's): Conv2D 32 5x5 same relu, MaxPooling2D 2, Conv2D 64 5x5 same relu,
MaxPooling2D 2, Flatten, Dense 1024 relu, Dropout 0.5, Dense 10 (logits); Adam(1e-4); sparse
softmax cross-entropy from logits, averaged over the batch of 100 28x28x1 images.

Rows:
  tape            Tapeflow: keras.Sequential + GradientTape + optimizer.apply_gradients
  train_on_batch  Tapeflow's model.train_on_batch vs Keras's model.train_on_batch (tf.keras on TF)
  torch           PyTorch eager: the same network (NCHW), torch.optim.Adam, F.cross_entropy

Run:  python -m bench.cnn_step [--repeat N] [--no-keras] [--no-torch] [--profile]
Targets (issue 5): faster than PyTorch and within 1.3x of Keras.
`--profile` prints where Tapeflow's step spends its time (forward, backward by op, optimizer).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from bench.common import Table, compare, fmt_time, peer_available

BATCH, LR = 100, 1e-4


def make_data(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    # MNIST-like: values in [0, 1], most of them zero.
    x = rng.uniform(0, 1, (BATCH, 28, 28, 1)) * (rng.uniform(0, 1, (BATCH, 28, 28, 1)) < 0.2)
    return {"x": x.astype(np.float32), "y": rng.integers(0, 10, BATCH).astype(np.int64)}


def build(layers, keras):
    """The seed-003 CNN for a Keras-like module pair (Tapeflow's or tf.keras)."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 5, padding="same", activation="relu"),
        layers.MaxPooling2D(2, strides=2),
        layers.Conv2D(64, 5, padding="same", activation="relu"),
        layers.MaxPooling2D(2, strides=2),
        layers.Flatten(),
        layers.Dense(1024, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10),
    ])


def reference_weights(seed: int = 1) -> list:
    """Glorot-like weights in Keras's layout, shared by every implementation."""
    rng = np.random.default_rng(seed)
    shapes = [(5, 5, 1, 32), (32,), (5, 5, 32, 64), (64,), (3136, 1024), (1024,), (1024, 10), (10,)]
    out = []
    for s in shapes:
        if len(s) == 1:
            out.append(np.zeros(s, np.float32))
        else:
            fan_in, fan_out = int(np.prod(s[:-1])), s[-1] * (int(np.prod(s[:-2])) if len(s) == 4 else 1)
            lim = np.sqrt(6.0 / (fan_in + fan_out))
            out.append(rng.uniform(-lim, lim, s).astype(np.float32))
    return out


# ---------------------------------------------------------------------------------------------
# Tapeflow
# ---------------------------------------------------------------------------------------------

def make_tapeflow(d: dict, weights: list) -> dict:
    import tapeflow as tf
    from tapeflow import keras

    model = build(keras.layers, keras)
    model.set_weights(weights)
    opt = keras.optimizers.Adam(LR)
    x, y = tf.constant(d["x"]), tf.constant(d["y"])

    def tape_step():
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        grads = tape.gradient(loss, model.trainable_weights)
        opt.apply_gradients(zip(grads, model.trainable_weights, strict=True))
        return loss

    model2 = build(keras.layers, keras)
    model2.set_weights(weights)
    model2.compile(optimizer=keras.optimizers.Adam(LR),
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def fit_step():
        return model2.train_on_batch(d["x"], d["y"])

    return {"tape": tape_step, "train_on_batch": fit_step, "model": model, "optimizer": opt, "x": x, "y": y}


# ---------------------------------------------------------------------------------------------
# Keras (tf.keras, Keras 3 on TensorFlow)
# ---------------------------------------------------------------------------------------------

def make_keras(d: dict, weights: list) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as ktf

    keras = ktf.keras
    model = build(keras.layers, keras)
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(LR),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def fit_step():
        return model.train_on_batch(d["x"], d["y"])

    return {"train_on_batch": fit_step, "model": model}


# ---------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------

def make_torch(d: dict, weights: list, device: str = "cpu") -> dict:
    """The PyTorch network, its training step and its logits on `device` ("cpu" or "cuda")."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(3136, 1024), torch.nn.ReLU(), torch.nn.Dropout(0.5),
        torch.nn.Linear(1024, 10),
    )
    w = weights
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(w[0].transpose(3, 2, 0, 1)))
        net[0].bias.copy_(torch.tensor(w[1]))
        net[3].weight.copy_(torch.tensor(w[2].transpose(3, 2, 0, 1)))
        net[3].bias.copy_(torch.tensor(w[3]))
        # Keras flattens (h, w, c); torch flattens (c, h, w): permute the dense rows to match.
        dense = w[4].reshape(7, 7, 64, 1024).transpose(2, 0, 1, 3).reshape(3136, 1024)
        net[7].weight.copy_(torch.tensor(dense.T))
        net[7].bias.copy_(torch.tensor(w[5]))
        net[10].weight.copy_(torch.tensor(w[6].T))
        net[10].bias.copy_(torch.tensor(w[7]))
    net = net.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    x = torch.tensor(d["x"].transpose(0, 3, 1, 2).copy(), device=device)
    y = torch.tensor(d["y"], device=device)

    def step():
        net.train()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    def logits():
        net.eval()
        with torch.no_grad():
            return net(x).cpu().numpy()

    return {"step": step, "logits": logits, "net": net}


# ---------------------------------------------------------------------------------------------
# Checks and profile
# ---------------------------------------------------------------------------------------------

def check_same_network(d: dict, weights: list, peers: dict) -> None:
    """With the same weights, every implementation gives the same inference logits."""
    ours = peers["tapeflow"]["model"](d["x"], training=False).numpy()
    if "keras" in peers:
        theirs = peers["keras"]["model"](d["x"], training=False).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    if "torch" in peers:
        np.testing.assert_allclose(ours, peers["torch"]["logits"](), rtol=1e-4, atol=1e-4)


def profile_tapeflow(parts: dict, steps: int = 10) -> None:
    """Where Tapeflow's tape step spends its time: phases, and each primitive's forward/backward."""
    from collections import defaultdict

    import tapeflow as tf
    from tapeflow.autodiff import function as fn_mod

    model, opt, x, y = parts["model"], parts["optimizer"], parts["x"], parts["y"]
    phases: dict = defaultdict(float)

    def step() -> None:
        t0 = time.perf_counter()
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        t1 = time.perf_counter()
        grads = tape.gradient(loss, model.trainable_weights)
        t2 = time.perf_counter()
        opt.apply_gradients(zip(grads, model.trainable_weights, strict=True))
        t3 = time.perf_counter()
        phases["forward"] += t1 - t0
        phases["backward (tape.gradient)"] += t2 - t1
        phases["optimizer (Adam)"] += t3 - t2

    fwd: dict = defaultdict(float)
    bwd: dict = defaultdict(float)
    counts: dict = defaultdict(int)
    state = {"in_backward": 0}
    orig_call = fn_mod.Function.__call__

    def timed_call(self, *inputs):  # forward-pass primitives only (not those run by a backward)
        if state["in_backward"]:
            return orig_call(self, *inputs)
        t0 = time.perf_counter()
        out = orig_call(self, *inputs)
        fwd[type(self).__name__] += time.perf_counter() - t0
        counts[type(self).__name__] += 1
        return out

    def timed_backward_for(orig, name):
        def timed_backward(self, *dys):
            state["in_backward"] += 1
            t0 = time.perf_counter()
            try:
                return orig(self, *dys)
            finally:
                bwd[name] += time.perf_counter() - t0
                state["in_backward"] -= 1
        return timed_backward

    step()  # warm up; then find the primitive classes in use
    classes = {c for c in _all_subclasses(fn_mod.Function) if "backward" in c.__dict__}
    originals = {c: c.__dict__["backward"] for c in classes}
    for c, orig in originals.items():
        c.backward = timed_backward_for(orig, c.__name__)
    fn_mod.Function.__call__ = timed_call
    phases.clear()
    try:
        for _ in range(steps):
            step()
    finally:
        fn_mod.Function.__call__ = orig_call
        for c, orig in originals.items():
            c.backward = orig
    total = sum(phases.values()) / steps
    print(f"\n== tapeflow tape step, profiled ({steps} steps; {fmt_time(total)} per step with timers) ==")
    for k, v in phases.items():
        print(f"  {k:28s} {fmt_time(v / steps):>10s}  {100 * v / steps / total:5.1f}%")
    print(f"{'primitive':28s} {'calls':>6s} {'forward':>10s} {'backward':>10s}"
          "  (backward includes the ops it runs)")
    names = sorted(set(fwd) | set(bwd), key=lambda n: -(fwd.get(n, 0) + bwd.get(n, 0)))
    for n in names:
        f, b = fwd.get(n, 0) / steps, bwd.get(n, 0) / steps
        if f + b < 1e-5:
            continue
        print(f"{n:28s} {counts.get(n, 0) / steps:6.0f} {fmt_time(f):>10s} {fmt_time(b):>10s}")


def _all_subclasses(cls: type) -> set:
    out = set()
    for sub in cls.__subclasses__():
        out.add(sub)
        out |= _all_subclasses(sub)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="timed rounds per implementation")
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--profile", action="store_true", help="per-primitive profile of Tapeflow's step")
    args = parser.parse_args(argv)

    d = make_data()
    weights = reference_weights()
    peers: dict = {"tapeflow": make_tapeflow(d, weights)}
    if not args.no_keras and peer_available("tensorflow"):
        peers["keras"] = make_keras(d, weights)
    if not args.no_torch and peer_available("torch"):
        import torch

        peers["torch"] = make_torch(d, weights)
        torch_threads = torch.get_num_threads()
    check_same_network(d, weights, peers)

    fns = {"tapeflow_tape": peers["tapeflow"]["tape"], "tapeflow_fit": peers["tapeflow"]["train_on_batch"]}
    if "keras" in peers:
        fns["keras_fit"] = peers["keras"]["train_on_batch"]
    if "torch" in peers:
        fns["torch"] = peers["torch"]["step"]
    times = compare(fns, number=1, repeat=args.repeat, warmup=3, stat="min")
    keras_t, torch_t = times.get("keras_fit"), times.get("torch")
    table = Table("cnn_step", peers=("keras", "torch"))
    table.add("tape step", times["tapeflow_tape"], keras=keras_t, torch=torch_t)
    table.add("train_on_batch", times["tapeflow_fit"], keras=keras_t, torch=torch_t)
    table.note(f"best of {args.repeat} interleaved rounds; batch {BATCH}, float32, seed-003 CNN, Adam({LR}); "
               "keras = tf.keras train_on_batch; "
               f"torch threads = {torch_threads if 'torch' in peers else '-'}")
    best = min(times["tapeflow_tape"], times["tapeflow_fit"])
    if "torch" in peers:
        table.note(f"target faster than PyTorch: {'met' if best < times['torch'] else 'NOT met'}")
    if "keras" in peers:
        table.note(f"target within 1.3x of Keras: {'met' if best <= 1.3 * times['keras_fit'] else 'NOT met'}")
    table.report()
    if args.profile:
        profile_tapeflow(peers["tapeflow"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
