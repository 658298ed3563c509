"""One training step of the seed-004 model: 784 -> 512 relu -> 10 softmax, batch 128, float32.

The step is the tutorial's: the two-layer model's forward pass under a GradientTape, a sparse
categorical cross-entropy averaged over the batch, `tape.gradient`, and `w.assign_sub(g * lr)`
for each of the four weights. Three ways of computing the loss are timed:

  logits  what `keras.losses.sparse_categorical_crossentropy` does with a softmax output (Keras
          takes the softmax's logits): `tf.nn.sparse_softmax_cross_entropy_with_logits`.
          The model still computes its softmax output, as the tutorial's model does.
  probs   the loss composed by hand from the probabilities: normalise, pick the label's
          probability, clip to [1e-7, 1 - 1e-7], -log (16 small ops forward).
  keras   the tutorial's own code: `tf.keras.losses.sparse_categorical_crossentropy(labels, p)`
          on the `tf.nn.softmax` output (probabilities: clipped, log, fused cross-entropy);
          NumPy and PyTorch run the `probs` arithmetic for it.

Peers, each doing the same arithmetic on the same data:
  numpy       the step hand-written in NumPy (analytic backward, in-place SGD)
  torch       PyTorch eager autograd, same ops, `w.sub_(g * lr)` under no_grad
  tensorflow  the identical tapeflow code run with `import tensorflow as tf` (TF eager)

Run:  python -m bench.mlp_step [--repeat N] [--no-tf] [--clock cpu]
      (OPENBLAS_NUM_THREADS=1 ... --clock cpu gives steady single-threaded ratios on a busy machine;
      PyTorch then uses the same number of threads)
Targets: tapeflow <= 1.15x the NumPy step and faster than PyTorch; the step inside @tf.function
<= 1.05x the NumPy step (a fourth row; its TensorFlow peer is traced too).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from bench.common import Table, compare, peer_available

BATCH, IN, HIDDEN, OUT = 128, 784, 512, 10
LR = 1e-3
EPS = 1e-7


def make_data(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    # MNIST-like inputs: values in [0, 1), about 80% zeros (a real MNIST batch is ~81% zeros);
    # the tutorial's initialisation: uniform [0, 0.1) weights, zero biases.
    x = rng.uniform(0, 1, (BATCH, IN)) * (rng.uniform(0, 1, (BATCH, IN)) < 0.2)
    return {
        "x": x.astype(np.float32),
        "y": rng.integers(0, OUT, BATCH).astype(np.int64),
        "W1": rng.uniform(0, 0.1, (IN, HIDDEN)).astype(np.float32),
        "b1": np.zeros(HIDDEN, np.float32),
        "W2": rng.uniform(0, 0.1, (HIDDEN, OUT)).astype(np.float32),
        "b2": np.zeros(OUT, np.float32),
    }


# ---------------------------------------------------------------------------------------------
# tapeflow (and TF eager: the same code with the module swapped)
# ---------------------------------------------------------------------------------------------

def make_tf_step(m, d: dict, loss_kind: str = "logits"):
    """The tutorial's step written against module `m` (tapeflow or tensorflow)."""
    weights = [m.Variable(d[k]) for k in ("W1", "b1", "W2", "b2")]
    x = m.constant(d["x"])
    labels = m.constant(d["y"])
    onehot = m.one_hot(labels, OUT)

    def step():
        W1, b1, W2, b2 = weights
        with m.GradientTape() as tape:
            h = m.nn.relu(m.matmul(x, W1) + b1)
            logits = m.matmul(h, W2) + b2
            p = m.nn.softmax(logits)  # the model's output
            if loss_kind == "logits":
                per_sample = m.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
            elif loss_kind == "keras":
                per_sample = m.keras.losses.sparse_categorical_crossentropy(labels, p)
            else:
                p = p / m.reduce_sum(p, axis=-1, keepdims=True)
                picked = m.reduce_sum(p * onehot, axis=-1)
                per_sample = -m.math.log(m.clip_by_value(picked, EPS, 1.0 - EPS))
            loss = m.reduce_mean(per_sample)
        grads = tape.gradient(loss, weights)
        for g, w in zip(grads, weights, strict=True):
            w.assign_sub(g * LR)
        return loss

    return step


# ---------------------------------------------------------------------------------------------
# NumPy, by hand
# ---------------------------------------------------------------------------------------------

def make_numpy_step(d: dict, loss_kind: str = "logits"):
    w = [d[k].copy() for k in ("W1", "b1", "W2", "b2")]
    x = d["x"]
    rows = np.arange(BATCH)
    y = d["y"]

    def step():
        W1, b1, W2, b2 = w  # updated in place below
        z1 = x @ W1
        z1 += b1
        h = np.maximum(z1, 0)
        z2 = h @ W2
        z2 += b2
        z2 -= z2.max(axis=1, keepdims=True)
        p = np.exp(z2)
        total = p.sum(axis=1, keepdims=True)
        if loss_kind == "logits":
            loss = (np.log(total[:, 0]) - z2[rows, y]).mean()
            p /= total
            dz2 = p
            dz2[rows, y] -= 1.0
            dz2 *= 1.0 / BATCH
        else:
            p /= total
            picked = p[rows, y]
            loss = -np.log(np.clip(picked, EPS, 1 - EPS)).mean()
            # d loss / d z2 = (p - onehot) / B where the clip is inactive, 0 where it clips
            active = ((picked >= EPS) & (picked <= 1 - EPS)).astype(np.float32) / BATCH
            dz2 = p * active[:, None]
            dz2[rows, y] -= active
        dW2 = h.T @ dz2
        db2 = dz2.sum(axis=0)
        dh = dz2 @ W2.T
        dh *= z1 > 0
        dW1 = x.T @ dh
        db1 = dh.sum(axis=0)
        W1 -= LR * dW1
        b1 -= LR * db1
        W2 -= LR * dW2
        b2 -= LR * db2
        return loss

    return step


