"""Result dtypes against real Keras where its rules are op-specific: Python numbers that count
as typed (mod, fmod, gcd, arctan2, ...), int64 computing in float64 (cbrt, hypot, heaviside,
...), integer activations, int8 matmul."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow.keras import ops

pytestmark = pytest.mark.oracle


def _x(dtype):
    return (np.arange(1, 7).reshape(2, 3) % 4 + 1).astype(dtype)


BINARY = ["add", "multiply", "divide", "power", "maximum", "mod", "fmod", "arctan2", "hypot",
          "logaddexp", "heaviside", "nextafter", "append", "bitwise_and", "gcd", "left_shift",
          "equal", "outer", "kron", "inner"]
PAIRS = [("int8", int), ("uint8", int), ("float16", float), ("int32", float), ("int64", "int32"),
         ("bool", "int16"), ("int8", "int8"), ("float16", "float32")]
UNARY = ["cbrt", "i0", "deg2rad", "rad2deg", "sqrt", "relu", "relu6", "sum", "mean", "cumsum",
         "square", "abs", "floor", "round", "argmax", "sigmoid"]


def _operand(d):
    if d is int:
        return 3
    if d is float:
        return 2.5
    return _x(d)


@pytest.mark.parametrize("name", BINARY)
def test_binary_dtypes(kops, name):
    bad = []
    for d1, d2 in PAIRS:
        a, b = _x(d1), _operand(d2)
        try:
            want = getattr(kops, name)(a, b).dtype.name
        except Exception:  # noqa: BLE001 - a combination Keras refuses
            continue
        got = getattr(ops, name)(a, b).dtype.name
        if got != want:
            bad.append((d1, d2, got, want))
    assert not bad


@pytest.mark.parametrize("name", UNARY)
def test_unary_dtypes(kops, name):
    bad = []
    for d in ("bool", "int8", "uint8", "int32", "int64", "float16", "float64"):
        try:
            want = getattr(kops, name)(_x(d)).dtype.name
        except Exception:  # noqa: BLE001
            continue
        got = getattr(ops, name)(_x(d)).dtype.name
        if got != want:
            bad.append((d, got, want))
    assert not bad


def test_matmul_and_dot_of_small_ints(kops):
    a = _x("int8")
    assert ops.matmul(a, a.T).dtype.name == kops.matmul(a, a.T).dtype.name == "int32"
    assert ops.dot(a, a.T).dtype.name == kops.dot(a, a.T).dtype.name == "int8"
    assert ops.vdot(a > 1, a > 2).dtype.name == kops.vdot(a > 1, a > 2).dtype.name
