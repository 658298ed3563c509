"""tf.config's remaining names (optimizer options, soft placement, the experimental_ spellings,
cluster connection) and tf.experimental's runtime switches, DLPack and TensorRT."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf


def test_config_optimizer_and_placement():
    saved = tf.config.optimizer.get_experimental_options()
    try:
        assert saved == {"disable_model_pruning": False, "disable_meta_optimizer": False}
        tf.config.optimizer.set_experimental_options({"constant_folding": False})
        assert tf.config.optimizer.get_experimental_options()["constant_folding"] is False
        with pytest.raises(ValueError, match="unknown option"):
            tf.config.optimizer.set_experimental_options({"constant_foldin": True})
        assert tf.config.optimizer.get_jit() == ""
        tf.config.optimizer.set_jit(True)
        assert tf.config.optimizer.get_jit() == "autoclustering"
    finally:
        tf.config.optimizer._options = saved
        tf.config.optimizer.set_jit(False)
    assert tf.config.get_soft_device_placement() is True
    tf.config.set_soft_device_placement(False)
    assert tf.config.get_soft_device_placement() is False
    tf.config.set_soft_device_placement(True)


def test_config_eager_spellings_and_cluster():
    assert tf.config.experimental_functions_run_eagerly() is False
    calls = []

    @tf.function
    def f(x):
        calls.append(1)
        return x + 1

    tf.config.experimental_run_functions_eagerly(True)
    try:
        f(tf.constant(1))
        f(tf.constant(2))
        assert tf.config.experimental_functions_run_eagerly() and len(calls) == 2
    finally:
        tf.config.experimental_run_functions_eagerly(False)
    with pytest.raises(tf.errors.UnimplementedError, match="tf.distribute"):
        tf.config.experimental_connect_to_cluster(None)
    with pytest.raises(tf.errors.UnimplementedError):
        tf.config.experimental_connect_to_host("grpc://localhost:1")


def test_experimental_runtime_switches():
    with tf.experimental.async_scope():
        y = tf.constant(2.0) * 3
    tf.experimental.async_clear_error()
    assert float(y) == 6.0
    with tf.experimental.function_executor_type("SINGLE_THREADED_EXECUTOR"):
        assert float(tf.function(lambda x: x * 2)(tf.constant(2.0))) == 4.0
    with pytest.raises(tf.errors.UnimplementedError, match="executor"):
        with tf.experimental.function_executor_type("MY_EXECUTOR"):
            pass
    with pytest.raises(tf.errors.UnimplementedError, match="file system"):
        tf.experimental.register_filesystem_plugin("/lib/plugin.so")
    with pytest.raises(tf.errors.UnimplementedError, match="ONNX"):
        tf.experimental.tensorrt.Converter("/saved", conversion_params=tf.experimental.tensorrt.ConversionParams())


def test_dlpack_with_torch_and_numpy():
    torch = pytest.importorskip("torch")
    t = torch.arange(6.0).reshape(2, 3)
    x = tf.experimental.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(t))
    assert x.dtype == tf.float32 and x.numpy().tolist() == t.tolist()
    assert tf.experimental.dlpack.from_dlpack(t).shape == (2, 3)
    back = torch.utils.dlpack.from_dlpack(tf.experimental.dlpack.to_dlpack(tf.constant([[1.0, 2.0]])))
    assert back.tolist() == [[1.0, 2.0]]
    assert tf.experimental.dlpack.from_dlpack(np.arange(3)).numpy().tolist() == [0, 1, 2]
    with pytest.raises(TypeError, match="string"):
        tf.experimental.dlpack.to_dlpack(tf.constant(["a"]))
