"""Shared helpers of the keras.ops tests: the Keras oracle and value/dtype comparison."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def kops():
    """Real `keras.ops` (TensorFlow backend), or skip."""
    keras = pytest.importorskip("keras")
    return keras.ops


def to_numpy_tree(x):
    if isinstance(x, (list, tuple)):
        return [to_numpy_tree(v) for v in x]
    if hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return np.asarray(x)


def dtype_name(x) -> str:
    d = getattr(x, "dtype", None)
    if d is None:
        return type(x).__name__
    name = getattr(d, "name", str(d))
    return "bool" if name == "bool_" else name


def assert_same(ours, theirs, rtol=1e-5, atol=1e-6, check_dtype=True, label=""):
    """Values (and dtypes) of a Tapeflow result equal a Keras result, through nested tuples."""
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)), f"{label}: expected a sequence, got {type(ours)}"
        assert len(ours) == len(theirs), f"{label}: {len(ours)} results vs Keras's {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, rtol, atol, check_dtype, f"{label}[{i}]")
        return
    if check_dtype and hasattr(theirs, "dtype"):
        assert dtype_name(ours) == dtype_name(theirs), \
            f"{label}: dtype {dtype_name(ours)} vs Keras {dtype_name(theirs)}"
    a, b = to_numpy_tree(ours), to_numpy_tree(theirs)
    assert a.shape == b.shape, f"{label}: shape {a.shape} vs Keras {b.shape}"
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        np.testing.assert_allclose(a.astype(b.dtype) if b.dtype.kind in "fc" else a, b, rtol=rtol,
                                   atol=atol, equal_nan=True, err_msg=label)
    else:
        np.testing.assert_array_equal(a, b, err_msg=label)
