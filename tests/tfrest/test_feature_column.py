"""tf.feature_column / tf.compat.v1.feature_column against TensorFlow 2.21: reprs, names, parse
specs, argument errors, and input_layer / linear_model numbers with the same weights."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tapeflow as tf
import tapeflow.compat.v1 as v1


@pytest.fixture(scope="module")
def ttf():
    return pytest.importorskip("tensorflow")


def _init(shape, dtype=None, partition_info=None):
    """The same embedding table in both frameworks."""
    n = int(np.prod(shape))
    return (np.sin(np.arange(n, dtype=np.float64) * 1.7).reshape(shape)).astype(np.float32)


def _columns(mod):
    """Columns without initializers or lambdas, so their reprs can match TF's exactly."""
    fc = mod.feature_column
    vocab = fc.categorical_column_with_vocabulary_list("size", ["S", "M", "L"], num_oov_buckets=2)
    ident = fc.categorical_column_with_identity("type", 4, default_value=0)
    hashed = fc.categorical_column_with_hash_bucket("city", 7)
    ints = fc.categorical_column_with_vocabulary_list("code", [10, 20, 30])
    price = fc.numeric_column("price", shape=(2,), default_value=[1.0, 2.5])
    age = fc.bucketized_column(fc.numeric_column("age"), [18, 30.5, 65])
    return [
        vocab, ident, hashed, ints, price, age,
        fc.numeric_column("n", shape=(2, 3), default_value=1, dtype=mod.int64),
        fc.crossed_column(["city", vocab, age], 50, hash_key=7),
        fc.crossed_column([fc.crossed_column(["b", "a"], 9), "c"], 11),
        fc.indicator_column(vocab),
        fc.weighted_categorical_column(ident, "w"),
        fc.categorical_column_with_hash_bucket("num", 5, dtype=mod.int32),
        fc.sequence_numeric_column("seq", shape=2),
        fc.sequence_categorical_column_with_identity("si", 3),
        fc.sequence_categorical_column_with_vocabulary_list("sv", ["x", "y"]),
        fc.sequence_categorical_column_with_hash_bucket("sh", 4),
    ]


@pytest.mark.oracle
def test_reprs_names_and_buckets(ttf):
    for ours, theirs in zip(_columns(tf), _columns(ttf), strict=True):
        assert repr(ours) == repr(theirs)
        assert ours.name == theirs.name
        for attr in ("num_buckets", "variable_shape"):
            if hasattr(theirs, attr):
                assert str(getattr(ours, attr)) == str(getattr(theirs, attr)), attr
    ours = tf.feature_column.embedding_column(_columns(tf)[0], 3)
    theirs = ttf.feature_column.embedding_column(_columns(ttf)[0], 3)
    assert ours.name == theirs.name and ours.combiner == theirs.combiner
    assert ours._fields == theirs._fields and ours.variable_shape == tuple(theirs.variable_shape)
    assert ours.initializer.stddev == pytest.approx(theirs.initializer.stddev)


@pytest.mark.oracle
def test_parse_example_spec(ttf):
    def spec(mod):
        cols = _columns(mod)
        return mod.feature_column.make_parse_example_spec(cols[:12] + cols[13:])

    ours, theirs = spec(tf), spec(ttf)
    assert {k: repr(v) for k, v in ours.items()} == {k: repr(v) for k, v in theirs.items()}
    with pytest.raises(ValueError, match="different parse_spec for key a"):
        tf.feature_column.make_parse_example_spec([tf.feature_column.numeric_column("a"),
                                                   tf.feature_column.numeric_column("a", shape=2)])


