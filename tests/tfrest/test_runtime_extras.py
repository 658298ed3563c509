"""Top-level names about TF's C++ runtime: what works here and what raises UnimplementedError."""

from __future__ import annotations

import pytest

import tapeflow as tf


def test_batch_function_runs_each_call_without_gradient():
    @tf.nondifferentiable_batch_function(1, 4, 100, allowed_batch_sizes=[2, 4])
    def double(x):
        return x * 2

    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = double(x)
    assert float(y) == 6.0 and tape.gradient(y, x) is None
    with pytest.raises(ValueError, match="allowed_batch_sizes"):
        tf.nondifferentiable_batch_function(1, 4, 100, allowed_batch_sizes=[4, 2])


def test_runtime_names():
    info = tf.sysconfig.get_build_info()
    assert info["is_rocm_build"] is False and isinstance(info["is_cuda_build"], bool)
    expected = tf.errors.InvalidArgumentError if info["is_cuda_build"] else tf.errors.FailedPreconditionError
    with pytest.raises(expected):
        tf.check_pinned(tf.constant([1.0]))
    for call in (lambda: tf.load_library("ops.so"), lambda: tf.load_op_library("ops.so"),
                 lambda: tf.import_graph_def(None), lambda: tf.graph_util.import_graph_def(None),
                 tf.sysconfig.get_include, tf.sysconfig.get_lib, tf.sysconfig.get_compile_flags,
                 tf.sysconfig.get_link_flags):
        with pytest.raises(tf.errors.UnimplementedError):
            call()
