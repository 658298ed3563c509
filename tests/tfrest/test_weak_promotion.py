"""TF's auto dtype conversion (`experimental_enable_numpy_behavior(dtype_conversion_mode=...)`):
weak tensors, the promotion lattice and "safe" refusals, against TF 2.21 (run in a subprocess,
as enabling the mode in TF is process-wide)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.experimental.numpy import promotion
from tapeflow.experimental.numpy.weak_tensor import WeakTensor

tnp = tf.experimental.numpy


@pytest.fixture
def mode_all():
    tnp.experimental_enable_numpy_behavior(dtype_conversion_mode="all")
    yield
    tnp.api._disable_numpy_behavior()


@pytest.fixture
def mode_safe():
    tnp.experimental_enable_numpy_behavior(dtype_conversion_mode="safe")
    yield
    tnp.api._disable_numpy_behavior()


# (expression, TF 2.21's repr) — the guide "TF-NumPy Type Promotion" and more.
EXPECTED = [
    ("tf.constant(10, dtype=tf.int32) + tf.constant(5.0, dtype=tf.float32)",
     "<tf.Tensor: shape=(), dtype=float32, numpy=15.0>"),
    ("tf.constant(10, dtype=tf.int8) + tf.constant(5, dtype=tf.uint32)",
     "<tf.Tensor: shape=(), dtype=int64, numpy=15>"),
    ("tf.constant(1, tf.int64) + tf.constant(3.2, tf.float16)",
     "<tf.Tensor: shape=(), dtype=float16, numpy=4.19921875>"),
    ("tf.constant(1.2) + tf.constant(3.1, tf.float16)", "<tf.Tensor: shape=(), dtype=float16, numpy=4.30078125>"),
    ("tf.constant(5)", "<tf.Tensor: shape=(), dtype=int32, numpy=5, weak=True>"),
    ("tf.constant([5.0, 10.0, 3])",
     "<tf.Tensor: shape=(3,), dtype=float32, numpy=array([ 5., 10.,  3.], dtype=float32), weak=True>"),
    ("tf.constant(5, tf.int32)", "<tf.Tensor: shape=(), dtype=int32, numpy=5>"),
    ("tf.math.abs([100.0, 4.0])",
     "<tf.Tensor: shape=(2,), dtype=float32, numpy=array([100.,   4.], dtype=float32), weak=True>"),
    ("np.array(3.2, np.float16) + tf.constant(1, tf.int8) + tf.constant(50)",
     "<tf.Tensor: shape=(), dtype=float16, numpy=54.1875>"),
    ("-tf.constant(5)", "<tf.Tensor: shape=(), dtype=int32, numpy=-5, weak=True>"),
    ("tf.constant(5, tf.int16) - tf.constant(1, tf.float32)", "<tf.Tensor: shape=(), dtype=float32, numpy=4.0>"),
    ("tnp.array(1)", "<tf.Tensor: shape=(), dtype=int32, numpy=1, weak=True>"),
    ("tnp.array(1.0)", "<tf.Tensor: shape=(), dtype=float32, numpy=1.0, weak=True>"),
    ("tf.sqrt(tf.constant(2.0))", "<tf.Tensor: shape=(), dtype=float32, numpy=1.4142135381698608, weak=True>"),
    ("tf.constant(3) / 2", "<tf.Tensor: shape=(), dtype=float64, numpy=1.5, weak=True>"),
    ("tf.constant(3) // 2", "<tf.Tensor: shape=(), dtype=int32, numpy=1, weak=True>"),
    ("tf.constant(3) < 2", "<tf.Tensor: shape=(), dtype=bool, numpy=False>"),
    ("tf.constant(2) ** 0.5", "<tf.Tensor: shape=(), dtype=float32, numpy=1.4142135381698608, weak=True>"),
    ("tf.constant(1.5) + np.array(1, np.int8)", "<tf.Tensor: shape=(), dtype=float64, numpy=2.5, weak=True>"),
    ("tf.constant(1.5) + np.float32(1)", "<tf.Tensor: shape=(), dtype=float32, numpy=2.5>"),
    ("tf.Variable(1.0) + 1", "<tf.Tensor: shape=(), dtype=float32, numpy=2.0>"),
    ("tf.maximum(1, 2.5)", "<tf.Tensor: shape=(), dtype=float32, numpy=2.5>"),
    ("tf.add(1.0, 2)", "<tf.Tensor: shape=(), dtype=float32, numpy=3.0, weak=True>"),
    ("tf.reduce_mean([1.0, 2.0])", "<tf.Tensor: shape=(), dtype=float32, numpy=1.5, weak=True>"),
    ("tf.nn.relu([-1.0, 2.0])", "<tf.Tensor: shape=(2,), dtype=float32, numpy=array([0., 2.], dtype=float32)>"),
    ("tf.nn.relu6([-1.0, 2.0])",
     "<tf.Tensor: shape=(2,), dtype=float32, numpy=array([0., 2.], dtype=float32), weak=True>"),
    ("tnp.arange(3)", "<tf.Tensor: shape=(3,), dtype=int32, numpy=array([0, 1, 2], dtype=int32), weak=True>"),
    ("tnp.add([1.5], [2.0])", "<tf.Tensor: shape=(1,), dtype=float32, numpy=array([3.5], dtype=float32)>"),
    ("tf.constant(1, tf.uint8) + tf.constant(1, tf.int8)", "<tf.Tensor: shape=(), dtype=int16, numpy=2>"),
    ("str(tf.sqrt(2.0))", "'tf.Tensor(1.4142135, shape=(), dtype=float32, weak=True)'"),
]


def test_reprs_and_dtypes_match_tensorflow(mode_all) -> None:
    for expr, want in EXPECTED:
        got = repr(eval(expr, {"tf": tf, "tnp": tnp, "np": np}))  # noqa: S307
        assert got == want, expr


@pytest.fixture(scope="module")
def tensorflow_answers() -> dict:
    """TF 2.21's reprs of EXPECTED's expressions and its promotion table, from one subprocess."""
    pytest.importorskip("tensorflow")
    code = (
        "import json, sys, numpy as np, tensorflow as tf\n"
        "import tensorflow.experimental.numpy as tnp\n"
        "from tensorflow.python.framework import flexible_dtypes as fd\n"
        "rows = []\n"
        "for a in fd._all_dtypes:\n"
        "    for b in fd._all_dtypes:\n"
        "        (r, rw), m = fd._BINARY_DTYPE_RES_FULL[a][b]\n"
        "        rows.append([[a[0].name, a[1]], [b[0].name, b[1]], [r.name, rw], m.name == 'SAFE'])\n"
        "tnp.experimental_enable_numpy_behavior(dtype_conversion_mode='all')\n"
        "reprs = [repr(eval(e)) for e in json.loads(sys.stdin.read())]\n"
        "print(json.dumps({'rows': rows, 'reprs': reprs}))\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps([e for e, _ in EXPECTED]),
                         capture_output=True, text=True, env=env, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_expected_reprs_are_tensorflows(tensorflow_answers) -> None:
    """The table above is what TF 2.21 prints (so the test above compares with TF itself)."""
    assert tensorflow_answers["reprs"] == [w for _, w in EXPECTED]


def test_lattice_matches_tensorflow_table_pair_by_pair(tensorflow_answers) -> None:
    """Every pair of the 20 (dtype, weak) kinds: the join and whether "safe" allows it."""
    rows = tensorflow_answers["rows"]
    assert len(rows) == 400
    for a, b, want, safe in rows:
        a, b = tuple(a), tuple(b)
        got = promotion.join(a, b)
        assert got == tuple(want), (a, b)
        assert promotion.safe(a, b, got) == safe, (a, b)


def test_safe_mode_refuses_lossy_promotions_with_tfs_message(mode_safe) -> None:
    with pytest.raises(TypeError, match=r"In promotion mode PromoMode.SAFE, implicit dtype promotion between "
                                        r"\(<dtype: 'int32'>, weak=False\) and \(<dtype: 'float32'>, weak=False\)"):
        tf.constant(10, dtype=tf.int32) + tf.constant(5.0, dtype=tf.float32)
    assert (tf.constant(1, tf.int8) + tf.constant(2, tf.int16)).dtype == tf.int16
    assert (tf.constant(1.5, tf.float16) + 2.0).dtype == tf.float16


def test_variable_dtype_is_immutable(mode_all) -> None:
    a = tf.Variable(10, dtype=tf.int32)
    a.assign_add(tf.constant(5, tf.int16))
    assert a.numpy() == 15 and a.dtype == tf.int32
    with pytest.raises(TypeError, match=r"Variable dtype is immutable. Calling assign_add of Variable \(with dtype "
                                        r"<dtype: 'int32'>\) on 1.5"):
        a.assign_add(1.5)


def test_weak_results_keep_gradients(mode_all) -> None:
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = tf.square(x) * 2.0 + 1
    assert type(y) is tf.Tensor  # a variable is strong, so is the result
    assert tape.gradient(y, x).numpy() == 12.0
    w = tf.constant(2.0)
    assert isinstance(w, WeakTensor)
    with tf.GradientTape() as tape:
        tape.watch(w)
        z = w * w
    assert isinstance(z, WeakTensor) and tape.gradient(z, w).numpy() == 4.0


def test_mode_switch_and_bad_mode() -> None:
    with pytest.raises(ValueError, match="The provided promotion mode foo does not exist"):
        tnp.experimental_enable_numpy_behavior(dtype_conversion_mode="foo")
    try:
        tnp.experimental_enable_numpy_behavior(dtype_conversion_mode="all")
        assert isinstance(tf.constant(1), WeakTensor)
        tnp.experimental_enable_numpy_behavior(dtype_conversion_mode="legacy")
        assert type(tf.constant(1)) is tf.Tensor
        assert (tf.constant(1) + tf.constant(2.0)).dtype == tf.float64  # NumPy's promotion
    finally:
        tnp.api._disable_numpy_behavior()
    assert type(tf.constant(1)) is tf.Tensor
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.constant(1) + tf.constant(2.0)


def test_python_int_beyond_int32_overflows_as_tf(mode_all) -> None:
    with pytest.raises(OverflowError, match="Python int 1099511627776 too large to convert to np.int32"):
        tf.constant(2 ** 40)