ERRORS = [
    lambda m, fc: fc.numeric_column("a", shape=(0,)),
    lambda m, fc: fc.numeric_column("a", shape=(1.5,)),
    lambda m, fc: fc.numeric_column("a", dtype=m.string),
    lambda m, fc: fc.numeric_column("a", shape=2, default_value=[1.0]),
    lambda m, fc: fc.numeric_column("a", default_value="x"),
    lambda m, fc: fc.numeric_column("a", dtype=m.int32, default_value=1.5),
    lambda m, fc: fc.numeric_column("a", normalizer_fn=3),
    lambda m, fc: fc.numeric_column(3),
    lambda m, fc: fc.bucketized_column("a", [1]),
    lambda m, fc: fc.bucketized_column(fc.numeric_column("a", shape=(2, 2)), [1]),
    lambda m, fc: fc.bucketized_column(fc.numeric_column("a"), [2, 1]),
    lambda m, fc: fc.bucketized_column(fc.numeric_column("a"), []),
    lambda m, fc: fc.categorical_column_with_hash_bucket("a", 0),
    lambda m, fc: fc.categorical_column_with_hash_bucket("a", 3, dtype=m.float32),
    lambda m, fc: fc.categorical_column_with_vocabulary_list("a", []),
    lambda m, fc: fc.categorical_column_with_vocabulary_list("a", ["x", "x"]),
    lambda m, fc: fc.categorical_column_with_vocabulary_list("a", ["x"], default_value=2, num_oov_buckets=1),
    lambda m, fc: fc.categorical_column_with_vocabulary_list("a", ["x"], num_oov_buckets=-1),
    lambda m, fc: fc.categorical_column_with_vocabulary_list("a", ["x"], dtype=m.int64),
    lambda m, fc: fc.categorical_column_with_vocabulary_list("a", [1.5, 2.5]),
    lambda m, fc: fc.categorical_column_with_vocabulary_file("a", ""),
    lambda m, fc: fc.categorical_column_with_vocabulary_file("a", "/nonexistent/vocab.txt"),
    lambda m, fc: fc.categorical_column_with_identity("a", 0),
    lambda m, fc: fc.categorical_column_with_identity("a", 3, default_value=3),
    lambda m, fc: fc.indicator_column(fc.numeric_column("a")),
    lambda m, fc: fc.embedding_column(fc.categorical_column_with_identity("a", 3), 0),
    lambda m, fc: fc.embedding_column(fc.categorical_column_with_identity("a", 3), 2, initializer=1),
    lambda m, fc: fc.embedding_column(fc.categorical_column_with_identity("a", 3), 2, ckpt_to_load_from="x"),
    lambda m, fc: fc.weighted_categorical_column(fc.categorical_column_with_identity("a", 3), "w", m.string),
    lambda m, fc: fc.crossed_column(["a"], 3),
    lambda m, fc: fc.crossed_column(["a", "b"], 0),
    lambda m, fc: fc.crossed_column(["a", 3], 5),
    lambda m, fc: fc.crossed_column(["a", fc.categorical_column_with_hash_bucket("b", 3)], 5),
    lambda m, fc: fc.sequence_numeric_column("a", dtype=m.string),
    lambda m, fc: fc.shared_embeddings([fc.categorical_column_with_identity("a", 3)], 2),
    lambda m, fc: fc.make_parse_example_spec(["a"]),
    lambda m, fc: m.compat.v1.feature_column.make_parse_example_spec(["a"]),
    lambda m, fc: m.compat.v1.feature_column.shared_embedding_columns(
        [fc.categorical_column_with_identity("a", 3)], 2),
]


@pytest.mark.oracle
@pytest.mark.parametrize("make", ERRORS, ids=range(len(ERRORS)))
def test_argument_errors(ttf, make):
    def outcome(mod):
        try:
            make(mod, mod.feature_column)
        except Exception as e:  # noqa: BLE001
            return type(e).__name__, str(e)
        return None

    theirs = outcome(ttf)
    assert theirs is not None and outcome(tf) == theirs


FEATURES = {
    "price": np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]], np.float32),
    "age": np.array([17.0, 30.5, 70.0], np.float32),
    "size": np.array([["S", "M"], ["XL", ""], ["L", "foo"]], object),
    "type": np.array([1, 3, 7], np.int64),
    "city": np.array([["paris"], ["rome"], ["oslo"]], object),
    "code": np.array([[10, 20], [40, -1], [30, 30]], np.int64),
    "ids": np.array([[5, 11, 5], [17, 17, -1], [0, 2, 19]], np.int64),
    "w": np.array([[0.5, 1.5, 0.7], [1.8, 0.2, 0.0], [1.0, 2.0, 3.0]], np.float32),
    "num": np.array([[3], [12], [-7]], np.int32),
}


