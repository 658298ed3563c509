"""keras.utils dataset helpers: image_dataset_from_directory, timeseries_dataset_from_array,
split_dataset (with Keras as oracle where installed)."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


@pytest.fixture
def image_dir(tmp_path):
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for label, (count, shape) in {"cats": (3, (20, 30, 3)), "dogs": (2, (12, 10))}.items():
        (tmp_path / label).mkdir()
        for i in range(count):
            image.fromarray(rng.integers(0, 255, shape).astype("uint8")).save(tmp_path / label / f"{i}.png")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    return tmp_path


def test_image_dataset_labels_shapes_and_attributes(image_dir, capsys):
    ds = keras.utils.image_dataset_from_directory(str(image_dir), image_size=(8, 6), batch_size=2, shuffle=False)
    assert "Found 5 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["cats", "dogs"] and len(ds.file_paths) == 5
    assert repr(ds.element_spec) == ("(TensorSpec(shape=(None, 8, 6, 3), dtype=tf.float32, name=None), "
                                     "TensorSpec(shape=(None,), dtype=tf.int32, name=None))")
    assert len(ds) == 3
    labels = np.concatenate([y.numpy() for _, y in ds])
    assert labels.tolist() == [0, 0, 0, 1, 1]
    x, _ = next(iter(ds))
    assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 255.0
    cat = keras.utils.image_dataset_from_directory(str(image_dir), image_size=(4, 4), label_mode="categorical",
                                                   color_mode="grayscale", batch_size=None, shuffle=False,
                                                   verbose=False)
    first_x, first_y = next(iter(cat))
    assert first_x.shape == (4, 4, 1) and first_y.numpy().tolist() == [1.0, 0.0]


def test_image_dataset_split_and_errors(image_dir):
    train, val = keras.utils.image_dataset_from_directory(
        str(image_dir), image_size=(4, 4), validation_split=0.4, subset="both", seed=2, verbose=False)
    assert len(list(train.unbatch())) == 3 and len(list(val.unbatch())) == 2
    assert not set(train.file_paths) & set(val.file_paths)
    with pytest.raises(ValueError, match="you must provide a `seed`"):
        keras.utils.image_dataset_from_directory(str(image_dir), validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="`label_mode` argument must be one of"):
        keras.utils.image_dataset_from_directory(str(image_dir), label_mode="sparse")
    with pytest.raises(ValueError, match="`color_mode` must be one of"):
        keras.utils.image_dataset_from_directory(str(image_dir), color_mode="cmyk")


def test_image_dataset_names_the_extra_when_pillow_is_missing(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match=r'pip install "tapeflow\[image\]"'):
        keras.utils.image_dataset_from_directory(str(tmp_path))


@pytest.mark.oracle
def test_image_dataset_matches_keras(image_dir):
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    ours = keras.utils.image_dataset_from_directory(str(image_dir), image_size=(7, 9), shuffle=False,
                                                    verbose=False)
    theirs = k.utils.image_dataset_from_directory(str(image_dir), image_size=(7, 9), shuffle=False,
                                                  verbose=False)
    assert repr(ours.element_spec) == repr(theirs.element_spec)
    (xa, ya), (xb, yb) = next(iter(ours)), next(iter(theirs))
    np.testing.assert_allclose(xa.numpy(), xb.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(ya.numpy(), yb.numpy())


def test_timeseries_windows_targets_and_bad_input():
    ds = keras.utils.timeseries_dataset_from_array(np.arange(20), np.arange(20) * 10, sequence_length=4,
                                                   sequence_stride=2, sampling_rate=2, batch_size=3)
    batches = [(x.numpy().tolist(), y.numpy().tolist()) for x, y in ds]
    assert batches[0] == ([[0, 2, 4, 6], [2, 4, 6, 8], [4, 6, 8, 10]], [0, 20, 40])
    assert batches[-1] == ([[12, 14, 16, 18]], [120]) and len(ds) == 3
    alone = keras.utils.timeseries_dataset_from_array(np.arange(10.0)[:, None], None, sequence_length=3,
                                                      batch_size=None, start_index=2, end_index=8)
    windows = [w.numpy()[:, 0].tolist() for w in alone]
    assert windows[0] == [2.0, 3.0, 4.0] and windows[-1] == [5.0, 6.0, 7.0]
    shuffled = keras.utils.timeseries_dataset_from_array(np.arange(50), None, 5, batch_size=4, shuffle=True, seed=1)
    firsts = sorted(int(w[0]) for b in shuffled for w in b.numpy())
    assert firsts == list(range(46))
    with pytest.raises(ValueError, match="same number of timesteps"):
        keras.utils.timeseries_dataset_from_array(np.arange(10), np.arange(9), 3)
    with pytest.raises(ValueError, match="`sequence_length` must be a positive integer"):
        keras.utils.timeseries_dataset_from_array(np.arange(10), None, 0)


@pytest.mark.oracle
def test_timeseries_matches_keras():
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    data = np.random.default_rng(0).standard_normal((30, 2)).astype(np.float32)
    kwargs = dict(sequence_length=5, sequence_stride=3, sampling_rate=2, batch_size=4)
    ours = [(x.numpy(), y.numpy()) for x, y in keras.utils.timeseries_dataset_from_array(data, data[:, 0], **kwargs)]
    theirs = [(x.numpy(), y.numpy()) for x, y in k.utils.timeseries_dataset_from_array(data, data[:, 0], **kwargs)]
    assert len(ours) == len(theirs)
    for (a, b), (c, d) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_split_dataset_sizes_and_errors():
    left, right = keras.utils.split_dataset(np.arange(10), left_size=0.75)
    assert (len(left), len(right)) == (8, 2)
    assert [int(v) for v in right] == [8, 9]
    left, right = keras.utils.split_dataset((np.arange(10), np.arange(10.0)), right_size=3, shuffle=True, seed=0)
    assert (len(left), len(right)) == (7, 3)
    pairs = [(int(a), float(b)) for a, b in left.concatenate(right).as_numpy_iterator()]
    assert sorted(p[0] for p in pairs) == list(range(10)) and all(a == b for a, b in pairs)
    left, right = keras.utils.split_dataset(tf.data.Dataset.range(7), left_size=0.5)
    assert (len(left), len(right)) == (4, 3) and left.element_spec == tf.TensorSpec((), tf.int64)
    with pytest.raises(ValueError, match="At least one of the `left_size` or `right_size`"):
        keras.utils.split_dataset(np.arange(10))
    with pytest.raises(ValueError, match="`left_size` should be either a positive integer"):
        keras.utils.split_dataset(np.arange(10), left_size=1.5)
    with pytest.raises(ValueError, match="sum of `left_size` and `right_size`"):
        keras.utils.split_dataset(np.arange(10), left_size=8, right_size=5)