# ---------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------

def make_torch_step(d: dict, loss_kind: str = "logits"):
    import torch

    if os.environ.get("OPENBLAS_NUM_THREADS"):  # the same thread count as NumPy's BLAS
        torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))

    weights = [torch.tensor(d[k], requires_grad=True) for k in ("W1", "b1", "W2", "b2")]
    x = torch.tensor(d["x"])
    labels = torch.tensor(d["y"])
    onehot = torch.nn.functional.one_hot(labels, OUT).float()

    def step():
        W1, b1, W2, b2 = weights
        h = torch.relu(x @ W1 + b1)
        logits = h @ W2 + b2
        p = torch.softmax(logits, dim=-1)  # the model's output
        if loss_kind == "logits":
            loss = torch.nn.functional.cross_entropy(logits, labels)
        else:
            p = p / p.sum(dim=-1, keepdim=True)
            picked = (p * onehot).sum(dim=-1)
            loss = (-torch.log(picked.clamp(EPS, 1 - EPS))).mean()
        grads = torch.autograd.grad(loss, weights)
        with torch.no_grad():
            for g, w in zip(grads, weights, strict=True):
                w.sub_(g * LR)
        return loss

    return step


def check_same_arithmetic(d: dict, loss_kind: str) -> None:
    """tapeflow and the NumPy step give the same losses over a few steps (so the same updates)."""
    import tapeflow

    tf_step = make_tf_step(tapeflow, d, loss_kind)
    np_step = make_numpy_step(d, "probs" if loss_kind == "keras" else loss_kind)
    for _ in range(3):
        a, b = float(tf_step()), float(np_step())
        assert abs(a - b) <= 1e-4 * max(1.0, abs(b)), (loss_kind, a, b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-tf", action="store_true", help="skip the TensorFlow eager peer")
    ap.add_argument("--repeat", type=int, default=20, help="interleaved rounds per implementation")
    ap.add_argument("--stat", default="min", choices=("min", "median"), help="statistic over rounds")
    ap.add_argument("--clock", default="wall", choices=("wall", "cpu"),
                    help="wall time, or this process's CPU time (single-threaded runs on a busy machine)")
    ap.add_argument("--stem", default="mlp_step", help="results file name in bench/results/")
    args = ap.parse_args()

    import tapeflow

    tensorflow = None
    if not args.no_tf and peer_available("tensorflow"):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow
    has_torch = peer_available("torch")

    d = make_data()
    table = Table("mlp_step", peers=("numpy", "torch", "tensorflow"))
    for loss_kind in ("logits", "probs", "keras"):
        peer_kind = "probs" if loss_kind == "keras" else loss_kind
        check_same_arithmetic(d, loss_kind)
        fns = {"tapeflow": make_tf_step(tapeflow, d, loss_kind), "numpy": make_numpy_step(d, peer_kind)}
        if has_torch:
            fns["torch"] = make_torch_step(d, peer_kind)
        if tensorflow is not None:
            fns["tensorflow"] = make_tf_step(tensorflow, d, loss_kind)
        times = compare(fns, repeat=args.repeat, warmup=20, min_round_s=0.1, stat=args.stat, clock=args.clock)
        what = "keras.losses (tutorial code)" if loss_kind == "keras" else loss_kind
        row = table.add(f"784-512-10 step, batch 128, loss from {what}", times["tapeflow"],
                        numpy=times["numpy"], torch=times.get("torch"), tensorflow=times.get("tensorflow"))
        verdict = f"{loss_kind}: tapeflow/numpy {row['ratio_numpy']:.3f} (target <= 1.15: " \
                  f"{'met' if row['ratio_numpy'] <= 1.15 else 'NOT met'})"
        if row["torch"]:
            verdict += f", tapeflow/torch {row['ratio_torch']:.3f} (target < 1: " \
                       f"{'met' if row['ratio_torch'] < 1 else 'NOT met'})"
        table.note(verdict)
    # The same step written inside @tf.function (issue 11: <= 1.05x the NumPy step).
    check_same_arithmetic(d, "logits")
    fns = {"tapeflow": tapeflow.function(make_tf_step(tapeflow, d, "logits")), "numpy": make_numpy_step(d, "logits")}
    if has_torch:
        fns["torch"] = make_torch_step(d, "logits")
    if tensorflow is not None:
        fns["tensorflow"] = tensorflow.function(make_tf_step(tensorflow, d, "logits"))
    times = compare(fns, repeat=args.repeat, warmup=20, min_round_s=0.1, stat=args.stat, clock=args.clock)
    row = table.add("the logits step inside @tf.function", times["tapeflow"], numpy=times["numpy"],
                    torch=times.get("torch"), tensorflow=times.get("tensorflow"))
    table.note(f"tf.function: tapeflow/numpy {row['ratio_numpy']:.3f} (target <= 1.05: "
               f"{'met' if row['ratio_numpy'] <= 1.05 else 'NOT met'}); the TensorFlow peer is traced too")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table.note(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} "
               f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')} "
               f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}; {args.stat} of "
               f"{args.repeat} interleaved rounds, {args.clock} clock; load average {load:.2f}")
    table.report(stem=args.stem)


if __name__ == "__main__":
    sys.exit(main())
