"""`tf.io` tensor parts: TensorProto bytes against TensorFlow, decode_raw, read/write_file and
`tf.io.gfile`."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tapeflow as tf

VALUES = [
    (1.0, "float32"), ([1, 2], "int32"), ([[1.5]], "float64"), (["a", "bc"], "string"),
    (b"x", "string"), ([True, False], "bool"), ([], "float32"), (np.zeros((0, 3)), "float32"),
    ([1 + 2j], "complex64"), ([1, 255], "uint8"), ([1.0, -2.5], "float16"), (7, "int64"),
    ([[b""]], "string"), ([-3, 2**40], "int64"), ([[1, -2], [3, 4]], "int8"), ([7], "uint64"),
]


@pytest.mark.oracle
@pytest.mark.parametrize("case", range(len(VALUES)))
def test_serialize_tensor_bytes_match_tf(case):
    real = pytest.importorskip("tensorflow")
    value, dtype = VALUES[case]
    ours = tf.io.serialize_tensor(tf.constant(value, dtype=dtype))
    theirs = real.io.serialize_tensor(real.constant(value, dtype=dtype))
    assert ours.dtype == tf.string and ours.shape == ()
    assert ours.numpy() == theirs.numpy()
    back = tf.io.parse_tensor(theirs.numpy(), dtype)
    expected = real.io.parse_tensor(ours.numpy(), dtype)
    assert back.dtype.name == expected.dtype.name and tuple(back.shape) == tuple(expected.shape)
    assert np.asarray(back.numpy()).tolist() == np.asarray(expected.numpy()).tolist()


@pytest.mark.oracle
def test_parse_tensor_reads_typed_value_fields():
    real = pytest.importorskip("tensorflow")
    protos = [real.make_tensor_proto([1.0, 2.0, 3.0]), real.make_tensor_proto(5.0, shape=[3]),
              real.make_tensor_proto(np.array([-1, 7], np.int32)),
              real.make_tensor_proto(np.array([[True], [False]])),
              real.make_tensor_proto(["a", "b"], shape=[2, 2])]
    for proto in protos:
        data = proto.SerializeToString()
        dtype = real.dtypes.as_dtype(proto.dtype).name
        ours, theirs = tf.io.parse_tensor(data, dtype), real.io.parse_tensor(data, dtype)
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert ours.numpy().tolist() == theirs.numpy().tolist()


@pytest.mark.parametrize("data, match", [
    (b"\xff\xff", "Could not parse"),
    (b"\x08\x01\x12\x04\x12\x02\x08\x03\"\x04\x00\x00\x80?", "tensor_content holds 4 bytes"),
    # shape [2**30] from one repeated value: refused rather than expanded to 4 GiB
    (b"\x08\x01\x12\x08\x12\x06\x08\x80\x80\x80\x80\x04*\x04\x00\x00\xa0@", "larger than"),
    (b"\x08\x63\x12\x00", "dtype enum 99"),
    (b"\x08\x01\x12\x00\"\x10" + b"\x00" * 4, "past the end"),
])
def test_parse_tensor_refuses_malformed_bytes(data, match):
    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        tf.io.parse_tensor(data, tf.float32)


def test_parse_tensor_errors():
    data = tf.io.serialize_tensor(tf.constant([1.0, 2.0]))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"Type mismatch between parsed tensor \(float\) and dtype \(int32\)"):
        tf.io.parse_tensor(data, tf.int32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="to be a scalar"):
        tf.io.parse_tensor([data, data], tf.float32)


DECODE_RAW = [
    ("int16", lambda m: m.io.decode_raw(m.constant([b"\x01\x00\x02\x00", b"\x03\x00\x04\x00"]), m.int16)),
    ("big_endian", lambda m: m.io.decode_raw(m.constant([b"\x01\x00\x02\x00"]), m.int16, little_endian=False)),
    ("fixed_length", lambda m: m.io.decode_raw(m.constant([b"\x01\x00", b"\x01\x00\x02\x00\x03\x00"]), m.int16,
                                               fixed_length=4)),
    ("scalar_uint8", lambda m: m.io.decode_raw(b"abcd", m.uint8)),
    ("float32", lambda m: m.io.decode_raw(np.array([1.5, -2.5], np.float32).tobytes(), m.float32)),
    ("bool", lambda m: m.io.decode_raw(b"\x00\x01\x02", m.bool)),
    ("float64_2d", lambda m: m.io.decode_raw(m.constant([[np.float64(3.25).tobytes()]]), m.float64)),
]


@pytest.mark.oracle
@pytest.mark.parametrize("fn", [f for _, f in DECODE_RAW], ids=[n for n, _ in DECODE_RAW])
def test_decode_raw_matches_tf(fn):
    real = pytest.importorskip("tensorflow")
    ours, theirs = fn(tf), fn(real)
    assert ours.dtype.name == theirs.dtype.name and tuple(ours.shape) == tuple(theirs.shape)
    assert ours.numpy().tolist() == theirs.numpy().tolist()


def test_decode_raw_errors():
    with pytest.raises(tf.errors.InvalidArgumentError, match="not a multiple of 2, the size of int16"):
        tf.io.decode_raw([b"\x01\x00\x02"], tf.int16)
    with pytest.raises(tf.errors.InvalidArgumentError, match="element 1 has size 2 != 4"):
        tf.io.decode_raw([b"\x01\x00", b"\x01\x00\x02\x00"], tf.int16)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"fixed_length \(3\) must be a multiple"):
        tf.io.decode_raw([b"\x01"], tf.int16, fixed_length=3)
    with pytest.raises(TypeError, match="out_type"):
        tf.io.decode_raw([b"ab"], tf.string)


def test_read_and_write_file(tmp_path):
    path = str(tmp_path / "a" / "b" / "c.bin")
    tf.io.write_file(path, b"\x00hello\xff")
    assert tf.io.read_file(path).numpy() == b"\x00hello\xff"
    assert os.listdir(tmp_path / "a" / "b") == ["c.bin"]  # no temporary file left behind
    with pytest.raises(tf.errors.NotFoundError, match="No such file"):
        tf.io.read_file(str(tmp_path / "missing"))
    with pytest.raises(tf.errors.FailedPreconditionError, match="Is a directory"):  # as TF
        tf.io.read_file(str(tmp_path))


def test_read_and_write_file_run_on_every_call_of_a_tf_function(tmp_path):
    path = str(tmp_path / "count.txt")

    @tf.function
    def bump():
        text = tf.io.read_file(path)
        nxt = tf.strings.as_string(tf.strings.to_number(text, tf.int32) + 1)
        tf.io.write_file(path, nxt)
        return nxt

    tf.io.write_file(path, "0")
    assert [bump().numpy() for _ in range(3)] == [b"1", b"2", b"3"]
    assert tf.io.read_file(path).numpy() == b"3"


def _gfile_session(m, d: str) -> list:
    """A sequence of gfile calls on module `m` in folder `d`, and what each returned."""
    g = m.io.gfile
    g.makedirs(g.join(d, "a", "b"))
    with g.GFile(g.join(d, "a", "b", "f.txt"), "w") as f:
        f.write("line1\nline2\n")
    with g.GFile(g.join(d, "a", "b", "f.txt"), "a") as f:
        f.write(b"x")
    out = [g.exists(d), g.exists(g.join(d, "zz")), g.isdir(g.join(d, "a")), sorted(g.listdir(d))]
    with g.GFile(g.join(d, "a", "b", "f.txt")) as f:
        out += [f.read(), f.size()]
    with g.GFile(g.join(d, "a", "b", "f.txt"), "rb") as f:
        out += [f.readline(), f.readlines()]
    with g.GFile(g.join(d, "a", "b", "f.txt"), "rb") as f:
        f.seek(3)
        out += [f.tell(), f.read(4)]
    out += [[os.path.relpath(p, d) for p in g.glob(g.join(d, "a", "*", "*.txt"))]]
    g.copy(g.join(d, "a", "b", "f.txt"), g.join(d, "copy.txt"))
    g.rename(g.join(d, "copy.txt"), g.join(d, "moved.txt"))
    out += [[(os.path.relpath(p, d), sorted(s), sorted(f)) for p, s, f in g.walk(d)]]
    out += [g.stat(g.join(d, "moved.txt")).length, g.stat(d).is_directory]
    bad_calls = [
        (g.listdir, g.join(d, "zz")), (g.remove, g.join(d, "zz")),
        (lambda p: g.GFile(p).read(), g.join(d, "zz")),
        (lambda p: g.rename(p, g.join(d, "a", "b", "f.txt")), g.join(d, "moved.txt")),
        (lambda p: g.copy(p, g.join(d, "a", "b", "f.txt")), g.join(d, "moved.txt")),
    ]
    for fn, arg in bad_calls:
        try:
            fn(arg)
            out.append(None)
        except Exception as e:  # noqa: BLE001 - the error class name is compared
            out.append("AlreadyExistsError" if isinstance(e, FileExistsError) else type(e).__name__)
    g.remove(g.join(d, "moved.txt"))
    g.rmtree(g.join(d, "a"))
    out.append(g.listdir(d))
    return out


@pytest.mark.oracle
def test_gfile_matches_tf(tmp_path):
    real = pytest.importorskip("tensorflow")
    assert _gfile_session(tf, str(tmp_path / "ours")) == _gfile_session(real, str(tmp_path / "theirs"))


def test_gfile_write_is_atomic(tmp_path):
    path = str(tmp_path / "model.txt")
    with tf.io.gfile.GFile(path, "w") as f:
        f.write("old")
    with pytest.raises(RuntimeError), tf.io.gfile.GFile(path, "w") as f:
        f.write("new, half written")
        raise RuntimeError("interrupted")
    assert open(path).read() == "old"
    assert sorted(os.listdir(tmp_path)) == ["model.txt"]
    with pytest.raises(tf.errors.UnimplementedError, match="gs"):
        tf.io.gfile.exists("gs://bucket/x")


def test_parse_tensor_and_decode_raw_trace_with_a_signature():
    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def doubled(s):
        return tf.io.parse_tensor(s, tf.float32) * 2

    assert doubled(tf.io.serialize_tensor(tf.constant([1.0, 2.0]))).numpy().tolist() == [2.0, 4.0]
    assert doubled(tf.io.serialize_tensor(tf.constant([[3.0]]))).numpy().tolist() == [[6.0]]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def plus_one(s):
        return tf.io.decode_raw(s, tf.int16) + 1

    out = plus_one(tf.constant([b"\x01\x00\x02\x00", b"\x03\x00\x04\x00"]))
    assert out.numpy().tolist() == [[2, 3], [4, 5]]
    assert plus_one.get_concrete_function().structured_outputs.shape.as_list() == [None, None]
