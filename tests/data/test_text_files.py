"""Dataset.list_files, TextLineDataset and keras.utils.text_dataset_from_directory on temporary
files, compared with TF/Keras reading the same files."""

from __future__ import annotations

import gzip
import zlib

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

D = tf.data.Dataset


def _tf():
    return pytest.importorskip("tensorflow")


@pytest.fixture
def text_files(tmp_path):
    contents = {
        "a.txt": b"first line\nsecond\r\n\nlast without newline",
        "b.txt": b"b1\nb2\nb3\nb4\n",
        "c.txt": b"",
        ".hidden.txt": b"h1\n",
        "d.csv": b"x,y\n1,2\n",
    }
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.txt").write_bytes(b"e1\ne2\ne3\n")
    return tmp_path


def _lines(ds) -> list:
    return [bytes(v) for v in ds.as_numpy_iterator()]


@pytest.mark.oracle
def test_list_files_against_tf(text_files):
    ktf = _tf()
    for pattern in [str(text_files / "*.txt"), [str(text_files / "*.csv"), str(text_files / "?.txt")],
                    str(text_files / "*" / "*.txt"), str(text_files / "[ab].txt")]:
        ours = D.list_files(pattern, shuffle=False)
        assert repr(ours.element_spec) == "TensorSpec(shape=(), dtype=tf.string, name=None)"
        assert _lines(ours) == list(ktf.data.Dataset.list_files(pattern, shuffle=False).as_numpy_iterator())
    shuffled = D.list_files(str(text_files / "*"), seed=3)
    assert sorted(_lines(shuffled)) == _lines(D.list_files(str(text_files / "*"), shuffle=False))
    with pytest.raises(tf.errors.InvalidArgumentError, match="no files matched"):
        D.list_files(str(text_files / "*.nothing"))


@pytest.mark.oracle
@pytest.mark.parametrize("compression", [None, "GZIP", "ZLIB"])
def test_text_line_dataset_against_tf(text_files, compression):
    ktf = _tf()
    names = [str(text_files / n) for n in ("a.txt", "c.txt", "b.txt", "sub/e.txt")]
    if compression:
        packed = []
        for i, name in enumerate(names):
            data = open(name, "rb").read()
            path = text_files / f"packed{i}.{compression}"
            path.write_bytes(gzip.compress(data) if compression == "GZIP" else zlib.compress(data))
            packed.append(str(path))
        names = packed
    for kwargs in [{}, {"buffer_size": 3}, {"num_parallel_reads": 2}, {"num_parallel_reads": 3}]:
        ours = tf.data.TextLineDataset(names, compression_type=compression, **kwargs)
        theirs = ktf.data.TextLineDataset(names, compression_type=compression, **kwargs)
        assert _lines(ours) == list(theirs.as_numpy_iterator()), kwargs
    line = next(iter(tf.data.TextLineDataset(names[0], compression_type=compression)))
    assert line.dtype == tf.string and line.shape == ()


def test_text_line_dataset_of_listed_files_and_errors(text_files):
    ds = tf.data.TextLineDataset(D.list_files(str(text_files / "[ab].txt"), shuffle=False))
    assert _lines(ds) == [b"first line", b"second", b"", b"last without newline", b"b1", b"b2", b"b3", b"b4"]
    batched = list(ds.batch(3).as_numpy_iterator())
    assert [len(b) for b in batched] == [3, 3, 2]
    with pytest.raises(tf.errors.NotFoundError, match="missing.txt"):
        _lines(tf.data.TextLineDataset(str(text_files / "missing.txt")))
    with pytest.raises(ValueError, match="compression_type"):
        tf.data.TextLineDataset("x", compression_type="BZIP2")
    with pytest.raises(TypeError, match="tf.string scalars"):
        tf.data.TextLineDataset(D.range(3))


@pytest.fixture
def review_dir(tmp_path):
    rng = np.random.default_rng(0)
    words = ["good", "bad", "movie", "plot", "actor", "great", "awful", "scene"]
    for label in ("neg", "pos"):
        (tmp_path / label).mkdir()
        for i in range(7 if label == "neg" else 5):
            text = " ".join(rng.choice(words, size=int(rng.integers(2, 9))))
            (tmp_path / label / f"{i:02d}.txt").write_text(f"{label} {text}", encoding="utf-8")
    (tmp_path / "pos" / "notes.md").write_text("not a text sample", encoding="utf-8")
    return tmp_path


