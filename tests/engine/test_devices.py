"""Devices: tf.device contexts, physical device lists, GPU tensors when CuPy and a GPU exist."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import backend
from tapeflow.testing import available_devices

HAS_GPU = backend.gpu_available()
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason="needs CuPy and an NVIDIA GPU")


def test_physical_devices() -> None:
    cpus = tf.config.list_physical_devices("CPU")
    assert len(cpus) == 1 and cpus[0].device_type == "CPU" and cpus[0].name.endswith("CPU:0")
    gpus = tf.config.list_physical_devices("GPU")
    assert (len(gpus) > 0) == HAS_GPU
    assert len(tf.config.list_physical_devices()) == 1 + len(gpus)
    assert available_devices() == ["/CPU:0"] + (["/GPU:0"] if HAS_GPU else [])


@pytest.mark.skipif(HAS_GPU, reason="checks the behaviour without a GPU")
def test_requesting_a_gpu_without_one_is_a_clear_error_without_soft_placement() -> None:
    assert tf.config.list_physical_devices("GPU") == []
    assert tf.config.get_soft_device_placement() is True  # TF's default
    tf.config.set_soft_device_placement(False)
    try:
        with pytest.raises(RuntimeError, match=r"'/GPU:0' was requested but no GPU is available: install CuPy"):
            with tf.device("/GPU:0"):
                tf.zeros((2,))
    finally:
        tf.config.set_soft_device_placement(True)
    # The failed request leaves the default device alone.
    assert tf.zeros((2,)).device.endswith("CPU:0")


@pytest.mark.skipif(HAS_GPU, reason="checks the behaviour without a GPU")
def test_soft_placement_runs_gpu_blocks_on_the_cpu() -> None:
    """The TF variables guide multiplies under tf.device('GPU:0'); without a GPU, TF places it
    on the CPU (soft device placement), and so does Tapeflow."""
    with tf.device("CPU:0"):
        a = tf.Variable([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        b = tf.Variable([[1.0, 2.0, 3.0]])
    with tf.device("GPU:0"):
        k = a * b
    assert k.device.endswith("CPU:0")
    np.testing.assert_array_equal(k.numpy(), [[1.0, 4.0, 9.0], [4.0, 10.0, 18.0]])


def test_device_spec_parsing() -> None:
    with pytest.raises(ValueError, match="Unknown device specification '/TPU:0'"):
        with tf.device("/TPU:0"):
            pass
    for spec in ["/CPU:0", "CPU", "/device:CPU:0", "/job:localhost/replica:0/task:0/device:CPU:0", "/cpu:0"]:
        with tf.device(spec):
            assert tf.ones((1,)).device == "/job:localhost/replica:0/task:0/device:CPU:0"


@pytest.mark.parametrize("device", available_devices())
def test_tensors_created_and_computed_on_device(device: str) -> None:
    kind = device.split(":")[0].strip("/")
    with tf.device(device):
        x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
        v = tf.Variable(tf.random.normal((2, 2), seed=1))
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(tf.nn.softmax(tf.matmul(x, v)) * 2.0 + 1.0)
        g = tape.gradient(y, v)
    for t in (x, v, y, g):
        assert f"device:{kind}:0" in t.device
    assert isinstance(g.numpy(), np.ndarray)
    v.assign_sub(g * 0.1)
    assert f"device:{kind}:0" in v.device


@pytest.mark.parametrize("device", available_devices())
def test_same_results_on_every_device(device: str) -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 2)).astype(np.float32)
    with tf.device(device):
        ta, tb = tf.constant(a), tf.constant(b)
        with tf.GradientTape() as tape:
            tape.watch([ta, tb])
            out = tf.reduce_mean(tf.nn.relu(tf.matmul(ta, tb)) ** 2)
        ga, gb = tape.gradient(out, [ta, tb])
    ref = np.maximum(a @ b, 0)
    np.testing.assert_allclose(float(out), (ref ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(gb.numpy(), a.T @ (2 * ref / ref.size), rtol=1e-5, atol=1e-6)
    assert ga.shape == a.shape


@needs_gpu
def test_mixing_devices_is_an_error() -> None:
    with tf.device("/CPU:0"):
        cpu = tf.constant([1.0, 2.0])
    with tf.device("/GPU:0"):
        gpu = tf.constant([1.0, 2.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="all inputs must be on the same device"):
        _ = cpu + gpu
    with pytest.raises(tf.errors.InvalidArgumentError, match="same device"):
        tf.matmul(tf.reshape(cpu, (1, 2)), tf.reshape(gpu, (2, 1)))


@needs_gpu
def test_copy_between_devices_with_identity() -> None:
    with tf.device("/CPU:0"):
        cpu = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(cpu)
        with tf.device("/GPU:0"):
            moved = tf.identity(cpu)
            y = tf.reduce_sum(moved * moved)
    assert "GPU" in moved.device
    np.testing.assert_array_equal(moved.numpy(), [1.0, 2.0])
    g = tape.gradient(y, cpu)
    assert g.device.endswith("CPU:0")
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    with tf.device("/CPU:0"):
        back = tf.identity(moved)
    assert back.device.endswith("CPU:0")


@needs_gpu
def test_gpu_seeded_random_is_reproducible() -> None:
    with tf.device("/GPU:0"):
        tf.random.set_seed(5)
        a = tf.random.uniform((4,)).numpy()
        tf.random.set_seed(5)
        b = tf.random.uniform((4,)).numpy()
    np.testing.assert_array_equal(a, b)
