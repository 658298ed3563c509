"""keras.ops on every available device (the GPU when CuPy and a GPU are present): values equal
the CPU's, results stay on the device, and gradients flow."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import ops, random
from tapeflow.testing import available_devices

rng = np.random.default_rng(4)
X = rng.normal(size=(2, 6, 6, 3)).astype("float32")
K = rng.normal(size=(3, 3, 3, 4)).astype("float32")
M = rng.normal(size=(3, 3)).astype("float32")
SPD = (M @ M.T + 3 * np.eye(3)).astype("float32")

CASES = {
    "add_scalar": lambda x: ops.add(x, 1.5),
    "logaddexp": lambda x: ops.logaddexp(x, ops.flip(x, 1)),
    "arcsinh": lambda x: ops.arcsinh(x),
    "erfinv": lambda x: ops.erfinv(ops.tanh(x)),
    "quantile": lambda x: ops.quantile(x, 0.3, axis=2),
    "take_along_axis": lambda x: ops.take_along_axis(x, ops.argsort(x, axis=-1), axis=-1),
    "conv": lambda x: ops.conv(x, ops.convert_to_tensor(K), padding="same"),
    "resize": lambda x: ops.image.resize(x, (4, 9), interpolation="bicubic"),
    "affine": lambda x: ops.image.affine_transform(
        x, np.array([1.0, 0.1, 0.5, 0.0, 0.9, -0.5, 0.0, 0.0], "float32"), fill_mode="reflect"),
    "scatter": lambda x: ops.scatter(np.array([[0], [1], [0]]), ops.reshape(x, (3, -1)), (2, 72)),
    "segment_max": lambda x: ops.segment_max(ops.reshape(x, (4, -1)), np.array([0, 1, 1, 0])),
    "fft": lambda x: ops.fft2((x, ops.flip(x, 0)))[0],
    "stft": lambda x: ops.stft(ops.reshape(x, (2, -1)), 8, 4, 8)[1],
    "cholesky": lambda x: ops.cholesky(ops.convert_to_tensor(SPD) + ops.sum(x) * 0.0),
    "ctc_loss": lambda x: ops.ctc_loss(np.array([[1, 2]]), ops.reshape(x, (1, 36, 6))[:, :8],
                                       np.array([2]), np.array([8])),
    "attention": lambda x: ops.dot_product_attention(
        ops.reshape(x, (2, 6, 3, 6)), ops.reshape(x, (2, 6, 3, 6)), ops.reshape(x, (2, 6, 3, 6)),
        is_causal=True),
}


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("name", sorted(CASES))
def test_op_on_device_matches_cpu(device, name):
    fn = CASES[name]
    with tf.device("/CPU:0"):
        want = fn(tf.constant(X)).numpy()
    with tf.device(device):
        x = tf.identity(tf.constant(X))
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = fn(x)
            loss = ops.sum(ops.square(out))
        grad = tape.gradient(loss, x)
    assert out.device.endswith(device.split("/")[-1])
    np.testing.assert_allclose(out.numpy(), want, rtol=2e-4, atol=2e-4)
    assert grad is not None and np.isfinite(grad.numpy()).all()


@pytest.mark.parametrize("device", available_devices())
def test_random_on_device(device):
    with tf.device(device):
        a = random.normal((3,), seed=1)
        d = random.dropout(ops.ones((4, 4)), 0.5, seed=1)
    assert a.device.endswith(device.split("/")[-1])
    with tf.device("/CPU:0"):
        np.testing.assert_allclose(a.numpy(), random.normal((3,), seed=1).numpy(), rtol=1e-6)
    assert set(np.unique(d.numpy())) <= {0.0, 2.0}
