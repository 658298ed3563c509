"""IntegerLookup, StringLookup, Hashing, HashedCrossing: Keras oracle (values, dtypes, vocabularies,
configs), adapt from arrays and datasets, save/load, errors; TF's hash functions."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.fingerprint import fingerprint64, fingerprint_cat64, siphash64
from tapeflow.keras import layers


def _keras():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


def _config(layer) -> dict:
    """A config without the name and the dtype policy (printed differently by Keras)."""
    return {k: v for k, v in layer.get_config().items() if k not in ("name", "dtype")}


def _same(ours, theirs) -> None:
    ref = np.asarray(theirs)
    assert ours.dtype.name == ref.dtype.name, (ours.dtype, ref.dtype)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-6)


@pytest.mark.oracle
def test_fingerprints_against_tf():
    ktf = pytest.importorskip("tensorflow")
    rng = random.Random(0)
    strings = [bytes(rng.randrange(256) for _ in range(n)) for n in [*range(0, 140, 3), 200, 257, 1000]]
    ref = ktf.fingerprint(ktf.constant(strings)).numpy().view("<u8")[:, 0]
    np.testing.assert_array_equal(fingerprint64(strings), ref)
    key = [133, 2**62 + 7]
    strong = ktf.strings.to_hash_bucket_strong(ktf.constant(strings), 1000003, key=key).numpy()
    np.testing.assert_array_equal((siphash64(strings, key) % np.uint64(1000003)).astype(np.int64), strong)
    ints = np.array([[1], [-5], [2**40]], np.int64)
    words = np.array([[b"a"], [b""], [b"hello world"]])
    cross = ktf.sparse.to_dense(ktf.sparse.cross_hashed([ktf.constant(ints), ktf.constant(words)], 977))
    h = fingerprint_cat64(np.full(3, np.uint64(0xDECAFCAFFE)), ints[:, 0].view(np.uint64))
    h = fingerprint_cat64(h, fingerprint64(list(words[:, 0])))
    np.testing.assert_array_equal((h % np.uint64(977)).astype(np.int64), cross.numpy()[:, 0])


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count", "tf_idf"])
@pytest.mark.parametrize("extra", [{}, {"mask_token": 0}, {"num_oov_indices": 3}, {"pad_to_max_tokens": True,
                                                                                 "max_tokens": 8}])
def test_integer_lookup_vocabulary_against_keras(mode, extra):
    k = _keras()
    kwargs = dict(vocabulary=[12, 36, 1138, 5], output_mode=mode, **extra)
    if mode == "tf_idf":
        kwargs["idf_weights"] = [0.5, 0.25, 1.0, 2.0]
    x = np.array([[12, 1138, 42, 0], [5, 0, -7, 36]])
    ours, theirs = layers.IntegerLookup(**kwargs), k.layers.IntegerLookup(**kwargs)
    _same(ours(x), theirs(x))
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    assert _config(ours) == _config(theirs)
    assert ours.compute_output_shape((None, 4)) == theirs.compute_output_shape((None, 4))


@pytest.mark.oracle
@pytest.mark.parametrize("extra", [{}, {"mask_token": 0, "num_oov_indices": 2, "max_tokens": 5},
                                   {"output_mode": "tf_idf"}, {"output_mode": "count", "num_oov_indices": 0}])
def test_integer_lookup_adapt_against_keras(extra):
    k = _keras()
    data = np.array([[3, 3, 4, 4, 4, 5], [6, 6, 0, -1, 7, 3], [9, 9, 9, 9, 2, 4]])
    ours, theirs = layers.IntegerLookup(**extra), k.layers.IntegerLookup(**extra)
    ours.adapt(data)
    theirs.adapt(data)
    assert ours.get_vocabulary() == [int(v) for v in theirs.get_vocabulary()]
    x = data[:, :4] if extra.get("num_oov_indices") != 0 else np.array([[3, 4, 9, 6]])
    _same(ours(x), theirs(x))
    assert _config(ours) == _config(theirs)
    if extra.get("output_mode") == "tf_idf":
        np.testing.assert_allclose(ours.idf_weights.numpy(), theirs.idf_weights.numpy(), rtol=1e-6)
    # update_state on a rank-1 batch counts it as one document; a dataset adapts batch by batch
    ds_ours = layers.IntegerLookup(**extra)
    ds_ours.adapt(tf.data.Dataset.from_tensor_slices(data).batch(2))
    ds_theirs = k.layers.IntegerLookup(**extra)
    import tensorflow as ktf
    ds_theirs.adapt(ktf.data.Dataset.from_tensor_slices(data).batch(2))
    assert ds_ours.get_vocabulary() == [int(v) for v in ds_theirs.get_vocabulary()]


@pytest.mark.oracle
def test_integer_lookup_invert_farmhash_and_scalars_against_keras():
    k = _keras()
    for kwargs, x in [
        (dict(vocabulary=[12, 36], invert=True), np.array([0, 1, 2, 5])),
        (dict(vocabulary=[12, 36], invert=True, mask_token=0, num_oov_indices=2), np.array([[0, 1, 2, 3, 4, 9]])),
        (dict(vocabulary=[12, 36], num_oov_indices=4, oov_method="farmhash"), np.array([[7, 12, -3, 99999]])),
        (dict(vocabulary=[12, 36], num_oov_indices=4, oov_method="farmhash", salt=7), np.array([[7, 12, -3]])),
        (dict(vocabulary=[12, 36]), np.array(36)),
        (dict(vocabulary=[12, 36], output_mode="one_hot"), np.array([[12], [36], [4]])),
    ]:
        _same(layers.IntegerLookup(**kwargs)(x), k.layers.IntegerLookup(**kwargs)(x))


@pytest.mark.oracle
def test_string_lookup_vocabulary_against_keras(tmp_path):
    k = _keras()
    vocab = ["a", "b", "c", "d"]
    x = np.array([["a", "c", "d"], ["d", "z", "b"]])
    for kwargs in [{}, {"mask_token": ""}, {"num_oov_indices": 3}, {"num_oov_indices": 2, "salt": [5, 9]},
                   {"output_mode": "multi_hot"}, {"output_mode": "count", "pad_to_max_tokens": True,
                                                  "max_tokens": 9}]:
        ours, theirs = layers.StringLookup(vocabulary=vocab, **kwargs), k.layers.StringLookup(vocabulary=vocab,
                                                                                              **kwargs)
        _same(ours(x), theirs(x))
        assert ours.get_vocabulary() == theirs.get_vocabulary()
        assert _config(ours) == _config(theirs)
    path = tmp_path / "vocab.txt"
    path.write_text("x\ny\nz\n", encoding="utf-8")
    ours, theirs = layers.StringLookup(vocabulary=str(path)), k.layers.StringLookup(vocabulary=str(path))
    _same(ours(x), theirs(x))
    assert ours.get_vocabulary() == theirs.get_vocabulary() == ["[UNK]", "x", "y", "z"]


@pytest.mark.oracle
def test_string_lookup_adapt_against_keras():
    k = _keras()
    data = np.array([["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat", "the"]])
    for kwargs in [{}, {"max_tokens": 4, "mask_token": "[MASK]"}, {"output_mode": "tf_idf"}]:
        ours, theirs = layers.StringLookup(**kwargs), k.layers.StringLookup(**kwargs)
        ours.adapt(data)
        theirs.adapt(data)
        assert ours.get_vocabulary() == theirs.get_vocabulary()
        _same(ours(data), theirs(data))
        assert _config(ours) == _config(theirs)


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", [dict(num_bins=3), dict(num_bins=5, mask_value=""), dict(num_bins=3, salt=133),
                                    dict(num_bins=4, salt=[133, 137], output_mode="one_hot"),
                                    dict(num_bins=4, output_mode="multi_hot"), dict(num_bins=6, output_mode="count")])
def test_hashing_strings_against_keras(kwargs):
    k = _keras()
    x = [["A"], ["B"], [""], ["C"], ["D"], ["long string of words, over sixteen bytes"]]
    ours, theirs = layers.Hashing(**kwargs), k.layers.Hashing(**kwargs)
    _same(ours(x), theirs(x))
    assert _config(ours) == _config(theirs)


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", [dict(num_bins=7), dict(num_bins=7, mask_value=0), dict(num_bins=7, salt=3),
                                    dict(num_bins=7, dtype="int32"), dict(num_bins=7, output_mode="count")])
def test_hashing_ints_and_floats_against_keras(kwargs):
    k = _keras()
    for x in (np.array([[0, 1, -2], [123456789, 7, 0]]), np.array([1.7, -2.5, 0.0], np.float32)):
        _same(layers.Hashing(**kwargs)(x), k.layers.Hashing(**kwargs)(x))


@pytest.mark.oracle
@pytest.mark.parametrize("output_mode", ["int", "one_hot"])
@pytest.mark.parametrize("shape", [(4,), (4, 1)])
def test_hashed_crossing_against_keras(output_mode, shape):
    k = _keras()
    a = np.array([1, 2, -3, 2**40]).reshape(shape)
    b = np.array(["A", "B", "", "C"]).reshape(shape)
    c = np.array([5, 5, 6, 6]).reshape(shape)
    for inputs in ((a, b), (b, a, c)):
        ours = layers.HashedCrossing(num_bins=11, output_mode=output_mode)
        theirs = k.layers.HashedCrossing(num_bins=11, output_mode=output_mode)
        _same(ours(inputs), theirs(inputs))
    assert _config(ours) == _config(theirs)
    assert ours.compute_output_shape((shape, shape)) == theirs.compute_output_shape((shape, shape))


def test_lookup_in_a_model_saves_and_loads(tmp_path):
    lookup = layers.IntegerLookup(output_mode="tf_idf")
    lookup.adapt(np.array([[3, 3, 4], [4, 4, 5], [6, 6, 7]]))
    inp = keras.Input(shape=(3,), dtype="int64")
    out = layers.Dense(2, kernel_initializer="ones")(lookup(inp))
    model = keras.Model(inp, out)
    x = np.array([[3, 4, 9], [7, 7, 7]])
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before)
    restored = loaded.layers[1]
    assert restored.get_vocabulary() == lookup.get_vocabulary()
    config = json.loads(json.dumps(lookup.get_config()))
    assert layers.IntegerLookup.from_config(config).get_config() == config


def test_lookup_inside_tf_function_and_dataset_map():
    lookup = layers.IntegerLookup(vocabulary=[10, 20, 30])
    fn = tf.function(lambda x: lookup(x) * 2)
    np.testing.assert_array_equal(fn(tf.constant([[10, 30, 99]])).numpy(), [[2, 6, 0]])
    ds = tf.data.Dataset.from_tensor_slices(np.array([[10, 20], [30, 40]])).map(lookup)
    assert [e.tolist() for e in ds.as_numpy_iterator()] == [[1, 2], [3, 0]]


def test_lookup_errors():
    with pytest.raises(ValueError, match="max_tokens=1"):
        layers.IntegerLookup(max_tokens=1)
    with pytest.raises(ValueError, match="repeated"):
        layers.IntegerLookup(vocabulary=[1, 2, 2])
    with pytest.raises(ValueError, match="`sparse` may only be true"):
        layers.StringLookup(output_mode="int", sparse=True)
    with pytest.raises(ValueError, match="Cannot adapt"):
        layers.IntegerLookup(vocabulary=[1, 2]).adapt(np.array([1, 2]))
    with pytest.raises(ValueError, match="expected integer inputs"):
        layers.IntegerLookup(vocabulary=[1, 2])(np.array(["a"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"found OOV values \[7\]"):
        layers.IntegerLookup(vocabulary=[1, 2], num_oov_indices=0)(np.array([1, 7]))
    with pytest.raises(RuntimeError, match="must set the layer's vocabulary"):
        layers.IntegerLookup(output_mode="one_hot")(np.array([1]))
    with pytest.raises(ValueError, match="SparseTensor inputs are supported with output_mode='int'"):
        layers.Hashing(num_bins=3, output_mode="count")(tf.sparse.from_dense(np.array([[1, 0]])))
    with pytest.raises(ValueError, match="equal shape"):
        layers.HashedCrossing(num_bins=3)((np.array([1, 2]), np.array([1, 2, 3])))


def _sparse_parts(y) -> tuple:
    return (y.indices.numpy().tolist(), y.values.numpy().tolist(), y.dense_shape.numpy().tolist(), y.dtype.name)


@pytest.mark.oracle
def test_sparse_outputs_and_inputs_against_keras():
    k = _keras()
    import tensorflow as ktf
    x = np.array([[12, 5, 5], [36, 7, 7]])
    for mode in ("one_hot", "multi_hot", "count"):
        ours = layers.IntegerLookup(vocabulary=[12, 36, 7], output_mode=mode, sparse=True)(x)
        theirs = k.layers.IntegerLookup(vocabulary=[12, 36, 7], output_mode=mode, sparse=True)(x)
        assert isinstance(ours, tf.SparseTensor) and _sparse_parts(ours) == _sparse_parts(theirs)
    for layer in ("Hashing", "TextVectorization"):
        kwargs = dict(num_bins=3, output_mode="count", sparse=True) if layer == "Hashing" else dict(
            output_mode="count", sparse=True, vocabulary=["a", "b"])
        data = np.array([[1, 2, 2]]) if layer == "Hashing" else ["a b a z", ""]
        assert _sparse_parts(getattr(layers, layer)(**kwargs)(data)) == _sparse_parts(
            getattr(k.layers, layer)(**kwargs)(data))
    pair = (np.array([1, 2]), np.array([3, 4]))
    assert _sparse_parts(layers.HashedCrossing(num_bins=3, output_mode="one_hot", sparse=True)(pair)) == \
        _sparse_parts(k.layers.HashedCrossing(num_bins=3, output_mode="one_hot", sparse=True)(pair))
    # SparseTensor inputs in "int" mode: the values are mapped, the sparsity kept (TF's lookup table on
    # the values; Hashing as Keras)
    dense = np.array([[12, 0], [0, 7]])
    ours = layers.IntegerLookup(vocabulary=[12, 36, 7])(tf.sparse.from_dense(dense))
    assert _sparse_parts(ours) == ([[0, 0], [1, 1]], [1, 3], [2, 2], "int64")
    ours = layers.Hashing(num_bins=3)(tf.sparse.from_dense(dense))
    theirs = k.layers.Hashing(num_bins=3)(ktf.sparse.from_dense(dense))
    assert _sparse_parts(ours) == _sparse_parts(theirs)
