"""tf.version / tf.__version__ and the tf.config device and threading settings."""

from __future__ import annotations

import pytest

import tapeflow as tf


def test_version_answers_like_tf2():
    assert tf.__version__ == tf.version.VERSION == "2.21.0"
    major, minor = (int(p) for p in tf.__version__.split(".")[:2])
    assert (major, minor) >= (2, 0)  # code that checks for TF 2 takes its TF 2 branch
    assert tf.__tapeflow_version__ == "0.1.0" and tf.__tapeflow_version__ in tf.version.GIT_VERSION
    assert isinstance(tf.version.COMPILER_VERSION, str)


@pytest.mark.oracle
def test_config_names_match_tensorflow():
    real = pytest.importorskip("tensorflow")
    assert tf.config.list_logical_devices("CPU") == [tuple(d) for d in real.config.list_logical_devices("CPU")]
    assert [tuple(d) for d in tf.config.get_visible_devices("CPU")] == \
        [tuple(d) for d in real.config.get_visible_devices("CPU")]
    assert tuple(tf.config.LogicalDeviceConfiguration()) == tuple(real.config.LogicalDeviceConfiguration())


def test_virtual_cpus_and_visibility():
    cpu = tf.config.list_physical_devices("CPU")[0]
    assert tf.config.list_logical_devices() == [tf.config.LogicalDevice("/device:CPU:0", "CPU")]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        assert [d.name for d in tf.config.list_logical_devices("CPU")] == ["/device:CPU:0", "/device:CPU:1"]
        assert len(tf.config.get_logical_device_configuration(cpu)) == 2
        with tf.device(tf.config.list_logical_devices("CPU")[1].name):
            assert float(tf.constant(2.0) * 3) == 6.0
        with pytest.raises(ValueError, match="memory limit on CPU"):
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration(memory_limit=10)])
        with pytest.raises(ValueError, match="experimental_priority"):
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration(experimental_priority=1)])
    finally:
        tf.config.set_logical_device_configuration(cpu, None)
    assert tf.config.get_logical_device_configuration(cpu) is None
    tf.config.set_visible_devices(tf.config.list_physical_devices("CPU"))
    tf.config.set_visible_devices(tf.config.list_physical_devices("GPU"), "GPU")
    assert tf.config.get_visible_devices("CPU") == [cpu]
    with pytest.raises(ValueError, match="CPU cannot be hidden"):
        tf.config.set_visible_devices([], "CPU")
    with pytest.raises(ValueError, match="Cannot set memory growth on non-GPU"):
        tf.config.experimental.set_memory_growth(cpu, True)
    with pytest.raises(ValueError, match="Unrecognized device"):
        tf.config.set_visible_devices([tf.config.PhysicalDevice("/physical_device:TPU:0", "TPU")])


def test_intra_op_threads_set_the_blas_pool():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    assert tf.config.threading.get_intra_op_parallelism_threads() == 0
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        assert tf.config.threading.get_intra_op_parallelism_threads() == 1
        assert set(blas_threads()) == {1}
    finally:
        tf.config.threading.set_intra_op_parallelism_threads(0)
    assert blas_threads() == before
    with pytest.raises(ValueError, match="one at a time"):
        tf.config.threading.set_inter_op_parallelism_threads(4)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    assert tf.config.threading.get_inter_op_parallelism_threads() == 1
    tf.config.threading.set_inter_op_parallelism_threads(0)


def test_intra_op_threads_without_threadpoolctl(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    with pytest.raises(ImportError, match="pip install threadpoolctl"):
        tf.config.threading.set_intra_op_parallelism_threads(2)
