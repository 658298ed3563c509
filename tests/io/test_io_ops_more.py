"""tf.io: decode_csv, base64, decode_compressed, SparseTensor serialization, matching_files,
decode_webp, and the names that raise UnimplementedError; oracle checks against TensorFlow."""

from __future__ import annotations

import gzip
import io
import zlib

import numpy as np
import pytest

import tapeflow as tf

CSV_CASES = [
    (["1,2.5,a", '3,,"b,c"', '4,1e3,""'], [[0], [1.0], ["x"]], {}),
    ("1;2", [np.zeros(0, np.int64), [0.0]], {"field_delim": ";"}),
    (["NA,2"], [[7], [0]], {"na_value": "NA"}),
    (["1,2,3"], [[0], [0]], {"select_cols": [0, 2]}),
    (['"a""b",c'], [[""], [""]], {}),
    (['"a",c'], [[""], [""]], {"use_quote_delim": False}),
    ([["1,2"], ["3,4"]], [[0], [0]], {}),
    (["1,2"], [np.zeros(1, np.float64), np.zeros(1, np.int64)], {}),
]
CSV_ERRORS = [
    (["1,"], [np.zeros(0, np.int32), np.zeros(0, np.float32)], "Field 1 is required but missing in record 0"),
    (["1,2,3"], [[0], [0]], "Expect 2 fields but have 3 in record 0"),
    (["x,2"], [[0], [0]], "Field 0 in record 0 is not a valid int32: x"),
]


@pytest.mark.oracle
def test_decode_csv_matches_tensorflow():
    real = pytest.importorskip("tensorflow")
    for records, defaults, kwargs in CSV_CASES:
        ours = tf.io.decode_csv(records, defaults, **kwargs)
        theirs = real.io.decode_csv(records, defaults, **kwargs)
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            assert o.dtype.name == t.dtype.name and tuple(o.shape) == tuple(t.shape)
            assert o.numpy().tolist() == t.numpy().tolist()
    for records, defaults, message in CSV_ERRORS:
        with pytest.raises(real.errors.InvalidArgumentError, match=message):
            real.io.decode_csv(records, defaults)
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            tf.io.decode_csv(records, defaults)


def test_decode_csv_in_dataset_map(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2.5\n3,4\n")
    ds = tf.data.TextLineDataset(str(path)).skip(1).map(lambda line: tf.io.decode_csv(line, [[0], [0.0]]))
    assert ds.element_spec == (tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32))
    assert [(int(a), float(b)) for a, b in ds] == [(1, 2.5), (3, 4.0)]


@pytest.mark.oracle
def test_base64_and_compressed_match_tensorflow():
    real = pytest.importorskip("tensorflow")
    data = [b"hello?>", b"\xff\xfe", b""]
    for pad in (False, True):
        ours, theirs = tf.io.encode_base64(data, pad=pad), real.io.encode_base64(data, pad=pad)
        assert ours.numpy().tolist() == theirs.numpy().tolist()
    encoded = [b"aGVsbG8_Pg", b"aGVsbG8_Pg==", b"__4"]
    assert tf.io.decode_base64(encoded).numpy().tolist() == real.io.decode_base64(encoded).numpy().tolist()
    for bad, message in [(b"a", "cannot be 1 modulo 4"), (b"a+b/", "Invalid character")]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            tf.io.decode_base64(bad)
    packed = [zlib.compress(b"abc"), zlib.compress(b"")]
    assert tf.io.decode_compressed(packed, "ZLIB").numpy().tolist() == [b"abc", b""]
    assert tf.io.decode_compressed(gzip.compress(b"xyz"), "GZIP").numpy() == b"xyz"
    assert tf.io.decode_compressed(b"raw").numpy() == b"raw"
    with pytest.raises(tf.errors.DataLossError, match="ZLIB"):
        tf.io.decode_compressed(b"abc", "ZLIB")


@pytest.mark.oracle
def test_sparse_serialization_matches_tensorflow():
    real = pytest.importorskip("tensorflow")
    ours = tf.sparse.SparseTensor([[0, 1], [2, 0]], [1.0, 2.0], [3, 4])
    theirs = real.sparse.SparseTensor([[0, 1], [2, 0]], [1.0, 2.0], [3, 4])
    assert tf.io.serialize_sparse(ours).numpy().tolist() == real.io.serialize_sparse(theirs).numpy().tolist()
    many = tf.io.serialize_many_sparse(ours)
    assert many.numpy().tolist() == real.io.serialize_many_sparse(theirs).numpy().tolist()
    back = tf.io.deserialize_many_sparse(real.io.serialize_many_sparse(theirs).numpy(), tf.float32)
    assert back.indices.numpy().tolist() == [[0, 1], [2, 0]] and back.dense_shape.numpy().tolist() == [3, 4]
    theirs_back = real.io.deserialize_many_sparse(many.numpy(), real.float32)
    assert theirs_back.values.numpy().tolist() == [1.0, 2.0]
    with pytest.raises(tf.errors.InvalidArgumentError, match="Requested SparseTensor of type int32"):
        tf.io.deserialize_many_sparse(many, tf.int32)
    with pytest.raises(tf.errors.UnimplementedError, match="variant"):
        tf.io.serialize_sparse(ours, out_type=tf.variant if hasattr(tf, "variant") else "variant")


def test_matching_files(tmp_path):
    for name in ("b.txt", "a.txt", "c.csv"):
        (tmp_path / name).write_text("x")
    found = tf.io.matching_files(str(tmp_path / "*.txt"))
    assert found.numpy().tolist() == [str(tmp_path / "a.txt").encode(), str(tmp_path / "b.txt").encode()]
    assert tf.io.matching_files(str(tmp_path / "none*")).shape == (0,)
    variable = tf.io.match_filenames_once(str(tmp_path / "*.csv"))
    assert isinstance(variable, tf.Variable) and variable.numpy().tolist() == [str(tmp_path / "c.csv").encode()]


@pytest.mark.oracle
def test_decode_webp_matches_tensorflow():
    real = pytest.importorskip("tensorflow")
    image_mod = pytest.importorskip("PIL.Image")
    buf = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    image_mod.fromarray(pixels).save(buf, "WEBP", lossless=True)
    ours, theirs = tf.io.decode_webp(buf.getvalue()), real.io.decode_webp(buf.getvalue())
    assert tuple(ours.shape) == tuple(theirs.shape) == (1, 5, 7, 3)
    assert np.array_equal(ours.numpy(), theirs.numpy()) and np.array_equal(ours.numpy()[0], pixels)
    with pytest.raises(tf.errors.InvalidArgumentError, match="channels=4"):
        tf.io.decode_webp(buf.getvalue(), channels=4)


def test_unavailable_names_raise_unimplemented():
    for call in (lambda: tf.io.decode_proto(b"", "M", ["f"], [tf.int32]),
                 lambda: tf.io.encode_proto([[1]], [[1]], ["f"], "M"),
                 lambda: tf.io.write_graph(None, "/tmp", "g.pbtxt"),
                 lambda: tf.io.decode_jxl(b"")):
        with pytest.raises(tf.errors.UnimplementedError):
            call()
