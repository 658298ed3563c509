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


@pytest.fixture
def titanic_like(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("survived,sex,age,fare,class\n0,male,22.0,7.25,Third\n1,female,,71.25,First\n"
                    "1,female,26.0,7.925,Third\n0,male,35.0,8.05,Third\n1,female,27.0,11.1333,Second\n")
    return str(path)


def _batches(ds):
    out = []
    for feats, label in ds.as_numpy_iterator():
        out.append(([(k, v.tolist()) for k, v in feats.items()], label.tolist()))
    return out


def _csv_cases(mod, path):
    make = mod.data.experimental.make_csv_dataset
    return [
        make(path, batch_size=2, label_name="survived", num_epochs=1, shuffle=False),
        make(path, batch_size=2, label_name="survived", select_columns=["class", "fare", "survived"],
             num_epochs=1, shuffle=False),
        make(path, batch_size=3, label_name="survived", column_defaults=[0, "", -1.0, 0.0, ""],
             num_epochs=2, shuffle=False),
    ]


def test_make_csv_dataset_as_tensorflow(titanic_like):  # guide/data cells 47-50
    ours = _csv_cases(tf, titanic_like)
    first = ours[0]
    feats, label = first.element_spec
    assert type(feats).__name__ == "OrderedDict" and list(feats) == ["sex", "age", "fare", "class"]
    assert [s.dtype.name for s in feats.values()] == ["string", "float32", "float32", "string"]
    assert label.dtype == tf.int32 and tuple(label.shape) == (None,)
    assert _batches(ours[1])[0] == ([("fare", [7.25, 71.25]), ("class", [b"Third", b"First"])], [0, 1])
    assert _batches(ours[2])[0][0][1] == ("age", [22.0, -1.0, 26.0])  # the given default fills the gap
    forever = tf.data.experimental.make_csv_dataset(titanic_like, batch_size=4, label_name="survived")
    assert tuple(forever.element_spec[1].shape) == (4,)  # num_epochs=None: full batches only
    assert sum(1 for _ in forever.take(7)) == 7
    with pytest.raises(ValueError, match="label_name"):
        tf.data.experimental.make_csv_dataset(titanic_like, batch_size=2, label_name="nope")
    real = pytest.importorskip("tensorflow")
    for mine, theirs in zip(ours, _csv_cases(real, titanic_like), strict=True):
        assert _batches(mine) == _batches(theirs)
        assert repr(mine.element_spec) == repr(theirs.element_spec)
