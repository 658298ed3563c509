"""Every tf.dtypes name against TF: enums, sizes, kinds, ranges, limits, quantized and handle types,
the ml_dtypes-backed bfloat16 / float8 / int4 types, and bfloat16 arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf

NAMES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
         "bool", "complex64", "complex128", "string", "bfloat16", "qint8", "quint8", "qint16", "quint16", "qint32",
         "resource", "variant"]
EXPERIMENTAL = ["float4_e2m1fn", "float8_e4m3b11fnuz", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2",
                "float8_e5m2fnuz", "int2", "int4", "uint2", "uint4"]


def _outcome(fn):
    try:
        return fn()
    except (TypeError, ValueError, KeyError) as e:  # TF's handles raise KeyError for a NumPy range
        return type(e)


@pytest.mark.oracle
def test_dtype_attributes_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    pairs = [(getattr(tf.dtypes, n), getattr(ttf.dtypes, n)) for n in NAMES]
    pairs += [(getattr(tf.dtypes.experimental, n), getattr(ttf.dtypes.experimental, n)) for n in EXPERIMENTAL]
    for ours, theirs in pairs:
        assert ours.name == theirs.name
        for attr in ("as_datatype_enum", "size", "is_floating", "is_integer", "is_complex", "is_bool", "is_quantized",
                     "is_unsigned", "is_numeric", "is_numpy_compatible", "min", "max", "limits"):
            a = _outcome(lambda a=attr, d=ours: getattr(d, a))
            b = _outcome(lambda a=attr, d=theirs: getattr(d, a))
            assert a == b or (isinstance(a, type) and isinstance(b, type)), (ours.name, attr, a, b)
        assert ours.real_dtype.name == theirs.real_dtype.name
        if theirs.is_numpy_compatible and theirs.name not in ("string",):
            assert np.dtype(ours.as_numpy_dtype) == np.dtype(theirs.as_numpy_dtype), ours.name
        assert tf.as_dtype(theirs) is ours and tf.as_dtype(theirs.as_datatype_enum) is ours
    assert {d.name for d in tf.dtypes.QUANTIZED_DTYPES} == {d.name for d in ttf.dtypes.QUANTIZED_DTYPES
                                                            if not d.name.endswith("_ref")}
    x = np.array([1.5, -2.25, 3.0e3, 0.1], np.float32)
    ours = tf.cast(x, tf.bfloat16) * 3 + tf.constant(1.0, tf.bfloat16)
    theirs = ttf.cast(x, ttf.bfloat16) * 3 + ttf.constant(1.0, ttf.bfloat16)
    assert ours.dtype == tf.bfloat16
    np.testing.assert_array_equal(tf.cast(ours, tf.float32).numpy(), ttf.cast(theirs, ttf.float32).numpy())


def test_dtype_protocols():
    assert tf.bfloat16 != tf.float32 and tf.as_dtype("bfloat16") is tf.bfloat16
    assert tf.resource != tf.string and tf.variant != tf.resource
    assert tf.float32.is_compatible_with("float32") and not tf.float32.is_compatible_with(tf.float64)
    assert tf.float32.most_specific_common_supertype([tf.float32]) is tf.float32
    assert tf.float32.most_specific_common_supertype([tf.int32]) is None
    with pytest.raises(TypeError, match="quantized"):
        _ = tf.qint8.min
    with pytest.raises(TypeError, match="no NumPy"):
        _ = tf.resource.as_numpy_dtype
    with pytest.raises(ValueError, match="limits"):
        _ = tf.complex64.limits
    assert tf.experimental.float8_e4m3fn is tf.dtypes.experimental.float8_e4m3fn
