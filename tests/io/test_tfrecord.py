"""TFRecord files: CRC-32C, framing, compression, damaged files, and round trips with TensorFlow."""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.io import crc32c

RECORDS = [b"hello", b"", b"x" * 100, bytes(range(256)) * 40]


def _write(path, records, options=None):
    with tf.io.TFRecordWriter(str(path), options) as w:
        for r in records:
            w.write(r)


def test_crc32c_known_values_and_long_inputs():
    assert crc32c.crc32c(b"123456789") == 0xE3069283
    assert crc32c.crc32c(b"") == 0
    rng = np.random.default_rng(0)
    for n in (4096, 4097, 9000, 70001):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc32c.crc32c(data) == crc32c._raw_loop(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


def test_record_framing():
    framed = tf.io.TFRecordOptions  # noqa: F841 - the public names exist
    from tapeflow.io.records import encode_record

    out = encode_record(b"hello")
    assert out[:8] == struct.pack("<Q", 5) and out[12:17] == b"hello" and len(out) == 21
    assert struct.unpack("<I", out[8:12])[0] == crc32c.masked_crc32c(out[:8])


@pytest.mark.parametrize("compression", [None, "", "GZIP", "ZLIB"])
def test_round_trip_every_compression(tmp_path, compression):
    path = tmp_path / "r.tfrecord"
    _write(path, RECORDS, compression)
    got = [r.numpy() for r in tf.data.TFRecordDataset(str(path), compression_type=compression, buffer_size=7)]
    assert got == RECORDS
    assert list(tf.compat.v1.io.tf_record_iterator(str(path), tf.io.TFRecordOptions(compression))) == RECORDS
    if compression == "GZIP":
        assert gzip.decompress(path.read_bytes())[12:17] == b"hello"


def test_writer_options_and_state(tmp_path):
    opts = tf.io.TFRecordOptions(compression_type="ZLIB", compression_level=9)
    assert tf.io.TFRecordOptions.get_compression_type_string(opts) == "ZLIB"
    assert tf.io.TFRecordOptions.get_compression_type_string(None) == ""
    assert tf.io.TFRecordOptions(tf.compat.v1.io.TFRecordCompressionType.GZIP).compression_type == "GZIP"
    w = tf.io.TFRecordWriter(str(tmp_path / "a"), opts)
    w.write("text is UTF-8")
    w.write(tf.constant(b"a tensor"))
    w.flush()
    w.close()
    w.close()
    with pytest.raises(tf.errors.FailedPreconditionError, match="Writer is closed"):
        w.write(b"x")
    assert list(tf.compat.v1.io.tf_record_iterator(str(tmp_path / "a"), "ZLIB")) == [b"text is UTF-8", b"a tensor"]
    with pytest.raises(ValueError, match="compression_type"):
        tf.io.TFRecordOptions("LZ4")
    with pytest.raises(tf.errors.NotFoundError):
        tf.io.TFRecordWriter(str(tmp_path / "no" / "such" / "dir" / "f"))


def test_dataset_sources_and_interleave(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a, [b"a1", b"a2", b"a3"])
    _write(b, [b"b1"])
    ds = tf.data.TFRecordDataset([str(a), str(b)])
    assert ds.element_spec == tf.TensorSpec([], tf.string)
    assert [r.numpy() for r in ds] == [b"a1", b"a2", b"a3", b"b1"]
    both = tf.data.TFRecordDataset(tf.data.Dataset.from_tensor_slices([str(a), str(b)]), num_parallel_reads=2)
    assert [r.numpy() for r in both] == [b"a1", b"b1", b"a2", b"a3"]
    out = tmp_path / "c"
    tf.data.experimental.TFRecordWriter(str(out), "GZIP").write(ds.map(lambda r: r + b"!"))
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(out), "GZIP")] == [b"a1!", b"a2!", b"a3!", b"b1!"]
    with pytest.raises(TypeError, match="scalar string"):
        tf.data.experimental.TFRecordWriter(str(out)).write(tf.data.Dataset.range(3))


def test_damaged_files(tmp_path):
    path = tmp_path / "r"
    _write(path, [b"hello", b"world"])
    raw = path.read_bytes()
    cases = {
        "data": (raw[:14] + b"J" + raw[15:], "corrupted record at 12"),
        "length": (raw[:5] + b"\x01" + raw[6:], "corrupted record at 0 \\(Is this even a TFRecord file\\?\\)"),
        "second": (raw[:21 + 14] + b"J" + raw[21 + 15:], "corrupted record at 33"),
    }
    for name, (data, message) in cases.items():
        bad = tmp_path / name
        bad.write_bytes(data)
        with pytest.raises(tf.errors.DataLossError, match=message):
            list(tf.data.TFRecordDataset(str(bad)))
    # A file ending inside a record ends the records, as in TF.
    (tmp_path / "cut").write_bytes(raw[:30])
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(tmp_path / "cut"))] == [b"hello"]
    with pytest.raises(tf.errors.DataLossError, match="GZIP"):
        list(tf.data.TFRecordDataset(str(path), compression_type="GZIP"))
    with pytest.raises(tf.errors.NotFoundError, match="No such file"):
        list(tf.data.TFRecordDataset(str(tmp_path / "missing")))
    with pytest.raises(ValueError, match="compression_type"):
        tf.data.TFRecordDataset(str(path), compression_type="XX")


@pytest.mark.oracle
@pytest.mark.parametrize("compression", ["", "GZIP", "ZLIB"])
def test_files_round_trip_with_tensorflow(tmp_path, compression):
    real = pytest.importorskip("tensorflow")
    theirs, ours = str(tmp_path / "theirs"), str(tmp_path / "ours")
    with real.io.TFRecordWriter(theirs, compression) as w:
        for r in RECORDS:
            w.write(r)
    _write(ours, RECORDS, compression)
    assert [r.numpy() for r in tf.data.TFRecordDataset(theirs, compression)] == RECORDS
    assert [r.numpy() for r in real.data.TFRecordDataset(ours, compression)] == RECORDS
    if compression != "GZIP":  # gzip headers hold no time here either, but zlib versions may differ
        assert os.path.getsize(theirs) == os.path.getsize(ours)
