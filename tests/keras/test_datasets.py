"""keras.datasets: real MNIST / Fashion-MNIST when present, synthetic files, embedded subset."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import pickle
import struct
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras.datasets import (
    _formats,
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)
from tapeflow.keras.datasets._formats import DatasetFileError, load_npz, read_idx
from tapeflow.keras.utils.file_utils import DownloadError

IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _idx_bytes(array: np.ndarray) -> bytes:
    codes = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
             np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def _write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    data = _idx_bytes(array)
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def _synthetic_mnist(folder: Path, n_train: int = 6, n_test: int = 4, seed: int = 0) -> dict:
    """Four small IDX files like MNIST's; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, key in zip(IDX_NAMES, ("x_train", "y_train", "x_test", "y_test"), strict=True):
        _write_idx(folder / name, arrays[key])
    return arrays


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """An empty datasets cache in a temporary folder."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("TAPEFLOW_DATA_DIR", str(root))
    return root


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(served))
    )
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", served
    httpd.shutdown()
    httpd.server_close()


# ---------------------------------------------------------------------------------------------
# Real data (skipped when $TAPEFLOW_DATA_DIR lacks it)


def test_real_mnist(mnist_dir):
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9] and y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert int(x_train.max()) == 255 and np.bincount(y_train).tolist()[1] == 6742
    assert x_train.flags.writeable
    assert mnist.is_cached()


def test_real_fashion_mnist(fashion_mnist_dir):
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert y_train[:5].tolist() == [9, 0, 0, 3, 0] and y_test[:5].tolist() == [9, 2, 1, 1, 6]
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert fashion_mnist.is_cached()


def test_embedded_matches_published_test_split(mnist_dir):
    (x_train, y_train), (x_test, y_test) = mnist.load_embedded()
    source = mnist_dir / "mnist"
    images = read_idx(source / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(source / "t10k-labels-idx1-ubyte.gz")
    index = load_npz(mnist.EMBEDDED_PATH, ("index_train", "index_test"))
    assert len(np.intersect1d(index["index_train"], index["index_test"])) == 0
    np.testing.assert_array_equal(x_train, images[index["index_train"]])
    np.testing.assert_array_equal(y_train, labels[index["index_train"]])
    np.testing.assert_array_equal(x_test, images[index["index_test"]])
    np.testing.assert_array_equal(y_test, labels[index["index_test"]])


# ---------------------------------------------------------------------------------------------
# Embedded subset


def test_embedded_shapes_and_classes():
    (x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_embedded()
    assert x_train.shape == (5000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert y_train.shape == (5000,) and y_test.shape == (1000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert int(x_train.max()) == 255
    # Stratified: every digit present in MNIST-test proportions (digit 1 most, 5 least).
    counts = np.bincount(y_test, minlength=10)
    assert counts.min() >= 80 and counts.argmax() == 1 and counts.argmin() == 5
    assert os.path.getsize(mnist.EMBEDDED_PATH) < 1_500_000


# ---------------------------------------------------------------------------------------------
# IDX parsing


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("dtype", ["u1", ">i4", ">f8"])
def test_read_idx_roundtrip(tmp_path, compress, dtype):
    array = (np.arange(2 * 3 * 5).reshape(2, 3, 5) - 7).astype(dtype) if dtype != "u1" else \
        np.arange(30, dtype=np.uint8).reshape(2, 3, 5)
    out = read_idx(_write_idx(tmp_path / "a.idx", array, compress))
    assert out.shape == (2, 3, 5) and out.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(out, array)


def _bad_idx(tmp_path: Path, kind: str) -> Path:
    good = _idx_bytes(np.arange(5 * 28 * 28, dtype=np.uint8).reshape(5, 28, 28) % 251)
    path = tmp_path / f"{kind}-images-idx3-ubyte.gz"
    if kind == "truncated-data":
        path.write_bytes(gzip.compress(good[:-100]))
    elif kind == "truncated-header":
        path.write_bytes(gzip.compress(good[:10]))
    elif kind == "wrong-magic":
        path.write_bytes(gzip.compress(b"\x00\x00\x07\x03" + good[4:]))
    elif kind == "trailing":
        path.write_bytes(gzip.compress(good + b"\x00"))
    elif kind == "truncated-gzip":
        path.write_bytes(gzip.compress(good)[:-200])
    elif kind == "empty":
        path.write_bytes(b"")
    return path


@pytest.mark.parametrize(
    "kind, message",
    [("truncated-data", "truncated"), ("truncated-header", "truncated"), ("wrong-magic", "not an IDX file"),
     ("trailing", "bytes after"), ("truncated-gzip", "corrupted or truncated"), ("empty", "truncated")],
)
def test_read_idx_malformed(tmp_path, kind, message):
    path = _bad_idx(tmp_path, kind)
    with pytest.raises(DatasetFileError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_mnist_from_idx_folder(data_root, monkeypatch):
    arrays = _synthetic_mnist(data_root / "mnist")
    monkeypatch.setattr(mnist, "IDX_SHA256", {n: _sha256(data_root / "mnist" / n) for n in IDX_NAMES})
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert y_train.shape == (6,) and x_test.shape == (4, 28, 28)


def test_mnist_prefers_npz_and_checks_it(data_root, monkeypatch):
    _synthetic_mnist(data_root / "mnist")
    rng = np.random.default_rng(1)
    arrays = {
        "x_train": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), "y_train": np.arange(3, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), "y_test": np.arange(2, dtype=np.uint8),
    }
    np.savez(data_root / "mnist.npz", **arrays)
    monkeypatch.setattr(mnist, "NPZ_SHA256", _sha256(data_root / "mnist.npz"))
    (x_train, y_train), (x_test, _) = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    assert y_train.tolist() == [0, 1, 2] and x_test.shape == (2, 28, 28)
    # The same file under an absolute path outside the cache.
    other = data_root.parent / "elsewhere"
    other.mkdir()
    os.replace(data_root / "mnist.npz", other / "m.npz")
    (x_train2, _), _ = mnist.load_data(path=str(other / "m.npz"))
    np.testing.assert_array_equal(x_train2, arrays["x_train"])


def test_mnist_malformed_idx_named(data_root, monkeypatch):
    folder = data_root / "mnist"
    _synthetic_mnist(folder)
    (folder / IDX_NAMES[0]).write_bytes(_bad_idx(data_root.parent, "wrong-magic").read_bytes())
    monkeypatch.setattr(mnist, "IDX_SHA256", {n: _sha256(folder / n) for n in IDX_NAMES})
    with pytest.raises(DatasetFileError, match="not an IDX file") as info:
        mnist.load_data()
    assert str(folder / IDX_NAMES[0]) in str(info.value)


def test_mnist_count_mismatch(data_root, monkeypatch):
    folder = data_root / "mnist"
    _synthetic_mnist(folder)
    _write_idx(folder / IDX_NAMES[1], np.zeros(5, np.uint8))  # 6 images, 5 labels
    monkeypatch.setattr(mnist, "IDX_SHA256", {n: _sha256(folder / n) for n in IDX_NAMES})
    with pytest.raises(DatasetFileError, match="6 images but"):
        mnist.load_data()


def test_fashion_mnist_downloads_into_cache(data_root, server, monkeypatch):
    base, served = server
    arrays = _synthetic_mnist(served, seed=3)
    monkeypatch.setattr(fashion_mnist, "IDX_SHA256", {n: _sha256(served / n) for n in IDX_NAMES})
    # First mirror is dead (404); the second serves the files.
    monkeypatch.setattr(fashion_mnist, "IDX_ORIGINS", (base + "nowhere/", base))
    assert not fashion_mnist.is_cached()
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_test, arrays["x_test"])
    np.testing.assert_array_equal(y_train, arrays["y_train"])
    assert sorted(os.listdir(data_root / "fashion-mnist")) == sorted(IDX_NAMES)
    assert fashion_mnist.is_cached()


def test_offline_loader_error_names_file_and_folder(data_root, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(mnist, "KERAS_ORIGIN", f"http://127.0.0.1:{port}/")
    assert not mnist.is_cached()
    with pytest.raises(DownloadError) as info:
        mnist.load_data()
    message = str(info.value)
    assert "'mnist.npz'" in message and str(data_root / "mnist.npz") in message
    assert str(data_root / "mnist") in message and "load_embedded()" in message
    assert os.listdir(data_root) == []


# ---------------------------------------------------------------------------------------------
# npz and restricted unpickling


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_load_npz_malformed(tmp_path):
    good = _npz_bytes(x=np.arange(1000.0), y=np.arange(10))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetFileError, match="not a valid .npz") as info:
        load_npz(truncated, ("x", "y"))
    assert str(truncated) in str(info.value)
    not_zip = tmp_path / "text.npz"
    not_zip.write_bytes(b"hello, not a zip archive")
    with pytest.raises(DatasetFileError, match="text.npz"):
        load_npz(not_zip, ("x",))
    full = tmp_path / "full.npz"
    full.write_bytes(good)
    with pytest.raises(DatasetFileError, match="no array 'z'"):
        load_npz(full, ("z",))
    objects = tmp_path / "objects.npz"
    objects.write_bytes(_npz_bytes(x=np.array([[1, 2], [3]], dtype=object)))
    with pytest.raises(DatasetFileError, match="object array"):
        load_npz(objects, ("x",))
    assert load_npz(objects, ("x",), allow_object_arrays=True)["x"][1] == [3]


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch tapeflow-pwned",))


def test_restricted_unpickler_refuses_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    batch = tmp_path / "data_batch_1"
    evil_batch = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [_Exploit()]}
    batch.write_bytes(pickle.dumps(evil_batch, protocol=2))
    with pytest.raises(DatasetFileError, match="Refusing to load `(posix|os|nt).system`"):
        cifar10.load_batch(batch)
    # The same attack hidden in an npz member's object array.
    member = io.BytesIO()
    np.lib.format.write_array(member, np.array([_Exploit(), 1], dtype=object), allow_pickle=True)
    evil = tmp_path / "evil.npz"
    import zipfile

    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("x.npy", member.getvalue())
    with pytest.raises(DatasetFileError, match="Refusing"):
        load_npz(evil, ("x",), allow_object_arrays=True)
    assert not (tmp_path / "tapeflow-pwned").exists()


def test_restricted_unpickler_reads_numpy_pickles():
    arrays = [np.arange(12, dtype=np.int64).reshape(3, 4), np.asfortranarray(np.eye(3, dtype=np.float32))]
    for protocol in (2, 3, 4, 5):
        loaded = _formats.RestrictedUnpickler(io.BytesIO(pickle.dumps(arrays, protocol=protocol)),
                                              source="test").load()
        for a, b in zip(arrays, loaded, strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# CIFAR


class _Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2 wrote its str (BINSTRING), like the published CIFAR batches."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = _save_py2_str
    dispatch[bytes] = _save_py2_str


def _cifar_batch(path: Path, n: int, rng: np.random.Generator, label_keys=("labels",), classes=10) -> dict:
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    batch = {"batch_label": "synthetic", "data": data, "filenames": [f"f{i}.png" for i in range(n)]}
    labels = {}
    for key in label_keys:
        labels[key] = rng.integers(0, classes, n).tolist()
        batch[key] = labels[key]
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(batch)
    path.write_bytes(buffer.getvalue())
    return {"data": data, **labels}


def _cifar10_folder(folder: Path, seed: int = 0) -> list[dict]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return [_cifar_batch(folder / name, 3, rng) for name in names]


@pytest.mark.parametrize("layout", ["cifar-10-batches-py-target/cifar-10-batches-py", "cifar-10-batches-py"])
def test_cifar10_from_cache(data_root, layout):
    batches = _cifar10_folder(data_root / layout)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (15, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    assert y_train.shape == (15, 1) and y_test.shape == (3, 1)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8 and y_test.dtype == np.uint8
    # Stored row-major as (channel, row, column); returned channels last.
    data = batches[1]["data"]
    i, r, c, ch = 1, 5, 17, 2
    assert x_train[3 + i, r, c, ch] == data[i, ch * 1024 + r * 32 + c]
    assert y_train[:, 0].tolist() == sum((b["labels"] for b in batches[:5]), [])
    assert y_test[:, 0].tolist() == batches[5]["labels"]


def test_cifar10_channels_first(data_root):
    batches = _cifar10_folder(data_root / "cifar-10-batches-py")
    tf.keras.backend.set_image_data_format("channels_first")
    try:
        (_, _), (x_test, _) = cifar10.load_data()
    finally:
        tf.keras.backend.set_image_data_format("channels_last")
    assert x_test.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(x_test.reshape(3, -1), batches[5]["data"])


def test_cifar10_downloads_and_extracts(data_root, server, monkeypatch):
    base, served = server
    staging = served / "build"
    batches = _cifar10_folder(staging / "cifar-10-batches-py", seed=4)
    with tarfile.open(served / "cifar.tar.gz", "w:gz") as tar:
        tar.add(staging / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setattr(cifar10, "ORIGIN", base + "cifar.tar.gz")
    monkeypatch.setattr(cifar10, "SHA256", _sha256(served / "cifar.tar.gz"))
    (_, y_train), (x_test, _) = cifar10.load_data()
    assert y_train[:, 0].tolist() == sum((b["labels"] for b in batches[:5]), [])
    assert x_test.shape == (3, 32, 32, 3)
    assert sorted(os.listdir(data_root)) == ["cifar-10-batches-py-target",
                                             "cifar-10-batches-py-target_archive"]


def test_cifar100_label_modes(data_root):
    folder = data_root / "cifar-100-python-target" / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(5)
    train = _cifar_batch(folder / "train", 7, rng, ("fine_labels", "coarse_labels"), classes=20)
    test = _cifar_batch(folder / "test", 2, rng, ("fine_labels", "coarse_labels"), classes=20)
    (x_train, y_train), (x_test, y_test) = cifar100.load_data()
    assert x_train.shape == (7, 32, 32, 3) and y_train.shape == (7, 1) and y_train.dtype == np.int64
    assert y_train[:, 0].tolist() == train["fine_labels"] and y_test[:, 0].tolist() == test["fine_labels"]
    (_, y_coarse), _ = cifar100.load_data(label_mode="coarse")
    assert y_coarse[:, 0].tolist() == train["coarse_labels"]
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium")


def test_cifar_malformed_batch(tmp_path):
    short = tmp_path / "data_batch_1"
    good = pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 2]}, protocol=2)
    short.write_bytes(good[:-30])
    with pytest.raises(DatasetFileError, match="data_batch_1"):
        cifar10.load_batch(short)
    wrong = tmp_path / "test_batch"
    wrong.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [1, 2]}, protocol=2))
    with pytest.raises(DatasetFileError, match=r"expected uint8 \(N, 3072\)"):
        cifar10.load_batch(wrong)


# ---------------------------------------------------------------------------------------------
# IMDB, Reuters, Boston Housing (synthetic files with their hashes patched in)


def _ragged(rng: np.random.Generator, n: int, vocab: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = [rng.integers(1, vocab, rng.integers(3, 30)).tolist() for _ in range(n)]
    return out


@pytest.fixture
def text_files(data_root, monkeypatch):
    rng = np.random.default_rng(7)
    np.savez(data_root / "imdb.npz", x_train=_ragged(rng, 40, 60), y_train=rng.integers(0, 2, 40),
             x_test=_ragged(rng, 30, 60), y_test=rng.integers(0, 2, 30))
    np.savez(data_root / "reuters.npz", x=_ragged(rng, 50, 80), y=rng.integers(0, 46, 50))
    np.savez(data_root / "boston_housing.npz", x=rng.normal(size=(31, 13)), y=rng.normal(20, 5, 31))
    (data_root / "imdb_word_index.json").write_text(json.dumps({"the": 1, "movie": 2}))
    monkeypatch.setattr(imdb, "NPZ_SHA256", _sha256(data_root / "imdb.npz"))
    word_index_md5 = hashlib.md5((data_root / "imdb_word_index.json").read_bytes()).hexdigest()
    monkeypatch.setattr(imdb, "WORD_INDEX_MD5", word_index_md5)
    monkeypatch.setattr(reuters, "NPZ_SHA256", _sha256(data_root / "reuters.npz"))
    monkeypatch.setattr(boston_housing, "NPZ_SHA256", _sha256(data_root / "boston_housing.npz"))
    return data_root


def test_imdb_encoding(text_files):
    raw = np.load(text_files / "imdb.npz", allow_pickle=True)
    (x_train, y_train), (x_test, y_test) = imdb.load_data()
    assert x_train.dtype == object and x_train.shape == (40,) and y_train.shape == (40,) and len(x_test) == 30
    # Shuffled by RandomState(113), start marker 1, offset 3; the largest index present is
    # outside [0, num_words) when num_words=None (Keras's rule), so it becomes oov_char 2.
    perm = np.arange(40)
    np.random.RandomState(113).shuffle(perm)
    top = max(max(s) for s in [*raw["x_train"], *raw["x_test"]]) + 3
    expected = [[1] + [w + 3 if w + 3 < top else 2 for w in raw["x_train"][i]] for i in perm]
    assert x_train.tolist() == expected and y_train.tolist() == raw["y_train"][perm].tolist()
    (x10, _), _ = imdb.load_data(num_words=10, skip_top=4, oov_char=2)
    assert all(w == 2 or 4 <= w < 10 for s in x10 for w in s)
    (xm, ym), _ = imdb.load_data(maxlen=10)
    assert all(len(s) < 10 for s in xm) and len(xm) == len(ym)
    assert imdb.get_word_index() == {"the": 1, "movie": 2}
    with pytest.raises(TypeError, match="bogus"):
        imdb.load_data(bogus=1)


@pytest.mark.oracle
def test_imdb_reuters_boston_match_keras(text_files, monkeypatch):
    pytest.importorskip("keras")
    kimdb = pytest.importorskip("keras.src.datasets.imdb")
    kreuters = pytest.importorskip("keras.src.datasets.reuters")
    kboston = pytest.importorskip("keras.src.datasets.boston_housing")
    for module, name in ((kimdb, "imdb.npz"), (kreuters, "reuters.npz"), (kboston, "boston_housing.npz")):
        monkeypatch.setattr(module, "get_file", lambda *a, _n=name, **k: str(text_files / _n))

    def same(ours, theirs):
        for a, b in zip((*ours[0], *ours[1]), (*theirs[0], *theirs[1]), strict=True):
            assert a.shape == b.shape and a.dtype == b.dtype
            assert [list(v) if isinstance(v, list) else v for v in a.tolist()] == b.tolist()

    cases = [{}, {"num_words": 20, "skip_top": 3}, {"maxlen": 15, "seed": 5},
             {"start_char": None, "oov_char": None},
             {"index_from": 0, "start_char": None, "num_words": 30}]
    for kwargs in cases:
        same(imdb.load_data(**kwargs), kimdb.load_data(**kwargs))
        same(reuters.load_data(test_split=0.3, **kwargs), kreuters.load_data(test_split=0.3, **kwargs))
    same(boston_housing.load_data(test_split=0.25, seed=3), kboston.load_data(test_split=0.25, seed=3))


def test_reuters_and_boston_shapes(text_files):
    (x_train, y_train), (x_test, y_test) = reuters.load_data(num_words=30)
    assert len(x_train) == 40 and len(x_test) == 10 and y_train.shape == (40,)
    assert max(max(s) for s in x_train) < 30 and len(reuters.get_label_names()) == 46
    (xb, yb), (xt, yt) = boston_housing.load_data()
    assert xb.shape == (24, 13) and xt.shape == (7, 13) and yb.shape == (24,) and xb.dtype == np.float64
    raw = np.load(text_files / "boston_housing.npz")
    assert sorted(np.concatenate([yb, yt]).tolist()) == sorted(raw["y"].tolist())
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(test_split=1.0)


@pytest.mark.oracle
def test_california_housing_matches_keras(data_root, monkeypatch):
    kcal = pytest.importorskip("keras.src.datasets.california_housing")
    rng = np.random.default_rng(8)
    np.savez(data_root / "california_housing.npz", x=rng.normal(size=(700, 8)).astype("float32"),
             y=rng.uniform(2e4, 5e5, 700).astype("float32"))
    monkeypatch.setattr(california_housing, "NPZ_SHA256", _sha256(data_root / "california_housing.npz"))
    monkeypatch.setattr(kcal, "get_file", lambda *a, **k: str(data_root / "california_housing.npz"))
    for kwargs in ({}, {"version": "small", "test_split": 0.3, "seed": 5}):
        ours, theirs = california_housing.load_data(**kwargs), kcal.load_data(**kwargs)
        for a, b in zip((*ours[0], *ours[1]), (*theirs[0], *theirs[1]), strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert california_housing.load_data(version="small")[0][0].shape == (480, 8)
    with pytest.raises(ValueError, match="version"):
        california_housing.load_data(version="medium")


def test_npz_loader_error_names_file(data_root, monkeypatch):
    path = data_root / "boston_housing.npz"
    path.write_bytes(_npz_bytes(x=np.zeros((5, 13)), y=np.zeros(5))[:-40])
    monkeypatch.setattr(boston_housing, "NPZ_SHA256", _sha256(path))
    with pytest.raises(DatasetFileError) as info:
        boston_housing.load_data()
    assert str(path) in str(info.value)
