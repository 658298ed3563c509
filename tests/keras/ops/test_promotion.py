"""Keras's dtype promotion lattice: `result_type` against `keras.backend.result_type`."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tapeflow.keras import backend
from tapeflow.keras.ops.promotion import result_type, standardize_dtype

TYPES = ["bool", "uint8", "uint16", "uint32", "int8", "int16", "int32", "int64", "float16", "float32",
         "float64", int, float, bool]


@pytest.mark.oracle
def test_result_type_matches_keras_for_every_pair():
    keras = pytest.importorskip("keras")
    bad = []
    for a, b in itertools.product(TYPES, TYPES):
        want = keras.backend.result_type(a, b)
        if result_type(a, b) != want:
            bad.append((a, b, result_type(a, b), want))
    assert not bad


def test_result_type_rules():
    assert result_type("int32", float) == "float32"
    assert result_type("int8", int) == "int8"
    assert result_type("uint8", "int8") == "int16"
    assert result_type("float16", "int64") == "float16"
    assert result_type(int, int) == "int32"
    assert result_type() == "float32"
    # NOTE: Keras's TensorFlow backend maps uint64 to uint32; NumPy holds uint64, so Tapeflow keeps it.
    assert result_type("uint64", "uint64") == "uint64"
    assert backend.result_type("int16", "float32") == "float32"


def test_standardize_dtype():
    assert standardize_dtype(np.float64) == "float64"
    assert standardize_dtype(int) == "int64" and standardize_dtype(float) == "float32"
    assert standardize_dtype(np.dtype("bool")) == "bool"
    assert standardize_dtype(None) == "float32"
    assert backend.standardize_dtype("double") == "float64"
    with pytest.raises(ValueError, match="Invalid dtype"):
        standardize_dtype("float8")