def _dense_columns(mod, combiner="mean", max_norm=None):
    fc = mod.feature_column
    size = fc.categorical_column_with_vocabulary_list("size", ["S", "M", "L"], num_oov_buckets=2)
    age = fc.bucketized_column(fc.numeric_column("age"), [18, 30.5, 65])
    ids = fc.categorical_column_with_identity("ids", 20)
    return [
        fc.numeric_column("price", shape=2, normalizer_fn=lambda x: (x - 1.0) * 2.0),
        age,
        fc.indicator_column(size),
        fc.indicator_column(fc.categorical_column_with_identity("type", 4, default_value=0)),
        fc.indicator_column(fc.categorical_column_with_hash_bucket("city", 6)),
        fc.indicator_column(fc.categorical_column_with_vocabulary_list("code", [10, 20, 30],
                                                                       num_oov_buckets=3)),
        fc.indicator_column(fc.categorical_column_with_hash_bucket("num", 5, dtype=mod.int32)),
        fc.indicator_column(fc.crossed_column(["city", size, age], 40)),
        fc.indicator_column(fc.weighted_categorical_column(ids, "w")),
        fc.embedding_column(size, 3, combiner=combiner, initializer=_init, max_norm=max_norm),
        fc.embedding_column(fc.weighted_categorical_column(
            fc.categorical_column_with_identity("ids", 20), "w"), 4, combiner=combiner, initializer=_init),
        fc.embedding_column(age, 2, combiner=combiner, initializer=_init, use_safe_embedding_lookup=False),
    ]


@pytest.mark.oracle
@pytest.mark.parametrize("combiner,max_norm", [("mean", None), ("sum", 0.9), ("sqrtn", None)])
def test_input_layer_matches_tensorflow(ttf, combiner, max_norm):
    ours_cols = {}
    ours_out = {}
    ours = v1.feature_column.input_layer(FEATURES, _dense_columns(tf, combiner, max_norm),
                                         cols_to_vars=ours_cols, cols_to_output_tensors=ours_out)
    theirs = ttf.compat.v1.feature_column.input_layer(
        {k: ttf.constant(v) for k, v in FEATURES.items()},
        _dense_columns(ttf, combiner, max_norm))
    assert ours.dtype == tf.float32 and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)
    names = sorted(re.sub(r"_\d+/", "/", v.name) for vs in ours_cols.values() for v in vs)
    assert names == ["input_layer/age_bucketized_embedding/embedding_weights:0",
                     "input_layer/ids_weighted_by_w_embedding/embedding_weights:0",
                     "input_layer/size_embedding/embedding_weights:0"]
    assert sum(int(t.shape[1]) for t in ours_out.values()) == ours.shape[1]


def test_input_layer_column_checks():
    fc = tf.feature_column
    with pytest.raises(ValueError, match="must be a _DenseColumn"):
        v1.feature_column.input_layer(FEATURES, [fc.categorical_column_with_identity("type", 4)])
    with pytest.raises(ValueError, match="Duplicate feature column name"):
        v1.feature_column.input_layer(FEATURES, [fc.numeric_column("age"), fc.numeric_column("age", shape=1)])
    with pytest.raises(ValueError, match="feature_columns must not be empty"):
        v1.feature_column.input_layer(FEATURES, [])
    with pytest.raises(ValueError, match="Feature nope is not in features dictionary"):
        v1.feature_column.input_layer(FEATURES, [fc.numeric_column("nope")])
    seq = fc.indicator_column(fc.sequence_categorical_column_with_identity("type", 4))
    with pytest.raises(ValueError, match="must not be of type SequenceCategoricalColumn"):
        v1.feature_column.input_layer(FEATURES, [seq])


def _linear_columns(mod):
    fc = mod.feature_column
    size = fc.categorical_column_with_vocabulary_list("size", ["S", "M", "L"], num_oov_buckets=2)
    return [fc.numeric_column("price", shape=2), fc.bucketized_column(fc.numeric_column("age"), [18, 65]),
            size, fc.weighted_categorical_column(fc.categorical_column_with_identity("ids", 20), "w"),
            fc.crossed_column(["city", size], 10), fc.embedding_column(size, 2, initializer=_init)]


