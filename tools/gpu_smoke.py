"""Smoke test of the CuPy backend: core ops, gradients and an MLP step on the default GPU.

Run on a machine with CuPy and an NVIDIA GPU:
    TAPEFLOW_DEFAULT_DEVICE=/GPU:0 python tools/gpu_smoke.py
"""

import time

import numpy as np

import tapeflow as tf
from tapeflow.testing import check_gradients


def main() -> None:
    print("GPUs:", tf.config.list_physical_devices("GPU"))
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    print("device of a new tensor:", x.device)
    v = tf.Variable(tf.random.uniform((2, 2)))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.nn.softmax(tf.matmul(x, v) + 1.0))
    g = tape.gradient(y, v)
    print("grad device:", g.device, "value:", g.numpy().tolist())
    rng = np.random.default_rng(0)
    ops = {
        "mul_broadcast": (lambda a, b: a * b, [rng.standard_normal((3, 1, 4)), rng.standard_normal((2, 4))]),
        "matmul": (lambda a, b: tf.matmul(a, b), [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]),
        "logsumexp": (lambda a: tf.reduce_logsumexp(a, axis=1), [rng.standard_normal((3, 5))]),
        "gather": (lambda a: tf.gather(a, tf.constant([0, 2, 2])), [rng.standard_normal((4, 3))]),
        "sparse_xent": (
            lambda a: tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant([1, 0]), a),
            [rng.standard_normal((2, 3))],
        ),
        "erf": (lambda a: tf.math.erf(a), [rng.standard_normal((5,))]),
    }
    for name, (fn, inputs) in ops.items():
        try:
            check_gradients(fn, inputs)
            print(f"gradcheck {name}: ok")
        except Exception as e:  # noqa: BLE001
            print(f"gradcheck {name}: FAILED {type(e).__name__}: {e}")
    w1 = tf.Variable(tf.random.uniform((784, 512), maxval=0.1))
    b1 = tf.Variable(tf.zeros((512,)))
    w2 = tf.Variable(tf.random.uniform((512, 10), maxval=0.1))
    b2 = tf.Variable(tf.zeros((10,)))
    xb = tf.random.uniform((128, 784))
    yb = tf.random.uniform((128,), maxval=10, dtype=tf.int32)

    def step() -> None:
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.matmul(xb, w1) + b1)
            logits = tf.matmul(h, w2) + b2
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, logits))
        grads = tape.gradient(loss, [w1, b1, w2, b2])
        for gr, w in zip(grads, [w1, b1, w2, b2], strict=False):
            w.assign_sub(gr * 1e-3)

    for _ in range(20):
        step()
    import cupy

    cupy.cuda.Device().synchronize()
    t = time.perf_counter()
    n = 200
    for _ in range(n):
        step()
    cupy.cuda.Device().synchronize()
    print(f"MLP step (784-512-10, batch 128) on GPU: {(time.perf_counter() - t) / n * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
