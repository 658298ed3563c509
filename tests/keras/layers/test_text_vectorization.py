"""TextVectorization: Keras oracle (vocabularies, outputs, dtypes, configs) for every standardize /
split / ngrams / output mode, adapt from lists and datasets, save/load, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers

_DATA = ["The Cat sat.", "the dog, the DOG!", "a cat-dog  sat", "Ünïcode ÉTÉ été", ""]


def _keras():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


def _compare(kwargs: dict, adapt=_DATA, x=_DATA) -> None:
    k = _keras()
    ours, theirs = layers.TextVectorization(**kwargs), k.layers.TextVectorization(**kwargs)
    if adapt is not None:
        ours.adapt(adapt)
        theirs.adapt(adapt)
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    y, ref = ours(x), np.asarray(theirs(x))
    assert y.dtype.name == ref.dtype.name
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-6)
    mine = {k2: v for k2, v in ours.get_config().items() if k2 not in ("name", "dtype")}
    assert mine == {k2: v for k2, v in theirs.get_config().items() if k2 not in ("name", "dtype")}


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", [
    {},
    {"output_sequence_length": 3},
    {"output_sequence_length": 7, "max_tokens": 6},
    {"standardize": "lower"},
    {"standardize": "strip_punctuation", "split": "character"},
    {"standardize": None, "split": "character", "output_sequence_length": 6},
    {"ngrams": 2},
    {"ngrams": (1, 3), "output_mode": "count"},
    {"output_mode": "multi_hot"},
    {"output_mode": "count", "max_tokens": 10, "pad_to_max_tokens": True},
    {"output_mode": "tf_idf"},
    {"output_mode": "tf_idf", "ngrams": 2, "max_tokens": 8},
], ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
def test_text_vectorization_adapt_against_keras(kwargs):
    _compare(kwargs)


@pytest.mark.oracle
def test_text_vectorization_split_none_and_vocabulary_against_keras(tmp_path):
    _compare({"split": None, "output_sequence_length": 3}, x=np.array([["the cat sat"], ["a cat-dog  sat"]]))
    _compare({"split": None, "output_mode": "multi_hot"}, x=np.array([["the cat sat"], ["a b"]]))
    _compare({"vocabulary": ["a", "b", "cat"]}, adapt=None, x=["a b c", "", "cat a"])
    _compare({"vocabulary": ["a", "b"], "idf_weights": [0.5, 2.0], "output_mode": "tf_idf"}, adapt=None,
             x=["a b c b", "z"])
    path = tmp_path / "vocab.txt"
    path.write_text("cat\nsat\nthe\n", encoding="utf-8")
    k = _keras()
    ours, theirs = layers.TextVectorization(vocabulary=str(path)), k.layers.TextVectorization(vocabulary=str(path))
    np.testing.assert_array_equal(ours(_DATA).numpy(), np.asarray(theirs(_DATA)))
    np.testing.assert_array_equal(ours("the cat").numpy(), np.asarray(theirs("the cat")))


def test_text_vectorization_adapt_from_batches_and_dataset():
    whole = layers.TextVectorization()
    whole.adapt(_DATA)
    batches = layers.TextVectorization()
    batches.adapt(iter([_DATA[:2], _DATA[2:]]))
    assert batches.get_vocabulary() == whole.get_vocabulary()
    in_pairs = layers.TextVectorization(output_mode="tf_idf")
    in_pairs.adapt(_DATA, batch_size=2)
    reference = layers.TextVectorization(output_mode="tf_idf")
    reference.adapt(_DATA)
    assert in_pairs.get_vocabulary() == reference.get_vocabulary()
    np.testing.assert_allclose(in_pairs(_DATA).numpy(), reference(_DATA).numpy())
    ints = layers.IntegerLookup()
    ints.adapt(tf.data.Dataset.from_tensor_slices(np.array([3, 3, 4, 9, 9, 9])).batch(2), steps=2)
    assert ints.get_vocabulary() == [-1, 3, 9, 4]


def test_text_vectorization_symbolic_and_saved_model(tmp_path):
    vec = layers.TextVectorization(output_mode="tf_idf", max_tokens=6)
    vec.adapt(_DATA)
    inp = keras.Input(shape=(1,), dtype="string")
    out = layers.Dense(1, kernel_initializer="ones")(vec(inp))
    assert tuple(vec(inp).shape) == (None, 6)
    model = keras.Model(inp, out)
    x = np.array([["the cat"], ["dog dog sat"]])
    before = model(x).numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), before, rtol=1e-6)
    np.testing.assert_allclose(model(tf.constant(x)).numpy(), before, rtol=1e-6)
    model.save(tmp_path / "text.keras")
    loaded = keras.models.load_model(tmp_path / "text.keras")
    np.testing.assert_allclose(loaded(x).numpy(), before, rtol=1e-6)
    config = json.loads(json.dumps(vec.get_config()))
    clone = layers.TextVectorization.from_config(config)
    clone.build_from_config(json.loads(json.dumps(vec.get_build_config())))
    assert clone.get_config() == vec.get_config()
    assert clone.get_vocabulary() == vec.get_vocabulary()


def test_text_vectorization_errors():
    with pytest.raises(ValueError, match="standardize"):
        layers.TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="ngrams"):
        layers.TextVectorization(ngrams=[1, 2])
    with pytest.raises(ValueError, match="output_sequence_length"):
        layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="`sparse` may only be true"):
        layers.TextVectorization(output_mode="int", sparse=True)
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        layers.TextVectorization(vocabulary=["a"])(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="expected string inputs"):
        layers.TextVectorization(vocabulary=["a"])(np.array([1, 2]))


@pytest.mark.oracle
def test_text_vectorization_callables_against_keras():
    k = _keras()
    import tensorflow as ktf

    def our_split(x):  # commas, through Python on the string tensor's bytes
        return tf.ragged.constant([s.split(b",") for s in x.numpy().tolist()], dtype=tf.string)

    def our_standardize(x):
        return tf.constant(np.array([s.upper() for s in x.numpy().reshape(-1).tolist()], dtype=object).reshape(
            x.shape))

    data = ["a,b,c", "b,,d", "A,e"]
    ours = layers.TextVectorization(standardize=our_standardize, split=our_split)
    theirs = k.layers.TextVectorization(standardize=ktf.strings.upper, split=lambda x: ktf.strings.split(x, ","))
    ours.adapt(data)
    theirs.adapt(data)
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    np.testing.assert_array_equal(ours(data).numpy(), np.asarray(theirs(data)))


@pytest.mark.oracle
def test_text_vectorization_keras_guide_standardization_against_keras():
    """The text-classification guide's `custom_standardization` written with tf.strings."""
    k = _keras()
    import re
    import string

    import tensorflow as ktf

    def make(t):
        def custom_standardization(input_data):
            lowercase = t.strings.lower(input_data)
            stripped_html = t.strings.regex_replace(lowercase, "<br />", " ")
            return t.strings.regex_replace(stripped_html, f"[{re.escape(string.punctuation)}]", "")
        return custom_standardization

    data = ["The movie<br />was GREAT!", "bad, bad plot...", "ok"]
    ours = layers.TextVectorization(standardize=make(tf), split=lambda x: tf.strings.split(x), ngrams=2,
                                    output_sequence_length=6)
    theirs = k.layers.TextVectorization(standardize=make(ktf), split=lambda x: ktf.strings.split(x), ngrams=2,
                                        output_sequence_length=6)
    ours.adapt(tf.data.Dataset.from_tensor_slices(data).batch(2))
    theirs.adapt(ktf.data.Dataset.from_tensor_slices(data).batch(2))
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    np.testing.assert_array_equal(ours(data).numpy(), np.asarray(theirs(data)))


