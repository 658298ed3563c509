"""tf.experimental.StructuredTensor (rank 0 and 1) against TensorFlow: construction, printing,
field access, indexing and to_pyval."""

from __future__ import annotations

import pytest

import tapeflow as tf


def _script(mod):
    S = mod.experimental.StructuredTensor  # noqa: N806
    st = S.from_pyval({"a": 1, "b": [1.0, 2.0], "c": {"d": "x"}})
    st2 = S.from_pyval([{"a": 1, "b": [1, 2]}, {"a": 2, "b": [3]}])
    st3 = S.from_fields({"x": mod.constant([1, 2, 3])}, shape=[3])
    return [str(st), tuple(st.shape), st.rank, st.field_names(), str(st.field_value("b")),
            str(st.field_value(("c", "d"))), str(st2), repr(st2.field_value("b")),
            [sorted(r.items()) for r in st2.to_pyval()], str(st2[0]), int(st2[1]["a"]), str(st3), int(st3.nrows()),
            st3.with_updates({"y": mod.constant([4, 5, 6])}).field_names()]


@pytest.mark.oracle
def test_structured_tensor_matches_tensorflow():
    real = pytest.importorskip("tensorflow")
    assert _script(tf) == _script(real)


def test_unsupported_and_bad_input():
    S = tf.experimental.StructuredTensor  # noqa: N806
    with pytest.raises(tf.errors.UnimplementedError, match="rank 0 and rank 1"):
        S.from_fields({"x": tf.zeros([2, 3])}, shape=[2, 3])
    with pytest.raises(ValueError, match="different fields"):
        S.from_pyval([{"a": 1}, {"b": 2}])
    with pytest.raises(ValueError, match="leading shape"):
        S.from_fields({"x": tf.zeros([2])}, shape=[3])
    assert S.from_shape([4]).shape == (4,) and S.from_fields_and_rank({"x": tf.zeros([5, 2])}, 1).shape == (5,)
