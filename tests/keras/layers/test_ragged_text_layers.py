"""Ragged inputs and outputs of the lookup and text layers (tf.RaggedTensor), against Keras."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import layers


def _keras():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


def _rows(ragged) -> list:
    return [[v.decode() if isinstance(v, bytes) else int(v) for v in row] for row in ragged.to_list()]


@pytest.mark.oracle
def test_text_vectorization_ragged_output_against_keras():
    k = _keras()
    data = ["The cat sat.", "the dog", "", "a cat-dog  sat on the mat"]
    ours = layers.TextVectorization(ragged=True)
    theirs = k.layers.TextVectorization(ragged=True)
    ours.adapt(data)
    theirs.adapt(data)
    y, ref = ours(data), theirs(data)
    assert isinstance(y, tf.RaggedTensor) and y.dtype == tf.int64
    assert _rows(y) == _rows(ref)
    one_hot = layers.TextVectorization(output_mode="one_hot", vocabulary=["a", "b"])(["a b z", "b"])
    ref = k.layers.TextVectorization(output_mode="one_hot", vocabulary=["a", "b"])(["a b z", "b"])
    assert [np.asarray(r).tolist() for r in one_hot.to_list()] == [np.asarray(r).tolist() for r in ref.to_list()]


@pytest.mark.oracle
def test_lookups_and_hashing_on_ragged_inputs_against_keras():
    k = _keras()
    import tensorflow as ktf
    words = [["a", "b", "zz"], [], ["c"]]
    ours = layers.StringLookup(vocabulary=["a", "b", "c"])(tf.ragged.constant(words))
    ref = k.layers.StringLookup(vocabulary=["a", "b", "c"])(ktf.ragged.constant(words))
    assert _rows(ours) == _rows(ref)
    ints = [[12, 5], [36, 36, 1]]
    ours = layers.IntegerLookup(vocabulary=[12, 36])(tf.ragged.constant(ints))
    ref = k.layers.IntegerLookup(vocabulary=[12, 36])(ktf.ragged.constant(ints))
    assert _rows(ours) == _rows(ref)
    ours = layers.Hashing(num_bins=5)(tf.ragged.constant(words))
    ref = k.layers.Hashing(num_bins=5)(ktf.ragged.constant(words))
    assert _rows(ours) == _rows(ref)
    lookup = layers.StringLookup()
    lookup.adapt(tf.ragged.constant([["x", "y", "y"], ["y"]]))
    assert lookup.get_vocabulary() == ["[UNK]", "y", "x"]


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf", "one_hot"])
def test_encoded_ragged_inputs_against_keras(mode):
    k = _keras()
    import tensorflow as ktf
    ints = [[12, 5], [36, 36, 1], []]
    kwargs = dict(vocabulary=[12, 36], output_mode=mode)
    if mode == "tf_idf":
        kwargs["idf_weights"] = [1.0, 2.0]
    ours = layers.IntegerLookup(**kwargs)(tf.ragged.constant(ints))
    ref = k.layers.IntegerLookup(**kwargs)(ktf.ragged.constant(ints, dtype="int64"))
    if mode == "one_hot":
        assert isinstance(ours, tf.RaggedTensor)
        assert [np.asarray(r).tolist() for r in ours.to_list()] == [np.asarray(r).tolist() for r in ref.to_list()]
    else:
        assert ours.dtype.name == ref.dtype.name
        np.testing.assert_allclose(ours.numpy(), ref.numpy())
    if mode != "tf_idf":
        hashed = layers.Hashing(num_bins=3, output_mode=mode)(tf.ragged.constant([[1, 2], [3]]))
        ref = k.layers.Hashing(num_bins=3, output_mode=mode)(ktf.ragged.constant([[1, 2], [3]]))
        got = [np.asarray(r).tolist() for r in hashed.to_list()] if mode == "one_hot" else hashed.numpy().tolist()
        want = [np.asarray(r).tolist() for r in ref.to_list()] if mode == "one_hot" else ref.numpy().tolist()
        assert got == want