# Bytes that are not valid UTF-8: lone and truncated sequences, surrogates, overlong and 5-byte
# forms, next to punctuation and whitespace.
INVALID_UTF8 = [b"\xff\xfe abc", b"Hello \xc3 World!", b"ok \xed\xa0\x80 x", b"\xe2\x82", b"a\xe2!b, c\xc3\xa9 d\xc3",
                b"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98 \xf0\x9f\x98\x80 \x80\x80x", b"A\xc0\xafB \xf8\x88\x80\x80\x80 q", b""]
INVALID_UTF8_VOCAB = ["abc", "hello", "world", "ok", "x", "\ufffd", "\ufffd abc", "a", "b", "c", "é", "été", "q"]


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", [
    {}, {"standardize": None, "ngrams": 2}, {"split": "character"}, {"standardize": "lower", "split": None},
    {"standardize": "strip_punctuation", "split": "character", "output_mode": "count"},
])
def test_text_vectorization_of_invalid_utf8_matches_tensorflow_eagerly_and_in_tf_function(kwargs):
    """As TF 2.21: invalid bytes stay in whitespace tokens (out of vocabulary) and become U+FFFD
    (one per maximal invalid subsequence) when splitting characters."""
    k = _keras()
    import tensorflow as real_tf

    shape = (-1, 1) if "split" in kwargs and kwargs["split"] is None else (-1,)
    want = np.asarray(k.layers.TextVectorization(vocabulary=INVALID_UTF8_VOCAB, **kwargs)(
        real_tf.reshape(real_tf.constant(INVALID_UTF8), shape)))
    layer = layers.TextVectorization(vocabulary=INVALID_UTF8_VOCAB, **kwargs)
    x = tf.reshape(tf.constant(INVALID_UTF8), shape)
    np.testing.assert_array_equal(layer(x).numpy(), want)
    np.testing.assert_array_equal(tf.function(lambda t: layer(t))(x).numpy(), want)
