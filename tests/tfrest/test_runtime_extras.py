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


def test_variable_creator_scope():
    seen = []

    def not_trainable(next_creator, **kwargs):
        kwargs["trainable"] = False
        return next_creator(**kwargs)

    def record(next_creator, **kwargs):
        v = next_creator(**kwargs)
        seen.append(v.name)
        return v

    with tf.variable_creator_scope(not_trainable), tf.variable_creator_scope(record):
        v = tf.Variable(1.0, name="w")
        inner = tf.keras.layers.Dense(2)
        inner.build((None, 3))
    assert not v.trainable and seen[0] == "w:0" and len(seen) >= 3
    assert tf.Variable(2.0).trainable  # the scope is gone

    other = tf.Variable(0.0)

    def replace(next_creator, **kwargs):
        return other

    with tf.variable_creator_scope(replace), pytest.raises(tf.errors.UnimplementedError, match="replace"):
        tf.Variable(1.0)