@pytest.mark.oracle
@pytest.mark.parametrize("combiner", ["sum", "mean", "sqrtn"])
def test_linear_model_matches_tensorflow(ttf, combiner):
    # The weights start at zero, so compare the outputs and the gradients (which do not depend on them).
    with tf.GradientTape() as tape:
        cols = {}
        ours = v1.feature_column.linear_model(FEATURES, _linear_columns(tf), units=2,
                                              sparse_combiner=combiner, cols_to_vars=cols)
        loss = tf.reduce_sum(ours * np.array([1.0, -2.0], np.float32))
    ours_vars = sorted(tape.watched_variables(), key=lambda v: v.name)
    ours_grads = tape.gradient(loss, ours_vars)
    with ttf.GradientTape() as ttape:
        theirs = ttf.compat.v1.feature_column.linear_model(
            {k: ttf.constant(v) for k, v in FEATURES.items()}, _linear_columns(ttf), units=2,
            sparse_combiner=combiner)
        tloss = ttf.reduce_sum(theirs * np.array([1.0, -2.0], np.float32))
    their_vars = sorted(ttape.watched_variables(), key=lambda v: v.name)
    their_grads = ttape.gradient(tloss, their_vars)
    def names(variables):  # without the _N suffixes of later calls
        return [re.sub(r"_\d+/", "/", v.name) for v in variables]

    assert names(ours_vars) == names(their_vars)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    for a, b in zip(ours_grads, their_grads, strict=True):
        b = ttf.convert_to_tensor(b).numpy()
        np.testing.assert_allclose(tf.convert_to_tensor(a).numpy(), b, rtol=1e-5, atol=1e-6)
    assert names(cols["bias"]) == ["linear_model/bias_weights:0"]


@pytest.mark.oracle
def test_parse_example_feeds_input_layer(ttf):
    def run(mod, fc_v1):
        fc = mod.feature_column
        cols = [fc.numeric_column("price", shape=2, default_value=[9.0, 8.0]),
                fc.indicator_column(fc.categorical_column_with_vocabulary_list("size", ["S", "M"])),
                fc.indicator_column(fc.categorical_column_with_identity("type", 4))]
        records = []
        for price, size, typ in [([1.0, 2.0], [b"S", b"M", b"S"], [3]), (None, [b"X"], [0, 1])]:
            feats = {"size": mod.train.Feature(bytes_list=mod.train.BytesList(value=size)),
                     "type": mod.train.Feature(int64_list=mod.train.Int64List(value=typ))}
            if price is not None:
                feats["price"] = mod.train.Feature(float_list=mod.train.FloatList(value=price))
            records.append(mod.train.Example(features=mod.train.Features(feature=feats)).SerializeToString())
        parsed = mod.io.parse_example(records, fc.make_parse_example_spec(cols))
        return fc_v1.input_layer(parsed, cols).numpy()

    np.testing.assert_array_equal(run(tf, v1.feature_column), run(ttf, ttf.compat.v1.feature_column))


