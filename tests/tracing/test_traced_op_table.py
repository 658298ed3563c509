"""Every case of the op table traced with tf.function: results and gradients bit for bit equal
to eager execution, with exact input shapes and with an unknown batch dimension."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import tapeflow as tf

_OPS = Path(__file__).resolve().parents[1] / "ops"
_TABLES = {
    "test_elementwise.py": ["CASES"], "test_reduce.py": ["CASES"], "test_movement.py": ["CASES"],
    "test_linalg.py": ["CASES"], "test_nn_ops.py": ["CASES"], "test_normalization_ops.py": ["CASES"],
    "test_pool.py": ["CASES"], "test_conv.py": ["CONV_CASES"],
    "test_fused_conv.py": ["CASES"], "test_rnn_ops.py": ["CASES"],
}


def _load_cases() -> list:
    cases = []
    for file, names in _TABLES.items():
        spec = importlib.util.spec_from_file_location(f"_traced_{file[:-3]}", _OPS / file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name in names:
            cases.extend((f"{file[5:-3]}:{c.name}", c) for c in getattr(module, name))
    return cases


CASES = _load_cases()


def _values(out):
    return [np.asarray(o) for o in tf.nest.flatten(out)]


def _gradients(fn, xs):
    ts = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        for t in ts:
            tape.watch(t)
        out = fn(*ts)
        total = tf.add_n([tf.reduce_sum(o * o) for o in tf.nest.flatten(out) if o.dtype.is_floating])
    return out, tape.gradient(total, ts)


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[n for n, _ in CASES])
def test_traced_equals_eager(case):
    xs = case.inputs(0)
    eager_out, eager_grads = _gradients(case.fn, xs)
    traced = tf.function(case.fn)
    traced_out, traced_grads = _gradients(traced, xs)
    for a, b in zip(_values(eager_out), _values(traced_out), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(eager_grads, traced_grads, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert traced.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[n for n, _ in CASES])
def test_traced_with_unknown_batch_dimension(case):
    xs = case.inputs(0)
    # The first input (the data) has an unknown batch dimension; the others (weights) are exact.
    specs = [tf.TensorSpec(((None,) + x.shape[1:]) if i == 0 and x.ndim else x.shape, tf.float64)
             for i, x in enumerate(xs)]
    traced = tf.function(case.fn, input_signature=specs)
    out = traced(*[tf.constant(x) for x in xs])
    for a, b in zip(_values(case.fn(*[tf.constant(x) for x in xs])), _values(out), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[n for n, _ in CASES])
def test_gradient_inside_trace_equals_eager(case):
    """A tape inside the function: traced with other values than it then runs on, so nothing a
    trace-time backward kept from its example can leak into the replayed gradients."""

    def grads_inside(*ts):
        with tf.GradientTape() as tape:
            for t in ts:
                tape.watch(t)
            out = case.fn(*ts)
            total = tf.add_n([tf.reduce_sum(o * o) for o in tf.nest.flatten(out) if o.dtype.is_floating])
        return out, tape.gradient(total, list(ts))

    if "dropout" in case.name:
        pytest.skip("random: each call draws anew, so a traced and an eager call differ")
    traced = tf.function(grads_inside)
    traced(*[tf.constant(x) for x in case.inputs(1)])
    xs = [tf.constant(x) for x in case.inputs(0)]
    out_t, grads_t = traced(*xs)
    out_e, grads_e = grads_inside(*xs)
    for a, b in zip(_values(out_e), _values(out_t), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(grads_e, grads_t, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
