"""tf.data.FixedLengthRecordDataset and tf.data.NumpyIterator against TensorFlow."""

from __future__ import annotations

import gzip
import zlib

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.errors import DataLossError, InvalidArgumentError


def _files(tmp_path, body_sizes, header=b"HDR", footer=b"FT", compress=None):
    names = []
    for i, n in enumerate(body_sizes):
        data = header + ((np.arange(n) * (i + 3)) % 251).astype(np.uint8).tobytes() + footer
        if compress == "GZIP":
            data = gzip.compress(data)
        elif compress == "ZLIB":
            data = zlib.compress(data)
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(data)
        names.append(str(path))
    return names


@pytest.mark.oracle
@pytest.mark.parametrize("compress", [None, "GZIP", "ZLIB"])
@pytest.mark.parametrize("parallel", [None, 2])
def test_matches_tensorflow(tmp_path, compress, parallel):
    ttf = pytest.importorskip("tensorflow")
    names = _files(tmp_path, [35, 0, 14], compress=compress)
    kwargs = dict(record_bytes=7, header_bytes=3, footer_bytes=2, compression_type=compress,
                  num_parallel_reads=parallel, buffer_size=4)
    got = list(tf.data.FixedLengthRecordDataset(names, **kwargs).as_numpy_iterator())
    want = list(ttf.data.FixedLengthRecordDataset(names, **kwargs).as_numpy_iterator())
    assert got == want and len(got) == 7
    ds = tf.data.FixedLengthRecordDataset(names[0], 7, 3, 2, compression_type=compress)
    assert ds.element_spec == tf.TensorSpec((), tf.string)
    decoded = ds.map(lambda r: tf.io.decode_raw(r, tf.uint8))
    np.testing.assert_array_equal(next(iter(decoded)).numpy(), (np.arange(7) * 3) % 251)


def test_partial_record_errors_as_tf(tmp_path):
    plain = _files(tmp_path, [9])
    with pytest.raises(InvalidArgumentError, match="body length 9 bytes, which is not an exact multiple"):
        list(tf.data.FixedLengthRecordDataset(plain, 4, 3, 2))
    packed = _files(tmp_path / "..", [9], compress="GZIP")
    with pytest.raises(DataLossError, match="not an exact multiple of the record length"):
        list(tf.data.FixedLengthRecordDataset(packed, 4, 3, 2, compression_type="GZIP"))
    with pytest.raises(InvalidArgumentError, match="record_bytes must be positive"):
        tf.data.FixedLengthRecordDataset(plain, 0)


def test_numpy_iterator():
    it = tf.data.Dataset.range(3).as_numpy_iterator()
    assert isinstance(it, tf.data.NumpyIterator) and iter(it) is it
    assert next(it) == 0 and it.next() == 1 and list(it) == [2]
    assert repr(it).startswith("NumpyIterator(iterator=")