@pytest.mark.oracle
def test_vocabulary_file_columns(ttf, tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("red\ngreen\nblue\nextra\n")

    def run(mod, fc_v1):
        fc = mod.feature_column
        cols = [fc.indicator_column(fc.categorical_column_with_vocabulary_file("a", str(path), 3,
                                                                              num_oov_buckets=2)),
                fc.indicator_column(fc_v1.categorical_column_with_vocabulary_file("b", str(path), None, 0, 1))]
        feats = {"a": mod.constant([["blue", "extra"], ["red", ""]]), "b": mod.constant([["nope"], ["green"]])}
        return [repr(c) for c in cols], fc_v1.input_layer(feats, cols).numpy()

    (r1, a1), (r2, a2) = run(tf, v1.feature_column), run(ttf, ttf.compat.v1.feature_column)
    assert r1 == r2
    np.testing.assert_array_equal(a1, a2)


@pytest.mark.oracle
def test_sequence_columns(ttf):
    from tensorflow.python.feature_column import feature_column_v2 as tfc

    from tapeflow.feature_column.base import FeatureTransformationCache

    def run(mod, cache_cls):
        fc = mod.feature_column
        sp = mod.SparseTensor([[0, 0], [0, 1], [0, 2], [0, 3], [1, 0], [1, 1]],
                              np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], np.float32), [3, 4])
        ids = mod.SparseTensor([[0, 0], [0, 1], [1, 0]], np.array([2, 0, 1], np.int64), [3, 2])
        feats = {"s": sp, "i": ids}
        cache = cache_cls(feats)
        num = fc.sequence_numeric_column("s", shape=2, default_value=-1.0).get_sequence_dense_tensor(cache, None)
        ind = fc.indicator_column(fc.sequence_categorical_column_with_identity("i", 3))
        pair = ind.get_sequence_dense_tensor(cache, None)
        return [np.asarray(t) for t in (num.dense_tensor, num.sequence_length, pair.dense_tensor,
                                        pair.sequence_length)]

    for a, b in zip(run(tf, FeatureTransformationCache), run(ttf, tfc.FeatureTransformationCache),
                    strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


@pytest.mark.oracle
def test_namespaces_match_tensorflow(ttf):
    for ours, theirs in [(tf.feature_column, ttf.feature_column),
                         (v1.feature_column, ttf.compat.v1.feature_column)]:
        want = {n for n in dir(theirs) if not n.startswith("_")}
        assert want <= set(dir(ours))
    from tapeflow import feature_column  # noqa: F401


@pytest.mark.oracle
def test_embedding_gradients_match_tensorflow(ttf):
    def run(mod, fc_v1):
        cols = _dense_columns(mod, "sqrtn", 1.1)
        feats = {k: mod.constant(v) for k, v in FEATURES.items()}
        with mod.GradientTape() as tape:
            out = fc_v1.input_layer(feats, cols)
            loss = mod.reduce_sum(out * np.linspace(-1, 1, int(out.shape[1]), dtype=np.float32))
        variables = sorted(tape.watched_variables(), key=lambda v: re.sub(r"_\d+/", "/", v.name))
        return [mod.convert_to_tensor(g).numpy() for g in tape.gradient(loss, variables)]

    ours, theirs = run(tf, v1.feature_column), run(ttf, ttf.compat.v1.feature_column)
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_hash_and_cross_ids_are_tensorflows():
    """TF 2.21's ids (FarmHash Fingerprint64; FingerprintCat64 crossing), recorded from TF."""
    fc = tf.feature_column
    feats = {"city": tf.constant([["paris"], ["rome"], ["oslo"]]), "n": tf.constant([[3], [12], [-7]]),
             "a": tf.constant([["x"], ["y"], ["z"]])}
    cols = [fc.categorical_column_with_hash_bucket("city", 6),
            fc.categorical_column_with_hash_bucket("n", 5, dtype=tf.int32), fc.crossed_column(["city", "a"], 7)]
    got = [np.argmax(v1.feature_column.input_layer(feats, [fc.indicator_column(c)]).numpy(), 1) for c in cols]
    assert [g.tolist() for g in got] == [[3, 4, 4], [1, 3, 2], [3, 3, 2]]


def test_embedding_trains_and_eager_only():
    fc = tf.feature_column
    col = fc.embedding_column(fc.categorical_column_with_identity("i", 4), 2, combiner="sum",
                              initializer=tf.keras.initializers.Ones())
    feats = {"i": tf.constant([[0, 1], [3, -1]], tf.int64)}
    made = {}
    with tf.GradientTape() as tape:
        out = v1.feature_column.input_layer(feats, [col], cols_to_vars=made)
    np.testing.assert_array_equal(out.numpy(), [[2, 2], [1, 1]])
    (table,) = made[col]
    assert table.shape == (4, 2) and table.trainable
    np.testing.assert_array_equal(tape.gradient(out, table).numpy(), [[1, 1], [1, 1], [0, 0], [1, 1]])

    @tf.function
    def traced(x):
        return v1.feature_column.input_layer({"i": x}, [col])

    with pytest.raises(tf.errors.UnimplementedError, match="feature columns run eagerly"):
        traced(tf.constant([[0]], tf.int64))
    with pytest.raises(tf.errors.UnimplementedError, match="given symbolic features"):
        v1.feature_column.input_layer({"i": v1.placeholder(tf.int64, [None, 2])}, [col])
