"""tf.compat.v1.Dimension, tf.compat helpers and TF 1's tensor equality switch, as TF 2.21 answers
(the guide "TF1 vs TF2 behaviors" cells 3-15)."""

from __future__ import annotations

import pytest

import tapeflow as tf

D = tf.compat.v1.Dimension


def test_dimension_arithmetic_and_compatibility_as_tf() -> None:
    d, n = D(16), D(None)
    assert (repr(d), str(d), repr(n), str(n), d.value, n.value, int(d)) == (
        "Dimension(16)", "16", "Dimension(None)", "?", 16, None, 16)
    assert d == 16 and d != 3 and (d == n) is None and (n == n) is None and (n < 3) is None
    assert repr(d + 1) == "Dimension(17)" and str(d * n) == "?" and repr(d // 3) == "Dimension(5)"
    assert repr(3 + d) == "Dimension(19)" and repr(d - 1) == "Dimension(15)" and d % 5 == 1
    assert d.is_compatible_with(16) and n.is_compatible_with(3) and repr(d.merge_with(n)) == "Dimension(16)"
    with pytest.raises(ValueError, match="Dimensions 16 and 3 are not compatible"):
        d.assert_is_compatible_with(3)
    with pytest.raises(ValueError, match="Dimension -1 must be >= 0"):
        D(-1)
    with pytest.raises(TypeError, match="Dimension value must be integer or None"):
        D(1.5)
    with pytest.raises(TypeError, match="unhashable"):
        hash(d)


def test_shape_dims_and_compat_helpers() -> None:
    shape = tf.TensorShape([16, None, 256])
    assert repr(shape.dims) == "[Dimension(16), Dimension(None), Dimension(256)]"
    assert tf.TensorShape([D(3), D(None)]) == (3, None)
    assert tf.compat.dimension_value(D(3)) == 3 and tf.compat.dimension_value(4) == 4
    assert str(tf.compat.dimension_at_index(shape, 1)) == "?"
    assert tf.compat.as_bytes("a") == b"a" and tf.compat.as_text(b"a") == "a" and tf.compat.as_str_any(3) == "3"
    with pytest.raises(TypeError, match="Expected binary or unicode string, got 3"):
        tf.compat.as_bytes(3)
    assert tf.compat.forward_compatible(2026, 1, 15) and not tf.compat.forward_compatible(2026, 1, 16)
    with tf.compat.forward_compatibility_horizon(2100, 1, 1):
        assert tf.compat.forward_compatible(2099, 1, 1)
    assert not tf.compat.forward_compatible(2099, 1, 1)


def test_tensor_equality_switch() -> None:
    x, y = tf.Variable(0.0), tf.Variable(0.0)
    try:
        tf.compat.v1.disable_tensor_equality()
        assert (x == y) is False and (x == x) is True and (x != y) is True
        assert {x: 1}[x] == 1
        t = tf.constant(1.0)
        assert (t == t) is True and (t == 1.0) is False
    finally:
        tf.compat.v1.enable_tensor_equality()
    assert repr(x == y) == "<tf.Tensor: shape=(), dtype=bool, numpy=True>"
    with pytest.raises(TypeError, match=r"Variable is unhashable. Instead, use variable.ref\(\) as the key. "
                                        r"\(Variable: <tf.Variable"):
        set([x])
    with pytest.raises(TypeError, match="Tensor is unhashable"):
        set([tf.constant(1.0)])
