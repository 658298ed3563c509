"""tf.data.experimental.CsvDataset against TensorFlow's (the overfit-and-underfit tutorial reads
its data with it)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

import tapeflow as tf


@pytest.fixture
def csv_files(tmp_path):
    plain = tmp_path / "c1.csv"
    plain.write_text('a,b,c,d\n1,2.5,x,7\n3,,"y,z",8\n')
    packed = tmp_path / "c2.csv.gz"
    with gzip.open(packed, "wt") as f:
        f.write("h1,h2,h3,h4\n5,0.5,w,9\n")
    return str(plain), str(packed)


def _rows(ds):
    return [tuple(np.asarray(v).tolist() for v in e) for e in ds.as_numpy_iterator()]


def _cases(mod, plain, packed):
    exp = mod.data.experimental
    return [
        exp.CsvDataset([plain], [mod.constant(0, mod.int32), -1.5, "", 0], header=True),
        exp.CsvDataset([plain], [0, 0], header=True, exclude_cols=[1, 2]),
        exp.CsvDataset([plain], [0.0, ""], header=True, select_cols=[1, 2]),
        exp.CsvDataset(packed, [0, 0.0, "", 0], header=True, compression_type="GZIP"),
    ]


def test_rows_specs_and_errors_as_tensorflow(csv_files):
    plain, packed = csv_files
    ours = _cases(tf, plain, packed)
    assert [_rows(d) for d in ours] == [[(1, 2.5, b"x", 7), (3, -1.5, b"y,z", 8)], [(1, 7), (3, 8)],
                                         [(2.5, b"x"), (0.0, b"y,z")], [(5, 0.5, b"w", 9)]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="strictly increasing"):
        tf.data.experimental.CsvDataset([plain], [0, 0], exclude_cols=[2, 1])
    with pytest.raises(ValueError, match="select_cols or exclude_cols"):
        tf.data.experimental.CsvDataset([plain], [0, 0], select_cols=[0], exclude_cols=[1])
    required = tf.data.experimental.CsvDataset([plain], [tf.float32, ""], header=True, select_cols=[1, 2])
    with pytest.raises(tf.errors.InvalidArgumentError):
        _rows(required)
    real = pytest.importorskip("tensorflow")
    for mine, theirs in zip(ours, _cases(real, plain, packed), strict=True):
        assert _rows(mine) == _rows(theirs)
        assert [s.dtype.name for s in mine.element_spec] == [s.dtype.name for s in theirs.element_spec]