def _flatten(ds) -> list:
    out = []
    for element in ds.as_numpy_iterator():
        texts, labels = element if isinstance(element, tuple) else (element, None)
        for i in range(len(texts)):
            out.append((bytes(texts[i]), None if labels is None else np.asarray(labels[i]).tolist()))
    return out


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", [
    {},
    {"label_mode": "categorical", "max_length": 9, "batch_size": 4},
    {"label_mode": "binary", "class_names": ["pos", "neg"]},
    {"labels": None},
    {"labels": [1, 0] * 6, "label_mode": "int"},
])
def test_text_dataset_from_directory_against_keras(review_dir, kwargs):
    k = _tf() and pytest.importorskip("keras")
    ours = keras.utils.text_dataset_from_directory(str(review_dir), shuffle=False, verbose=False, **kwargs)
    theirs = k.utils.text_dataset_from_directory(str(review_dir), shuffle=False, verbose=False, **kwargs)
    assert ours.class_names == theirs.class_names
    assert _flatten(ours) == _flatten(theirs)
    assert repr(ours.element_spec) == repr(theirs.element_spec)


@pytest.mark.oracle
def test_text_dataset_validation_split_against_keras(review_dir, capsys):
    k = _tf() and pytest.importorskip("keras")
    args = dict(validation_split=0.25, seed=11, batch_size=3)
    train, val = keras.utils.text_dataset_from_directory(str(review_dir), subset="both", **args)
    printed = capsys.readouterr().out
    k_train, k_val = k.utils.text_dataset_from_directory(str(review_dir), subset="both", **args)
    assert printed == capsys.readouterr().out  # "Found 12 files belonging to 2 classes." ...
    # the split follows NumPy's RandomState(seed) as in Keras; TF's element shuffle differs
    assert sorted(_flatten(train)) == sorted(_flatten(k_train))
    assert _flatten(val) == _flatten(k_val)
    only_val = keras.utils.text_dataset_from_directory(str(review_dir), subset="validation", verbose=False, **args)
    assert sorted(_flatten(only_val)) == sorted(_flatten(val))


def test_text_dataset_feeds_text_vectorization_and_fit(review_dir):
    ds = keras.utils.text_dataset_from_directory(str(review_dir), batch_size=4, seed=1, verbose=False)
    vectorize = keras.layers.TextVectorization(output_mode="multi_hot", max_tokens=12)
    vectorize.adapt(ds.map(lambda text, label: text))
    assert vectorize.get_vocabulary()[:1] == ["[UNK]"] and len(vectorize.get_vocabulary()) == 11  # 10 words
    model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    history = model.fit(ds.map(lambda text, label: (vectorize(text), label)), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_text_dataset_errors(review_dir):
    with pytest.raises(ValueError, match="label_mode"):
        keras.utils.text_dataset_from_directory(str(review_dir), label_mode="sparse")
    with pytest.raises(ValueError, match="exactly 2"):
        keras.utils.text_dataset_from_directory(str(review_dir / "neg"), label_mode="binary", labels=[0] * 7,
                                                verbose=False)
    with pytest.raises(ValueError, match="seed"):
        keras.utils.text_dataset_from_directory(str(review_dir), validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="grain"):
        keras.utils.text_dataset_from_directory(str(review_dir), format="grain")


@pytest.mark.oracle
def test_text_dataset_follow_links_against_keras(tmp_path):
    k = _tf() and pytest.importorskip("keras")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.txt").write_text("linked text", encoding="utf-8")
    root = tmp_path / "root"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        (root / label / f"{label}.txt").write_text(f"text {label}", encoding="utf-8")
    (root / "a" / "more").symlink_to(outside, target_is_directory=True)
    for follow in (False, True):
        ours = keras.utils.text_dataset_from_directory(str(root), shuffle=False, follow_links=follow, verbose=False)
        theirs = k.utils.text_dataset_from_directory(str(root), shuffle=False, follow_links=follow, verbose=False)
        assert _flatten(ours) == _flatten(theirs)
    assert len(_flatten(ours)) == 3
